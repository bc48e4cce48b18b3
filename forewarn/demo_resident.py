"""The resident `forewarn demo` signs in as: one the scripted fault affects (a resident of a unit the faulty device
serves), who reads notices in the app, so that the fault shows up live on their resident pages while you watch."""

from __future__ import annotations

import psycopg

# Served by the device; in-app readers first (their notices are delivered at once and pushed to open pages),
# then by id so that every run picks the same resident.
_AFFECTED = """SELECT r.id FROM residents r JOIN device_units du ON du.unit_id = r.unit_id
               WHERE du.device_id = %s AND r.active ORDER BY (r.channel = 'app') DESC, r.id LIMIT 1"""


def affected_resident(conn: psycopg.Connection, device_id: str) -> str | None:
    """The demo's resident for a fault on `device_id`, or None if the device serves nobody."""
    row = conn.execute(_AFFECTED, (device_id,)).fetchone()
    return str(row[0]) if row else None
