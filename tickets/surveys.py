"""Satisfaction surveys: responses, and the round's summary as the handbooks build it — mean per dimension,
NPS (% promoters 9–10 − % detractors 0–6), the share of households sampled (target ≥ 10%), cross-analysis by
resident group, and a priority matrix of impact (correlation with the overall score) × score."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from tickets.errors import InvalidInput
from tickets.nps import nps

__all__ = ["DIMENSIONS", "SurveyAnswer", "nps", "record_survey", "survey_summary"]

DIMENSIONS = ("basic_services", "facility_maintenance", "communication", "value_added")
SAMPLE_TARGET = 0.10  # the handbooks: survey at least 10% of households


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    basic_services: int
    facility_maintenance: int
    communication: int
    value_added: int
    overall: int  # 1–10
    recommend: int  # 0–10
    comment: str = ""

    def validate(self) -> None:
        for name in DIMENSIONS:
            if not 1 <= getattr(self, name) <= 5:
                raise InvalidInput(f"{name} must be from 1 to 5, not {getattr(self, name)!r}")
        if not 1 <= self.overall <= 10:
            raise InvalidInput(f"overall must be from 1 to 10, not {self.overall!r}")
        if not 0 <= self.recommend <= 10:
            raise InvalidInput(f"recommend must be from 0 to 10, not {self.recommend!r}")


def record_survey(conn: psycopg.Connection, round_name: str, resident_id: str, answer: SurveyAnswer, *,
                  now: datetime) -> int:
    """Store one resident's answers for a round (answering again replaces the earlier answers)."""
    answer.validate()
    unit = conn.execute("SELECT unit_id FROM residents WHERE id = %s", (resident_id,)).fetchone()
    if unit is None:
        raise InvalidInput(f"no resident {resident_id!r}")
    row = conn.execute(
        """INSERT INTO survey_responses (round, resident_id, unit_id, at, basic_services, facility_maintenance,
               communication, value_added, overall, recommend, comment)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (round, resident_id) DO UPDATE SET at = EXCLUDED.at,
               basic_services = EXCLUDED.basic_services, facility_maintenance = EXCLUDED.facility_maintenance,
               communication = EXCLUDED.communication, value_added = EXCLUDED.value_added,
               overall = EXCLUDED.overall, recommend = EXCLUDED.recommend, comment = EXCLUDED.comment
           RETURNING id""",
        (round_name, resident_id, unit[0], now, answer.basic_services, answer.facility_maintenance,
         answer.communication, answer.value_added, answer.overall, answer.recommend, answer.comment),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _impact(xs: list[int], ys: list[int]) -> float | None:
    try:
        return round(statistics.correlation(xs, ys), 3)
    except statistics.StatisticsError:  # fewer than two answers, or no spread
        return None


def survey_summary(conn: psycopg.Connection, round_name: str, *, site_id: str | None = None) -> dict[str, Any]:
    rows = conn.execute(
        f"""SELECT {", ".join("s." + d for d in DIMENSIONS)}, s.overall, s.recommend, r.resident_group, s.unit_id
            FROM survey_responses s JOIN residents r ON r.id = s.resident_id
            JOIN units u ON u.id = s.unit_id JOIN buildings b ON b.id = u.building_id
            WHERE s.round = %(round)s AND (%(site)s::text IS NULL OR b.site_id = %(site)s)""",
        {"round": round_name, "site": site_id},
    ).fetchall()
    households = conn.execute(
        """SELECT count(*) FROM units u JOIN buildings b ON b.id = u.building_id
           WHERE %(site)s::text IS NULL OR b.site_id = %(site)s""", {"site": site_id}).fetchone()[0]  # type: ignore[index]
    overall = [r[4] for r in rows]
    matrix: list[dict[str, Any]] = []  # one row of the report per dimension (JSON for the API)
    for index, name in enumerate(DIMENSIONS):
        scores = [r[index] for r in rows]
        mean = round(statistics.fmean(scores), 2) if scores else None
        impact = _impact(scores, overall)
        matrix.append({"dimension": name, "score": mean, "impact": impact})
    scored = [m for m in matrix if m["score"] is not None and m["impact"] is not None]
    if scored:
        mid_score = statistics.median(m["score"] for m in scored)
        mid_impact = statistics.median(m["impact"] for m in scored)
        for m in scored:  # high impact and low score: fix first
            high, low = m["impact"] >= mid_impact, m["score"] <= mid_score
            m["quadrant"] = {(True, True): "fix first", (True, False): "keep up",
                             (False, True): "improve later", (False, False): "maintain"}[(high, low)]
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        groups.setdefault(r[6], []).append(r)
    sampled = len({r[7] for r in rows})
    return {
        "round": round_name, "responses": len(rows), "households": households,
        "sample_share": round(sampled / households, 4) if households else None,
        "sample_sufficient": bool(households) and sampled / households >= SAMPLE_TARGET,
        "overall_mean": round(statistics.fmean(overall), 2) if overall else None,
        "nps": nps([r[5] for r in rows]),
        "by_group": {g: {"responses": len(rs), "overall_mean": round(statistics.fmean(x[4] for x in rs), 2),
                         "nps": nps([x[5] for x in rs])} for g, rs in sorted(groups.items())},
        "priority_matrix": matrix,
    }
