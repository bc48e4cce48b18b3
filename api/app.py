"""The FastAPI app factory. No import-time state: everything comes in through `AppState`.

The app's lifespan starts what lives as long as the app: the `LiveHub` (one LISTEN connection that feeds every
open live stream). Run it with lifespan on (`forewarn.runtime` does; FastAPI's `TestClient` does as a context
manager)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import web
from api.deps import AppState
from api.live import LiveHub
from api.routes import ROUTERS


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
    for router in ROUTERS:
        app.include_router(router)
    web.install(app)
    return app
