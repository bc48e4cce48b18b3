"""Reading history as users see it: hourly series from the rollup, and the latest values of a device.

The rollup `readings_hourly` is a continuous aggregate on TimescaleDB and a table refreshed by the scheduler on
plain PostgreSQL, with the same columns, so these queries answer alike in both modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg


@dataclass(frozen=True, slots=True)
class HourlyPoint:
    bucket: datetime
    samples: int
    avg: float
    min: float
    max: float


# Hourly aggregates of one metric of one device over [start, end), oldest first.
_HOURLY = """
SELECT bucket, samples, avg_value, min_value, max_value
FROM readings_hourly
WHERE device_id = %(device)s AND metric = %(metric)s AND bucket >= %(start)s AND bucket < %(end)s
ORDER BY bucket
"""

# The newest value of each metric a device reports.
_LATEST = """
SELECT DISTINCT ON (metric) metric, ts, value
FROM readings
WHERE device_id = %(device)s AND ts > %(since)s
ORDER BY metric, ts DESC
"""


def hourly_series(
    conn: psycopg.Connection, device_id: str, metric: str, start: datetime, end: datetime
) -> list[HourlyPoint]:
    rows = conn.execute(_HOURLY, {"device": device_id, "metric": metric, "start": start, "end": end})
    return [HourlyPoint(b, int(n), float(a), float(lo), float(hi)) for b, n, a, lo, hi in rows]


def latest_values(conn: psycopg.Connection, device_id: str, since: datetime) -> dict[str, tuple[datetime, float]]:
    rows = conn.execute(_LATEST, {"device": device_id, "since": since})
    return {metric: (ts, value) for metric, ts, value in rows}
