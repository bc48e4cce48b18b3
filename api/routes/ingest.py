"""Ingest for operators: the dead-letter list (staff) and the Prometheus metrics of this process's ingest."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from api.deps import DbDep, StaffUser, StateDep
from api.schemas import Identifier, Moment
from ingest.storage import list_dead_letters

router = APIRouter(tags=["ingest"])


@router.get("/api/v1/dead-letters", summary="Messages ingest rejected, newest first, with the reason")
def get_dead_letters(
    conn: DbDep,
    user: StaffUser,
    limit: int = Query(100, ge=1, le=1000, description="at most this many"),
    reason: Identifier | None = Query(
        None, description="only this reason, e.g. bad_json, out_of_range, unknown_device"),
    device_id: Identifier | None = Query(None, description="only this device"),
    since: Moment | None = Query(None, description="only those received at or after this time (RFC 3339)"),
) -> list[dict]:
    letters = list_dead_letters(conn, limit=limit, reason=reason, device_id=device_id, since=since)
    return [
        {"id": d.id, "received_at": d.received_at, "topic": d.topic, "device_id": d.device_id, "reason": d.reason,
         "detail": d.detail, "payload": d.payload_text(1024), "payload_size": d.payload_size}
        for d in letters
    ]


@router.get("/metrics", summary="Prometheus metrics: received, stored, dead-lettered by reason, latency, queue",
            response_class=Response)
def metrics(state: StateDep) -> Response:
    registry = state.extras.get("metrics_registry")
    if registry is None:  # an API-only process: ingest runs elsewhere and serves its own numbers there
        registry = CollectorRegistry()
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
