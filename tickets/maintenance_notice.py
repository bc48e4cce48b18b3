"""The completion notice of a recurring maintenance visit (tickets/maintenance_plan.py): when its ticket is resolved
— its work order done — the residents of the units the device serves hear that the maintenance was completed. Once
per visit (dedupe key `maintenance:<run>:done`), even if the ticket is reopened and resolved again."""

from __future__ import annotations

from datetime import datetime

import psycopg

from tickets.config import TicketConfig
from tickets.notices import format_time, notify_residents, residents_of_device


def notify_maintenance_done(conn: psycopg.Connection, ticket_id: int, *, now: datetime,
                            config: TicketConfig) -> int:
    """Tell the device's units, if the ticket is a planned maintenance visit; returns how many notices were new."""
    row = conn.execute(
        """SELECT r.id, r.device_id, d.kind, COALESCE(NULLIF(d.location, ''), d.id) FROM maintenance_runs r
           JOIN devices d ON d.id = r.device_id WHERE r.ticket_id = %s""", (ticket_id,)).fetchone()
    if row is None:
        return 0
    run_id, device_id, kind, place = row
    return notify_residents(conn, residents_of_device(conn, device_id), kind="maintenance_done",
                            dedupe_key=f"maintenance:{run_id}:done", now=now, config=config, ticket_id=ticket_id,
                            device_kind=kind, place=place, eta=format_time(now, config))
