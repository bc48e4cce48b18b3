"""Checkpoint SQL: per-device detector state saved to and loaded from PostgreSQL (psycopg 3).

The table is created by the product's migrations::

    detector_state(device_id text primary key, state bytea not null, updated_at timestamptz not null default now())

`state` is `DetectorEngine.snapshot(device_id)`. Saving is one upsert per device in one transaction, so a
crash mid-save leaves either the old or the new checkpoint of every device, never a torn one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

# Insert a device's state, or replace it and stamp the time if the device already has one.
UPSERT_STATE = """
INSERT INTO detector_state (device_id, state, updated_at)
VALUES (%(device_id)s, %(state)s, now())
ON CONFLICT (device_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
"""
# Every device's latest state.
SELECT_STATES = "SELECT device_id, state FROM detector_state"
# The latest state of some devices (a worker taking over a site), with when it was saved.
SELECT_STATES_OF = "SELECT device_id, state, updated_at FROM detector_state WHERE device_id = ANY(%(ids)s)"


def save_checkpoints(conn: Any, items: Iterable[tuple[str, bytes]]) -> int:
    """Upsert `(device_id, state)` pairs in one transaction; return how many were written."""
    params = [{"device_id": device_id, "state": state} for device_id, state in items]
    if not params:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(UPSERT_STATE, params)
    return len(params)


def load_checkpoints(conn: Any) -> dict[str, bytes]:
    """Every saved state, by device id."""
    with conn.cursor() as cur:
        cur.execute(SELECT_STATES)
        return {device_id: bytes(state) for device_id, state in cur.fetchall()}


def load_checkpoints_of(conn: Any, device_ids: Iterable[str]) -> dict[str, tuple[bytes, datetime]]:
    """The saved state of these devices, with when it was saved, by device id."""
    with conn.cursor() as cur:
        cur.execute(SELECT_STATES_OF, {"ids": list(device_ids)})
        return {device_id: (bytes(state), at) for device_id, state, at in cur.fetchall()}
