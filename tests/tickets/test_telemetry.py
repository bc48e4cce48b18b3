"""The device as staff see it, against a real PostgreSQL in both storage modes: chart series from the raw readings
and from the hourly rollup (a table on plain PostgreSQL, a continuous aggregate on TimescaleDB) agree with the
readings written, stay within the point budget, and the overview tells fault, offline and normal apart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest

from forewarn.rollup import refresh_rollup
from tickets.errors import NotFound
from tickets.flows import handle_alarm
from tickets.telemetry import alarm_window, chart_metrics, device_overview, hourly_series, raw_series

from .conftest import NOW, make_alarm

DEVICE = "rs-b1-water-low"


def _write(conn: psycopg.Connection, minutes: int, value: Callable[[int], float]) -> None:
    """One pressure reading a minute for `minutes` minutes up to NOW; `value(i)` gives the i-th."""
    with conn.cursor() as cur, cur.copy("COPY readings (device_id, ts, seq, metric, value) FROM STDIN") as copy:
        for i in range(minutes):
            copy.write_row((DEVICE, NOW - timedelta(minutes=minutes - i), i, "pressure_kpa", value(i)))
            copy.write_row((DEVICE, NOW - timedelta(minutes=minutes - i), i, "flow_lpm", 1.0))
    conn.commit()


def test_raw_series_buckets_the_readings_within_the_point_budget(conn: psycopg.Connection, storage_mode) -> None:
    _write(conn, 24 * 60, lambda i: 300.0 + (i % 2))  # a day of minute readings, alternating 300 / 301
    day = raw_series(conn, DEVICE, "water", "pressure_kpa", start=NOW - timedelta(hours=24), end=NOW,
                     max_points=240)
    assert 200 <= len(day.points) <= 241 and day.source == "raw" and day.unit == "kPa"
    assert sum(p.n for p in day.points) == 24 * 60  # every reading, in exactly one bucket
    assert all(p.lo == 300.0 and p.hi == 301.0 for p in day.points if p.n >= 2)
    assert [p.t for p in day.points] == sorted(p.t for p in day.points)
    short = raw_series(conn, DEVICE, "water", "pressure_kpa", start=NOW - timedelta(minutes=10), end=NOW)
    assert [p.avg for p in short.points] == [300.0 + (i % 2) for i in range(24 * 60 - 10, 24 * 60)]  # raw as is


def test_hourly_series_reads_the_rollup_in_either_mode(conn: psycopg.Connection, estate_db_url: str,
                                                        storage_mode) -> None:
    _write(conn, 48 * 60, lambda i: float(i // 60))  # each hour has its own value: the hour's index
    refresh_rollup(estate_db_url, storage_mode, now=NOW, start=NOW - timedelta(days=3))
    month = hourly_series(conn, DEVICE, "water", "pressure_kpa", start=NOW - timedelta(days=30), end=NOW)
    assert month.source == "hourly" and month.step == timedelta(hours=3)  # 720 hours in at most 240 points
    assert sum(p.n for p in month.points) == 48 * 60
    two_days = hourly_series(conn, DEVICE, "water", "pressure_kpa", start=NOW - timedelta(hours=48), end=NOW)
    assert two_days.step == timedelta(hours=1) and len(two_days.points) == 48
    assert [p.avg for p in two_days.points] == [float(h) for h in range(48)]


def test_overview_tells_fault_from_offline_from_normal(conn: psycopg.Connection, staff: dict[str, str]) -> None:
    assert device_overview(conn, DEVICE).state == "unknown"
    conn.execute("INSERT INTO device_presence (device_id, online, last_seen) VALUES (%s, false, %s)", (DEVICE, NOW))
    assert device_overview(conn, DEVICE).state == "offline"
    conn.execute("UPDATE device_presence SET online = true WHERE device_id = %s", (DEVICE,))
    assert device_overview(conn, DEVICE).state == "normal"
    handle_alarm(conn, make_alarm(DEVICE, "pump_failure"), now=NOW)
    overview = device_overview(conn, DEVICE)
    assert overview.state == "fault" and [a.fault for a in overview.alarms] == ["pump_failure"]
    assert overview.alarms[0].summary == "pressure at zero for 90 s"
    assert len(overview.tickets) == 1 and overview.tickets[0].work_order_id is not None
    assert overview.device.last_seen == NOW
    with pytest.raises(NotFound):
        device_overview(conn, "no-such-device")


def test_chart_metrics_and_the_alarm_window() -> None:
    assert chart_metrics("water")[0] == "pressure_kpa" and "pump_on" not in chart_metrics("water")
    assert chart_metrics("elevator")[0] == "vibration_rms" and "floor" not in chart_metrics("elevator")
    start, end = alarm_window(NOW - timedelta(minutes=2), NOW)
    assert (start, end) == (NOW - timedelta(hours=3, minutes=2), NOW)
    start, end = alarm_window(NOW - timedelta(days=3), NOW)
    assert end - start == timedelta(hours=24)
