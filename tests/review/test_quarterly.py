"""The quarterly review's own parts over the fixture month (October 2026 is the only month of 2026Q4 with tickets):
the owners' committee summary against targets and the league table's CSV block."""

from __future__ import annotations

import csv
import io

import psycopg

from tickets.review.compute import compute_review, league_table
from tickets.review.periods import parse_period
from tickets.review.quarterly import committee_summary, league_csv

from .conftest import SHANGHAI


def test_the_committee_summary_and_the_league_table(conn: psycopg.Connection, month: list[int]) -> None:
    period = parse_period("2026Q4", SHANGHAI)
    summary = committee_summary(compute_review(conn, period))
    lines = {line.key: line for line in summary.lines}
    assert (lines["complaints"].value, lines["complaints"].ok) == (200.0, None)
    assert (lines["closed_loop_rate"].value, lines["closed_loop_rate"].target, lines["closed_loop_rate"].ok) == (
        92.5, 95.0, False)
    assert (lines["satisfaction_rate"].value, lines["satisfaction_rate"].ok) == (92.0, True)
    assert lines["closed_loop_rate"].previous is None  # 2026Q3 had no tickets
    assert summary.top_point is not None
    assert (summary.top_point.point, summary.top_point.building, summary.top_point.share) == ("elevator", "rs-b1", 30.0)
    assert summary.complaints_prevented == 0 and summary.proactive_coverage is None
    rows = list(csv.reader(io.StringIO(league_csv(league_table(conn, period)))))
    assert rows[1] == ["site", "name", "complaints", "resolution_rate", "closed_loop_rate", "satisfaction_rate",
                       "response_24h"]
    assert rows[2][:5] == ["riverside", "滨江花园 Riverside Gardens", "200", "95", "92.5"]
    assert rows[3][:3] == ["lakeview", "湖景苑 Lakeview Court", "0"]
