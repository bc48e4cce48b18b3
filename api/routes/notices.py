"""Live in-app notices over Server-Sent Events: each event is one notice addressed to the caller (a resident's
own notices, a staff member's reminders). Resumable with `Last-Event-ID`; a stream ends after `max_seconds`
and the browser's EventSource reconnects where it left off."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Principal, Role, authenticate
from api.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["notices"])
POLL_S = 1.0  # new notices reach an open stream within a second; one indexed query per second per stream

# A resident's stream carries only delivered notices (visible in-app); staff reminders are in-app from the start.
_SELECT = """SELECT id, kind, lang, title, body, critical, incident_id, ticket_id, created_at, delivered_at
             FROM notices WHERE {who} = %(who)s AND id > %(after)s {visible} ORDER BY id LIMIT 100"""
_VISIBLE = {"resident_id": "AND delivered_at IS NOT NULL", "user_id": ""}


def _who(user: Principal) -> tuple[str, str]:
    if user.role is Role.RESIDENT:
        assert user.resident_id is not None
        return "resident_id", user.resident_id
    return "user_id", user.user_id


_bearer = HTTPBearer(auto_error=False)


@router.get("/notices/stream", summary="Live notices for the caller (text/event-stream)")
def stream_notices(
    state: StateDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    after: Annotated[int | None, Query(ge=0, description="Start after this notice id (0: from the beginning).")]
    = None,
    max_seconds: Annotated[float, Query(gt=0, le=3600, description="End the stream after this long.")] = 300,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    # Not `CurrentUser`/`DbDep`: a request-scoped connection would stay checked out (in a transaction) for as long
    # as the stream runs. Authenticate and look up the start point on a short-lived one instead.
    with state.pool.connection() as conn:
        user = authenticate(conn, credentials.credentials) if credentials else None
        if user is None:
            raise HTTPException(401, "send 'Authorization: Bearer <token>' with a valid token",
                                headers={"WWW-Authenticate": "Bearer"})
        column, who = _who(user)
        if after is None and last_event_id is not None:
            if not last_event_id.isdigit():
                raise HTTPException(422, "Last-Event-ID must be a notice id")
            after = int(last_event_id)
        if after is None:  # a fresh connection wants what happens from now on
            row = conn.execute(f"SELECT COALESCE(max(id), 0) FROM notices WHERE {column} = %s {_VISIBLE[column]}",
                               (who,)).fetchone()
            after = int(row[0]) if row else 0
    return StreamingResponse(_events(state.pool, column, who, after, max_seconds), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _events(pool: Any, column: str, who: str, after: int, max_seconds: float) -> Iterator[str]:
    yield "retry: 3000\n\n"
    deadline = time.monotonic() + max_seconds
    query = _SELECT.format(who=column, visible=_VISIBLE[column])
    while True:
        with pool.connection() as conn:
            cursor = conn.execute(query, {"who": who, "after": after})
            names = [c.name for c in cursor.description]
            rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        for notice in rows:
            after = notice["id"]
            yield f"id: {after}\nevent: notice\ndata: {json.dumps(notice, default=str, ensure_ascii=False)}\n\n"
        if time.monotonic() >= deadline:
            return
        if len(rows) < 100:
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
