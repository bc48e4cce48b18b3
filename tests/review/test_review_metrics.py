"""The review's figures on the fixture month, as a manager would check them by hand."""

from __future__ import annotations

import re

import psycopg
import pytest

from tickets.errors import InvalidInput
from tickets.review.compute import Slice, compute_review
from tickets.review.definitions import POINT_NAMES, point_name
from tickets.review.periods import parse_period
from tickets.taxonomy import Category, default_taxonomy

from .conftest import SHANGHAI


def test_fixture_month_reports_the_done_when_figures(conn: psycopg.Connection, month: list[int]) -> None:
    review = compute_review(conn, parse_period("2026-10", SHANGHAI))
    resolution, closed, happy = (review.figure(k) for k in ("resolution_rate", "closed_loop_rate",
                                                             "satisfaction_rate"))
    assert (resolution.value, resolution.numerator, resolution.denominator) == (95.0, 190, 200)
    assert (closed.value, closed.ok) == (92.5, False)  # red against 95 %
    assert (happy.value, happy.numerator, happy.denominator, happy.ok) == (92.0, 138, 150, True)
    top = review.points[0]
    assert f"{point_name(top.point, 'en')} {top.share:.1f} %" == "lift fault 30.0 %"
    assert top.building == "rs-b1"
    assert review.figure("complaints").value == 200
    assert review.unclosed["complaint"] == {"resolved": 5, "acknowledged": 10}
    assert review.volume["building"] == {"rs-b1": 60, "rs-b2": 95, "rs-b3": 45}


def test_previous_month_and_last_year_are_compared(conn: psycopg.Connection, month: list[int]) -> None:
    review = compute_review(conn, parse_period("2026-11", SHANGHAI))
    assert review.figure("complaints").value == 0
    assert review.previous["complaints"] == 200 and review.previous["closed_loop_rate"] == 92.5
    assert review.last_year["complaints"] == 0


def test_slices_narrow_the_figures(conn: psycopg.Connection, month: list[int]) -> None:
    october = parse_period("2026-10", SHANGHAI)
    assert compute_review(conn, october, Slice(building="rs-b1")).figure("complaints").value == 60
    assert compute_review(conn, october, Slice(site="lakeview")).figure("complaints").value == 0


def test_repeat_complaints_same_unit_same_point_within_30_days(conn: psycopg.Connection, month: list[int]) -> None:
    review = compute_review(conn, parse_period("2026-10", SHANGHAI))
    repeats = review.figure("repeat_complaints")
    # Each building's residents complain in turn about one point; a resident seen again within 30 days repeats.
    expected = conn.execute(
        """SELECT count(*) FROM complaints c WHERE EXISTS (SELECT 1 FROM complaints p WHERE p.unit_id = c.unit_id
               AND p.description = c.description AND p.id <> c.id AND p.reported_at <= c.reported_at
               AND p.reported_at > c.reported_at - interval '30 days')""").fetchone()
    assert expected is not None and repeats.numerator == expected[0]


@pytest.mark.parametrize(("text", "first", "last", "previous"), [
    ("2026-10", "2026-10-01", "2026-10-31", "2026-09"), ("2026Q4", "2026-10-01", "2026-12-31", "2026Q3"),
    ("2026", "2026-01-01", "2026-12-31", "2025"), ("2026-01", "2026-01-01", "2026-01-31", "2025-12"),
])
def test_periods(text: str, first: str, last: str, previous: str) -> None:
    period = parse_period(text, SHANGHAI)
    assert (period.first.isoformat(), period.last.isoformat(), period.previous().label) == (first, last, previous)
    assert period.since.utcoffset() is not None and period.last_year().first.year == period.first.year - 1


def test_bad_period_says_what_is_expected() -> None:
    with pytest.raises(InvalidInput, match="2026Q4"):
        parse_period("October", SHANGHAI)


def test_every_category_and_fault_point_of_the_taxonomy_has_its_own_name_in_both_languages():
    """The high-frequency points and the improvement actions' point list name every point a complaint can have —
    its fault point, else its category — never its code, and no two alike (two 服务态度 were found in the list)."""
    taxonomy = default_taxonomy()
    points = {fp.name for fp in taxonomy.fault_points} | {c.value for c in Category}
    assert points <= set(POINT_NAMES), sorted(points - set(POINT_NAMES))  # each named, not shown as its code
    for point in points:
        assert re.fullmatch(r"[\u4e00-\u9fff]+", point_name(point, "zh-CN")), point
    for lang in ("zh-CN", "en"):
        assert len({point_name(p, lang) for p in points}) == len(points), lang
