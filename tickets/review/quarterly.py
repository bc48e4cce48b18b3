"""The quarterly review's own parts, beside the review every period has: the owners' committee summary (the few
figures a committee asks about, each beside its target and the previous quarter, plus the top high-frequency
point and what the proactive side prevented) and the league table of sites as CSV (appended to the figures'
CSV, as `forewarn review quarter --format csv` gives it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tickets.review.compute import Point, Review
from tickets.review.report import LEAGUE_COLUMNS

COMMITTEE_KEYS = ("complaints", "resolution_rate", "closed_loop_rate", "satisfaction_rate", "response_24h",
                  "repeat_complaints")


@dataclass(frozen=True, slots=True)
class SummaryLine:
    key: str  # a definitions.METRICS key
    value: float | None
    target: float | None
    ok: bool | None  # True green, False red, None no target or no data
    previous: float | None  # the previous quarter
    last_year: float | None  # the same quarter a year earlier


@dataclass(frozen=True, slots=True)
class CommitteeSummary:
    lines: list[SummaryLine]
    top_point: Point | None
    complaints_prevented: int  # visible incidents recovered before any resident complained
    proactive_coverage: float | None  # percent of visible incidents we detected before the first complaint


def committee_summary(review: Review) -> CommitteeSummary:
    lines = []
    for key in COMMITTEE_KEYS:
        figure = review.figure(key)
        lines.append(SummaryLine(key, figure.value, figure.target, figure.ok, review.previous.get(key),
                                 review.last_year.get(key)))
    coverage = review.proactive.get("proactive_coverage")
    return CommitteeSummary(lines, review.points[0] if review.points else None,
                            int(review.proactive.get("complaints_prevented") or 0),
                            round(100 * coverage, 1) if coverage is not None else None)


def league_csv(league: Sequence[dict[str, Any]]) -> str:
    """The league table as CSV lines after a blank line (the block `forewarn review quarter` appends)."""
    return "\nsite,name," + ",".join(LEAGUE_COLUMNS) + "\n" + "".join(
        f"{r['site']},{r['name']}," + ",".join("" if r[k] is None else f"{r[k]:g}" for k in LEAGUE_COLUMNS) + "\n"
        for r in league)
