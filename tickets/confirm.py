"""The resident confirms a repair or disputes it (issue #16 point 9; docs/lifecycle.md "The resident's own
request"), from the "done — please check" notice or the request page, while the ticket is resolved.

Confirming is a timeline row (`resident_confirmed`, once per resolution): the ticket stays resolved for the return
visit, whose rating closes it. Disputing reopens the ticket through the lifecycle's reopen (new deadlines from
now, the work order cancelled) with the resident's reason as the note, and dispatches it again at once, as an
unsatisfied return visit does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import InvalidInput, NotFound
from tickets.lifecycle import TicketEvent, TicketState
from tickets.service import add_event, get_ticket
from tickets.transitions import transition
from tickets.visits import resident_concerned

REASON_MAX = 2000

# Whether the resident already confirmed this resolution of the ticket.
_CONFIRMED = """SELECT EXISTS (SELECT 1 FROM ticket_events WHERE ticket_id = %s AND event = 'resident_confirmed'
                               AND (detail ->> 'resident_id') = %s AND (detail ->> 'reopen_count')::int = %s)"""


@dataclass(frozen=True, slots=True)
class Answer:
    ticket_id: int
    state: str  # the ticket's state afterwards
    confirmed: bool  # True: confirmed; False: disputed (and reopened)


def _resolved_ticket_of(conn: psycopg.Connection, ticket_id: int, resident_id: str) -> int:
    """The reopen count of the ticket, locked, if the resident raised it and it is waiting for their check."""
    if not resident_concerned(conn, ticket_id, resident_id):
        raise NotFound(f"no ticket {ticket_id}")
    ticket = get_ticket(conn, ticket_id, lock=True)
    if ticket.state != TicketState.RESOLVED:
        raise InvalidInput(f"ticket {ticket_id} is {ticket.state}; only a repair reported done can be confirmed "
                           "or disputed")
    return ticket.reopen_count


def has_confirmed(conn: psycopg.Connection, ticket_id: int, resident_id: str) -> bool:
    ticket = get_ticket(conn, ticket_id)
    row = conn.execute(_CONFIRMED, (ticket_id, resident_id, ticket.reopen_count)).fetchone()
    return bool(row and row[0])


def confirm_repair(conn: psycopg.Connection, ticket_id: int, *, resident_id: str, by_user: str | None,
                   now: datetime) -> Answer:
    """The resident says the repair holds. Idempotent: a second confirmation of the same resolution adds nothing."""
    with conn.transaction():
        reopen_count = _resolved_ticket_of(conn, ticket_id, resident_id)
        row = conn.execute(_CONFIRMED, (ticket_id, resident_id, reopen_count)).fetchone()
        if not (row and row[0]):
            add_event(conn, ticket_id, "resident_confirmed", at=now, actor=by_user,
                      note="the resident confirmed the repair",
                      detail={"resident_id": resident_id, "reopen_count": reopen_count})
        return Answer(ticket_id, TicketState.RESOLVED.value, True)


def dispute_repair(conn: psycopg.Connection, ticket_id: int, *, resident_id: str, by_user: str | None, reason: str,
                   now: datetime, config: TicketConfig = DEFAULT_CONFIG) -> Answer:
    """The resident says it is not fixed: reopen with their reason and dispatch it again, in one transaction."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say what is still wrong: the reason goes to the team that reopens it")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"the reason is longer than {REASON_MAX} characters")
    with conn.transaction():
        _resolved_ticket_of(conn, ticket_id, resident_id)
        transition(conn, ticket_id, TicketEvent.REOPEN, actor=by_user, now=now, config=config,
                   note=f"disputed by the resident: {reason}")
        after = transition(conn, ticket_id, TicketEvent.DISPATCH, actor=by_user, now=now, config=config)
        return Answer(ticket_id, after.state, False)
