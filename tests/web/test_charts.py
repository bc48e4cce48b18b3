"""The charts' axes as a reader sees them (api/web/charts.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from api.web.charts import line_chart
from tickets.telemetry import Point, Series

START = datetime(2026, 1, 1, tzinfo=UTC)


def _axis(values: list[float]) -> list[str]:
    points = [Point(START + timedelta(days=30 * i), v, v, v, 1) for i, v in enumerate(values)]
    series = Series("site", "complaints", "", START, START + timedelta(days=365), "hourly", timedelta(days=30), points)
    svg = line_chart(series, title="t", empty_text="—", tz=ZoneInfo("Asia/Shanghai"), dots=True)
    return re.findall(r'class="chart-label">([^<]*)</text>', svg)[:2]  # the top and the bottom of the value axis


def test_a_month_of_no_complaints_is_drawn_from_zero_not_from_minus_one():
    assert _axis([0.0, 0.0, 0.0]) == ["1.00", "0.00"]


def test_a_flat_reading_sits_in_the_middle_and_a_moving_one_spans_its_range():
    assert _axis([300.0, 300.0]) == ["301", "299"]
    assert _axis([2.0, 5.0, 3.0]) == ["5.00", "2.00"]
