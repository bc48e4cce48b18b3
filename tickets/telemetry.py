"""A device as staff look at it: its state (normal, fault, offline), when it was last seen, its open alarms and
tickets, and its readings as chart series — from the raw `readings` for short windows (a day, the hours around
an alarm) and from the hourly rollup `readings_hourly` for long ones (a month). The rollup has the same name and
columns on both storage modes: a table refreshed by the scheduler on plain PostgreSQL, a continuous aggregate with
real-time aggregation on TimescaleDB (forewarn/rollup.py, the 0002 migrations)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row

from ingest.contract import SPEC_BY_NAME
from ingest.reading import DeviceKind
from tickets.errors import NotFound

# The metric a chart shows first for each kind: the one that tells a resident-visible fault soonest.
PRIMARY_METRIC = {DeviceKind.WATER: "pressure_kpa", DeviceKind.ELEVATOR: "vibration_rms",
                  DeviceKind.ACCESS_DOOR: "open_duration_s"}
# At most this many points per chart: a phone screen is 360 px wide; more points only cost bytes.
MAX_POINTS = 240
# The window of raw readings around an alarm: from a while before it began (its normal), until now, at most a day.
BEFORE_ALARM = timedelta(hours=3)
ALARM_WINDOW = timedelta(hours=24)

# The device's registry row with its presence.
_DEVICE = """SELECT d.id, d.kind, d.site_id, d.building_id, b.name AS building_name, d.location, d.active, p.online,
                    p.last_seen, p.changed_at AS presence_changed_at
             FROM devices d LEFT JOIN device_presence p ON p.device_id = d.id
                  LEFT JOIN buildings b ON b.id = d.building_id
             WHERE d.id = %s"""
# Open incidents (alarms) of the device, newest first.
_OPEN_ALARMS = """SELECT id, fault, severity, detector, since, detected_at, evidence->>'summary' AS summary, ticket_id,
                         evidence AS evidence
                  FROM incidents WHERE device_id = %s AND status = 'open' ORDER BY detected_at DESC"""
# Tickets about the device still being worked on, with their live work order.
_OPEN_TICKETS = """SELECT t.id, t.title, t.state, t.severity, t.resolve_due, w.id AS work_order_id,
                          w.status AS work_order_status, w.assignee_id
                   FROM tickets t LEFT JOIN work_orders w ON w.ticket_id = t.id
                        AND w.status NOT IN ('done', 'cancelled')
                   WHERE t.device_id = %s AND t.state NOT IN ('resolved', 'closed', 'cancelled')
                   ORDER BY t.id DESC"""
# Raw readings of one metric in [start, end), averaged into buckets of `step` so that a day is MAX_POINTS points.
_RAW_SERIES = """SELECT date_bin(%(step)s, ts, %(start)s) AS t, avg(value) AS avg, min(value) AS lo,
                        max(value) AS hi, count(*) AS n
                 FROM readings
                 WHERE device_id = %(device)s AND metric = %(metric)s AND ts >= %(start)s AND ts < %(end)s
                 GROUP BY 1 ORDER BY 1"""
# The hourly rollup of one metric in [start, end), merged into buckets of `step` (whole hours).
_HOURLY_SERIES = """SELECT date_bin(%(step)s, bucket, %(start)s) AS t,
                           sum(avg_value * samples) / NULLIF(sum(samples), 0) AS avg,
                           min(min_value) AS lo, max(max_value) AS hi, sum(samples)::bigint AS n
                    FROM readings_hourly
                    WHERE device_id = %(device)s AND metric = %(metric)s AND bucket >= %(start)s
                      AND bucket < %(end)s
                    GROUP BY 1 ORDER BY 1"""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    kind: str
    site_id: str
    building_id: str | None
    building_name: str | None  # as the pages show it ("1号楼 Building 1")
    location: str
    active: bool
    online: bool | None
    last_seen: datetime | None
    presence_changed_at: datetime | None


@dataclass(frozen=True, slots=True)
class OpenAlarm:
    id: int
    fault: str
    severity: str
    detector: str
    since: datetime
    detected_at: datetime
    summary: str | None
    ticket_id: int | None
    evidence: dict[str, Any] | None  # the detector's evidence (detectors.alarm.Evidence.as_dict): metric, value, ...


@dataclass(frozen=True, slots=True)
class OpenTicket:
    id: int
    title: str
    state: str
    severity: str
    resolve_due: datetime | None
    work_order_id: int | None
    work_order_status: str | None
    assignee_id: str | None


@dataclass(frozen=True, slots=True)
class DeviceOverview:
    device: DeviceInfo
    alarms: list[OpenAlarm] = field(default_factory=list)
    tickets: list[OpenTicket] = field(default_factory=list)

    @property
    def state(self) -> str:
        """fault (an open alarm), offline (presence says so), unknown (never heard from), or normal."""
        if self.alarms:
            return "fault"
        if self.device.online is None:
            return "unknown"
        return "normal" if self.device.online else "offline"


@dataclass(frozen=True, slots=True)
class Point:
    t: datetime
    avg: float
    lo: float
    hi: float
    n: int


@dataclass(frozen=True, slots=True)
class Series:
    """One metric of one device over [start, end), from `source` (raw readings or the hourly rollup)."""

    device_id: str
    metric: str
    unit: str
    start: datetime
    end: datetime
    source: str  # raw | hourly
    step: timedelta
    points: list[Point]


def chart_metrics(kind: str) -> list[str]:
    """The metrics of a device kind worth a line chart (measurements, not on/off flags or counters)."""
    specs = SPEC_BY_NAME.get(DeviceKind(kind), {})
    names = [name for name, spec in specs.items() if not spec.boolean and not spec.integer]
    primary = PRIMARY_METRIC.get(DeviceKind(kind))
    return sorted(names, key=lambda name: (name != primary, names.index(name)))


def unit_of(kind: str, metric: str) -> str:
    spec = SPEC_BY_NAME.get(DeviceKind(kind), {}).get(metric)
    return spec.unit if spec is not None else ""


def device_overview(conn: psycopg.Connection, device_id: str) -> DeviceOverview:
    with conn.cursor(row_factory=class_row(DeviceInfo)) as cur:
        device = cur.execute(_DEVICE, (device_id,)).fetchone()
    if device is None:
        raise NotFound(f"no device {device_id!r}")
    with conn.cursor(row_factory=class_row(OpenAlarm)) as cur:
        alarms = cur.execute(_OPEN_ALARMS, (device_id,)).fetchall()
    with conn.cursor(row_factory=class_row(OpenTicket)) as cur:
        tickets = cur.execute(_OPEN_TICKETS, (device_id,)).fetchall()
    return DeviceOverview(device, alarms, tickets)


def raw_series(conn: psycopg.Connection, device_id: str, kind: str, metric: str, *, start: datetime,
               end: datetime, max_points: int = MAX_POINTS) -> Series:
    """Raw readings of `metric` in [start, end), at most `max_points` buckets (each the average of its readings,
    with their min and max)."""
    step = _step(start, end, max_points, timedelta(seconds=1))
    return _series(conn, _RAW_SERIES, device_id, kind, metric, start, end, step, "raw")


def hourly_series(conn: psycopg.Connection, device_id: str, kind: str, metric: str, *, start: datetime,
                  end: datetime, max_points: int = MAX_POINTS) -> Series:
    """The hourly rollup of `metric` in [start, end) (whole hours), merged so that there are at most `max_points`
    buckets."""
    start = start.replace(minute=0, second=0, microsecond=0)
    step = _step(start, end, max_points, timedelta(hours=1))
    step = timedelta(hours=max(1, round(step / timedelta(hours=1))))
    return _series(conn, _HOURLY_SERIES, device_id, kind, metric, start, end, step, "hourly")


def alarm_window(since: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The raw-readings window shown with an alarm's evidence."""
    start = since - BEFORE_ALARM
    return start, max(min(now, start + ALARM_WINDOW), since + timedelta(minutes=1))


def _step(start: datetime, end: datetime, max_points: int, floor: timedelta) -> timedelta:
    if end <= start:
        raise ValueError(f"an empty window: {start} .. {end}")
    step = (end - start) / max_points
    return max(floor, timedelta(seconds=int(step.total_seconds()) + 1))


def _series(conn: psycopg.Connection, statement: str, device_id: str, kind: str, metric: str, start: datetime,
            end: datetime, step: timedelta, source: str) -> Series:
    # Plain tuples, made into Points here: class_row builds a keyword dict per row, a tenth of the device page's CPU.
    rows = conn.execute(statement, {"step": step, "start": start, "end": end, "device": device_id,
                                    "metric": metric}).fetchall()
    return Series(device_id, metric, unit_of(kind, metric), start, end, source, step,
                  [Point(*row) for row in rows if row[1] is not None])
