"""Every router, registered in one place. Add a module's router to ROUTERS (append only)."""

from fastapi import APIRouter

from api.routes import (
    announcements,
    complaints,
    estate,
    health,
    notices,
    review,
    review_actions,
    survey_waves,
    surveys,
    tickets,
    work_orders,
)
from api.routes import ingest as ingest_routes
from api.routes import mediation as mediation_routes

ROUTERS: list[APIRouter] = [
    health.router,
    estate.router,
    tickets.router,
    complaints.router,
    notices.router,
    surveys.router,
    ingest_routes.router,
    work_orders.router,
    review.router,
    review_actions.router,
    announcements.router,
    mediation_routes.router,
    survey_waves.router,
]
