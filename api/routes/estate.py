"""Read-only estate registry for staff: sites, buildings, devices and whom each device serves."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import DbDep, StaffUser
from api.schemas import Identifier

router = APIRouter(prefix="/api/v1", tags=["estate"])


@router.get("/devices", summary="Devices with their kind, place and presence")
def list_devices(conn: DbDep, user: StaffUser, site_id: Identifier | None = None, kind: Identifier | None = None
                 ) -> list[dict[str, object]]:
    rows = conn.execute(
        """SELECT d.id, d.kind, d.site_id, d.building_id, d.location, p.online, p.last_seen,
                  (SELECT count(*) FROM device_units du WHERE du.device_id = d.id) AS units_served
           FROM devices d LEFT JOIN device_presence p ON p.device_id = d.id
           WHERE d.active AND (%(site)s::text IS NULL OR d.site_id = %(site)s)
             AND (%(kind)s::text IS NULL OR d.kind = %(kind)s)
           ORDER BY d.id""",
        {"site": site_id, "kind": kind},
    ).fetchall()
    keys = ("id", "kind", "site_id", "building_id", "location", "online", "last_seen", "units_served")
    return [dict(zip(keys, row, strict=True)) for row in rows]


@router.get("/devices/{device_id}", summary="One device and the units it serves")
def get_device(device_id: Identifier, conn: DbDep, user: StaffUser) -> dict[str, object]:
    row = conn.execute(
        "SELECT id, kind, site_id, building_id, location FROM devices WHERE id = %s", (device_id,)
    ).fetchone()
    if row is None:
        raise HTTPException(404, f"no device {device_id!r}")
    units = [r[0] for r in conn.execute(
        "SELECT unit_id FROM device_units WHERE device_id = %s ORDER BY unit_id", (device_id,))]
    return dict(zip(("id", "kind", "site_id", "building_id", "location"), row, strict=True)) | {"serves": units}
