"""The manager's dashboard of one site: what is open now (incidents, live tickets by source and state), what is
overdue (the daily digest's query, for this site), the group risks still open (群体性风险, tickets.group_risk),
today's figures (the review's own definitions over today's tickets, and anticipation: the share of today's
complaints that arrived after we had detected their fault) and the headline figures of the last months, for the
charts. Everything over the lifecycle's rows, one site at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg

from tickets.lifecycle import TERMINAL_STATES, TicketState
from tickets.names import sites
from tickets.review.compute import SOURCES, Figure, Slice, Targets, compute_review, headline_figures, pct
from tickets.review.digest import DigestItem, list_overdue
from tickets.review.periods import Kind, Period, parse_period

# Open root incidents on the site's devices (with where each device is), newest first.
OPEN_INCIDENTS = """
SELECT i.id, i.device_id, d.location, d.kind, i.fault, i.severity, i.detected_at, i.ticket_id
FROM incidents i JOIN devices d ON d.id = i.device_id
WHERE i.status = 'open' AND i.root_incident_id IS NULL AND d.site_id = %(site)s
ORDER BY i.detected_at DESC, i.id DESC"""

# Live tickets (the digest's "live": not resolved, closed or cancelled) by source and state.
OPEN_TICKETS = """
SELECT t.source, t.state, count(*) FROM tickets t
WHERE t.site_id = %(site)s AND t.state NOT IN ('resolved', 'closed', 'cancelled')
GROUP BY 1, 2 ORDER BY 1, 2"""

# The site's group-risk flags whose lead ticket has not ended (see ENDED), newest first, with the building by name.
# Households: those counted when the flag was raised, or more once later households have joined it (their tickets
# are linked to the flag, tickets.group_risk; counted as it counts: distinct units, the flag's point and building,
# complaints no incident absorbed).
OPEN_GROUP_RISKS = """
SELECT g.id, b.name, g.point,
       GREATEST(g.households, (SELECT count(DISTINCT c.unit_id)
                               FROM complaints c JOIN tickets l ON l.id = c.ticket_id JOIN units u ON u.id = c.unit_id
                               WHERE l.group_risk_id = g.id AND c.point = g.point AND u.building_id = g.building_id
                                 AND NOT c.folded)),
       g.first_at, g.raised_at, g.ticket_id, t.state
FROM group_risks g JOIN tickets t ON t.id = g.ticket_id JOIN buildings b ON b.id = g.building_id
WHERE g.site_id = %(site)s AND t.state <> ALL(%(ended)s)
ORDER BY g.raised_at DESC, g.id DESC"""

# Complaints reported in [since, until) on the site's tickets, and how many of them we had anticipated (the
# complaint arrived after its fault had been detected: `complaints.anticipated`, set at intake).
ANTICIPATION = """
SELECT count(*), count(*) FILTER (WHERE c.anticipated)
FROM complaints c JOIN tickets t ON t.id = c.ticket_id
WHERE t.site_id = %(site)s AND c.reported_at >= %(since)s AND c.reported_at < %(until)s"""

# A flag is live until its lead ticket ends where the lifecycle ends: closed (the loop is closed) or cancelled (its
# terminal state). A closed lead that is reopened shows its flag again, as the fault is back.
ENDED = sorted(state.value for state in TERMINAL_STATES | {TicketState.CLOSED})
TODAY_KEYS = ("tickets", "response_24h", "respond_sla", "resolve_sla")
TREND_MONTHS = 12  # a year of months: the review's own horizon (this month against the same month last year)


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class OpenIncident:
    id: int
    device: str
    location: str  # where the device is, as the estate names it ("1号楼 高区加压泵 high-zone booster"); may be ""
    kind: str
    fault: str
    severity: str
    detected_at: str  # local, ISO to the minute
    ticket: int | None


@dataclass(frozen=True, slots=True)
class OpenGroupRisk:
    id: int
    building: str  # by name, as the estate names it ("1号楼 Building 1")
    point: str  # the fault point's code: the page names it in its language (definitions.point_name)
    households: int  # counted when raised, or more once later households joined
    first_at: str  # the first counted complaint, local, ISO to the minute
    raised_at: str  # local, ISO to the minute
    ticket: int  # the lead ticket, made major when the flag was raised
    state: str  # the lead ticket's


@dataclass(frozen=True, slots=True)
class Anticipation:
    complaints: int
    anticipated: int

    @property
    def share(self) -> float | None:
        """Percent of the complaints that we had anticipated; None without complaints."""
        return pct(self.anticipated, self.complaints)


@dataclass(frozen=True, slots=True)
class MonthFigures:
    month: date  # its first day, local
    figures: dict[str, float | None]  # compute.HEADLINE keys
    anticipation: Anticipation


@dataclass(slots=True)
class Dashboard:
    site: Site
    day: date
    incidents: list[OpenIncident] = field(default_factory=list)
    open_tickets: dict[str, dict[str, int]] = field(default_factory=dict)  # source → state → tickets
    overdue: list[DigestItem] = field(default_factory=list)
    group_risks: list[OpenGroupRisk] = field(default_factory=list)
    today: dict[str, dict[str, Figure]] = field(default_factory=dict)  # source → TODAY_KEYS, today's tickets
    anticipation: Anticipation = Anticipation(0, 0)
    trend: list[MonthFigures] = field(default_factory=list)  # oldest first, this month last

    @property
    def open_count(self) -> int:
        return sum(n for states in self.open_tickets.values() for n in states.values())


def list_sites(conn: psycopg.Connection) -> list[Site]:
    return [Site(i, name) for i, name in sites(conn)]


def open_group_risks(conn: psycopg.Connection, site: str, tz: ZoneInfo) -> list[OpenGroupRisk]:
    """The site's flags still open: raising one told the manager once, and nothing else lists it."""
    def local(at: datetime) -> str:
        return at.astimezone(tz).isoformat(timespec="minutes")

    rows = conn.execute(OPEN_GROUP_RISKS, {"site": site, "ended": ENDED}).fetchall()
    return [OpenGroupRisk(int(i), building, point, int(n), local(first), local(raised), int(ticket), state)
            for i, building, point, n, first, raised, ticket, state in rows]


def anticipation(conn: psycopg.Connection, site: str, since: datetime, until: datetime) -> Anticipation:
    row = conn.execute(ANTICIPATION, {"site": site, "since": since, "until": until}).fetchone()
    return Anticipation(int(row[0]), int(row[1])) if row else Anticipation(0, 0)


def last_months(today: date, tz: ZoneInfo, months: int = TREND_MONTHS) -> list[Period]:
    """The `months` months ending with today's (which is still running), oldest first."""
    current = parse_period(f"{today:%Y-%m}", tz)
    periods = [current]
    for _ in range(months - 1):
        periods.append(periods[-1].previous())
    return periods[::-1]


def trend(conn: psycopg.Connection, site: str, today: date, tz: ZoneInfo, targets: Targets = Targets(), *,
          now: datetime | None = None) -> list[MonthFigures]:
    return [MonthFigures(p.first, headline_figures(conn, p, Slice(site=site), targets, now=now),
                         anticipation(conn, site, p.since, p.until)) for p in last_months(today, tz)]


def build_dashboard(conn: psycopg.Connection, site: Site, *, now: datetime, tz: ZoneInfo,
                    targets: Targets = Targets()) -> Dashboard:
    """The dashboard of `site` at `now` (today = the local day of `now` in `tz`)."""
    today = now.astimezone(tz).date()
    board = Dashboard(site, today)
    params = {"site": site.id}
    board.incidents = [OpenIncident(i, dev, where, kind, fault, sev, at.astimezone(tz).isoformat(timespec="minutes"),
                                    t)
                       for i, dev, where, kind, fault, sev, at, t in conn.execute(OPEN_INCIDENTS, params).fetchall()]
    for source, state, n in conn.execute(OPEN_TICKETS, params).fetchall():
        board.open_tickets.setdefault(source, {})[state] = int(n)
    board.overdue = list_overdue(conn, now=now, tz=tz, site=site.id)
    board.group_risks = open_group_risks(conn, site.id, tz)
    day = Period(Kind.RANGE, today, today, tz)
    # As of `now`: a clock of today's tickets still running towards a later deadline is not a miss (yet), as the
    # overdue list above does not show it.
    review = compute_review(conn, day, Slice(site=site.id), targets=targets, points=0, compare=False, now=now)
    board.today = {source: {key: review.figure(key, source) for key in TODAY_KEYS} for source in SOURCES}
    board.anticipation = anticipation(conn, site.id, day.since, day.until)
    board.trend = trend(conn, site.id, today, tz, targets, now=now)
    return board
