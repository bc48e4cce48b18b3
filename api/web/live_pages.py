"""`GET /live/stream`: the live stream of the pages, signed in by the session cookie. The same events as
`/api/v1/notices/stream` (`event: notice`, with the notice id as the SSE id, resumable with Last-Event-ID), plus the
staff events of `tickets.events` for the user and their department (`event: work_order`, no id). `static/live.js`
turns them into page updates."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import StateDep
from api.routes.notices import live_response, start_point
from api.web.deps import OptionalWebUser
from api.web.one_hop import PageRouter

router = PageRouter(tags=["pages"], include_in_schema=False)


@router.get("/live/stream")
def live_stream(
    request: Request, state: StateDep, user: OptionalWebUser,
    max_seconds: Annotated[float, Query(gt=0, le=3600)] = 300,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    if user is None:  # EventSource cannot follow a login redirect; 401 makes it stop
        raise HTTPException(401, "sign in first")
    return live_response(request, state.pool, user, start_point(state.pool, user, None, last_event_id), max_seconds)
