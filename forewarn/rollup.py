"""Keep the hourly rollup current. On TimescaleDB a continuous-aggregate policy does it (and `refresh_rollup` calls
the refresh procedure on demand); on plain PostgreSQL the scheduler calls `refresh_rollup` every few minutes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import psycopg

from forewarn.db import StorageMode

# Re-aggregate the last few days on every refresh, like the continuous aggregate's start_offset: late readings
# (a device that was offline and catches up) land in buckets that were already rolled up.
REFRESH_WINDOW = timedelta(days=3)
# TimescaleDB refuses a refresh while its policy job refreshes an overlapping window: wait for it, briefly.
CONCURRENT_REFRESH_RETRIES = 50

# Recompute hourly buckets of [start, end) from raw readings; idempotent.
_REFRESH_PLAIN = """
INSERT INTO readings_hourly (bucket, device_id, metric, samples, avg_value, min_value, max_value)
SELECT date_trunc('hour', ts) AS bucket, device_id, metric, count(*), avg(value), min(value), max(value)
FROM readings
WHERE ts >= %(start)s AND ts < %(end)s
GROUP BY 1, 2, 3
ON CONFLICT (device_id, metric, bucket) DO UPDATE SET
    samples = EXCLUDED.samples, avg_value = EXCLUDED.avg_value,
    min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value
"""


def refresh_rollup(url: str, mode: StorageMode, *, now: datetime, start: datetime | None = None) -> None:
    """Bring `readings_hourly` up to date for the hours from `start` (default: 3 days back) to the end of `now`'s
    hour. Runs outside a transaction: TimescaleDB's refresh is a procedure that refuses to run inside one."""
    start = _hour(start if start is not None else now - REFRESH_WINDOW)
    end = _hour(now) + timedelta(hours=1)
    with psycopg.connect(url, autocommit=True) as conn:
        if mode.timescale:
            for attempt in range(CONCURRENT_REFRESH_RETRIES):
                try:
                    conn.execute("CALL refresh_continuous_aggregate('readings_hourly', %s, %s)", (start, end))
                    break
                except psycopg.errors.LockNotAvailable:  # the policy job is refreshing an overlapping window
                    if attempt == CONCURRENT_REFRESH_RETRIES - 1:
                        raise
                    time.sleep(0.2)
        else:
            conn.execute(_REFRESH_PLAIN, {"start": start, "end": end})


def _hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)
