"""A survey wave's analysis (handbook 001 §2.3–2.4): per item and dimension the mean (1–5) and the share of 4–5,
with the change since the previous wave; the overall score; NPS with its 95 % interval (tickets/nps.py);
cross-analysis (tickets/survey_groups.py) by building, mode, every household attribute and experience, with groups
under 5 respondents hidden; impact weights and the priority matrix. Method (also in docs/surveys.md):

- impact weight: the Pearson correlation of a dimension's (or item's) score with the overall 1–10 score over the
  wave's respondents, negative values taken as 0, normalised so the weights of one level add up to 100 % (001 §2.3
  reads importance off this correlation: "0.8, a strong positive correlation");
- priority matrix: score (the mean, 1–5) against weight. The score is high from 4.0 (a 4–5 answer is "satisfied");
  the weight is high from the mean weight of the entries compared (weights are shares, only their relative size
  means anything), ties counting high. Low score & high weight: fix first; low & low: next; high & high: keep the
  lead; high score & low weight: maintain. 001 §2.4's three examples land there: facilities 3.0 / 20 % fix first,
  activities 3.5 / 10 % next, customer service 4.5 / 15 % keep the lead (mean weight 15 %)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import psycopg
from psycopg.rows import class_row

from tickets.nps import nps_interval
from tickets.survey_groups import MIN_GROUP, Response, cross_analysis
from tickets.survey_template import DIMENSION_LABELS, ITEMS, items_of
from tickets.survey_waves import Wave, coverage, get_wave, sample_modes
from tickets.surveys import DIMENSIONS

__all__ = ["MIN_GROUP", "Quadrant", "Response", "load_responses", "priority_matrix", "quadrant", "summarise",
           "wave_report"]

SATISFIED = 4.0  # the matrix's score cut on the 1–5 scale


class Quadrant(StrEnum):
    FIX_FIRST = "fix first"
    NEXT = "next"
    KEEP_THE_LEAD = "keep the lead"
    MAINTAIN = "maintain"


# --- named statements -------------------------------------------------------------------------------------------
# A wave's responses with their building, the unit's type, the household's attributes (the answering resident's,
# else the unit's first active resident's), its experience in the 12 months before the wave opened (a complaint
# whose ticket was resolved; a proactive notice, one about an incident, delivered), and the item scores as JSON.
RESPONSES = """SELECT r.unit_id, u.building_id, r.mode, r.assisted, r.overall, r.recommend, r.comment,
                      (SELECT jsonb_object_agg(item, score) FROM survey_wave_scores WHERE response_id = r.id) AS scores,
                      who.resident_group AS tenure, who.age_band, u.unit_type, who.moved_in, who.language,
                      who.channel, who.needs_help,
                      EXISTS (SELECT 1 FROM complaints c JOIN tickets t ON t.id = c.ticket_id
                              WHERE c.unit_id = r.unit_id AND t.resolved_at >= w.opened_at - interval '12 months'
                                AND t.resolved_at < w.opened_at) AS complaint_resolved,
                      EXISTS (SELECT 1 FROM notices n
                              WHERE n.unit_id = r.unit_id AND n.resident_id IS NOT NULL AND n.incident_id IS NOT NULL
                                AND n.delivered_at >= w.opened_at - interval '12 months'
                                AND n.delivered_at < w.opened_at) AS proactive_notice
               FROM survey_wave_responses r JOIN survey_waves w ON w.id = r.wave_id JOIN units u ON u.id = r.unit_id
               LEFT JOIN LATERAL (SELECT resident_group, age_band, moved_in, language, channel, needs_help
                                  FROM residents
                                  WHERE id = r.resident_id OR (r.resident_id IS NULL AND unit_id = r.unit_id AND active)
                                  ORDER BY id LIMIT 1) who ON true
               WHERE r.wave_id = %(id)s ORDER BY r.id"""
# The wave before this one at the same site and of the same kind (a move-out wave is compared with move-outs).
PREVIOUS_WAVE = """SELECT p.id FROM survey_waves p JOIN survey_waves w ON w.id = %(id)s
                   WHERE p.site_id = w.site_id AND p.kind = w.kind AND (p.opened_at, p.id) < (w.opened_at, w.id)
                   ORDER BY p.opened_at DESC, p.id DESC LIMIT 1"""


def quadrant(score: float, weight: float, *, weight_cut: float, score_cut: float = SATISFIED) -> Quadrant:
    """Where a (score, weight) pair falls in the priority matrix.

    >>> quadrant(3.0, 0.20, weight_cut=0.15), quadrant(3.5, 0.10, weight_cut=0.15)
    (<Quadrant.FIX_FIRST: 'fix first'>, <Quadrant.NEXT: 'next'>)
    """
    high_score, high_weight = score >= score_cut, weight >= weight_cut - 1e-9
    if high_weight:
        return Quadrant.KEEP_THE_LEAD if high_score else Quadrant.FIX_FIRST
    return Quadrant.MAINTAIN if high_score else Quadrant.NEXT


def priority_matrix(entries: Mapping[str, tuple[float, float]]) -> dict[str, Quadrant]:
    """Each entry's quadrant from its (score, weight), the weight cut at the entries' mean weight."""
    if not entries:
        return {}
    cut = statistics.fmean(weight for _, weight in entries.values())
    return {name: quadrant(score, weight, weight_cut=cut) for name, (score, weight) in entries.items()}


def impact_weights(columns: Mapping[str, Sequence[float]], overall: Sequence[float]) -> dict[str, float | None]:
    """Correlation with the overall score, negatives as 0, normalised to add up to 1 (None: no spread)."""
    raw: dict[str, float | None] = {}
    for name, values in columns.items():
        try:
            raw[name] = max(statistics.correlation(values, overall), 0.0)
        except statistics.StatisticsError:  # fewer than two answers, or everyone gave the same score
            raw[name] = None
    total = sum(r for r in raw.values() if r is not None)
    return {name: (r / total if r is not None and total > 0 else None) for name, r in raw.items()}


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _top2(values: Sequence[int]) -> float | None:
    return round(100 * sum(1 for v in values if v >= 4) / len(values), 1) if values else None


def _level(keys: Sequence[str], per_respondent: Mapping[str, list[float]], answers: Mapping[str, list[int]],
           overall: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Mean, share of 4–5, weight and quadrant for each key of one level (items, or dimensions)."""
    weights = impact_weights({k: per_respondent[k] for k in keys}, overall)
    rows: dict[str, dict[str, Any]] = {}
    for k in keys:
        weight = weights[k]
        rows[k] = {"mean": _mean(per_respondent[k]), "share_4_5": _top2(answers[k]),
                   "weight": None if weight is None else round(100 * weight, 1), "quadrant": None}
    weighted = {k: (float(r["mean"]), float(r["weight"])) for k, r in rows.items()
                if r["mean"] is not None and r["weight"] is not None}
    for k, q in priority_matrix(weighted).items():
        rows[k]["quadrant"] = q.value
    return rows


def summarise(responses: Sequence[Response], *, population: int | None = None) -> dict[str, Any]:
    """The figures of one set of responses; all but the count are hidden under MIN_GROUP respondents."""
    n = len(responses)
    if n < MIN_GROUP:
        return {"responses": n, "hidden": True}
    overall = [float(r.overall) for r in responses]
    item_values = {it.key: [r.scores[it.key] for r in responses] for it in ITEMS}
    dim_scores = {d: [statistics.fmean(r.scores[i] for i in items_of(d)) for r in responses] for d in DIMENSIONS}
    dim_answers = {d: [v for i in items_of(d) for v in item_values[i]] for d in DIMENSIONS}
    estimate = nps_interval([r.recommend for r in responses], population=population)
    assert estimate is not None
    return {
        "responses": n, "hidden": False, "overall_mean": _mean(overall),
        "nps": {"score": estimate.score, "low": estimate.low, "high": estimate.high,
                "promoters": estimate.promoters, "detractors": estimate.detractors, "excellent": estimate.excellent},
        "items": _level([it.key for it in ITEMS], {k: [float(v) for v in vs] for k, vs in item_values.items()},
                        item_values, overall),
        "dimensions": _level(list(DIMENSIONS), dim_scores, dim_answers, overall),
    }


def _trend(current: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Add the previous wave's figure and the change to each item, dimension, overall and NPS (in place)."""
    shown = previous is not None and not previous["hidden"]

    def pair(now: float | None, before: float | None) -> dict[str, float | None]:
        change = round(now - before, 2) if now is not None and before is not None else None
        return {"previous": before, "change": change}

    for level in ("items", "dimensions"):
        for key, row in current[level].items():
            row.update(pair(row["mean"], previous[level][key]["mean"] if shown else None))  # type: ignore[index]
    current["overall_trend"] = pair(current["overall_mean"], previous["overall_mean"] if shown else None)  # type: ignore[index]
    current["nps_trend"] = pair(current["nps"]["score"], previous["nps"]["score"] if shown else None)  # type: ignore[index]


def load_responses(conn: psycopg.Connection, wave_id: int) -> list[Response]:
    with conn.cursor(row_factory=class_row(Response)) as cur:
        return cur.execute(RESPONSES, {"id": wave_id}).fetchall()


def wave_report(conn: psycopg.Connection, wave_id: int) -> dict[str, Any]:
    """Everything `forewarn survey wave report` shows, as JSON-ready data."""
    wave = get_wave(conn, wave_id)
    responses = load_responses(conn, wave_id)
    plan = sample_modes(conn, wave_id)
    report: dict[str, Any] = {"wave": _wave_fields(wave), "plan": plan,
                              "collected": {m: sum(1 for r in responses if r.mode == m) for m in plan},
                              "assisted": sum(1 for r in responses if r.assisted),
                              "coverage": [{"building": s.building_id, "households": s.households,
                                            "sampled": s.sampled, "responded": s.responded,
                                            "coverage": round(100 * s.coverage, 1), "target": s.target,
                                            "shortfall": s.shortfall} for s in coverage(conn, wave_id)]}
    report.update(summarise(responses, population=wave.households))
    previous_row = conn.execute(PREVIOUS_WAVE, {"id": wave_id}).fetchone()
    report["previous_wave"] = int(previous_row[0]) if previous_row else None
    if not report["hidden"]:
        previous = summarise(load_responses(conn, previous_row[0])) if previous_row else None
        _trend(report, previous)
        report["groups"] = cross_analysis(responses, wave.opened_at.date())
        report["comments"] = [r.comment for r in responses if r.comment]
    report["labels"] = {"items": {it.key: {"zh-CN": it.zh, "en": it.en, "dimension": it.dimension} for it in ITEMS},
                        "dimensions": {d: {"zh-CN": zh, "en": en} for d, (zh, en) in DIMENSION_LABELS.items()}}
    return report


def _wave_fields(wave: Wave) -> dict[str, Any]:
    return {"id": wave.id, "site": wave.site_id, "kind": wave.kind, "template": wave.template,
            "status": wave.status, "households": wave.households, "sample_share": round(wave.sample_share, 4),
            "seed": wave.seed, "reason": wave.reason, "incident": wave.incident_id,
            "opened_at": wave.opened_at.isoformat(),
            "closed_at": wave.closed_at.isoformat() if wave.closed_at else None}
