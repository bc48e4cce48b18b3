"""Liveness and readiness for load balancers and operators."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Response, status

from api.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Answered in the event loop: a liveness probe must not queue behind requests waiting for the thread pool."""
    return {"status": "ok"}


@router.get("/readyz", summary="The database and the broker are reachable")
def readyz(state: StateDep, response: Response) -> dict[str, object]:
    checks: dict[str, bool] = {}
    try:
        with state.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        checks["database"] = True
    except (psycopg.Error, Exception):  # noqa: BLE001 - any failure means "not ready"
        checks["database"] = False
    checks["broker"] = bool(state.broker_check()) if state.broker_check else False
    ready = all(checks.values())
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"ready": ready, "checks": checks}
