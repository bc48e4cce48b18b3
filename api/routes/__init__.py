"""Every router, registered in one place. Add a module's router to ROUTERS (append only)."""

from fastapi import APIRouter

from api.routes import estate, health

ROUTERS: list[APIRouter] = [
    health.router,
    estate.router,
]
