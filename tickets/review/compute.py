"""Computing a review: the figures of `definitions.METRICS` for one period and one slice (portfolio, site,
building, department, fault point, team or person), each beside its target and beside the previous period and
the same period a year earlier, complaint and preventive tickets side by side."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from tickets.names import place_names, sites
from tickets.review import queries as q
from tickets.review.definitions import METRICS, Unit
from tickets.review.periods import Period
from tickets.review.proactive import ReviewMetrics, review_metrics
from tickets.sla import DEFAULT_TZ

SOURCES = ("complaint", "preventive")


@dataclass(frozen=True, slots=True)
class Slice:
    site: str | None = None
    building: str | None = None
    department: str | None = None
    point: str | None = None  # a fault point (definitions.POINT_NAMES), e.g. the lift faults of an action
    # the ticket's owner (tickets.owner_id), or the owner's team (users.team_id): as the person scorecards count
    team: str | None = None
    person: str | None = None

    @property
    def label(self) -> str:
        parts = [f"{k}={v}" for k, v in (("site", self.site), ("building", self.building),
                                         ("department", self.department), ("point", self.point),
                                         ("team", self.team), ("person", self.person)) if v]
        return ", ".join(parts) or "portfolio"


@dataclass(frozen=True, slots=True)
class Targets:
    """Targets for the red/green marks: percent for rates. Unset: no mark."""
    satisfaction_rate: float = 90.0
    closed_loop_rate: float = 95.0
    resolution_rate: float = 95.0
    response_24h: float = 95.0
    respond_sla: float = 95.0
    resolve_sla: float = 90.0
    return_visit_48h: float = 90.0
    reopen_30d: float = 5.0

    @classmethod
    def of(cls, settings: Any) -> Targets:
        """The targets the settings set (`FOREWARN_REVIEW_*_TARGET`), the rest at their defaults: one reading for the
        CLI, the scheduler's stored reports, the API and the pages, so that a figure is red or green alike in each.
        Duck-typed, so that this package never imports the product package."""
        return cls(satisfaction_rate=settings.review_satisfaction_target,
                   closed_loop_rate=settings.review_closed_loop_target)

    def for_key(self, key: str) -> float | None:
        value = getattr(self, key, None)
        return float(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    value: float | None
    numerator: float | None = None
    denominator: int | None = None
    target: float | None = None

    @property
    def ok(self) -> bool | None:
        """True green, False red, None no target or no data."""
        if self.target is None or self.value is None:
            return None
        return self.value >= self.target if METRICS[self.key].higher_is_better else self.value <= self.target


@dataclass(frozen=True, slots=True)
class Point:
    point: str
    building: str
    complaints: int
    share: float  # percent of the period's complaints


@dataclass(slots=True)
class Review:
    period: str
    slice: str
    figures: dict[str, dict[str, Figure]]  # source → key → figure
    volume: dict[str, dict[str, int]] = field(default_factory=dict)  # dimension → value → complaints
    points: list[Point] = field(default_factory=list)
    unclosed: dict[str, dict[str, int]] = field(default_factory=dict)  # source → state → tickets
    breaches: list[dict[str, Any]] = field(default_factory=list)
    sla_by_tier: dict[str, dict[str, float | None]] = field(default_factory=dict)
    sla_by_type: dict[str, dict[str, float | None]] = field(default_factory=dict)  # request type → milestone → %
    proactive: dict[str, Any] = field(default_factory=dict)
    previous: dict[str, float | None] = field(default_factory=dict)  # complaint figures of the previous period
    last_year: dict[str, float | None] = field(default_factory=dict)
    # improvement actions with their metric before and after (actions.attach_actions; ActionView.as_dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    causes: list[dict[str, Any]] = field(default_factory=list)  # root causes recorded in the period (Cause.as_dict)
    # the name of each site, building and department by id (tickets.names.place_names): what the exports people read
    # (HTML, XLSX, PDF) show in place of the codes that JSON and CSV keep
    names: dict[str, str] = field(default_factory=dict)
    # the zone the period was cut in (Period.tz, the configured one): the exports people read show the breaches' times
    # as its wall clock, where JSON and CSV keep the instants as ISO strings with their offset; not in `as_dict`
    tz: ZoneInfo = DEFAULT_TZ

    def figure(self, key: str, source: str = "complaint") -> Figure:
        return self.figures.get(source, {}).get(key) or Figure(key, None)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["tz"]  # the JSON's instants carry their offset; a zone object would not serialise
        out["figures"] = {s: {k: asdict(f) | {"ok": f.ok} for k, f in fs.items()} for s, fs in self.figures.items()}
        return out


def pct(part: float, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def as_of(now: datetime | None) -> datetime:
    """The moment the figures are computed: `now` (the platform's clock, where the caller has it), else the wall
    clock. An SLA clock still running towards a deadline after it is pending, not missed (queries.settled)."""
    return now if now is not None else datetime.now(UTC)


def _params(period: Period, where: Slice, now: datetime | None = None) -> dict[str, Any]:
    return {"since": period.since, "until": period.until, "site": where.site, "building": where.building,
            "department": where.department, "point": where.point, "team": where.team, "person": where.person,
            "now": as_of(now)}


def _rate(key: str, part: int, whole: int, targets: Targets) -> Figure:
    return Figure(key, pct(part, whole), part, whole, targets.for_key(key))


def _ticket_figures(conn: psycopg.Connection, params: dict[str, Any], targets: Targets,
                    ) -> dict[str, dict[str, Figure]]:
    out: dict[str, dict[str, Figure]] = {}
    cur = conn.execute(q.TICKET_FIGURES, params)
    names = [d.name for d in cur.description or ()]
    for values in cur.fetchall():
        r = dict(zip(names, values, strict=True))
        n, resolved = int(r["tickets"]), int(r["resolved"])
        figs = [Figure("tickets", float(n), n, None), _rate("response_24h", r["response_24h"], n, targets),
                _rate("respond_sla", r["respond_met"], r["respond_due"], targets),
                _rate("resolve_sla", r["resolve_met"], r["resolve_due"], targets),
                _rate("resolution_rate", resolved, n, targets), _rate("closed_loop_rate", r["closed"], n, targets),
                _rate("return_visit_48h", r["visited_48h"], resolved, targets),
                _rate("reopen_30d", r["reopened_30d"], resolved, targets),
                _rate("transfer_share", r["transferred"], n, targets),
                _rate("transfer_twice_share", r["transferred_twice"], n, targets),
                _rate("escalation_share", r["escalated"], n, targets), _rate("major_share", r["major"], n, targets)]
        for key, den in (("response_p50", "responded"), ("response_p90", "responded"), ("on_site_p50", "arrived"),
                         ("on_site_p90", "arrived"), ("resolution_p50", "resolved"), ("resolution_p90", "resolved")):
            value = r[key]
            name = key.replace("response", "first_response")
            figs.append(Figure(name, round(float(value), 1) if value is not None else None, None, int(r[den])))
        out[r["source"]] = {f.key: f for f in figs}
    for source, happy, visits, total in conn.execute(q.VISITS, params).fetchall():
        figs_for = out.setdefault(source, {})
        figs_for["satisfaction_rate"] = _rate("satisfaction_rate", happy, visits, targets)
        mean = round(float(total) / visits, 2) if visits else None
        figs_for["satisfaction_mean"] = Figure("satisfaction_mean", mean, float(total or 0), visits)
    return out


def _complaint_figures(conn: psycopg.Connection, params: dict[str, Any], review: Review, lang_points: int) -> None:
    for dimension, value, count in conn.execute(q.VOLUME, params).fetchall():
        review.volume.setdefault(dimension, {})[value] = count
    review.points = [Point(p, b, n, pct(n, total) or 0.0)
                     for p, b, n, total in conn.execute(q.POINTS, params | {"limit": lang_points}).fetchall()]
    total, repeats, gap = conn.execute(q.REPEATS, params).fetchone() or (0, 0, None)
    figs = review.figures.setdefault("complaint", {})
    figs["complaints"] = Figure("complaints", float(total), total, None)
    figs["repeat_complaints"] = Figure("repeat_complaints", pct(repeats, total), repeats, total)
    figs["repeat_interval"] = Figure("repeat_interval", round(float(gap), 1) if gap is not None else None,
                                     None, repeats)


def _detail(conn: psycopg.Connection, params: dict[str, Any], review: Review) -> None:
    for source, state, count in conn.execute(q.UNCLOSED, params).fetchall():
        review.unclosed.setdefault(source, {})[state] = count
    review.breaches = [
        {"ticket": tid, "source": source, "tier": tier, "clock": clock, "milestone": milestone,
         "due": due.isoformat(), "met_at": met.isoformat() if met else None}
        for tid, source, tier, clock, milestone, due, met in conn.execute(q.BREACHES, params).fetchall()]
    for tier, r_met, r_due, s_met, s_due in conn.execute(q.SLA_BY_TIER, params).fetchall():
        review.sla_by_tier[tier] = {"respond": pct(r_met, r_due), "resolve": pct(s_met, s_due)}
    for kind, r_met, r_due, s_met, s_due in conn.execute(q.SLA_BY_TYPE, params).fetchall():
        review.sla_by_type[kind] = {"respond": pct(r_met, r_due), "resolve": pct(s_met, s_due)}


def _proactive(conn: psycopg.Connection, period: Period, params: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute(q.PROACTIVE_REACH, params).fetchone()
    out: dict[str, Any] = {"proactive_reach": int(row[0]) if row else 0}
    metrics: ReviewMetrics = review_metrics(conn, since=period.since, until=period.until)
    return out | metrics.as_dict()


HEADLINE = ("complaints", "resolution_rate", "closed_loop_rate", "satisfaction_rate", "response_24h",
            "reopen_30d", "repeat_complaints")


def headline_figures(conn: psycopg.Connection, period: Period, where: Slice, targets: Targets, *,
                     now: datetime | None = None) -> dict[str, float | None]:
    """The complaint figures of HEADLINE for one period and slice (the comparisons, the dashboard's trend)."""
    params = _params(period, where, now)
    figs = _ticket_figures(conn, params, targets).get("complaint", {})
    row = conn.execute(q.REPEATS, params).fetchone() or (0, 0, None)
    out = {key: f.value for key, f in figs.items() if key in HEADLINE}
    return out | {"complaints": float(row[0]), "repeat_complaints": pct(row[1], row[0])}


def compute_review(conn: psycopg.Connection, period: Period, where: Slice = Slice(), *,
                   targets: Targets = Targets(), points: int = 10, compare: bool = True,
                   now: datetime | None = None) -> Review:
    """The review of `period` for `where`, as of `now` (default: the wall clock; `as_of`). `compare`: also the
    headline figures of the previous period and of the same period last year (the proactive figures cover the
    whole portfolio)."""
    now = as_of(now)
    params = _params(period, where, now)
    review = Review(period.label, where.label, _ticket_figures(conn, params, targets), names=place_names(conn),
                    tz=period.tz)
    _complaint_figures(conn, params, review, points)
    _detail(conn, params, review)
    review.proactive = _proactive(conn, period, params)
    if compare:
        review.previous = headline_figures(conn, period.previous(), where, targets, now=now)
        review.last_year = headline_figures(conn, period.last_year(), where, targets, now=now)
    return review


COMPLAINT_KEYS = ("complaints", "repeat_complaints", "repeat_interval")


def figure_of(conn: psycopg.Connection, key: str, period: Period, where: Slice = Slice(), *,
              source: str = "complaint", targets: Targets = Targets(), now: datetime | None = None) -> Figure:
    """One metric of `definitions.METRICS` for one period, slice and source, as of `now`, running only the queries
    it needs (an improvement action's metric, month by month)."""
    params = _params(period, where, now)
    if key == "proactive_reach":
        row = conn.execute(q.PROACTIVE_REACH, params).fetchone()
        return Figure(key, float(row[0]) if row else 0.0)
    if key in COMPLAINT_KEYS:
        review = Review(period.label, where.label, {})
        if source == "complaint":
            _complaint_figures(conn, params, review, 1)
        return review.figure(key)
    empty = 0.0 if METRICS[key].unit is Unit.COUNT else None  # no tickets: a count is 0, a rate has no value
    return _ticket_figures(conn, params, targets).get(source, {}).get(key) or Figure(key, empty)


def unit_of(key: str) -> Unit:
    return METRICS[key].unit


LEAGUE = ("complaints", "resolution_rate", "closed_loop_rate", "satisfaction_rate", "response_24h")


def league_table(conn: psycopg.Connection, period: Period, *, targets: Targets = Targets(),
                 now: datetime | None = None) -> list[dict[str, Any]]:
    """The sites ranked by closed-loop rate, then satisfaction (the quarterly review's league table)."""
    table: list[dict[str, Any]] = []
    for site, name in sites(conn):
        review = compute_review(conn, period, Slice(site=site), targets=targets, points=1, compare=False, now=now)
        table.append({"site": site, "name": name} | {k: review.figure(k).value for k in LEAGUE})
    table.sort(key=lambda r: (-(r["closed_loop_rate"] or -1), -(r["satisfaction_rate"] or -1), r["site"]))
    return table
