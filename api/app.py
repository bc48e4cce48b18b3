"""The FastAPI app factory. No import-time state: everything comes in through `AppState`.

The app's lifespan starts what lives as long as the app: the `LiveHub` (one LISTEN connection that feeds every
open live stream). Run it with lifespan on (`forewarn.runtime` does; FastAPI's `TestClient` does as a context
manager)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import guard, web
from api.deps import AppState
from api.live import LiveHub
from api.routes import ROUTERS
from api.routes.health import router as health_router
from api.schemas import ERROR_RESPONSES


def create_app(state: AppState, *, title: str = "Forewarn") -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        conninfo = state.pool.conninfo
        hub = LiveHub(conninfo() if callable(conninfo) else conninfo)
        app.state.live_hub = hub
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(
        title=title,
        summary="Proactive service for residential estates: faults become tickets and notices before complaints.",
        version="1",
        lifespan=lifespan,
    )
    app.state.forewarn = state
    guard.install(app, state.pool, state.limits, state.gate)
    # Routes are matched in the order they were included, at a few microseconds each: the health checks first,
    # then the pages (a page behind every /api/ route spent a seventh of its CPU finding itself; bench.web),
    # then the /api/ routes, whose paths no page shares.
    app.include_router(health_router)
    web.install(app)
    for router in ROUTERS:
        if router is not health_router:  # every error answer an /api/ route can give is documented once, here
            app.include_router(router, responses=ERROR_RESPONSES)
    return app
