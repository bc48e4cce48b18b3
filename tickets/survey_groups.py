"""A wave's cross-analysis (handbook 001 §2.3 "交叉分析"): the overall mean and NPS of the respondents grouped by
where they live and how they answered (building, mode), by every household attribute of the estate registry
(tenure, age band, unit type, tenure length, language, channel, needs help) and by experience (had a complaint
resolved, got a proactive notice, in the 12 months before the wave opened). A group under MIN_GROUP respondents
shows only its count.

A household's attributes are those of the resident who answered, else of its first active resident (by id); the
unit type is the unit's. Tenure length is counted in whole years from the move-in date to the day the wave opened.
Experience is the household's (any of its residents'): a complaint it raised whose ticket was resolved in
[opened − 12 months, opened), and a proactive notice (about an incident) delivered to one of its residents in that
window."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tickets.nps import nps

MIN_GROUP = 5  # fewer respondents than this and a group's figures are hidden (too few to read, and identifying)
EXPERIENCE_MONTHS = 12
UNKNOWN = "unknown"

# Tenure-length bands, in whole years since moving in, in their reading order.
TENURE_BANDS: tuple[tuple[int | None, str], ...] = ((1, "<1y"), (3, "1-3y"), (10, "3-10y"), (None, "10y+"))


@dataclass(frozen=True, slots=True)
class Response:
    unit_id: str
    building_id: str
    mode: str
    assisted: bool
    overall: int
    recommend: int
    comment: str
    scores: dict[str, int]
    tenure: str | None = None
    age_band: str | None = None
    unit_type: str | None = None
    moved_in: date | None = None
    language: str | None = None
    channel: str | None = None
    needs_help: bool | None = None
    complaint_resolved: bool = False
    proactive_notice: bool = False


def tenure_band(moved_in: date | None, on: date) -> str:
    """The tenure-length band of a household that moved in on `moved_in`, on the day `on`.

    >>> [tenure_band(date(y, 6, 1), date(2026, 6, 1)) for y in (2026, 2025, 2023, 2016)]
    ['<1y', '1-3y', '3-10y', '10y+']
    >>> tenure_band(date(2025, 6, 2), date(2026, 6, 1)), tenure_band(None, date(2026, 6, 1))
    ('<1y', 'unknown')
    """
    if moved_in is None:
        return UNKNOWN
    years = on.year - moved_in.year - ((on.month, on.day) < (moved_in.month, moved_in.day))
    for upper, label in TENURE_BANDS:
        if upper is None or years < upper:
            return label
    raise AssertionError("the last band is open-ended")


def _yes_no(value: bool | None) -> str:
    return UNKNOWN if value is None else ("yes" if value else "no")


def _text(value: str | None) -> str:
    return value if value else UNKNOWN


def attributes(opened: date) -> dict[str, tuple[Callable[[Response], str], Sequence[str] | None]]:
    """Each cross-analysis: how to read a respondent's group, and the groups' order (None: alphabetical)."""
    band_order = [label for _, label in TENURE_BANDS] + [UNKNOWN]
    yes_no = ["yes", "no", UNKNOWN]
    return {
        "building": (lambda r: r.building_id, None),
        "mode": (lambda r: r.mode, None),
        "tenure": (lambda r: _text(r.tenure), None),
        "age_band": (lambda r: _text(r.age_band), None),
        "unit_type": (lambda r: _text(r.unit_type), None),
        "tenure_length": (lambda r: tenure_band(r.moved_in, opened), band_order),
        "language": (lambda r: _text(r.language), None),
        "channel": (lambda r: _text(r.channel), None),
        "needs_help": (lambda r: _yes_no(r.needs_help), yes_no),
        "complaint_resolved": (lambda r: _yes_no(r.complaint_resolved), yes_no),
        "proactive_notice": (lambda r: _yes_no(r.proactive_notice), yes_no),
    }


def groups(responses: Sequence[Response], key: Callable[[Response], str],
           order: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One cross-analysis: per group its count and, from MIN_GROUP respondents, overall mean and NPS."""
    by: dict[str, list[Response]] = {}
    for r in responses:
        by.setdefault(key(r), []).append(r)
    names = sorted(by) if order is None else [g for g in order if g in by] + sorted(set(by) - set(order))
    out: list[dict[str, Any]] = []
    for group in names:
        members = by[group]
        if len(members) < MIN_GROUP:  # the count is fieldwork progress (coverage shows it too); the opinions hide
            out.append({"group": group, "responses": len(members), "hidden": True})
            continue
        out.append({"group": group, "responses": len(members), "hidden": False,
                    "overall_mean": round(statistics.fmean(m.overall for m in members), 2),
                    "nps": nps([m.recommend for m in members])})
    return out


def cross_analysis(responses: Sequence[Response], opened: date) -> dict[str, list[dict[str, Any]]]:
    """Every cross-analysis of a wave's responses, keyed by attribute."""
    return {name: groups(responses, key, order) for name, (key, order) in attributes(opened).items()}
