"""The FastAPI app factory. No import-time state: everything comes in through `AppState`."""

from __future__ import annotations

from fastapi import FastAPI

from api import guard
from api.deps import AppState
from api.routes import ROUTERS
from api.routes.health import router as health_router
from api.schemas import ERROR_RESPONSES


def create_app(state: AppState, *, title: str = "Forewarn") -> FastAPI:
    app = FastAPI(
        title=title,
        summary="Proactive service for residential estates: faults become tickets and notices before complaints.",
        version="1",
    )
    app.state.forewarn = state
    guard.install(app, state.pool, state.limits, state.gate)
    for router in ROUTERS:
        # Every error answer an /api/ route can give is documented once, here (health checks have their own).
        app.include_router(router, responses=None if router is health_router else ERROR_RESPONSES)
    return app
