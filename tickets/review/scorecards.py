"""Scorecards per department and per person for a period: tickets, response within 24 h, resolution, SLA
attainment (resolution deadline), return-visit satisfaction (4-5 of 5), reopens and transfers; and, per
department, the work orders it received from complaints (engineering's own load)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from tickets.review.compute import pct
from tickets.review.periods import Period

_BY = """
WITH tk AS (
    SELECT t.*, {who} AS who,
           coalesce((SELECT min(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.event = 'resolve'),
                    t.resolved_at) AS first_resolved,
           (SELECT v.overall FROM return_visits v WHERE v.ticket_id = t.id ORDER BY v.at DESC LIMIT 1) AS rating
    FROM tickets t
    WHERE t.created_at >= %(since)s AND t.created_at < %(until)s AND t.state <> 'cancelled' AND {who} IS NOT NULL
)
SELECT who, count(*),
       count(*) FILTER (WHERE responded_at - created_at <= interval '24 hours'),
       count(*) FILTER (WHERE first_resolved IS NOT NULL),
       count(*) FILTER (WHERE resolve_due IS NOT NULL AND first_resolved <= resolve_due),
       count(*) FILTER (WHERE resolve_due IS NOT NULL),
       count(*) FILTER (WHERE rating >= 4), count(rating),
       sum(reopen_count), sum(transfers)
FROM tk GROUP BY who ORDER BY who"""

BY_DEPARTMENT = _BY.format(who="t.department_id")
BY_PERSON = _BY.format(who="t.owner_id")

WORK_ORDERS_FROM_COMPLAINTS = """
SELECT w.department_id, count(*), count(*) FILTER (WHERE w.status = 'done') FROM work_orders w
JOIN tickets t ON t.id = w.ticket_id
WHERE t.source = 'complaint' AND w.created_at >= %(since)s AND w.created_at < %(until)s
GROUP BY w.department_id"""


@dataclass(frozen=True, slots=True)
class Scorecard:
    who: str  # department id or user id
    tickets: int
    response_24h: float | None
    resolution_rate: float | None
    resolve_sla: float | None
    satisfaction_rate: float | None
    ratings: int
    reopens: int
    transfers: int
    work_orders_from_complaints: int | None = None  # departments only
    work_orders_done: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cards(conn: psycopg.Connection, sql: str, period: Period) -> list[Scorecard]:
    params = {"since": period.since, "until": period.until}
    return [Scorecard(who, n, pct(r24, n), pct(res, n), pct(met, due), pct(happy, rated), rated,
                      int(reopens or 0), int(transfers or 0))
            for who, n, r24, res, met, due, happy, rated, reopens, transfers in conn.execute(sql, params).fetchall()]


def department_scorecards(conn: psycopg.Connection, period: Period) -> list[Scorecard]:
    params = {"since": period.since, "until": period.until}
    orders = {d: (n, done) for d, n, done in conn.execute(WORK_ORDERS_FROM_COMPLAINTS, params).fetchall()}
    cards = {c.who: c for c in _cards(conn, BY_DEPARTMENT, period)}
    for department, (n, done) in orders.items():
        base = cards.get(department) or Scorecard(department, 0, None, None, None, None, 0, 0, 0)
        cards[department] = Scorecard(**(base.as_dict() | {"work_orders_from_complaints": n,
                                                           "work_orders_done": done}))
    return [cards[k] for k in sorted(cards)]


def person_scorecards(conn: psycopg.Connection, period: Period) -> list[Scorecard]:
    return _cards(conn, BY_PERSON, period)
