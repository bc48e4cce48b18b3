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
    for router in ROUTERS:
        # Every error answer an /api/ route can give is documented once, here (health checks have their own).
        app.include_router(router, responses=None if router is health_router else ERROR_RESPONSES)
    web.install(app)
    return app
