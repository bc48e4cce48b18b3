"""Live in-app notices over Server-Sent Events: each event is one notice addressed to the caller (a resident's
own notices, a staff member's reminders). Resumable with `Last-Event-ID`; a stream ends after `max_seconds`
and the browser's EventSource reconnects where it left off.

A stream first catches up from the database (the notices after its start point), then waits on the process's
`LiveHub` (api/live.py): one LISTEN connection feeds every open stream, so an open stream costs a queue, not a
thread or a query a second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from api.auth import Principal, Role, authenticate
from api.deps import StateDep
from api.live import LiveHub, keys_for, stream_events

router = APIRouter(prefix="/api/v1", tags=["notices"])
CATCH_UP_BATCH = 100

# A resident's stream carries only delivered notices (visible in-app); staff reminders are in-app from the start.
# `title`/`body` are in `lang`, the language the notice was sent in; `texts` holds it in every language the product
# writes ({"zh-CN": {"title", "body"}, "en": {…}}; null for staff reminders and older notices), for an app that
# shows the notices in its own language.
_SELECT = """SELECT id, kind, lang, title, body, texts, critical, incident_id, ticket_id, created_at, delivered_at
             FROM notices WHERE {who} = %(who)s AND id > %(after)s {visible} ORDER BY id LIMIT 100"""
_LATEST = "SELECT COALESCE(max(id), 0) FROM notices WHERE {who} = %(who)s {visible}"
_VISIBLE = {"resident_id": "AND delivered_at IS NOT NULL", "user_id": ""}


def _who(user: Principal) -> tuple[str, str]:
    if user.role is Role.RESIDENT:
        assert user.resident_id is not None
        return "resident_id", user.resident_id
    return "user_id", user.user_id


_bearer = HTTPBearer(auto_error=False)


def start_point(pool: ConnectionPool, user: Principal, after: int | None, last_event_id: str | None) -> int:
    """Where a stream starts: `after`, else `Last-Event-ID`, else the caller's latest notice (from now on)."""
    if after is None and last_event_id is not None:
        if not last_event_id.isdigit():
            raise HTTPException(422, "Last-Event-ID must be a notice id")
        after = int(last_event_id)
    if after is not None:
        return after
    column, who = _who(user)
    with pool.connection() as conn:
        row = conn.execute(_LATEST.format(who=column, visible=_VISIBLE[column]), {"who": who}).fetchone()
    return int(row[0]) if row else 0


def catch_up_from(pool: ConnectionPool, user: Principal,
                  hub: LiveHub | None = None) -> Callable[[int], Awaitable[list[dict[str, Any]]]]:
    """An async `catch_up(after)`: the caller's next notices from the database — on the live hub's connection in
    the event loop when it is connected, else from the pool on a worker thread."""
    column, who = _who(user)
    query = _SELECT.format(who=column, visible=_VISIBLE[column])

    def load(after: int) -> list[dict[str, Any]]:
        with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            return cursor.execute(query, {"who": who, "after": after}).fetchall()

    async def catch_up(after: int) -> list[dict[str, Any]]:
        rows = await hub.fetch(query, {"who": who, "after": after}) if hub is not None else None
        return rows if rows is not None else await run_in_threadpool(load, after)

    return catch_up


def live_response(request: Request, pool: ConnectionPool, user: Principal, after: int,
                  max_seconds: float) -> StreamingResponse:
    """The SSE response of one stream for `user`, starting after notice `after`."""
    hub: LiveHub = request.app.state.live_hub

    async def body() -> AsyncIterator[str]:
        deadline = asyncio.get_running_loop().time() + max_seconds
        catch_up = catch_up_from(pool, user, hub)
        async with hub.subscription(keys_for(user)) as subscriber:
            async for chunk in stream_events(hub, subscriber, deadline=deadline, catch_up=catch_up, after=after):
                yield chunk

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


@router.get("/notices/stream", summary="Live notices for the caller (text/event-stream)", response_class=EventStream,
            responses={200: {"description": "Server-sent events: `notice` (id: the notice id, data: the notice as "
                             "JSON), then `end` when max_seconds is over",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
def stream_notices(
    request: Request, state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    after: Annotated[int | None, Query(ge=0, description="Start after this notice id (0: from the beginning).")]
    = None,
    max_seconds: Annotated[float, Query(gt=0, le=3600, description="End the stream after this long.")] = 300,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    # Not `CurrentUser`/`DbDep`: a request-scoped connection would stay checked out (in a transaction) for as long
    # as the stream runs. Authenticate and look up the start point on short-lived ones instead.
    with state.pool.connection() as conn:
        user = authenticate(conn, credentials.credentials) if credentials else None
    if user is None:
        raise HTTPException(401, "send 'Authorization: Bearer <token>' with a valid token",
                            headers={"WWW-Authenticate": "Bearer"})
    start = start_point(state.pool, user, after, last_event_id)
    return live_response(request, state.pool, user, start, max_seconds)
