"""Staff events on the `forewarn_events` NOTIFY channel (stand-in until the web frame's module is merged; the
frame owns this file). Payload: JSON {"type": ..., "id": ..., "user_id" | "department_id": ...}."""

from __future__ import annotations

import json

import psycopg


def notify_staff_event(conn: psycopg.Connection, type_: str, id_: int, *, user_id: str | None = None,
                       department_id: str | None = None) -> None:
    payload: dict[str, object] = {"type": type_, "id": id_}
    if user_id is not None:
        payload["user_id"] = user_id
    if department_id is not None:
        payload["department_id"] = department_id
    conn.execute("SELECT pg_notify('forewarn_events', %s)", (json.dumps(payload),))
