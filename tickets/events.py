"""Staff events for live pages: `notify_staff_event(conn, ...)` sends a NOTIFY on `forewarn_events`, delivered when
the caller's transaction commits (and dropped if it rolls back), which the API processes' `LiveHub` hands to the
open streams of the user or department it names.

Payload contract (JSON, at most a few hundred bytes; PostgreSQL allows 8000):

    {"type": "work_order", "id": 42, "user_id": "eng-1"}            # addressed to one engineer
    {"type": "work_order", "id": 42, "department_id": "engineering"}  # to everyone in a department
    (both keys may be given; `action` may say what happened, e.g. "created" or "reassigned")

`type` names what changed (today "work_order"); `id` is that row's id. Receivers fetch the row themselves: the
payload carries no data a page shows, so a stale or repeated event does no harm."""

from __future__ import annotations

import json

import psycopg

EVENTS_CHANNEL = "forewarn_events"


def notify_staff_event(conn: psycopg.Connection, *, type: str, id: int, user_id: str | None = None,  # noqa: A002
                       department_id: str | None = None, action: str | None = None) -> None:
    """Tell the live pages of `user_id` and/or `department_id` that row `id` of kind `type` changed."""
    if user_id is None and department_id is None:
        raise ValueError("a staff event needs a user_id or a department_id to go to")
    payload: dict[str, object] = {"type": type, "id": id}
    if user_id is not None:
        payload["user_id"] = user_id
    if department_id is not None:
        payload["department_id"] = department_id
    if action is not None:
        payload["action"] = action
    conn.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, json.dumps(payload, ensure_ascii=False)))
