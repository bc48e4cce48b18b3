"""Scorecards per department, per team and per person for a period: tickets, response within 24 h, resolution, SLA
attainment (resolution deadline), return-visit satisfaction (4-5 of 5), reopens and transfers; and, per
department and team, the work orders it received from complaints (engineering's own load; a team's are those
assigned to its members). A ticket's person is its owner (tickets.owner_id: whoever took it, 首问负责制, else the
grid owner or the on-call engineer), its team the owner's team; an engineer's work on tickets someone else owns shows
in the work orders of the department's and team's cards, not on the person's card. The resolution SLA counts a clock
once settled, as the review does (queries.settled): a deadline still ahead is not a miss."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg

from tickets.review.compute import as_of, pct
from tickets.review.periods import Period
from tickets.review.queries import met, settled

_BY = f"""
WITH tk AS (
    SELECT t.*, {{who}} AS who,
           coalesce((SELECT min(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.event = 'resolve'),
                    t.resolved_at) AS first_resolved,
           (SELECT v.overall FROM return_visits v WHERE v.ticket_id = t.id ORDER BY v.at DESC LIMIT 1) AS rating
    FROM tickets t
    WHERE t.created_at >= %(since)s AND t.created_at < %(until)s AND t.state <> 'cancelled' AND {{who}} IS NOT NULL
)
SELECT who, count(*),
       count(*) FILTER (WHERE responded_at - created_at <= interval '24 hours'),
       count(*) FILTER (WHERE first_resolved IS NOT NULL),
       count(*) FILTER (WHERE {met("resolve")}),  -- its own milestone
       count(*) FILTER (WHERE {settled("resolve")}),  -- a clock still running towards a later deadline: not yet
       count(*) FILTER (WHERE rating >= 4), count(rating),
       sum(reopen_count), sum(transfers)
FROM tk GROUP BY who ORDER BY who"""

BY_DEPARTMENT = _BY.format(who="t.department_id")
BY_PERSON = _BY.format(who="t.owner_id")
# A ticket's team is its owner's team (users.team_id), as its person is its owner.
BY_TEAM = _BY.format(who="(SELECT u.team_id FROM users u WHERE u.id = t.owner_id)")

_WORK_ORDERS = """
SELECT {who} AS who, count(*), count(*) FILTER (WHERE w.status = 'done') FROM work_orders w
JOIN tickets t ON t.id = w.ticket_id
WHERE t.source = 'complaint' AND w.created_at >= %(since)s AND w.created_at < %(until)s AND {who} IS NOT NULL
GROUP BY 1"""
WORK_ORDERS_FROM_COMPLAINTS = _WORK_ORDERS.format(who="w.department_id")
# A work order's team is its assignee's team (an unassigned work order counts for its department only).
WORK_ORDERS_BY_TEAM = _WORK_ORDERS.format(who="(SELECT u.team_id FROM users u WHERE u.id = w.assignee_id)")


@dataclass(frozen=True, slots=True)
class Scorecard:
    who: str  # department id, team id or user id
    tickets: int
    response_24h: float | None
    resolution_rate: float | None
    resolve_sla: float | None
    satisfaction_rate: float | None
    ratings: int
    reopens: int
    transfers: int
    work_orders_from_complaints: int | None = None  # departments and teams only
    work_orders_done: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cards(conn: psycopg.Connection, sql: str, period: Period, now: datetime | None) -> list[Scorecard]:
    params = {"since": period.since, "until": period.until, "now": as_of(now)}
    return [Scorecard(who, n, pct(r24, n), pct(res, n), pct(met, due), pct(happy, rated), rated,
                      int(reopens or 0), int(transfers or 0))
            for who, n, r24, res, met, due, happy, rated, reopens, transfers in conn.execute(sql, params).fetchall()]


def _with_orders(conn: psycopg.Connection, period: Period, cards_sql: str, orders_sql: str,
                 now: datetime | None) -> list[Scorecard]:
    params = {"since": period.since, "until": period.until}
    orders = {d: (n, done) for d, n, done in conn.execute(orders_sql, params).fetchall()}
    cards = {c.who: c for c in _cards(conn, cards_sql, period, now)}
    for who, (n, done) in orders.items():
        base = cards.get(who) or Scorecard(who, 0, None, None, None, None, 0, 0, 0)
        cards[who] = Scorecard(**(base.as_dict() | {"work_orders_from_complaints": n, "work_orders_done": done}))
    return [cards[k] for k in sorted(cards)]


def department_scorecards(conn: psycopg.Connection, period: Period, *, now: datetime | None = None,
                          ) -> list[Scorecard]:
    """Per department (the ticket's), as of `now` (default: the wall clock)."""
    return _with_orders(conn, period, BY_DEPARTMENT, WORK_ORDERS_FROM_COMPLAINTS, now)


def team_scorecards(conn: psycopg.Connection, period: Period, *, now: datetime | None = None) -> list[Scorecard]:
    """Per team: the tickets its members own, and the work orders from complaints assigned to its members."""
    return _with_orders(conn, period, BY_TEAM, WORK_ORDERS_BY_TEAM, now)


def person_scorecards(conn: psycopg.Connection, period: Period, *, now: datetime | None = None) -> list[Scorecard]:
    """Per person: the tickets they own (tickets.owner_id, 首问负责制), as of `now` (default: the wall clock)."""
    return _cards(conn, BY_PERSON, period, now)
