"""Return visits (回访): the resident's rating after resolution. Overall 1–2 is unsatisfied and reopens the
ticket; otherwise the loop closes. A visit later than the configured 48 hours is recorded as late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import InvalidInput
from tickets.lifecycle import TicketEvent, TicketState
from tickets.service import get_ticket
from tickets.transitions import transition

UNSATISFIED_MAX = 2  # DESIGN.md: an overall rating of 1–2 is unsatisfied


@dataclass(frozen=True, slots=True)
class Rating:
    response_speed: int
    professionalism: int
    attitude: int
    overall: int
    comment: str = ""

    def validate(self) -> None:
        for name in ("response_speed", "professionalism", "attitude", "overall"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= 5:
                raise InvalidInput(f"{name} must be an integer from 1 to 5, not {value!r}")


@dataclass(frozen=True, slots=True)
class VisitResult:
    visit_id: int
    satisfied: bool
    within_48h: bool
    state: str


# A resident's ticket: the one opened for their complaint, or one their complaint was folded into.
_SQL_RESIDENT_CONCERNED = """SELECT EXISTS (SELECT 1 FROM tickets WHERE id = %(ticket)s AND resident_id = %(resident)s)
                                 OR EXISTS (SELECT 1 FROM complaints
                                            WHERE ticket_id = %(ticket)s AND resident_id = %(resident)s)"""


def resident_concerned(conn: psycopg.Connection, ticket_id: int, resident_id: str) -> bool:
    """Whether the resident complained about this ticket (directly, or folded into it), and so may rate it."""
    row = conn.execute(_SQL_RESIDENT_CONCERNED, {"ticket": ticket_id, "resident": resident_id}).fetchone()
    return bool(row and row[0])


def record_return_visit(conn: psycopg.Connection, ticket_id: int, rating: Rating, *, by_user: str | None,
                        now: datetime, config: TicketConfig = DEFAULT_CONFIG) -> VisitResult:
    """Store the rating; close the ticket, or reopen and re-dispatch it when the resident is unsatisfied."""
    rating.validate()
    with conn.transaction():
        ticket = get_ticket(conn, ticket_id, lock=True)
        if ticket.state != TicketState.RESOLVED:
            raise InvalidInput(f"ticket {ticket_id} is {ticket.state}; a return visit follows resolution")
        assert ticket.resolved_at is not None
        within = now - ticket.resolved_at <= config.return_visit_within
        row = conn.execute(
            """INSERT INTO return_visits (ticket_id, at, by_user, response_speed, professionalism, attitude,
                   overall, comment, within_48h)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (ticket_id, now, by_user, rating.response_speed, rating.professionalism, rating.attitude,
             rating.overall, rating.comment, within),
        ).fetchone()
        assert row is not None
        satisfied = rating.overall > UNSATISFIED_MAX
        note = f"return visit: overall {rating.overall}/5" + (f" — {rating.comment}" if rating.comment else "")
        if satisfied:
            after = transition(conn, ticket_id, TicketEvent.CLOSE, actor=by_user, now=now, config=config, note=note)
        else:
            transition(conn, ticket_id, TicketEvent.REOPEN, actor=by_user, now=now, config=config, note=note)
            after = transition(conn, ticket_id, TicketEvent.DISPATCH, actor=by_user, now=now, config=config)
        return VisitResult(int(row[0]), satisfied, within, after.state)
