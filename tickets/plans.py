"""Recording a written plan and a progress report on a ticket (issue #16 point 1; docs/lifecycle.md "SLA clocks").

A major complaint owes a written plan within 24 hours (001 §1.3) and a complex one a progress report within 7
working days (001) or a plan within 72 hours (003): these records are what meet those clocks (tickets/milestones.py),
not an acknowledgement. Each is a timeline row with the text (`plan_recorded`, `progress_reported`); a progress
report also reaches the residents whose requests are on the ticket, one notice per report (tickets/progress.py)."""

from __future__ import annotations

from datetime import datetime

import psycopg

from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import InvalidInput
from tickets.milestones import PLAN_RECORDED, PROGRESS_REPORTED, meet
from tickets.progress import notify_progress_report
from tickets.service import add_event, get_ticket

MAX_TEXT = 4000  # characters of a plan or a report
_OVER = ("resolved", "closed", "cancelled")  # nothing left to plan or report


def record_plan(conn: psycopg.Connection, ticket_id: int, *, text: str, by: str, now: datetime) -> dict[str, str]:
    """Record the written plan for the ticket; returns the clocks it met (clock -> milestone). InvalidInput for an
    empty or too long text or a ticket that is over, NotFound for an unknown ticket."""
    return _record(conn, ticket_id, PLAN_RECORDED, text=text, by=by, now=now)


def report_progress(conn: psycopg.Connection, ticket_id: int, *, text: str, by: str, now: datetime,
                    config: TicketConfig = DEFAULT_CONFIG) -> dict[str, str]:
    """Record a progress report to the resident and send it to everyone whose request is on the ticket; returns
    the clocks it met. Errors as `record_plan`."""
    return _record(conn, ticket_id, PROGRESS_REPORTED, text=text, by=by, now=now, config=config)


def _record(conn: psycopg.Connection, ticket_id: int, event: str, *, text: str, by: str, now: datetime,
            config: TicketConfig = DEFAULT_CONFIG) -> dict[str, str]:
    what = "plan" if event == PLAN_RECORDED else "progress report"
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"a {what} needs its text (what will be done, by whom and when)")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"a {what} is at most {MAX_TEXT} characters, not {len(text)}")
    with conn.transaction():
        ticket = get_ticket(conn, ticket_id, lock=True)
        if ticket.state in _OVER:
            raise InvalidInput(f"ticket {ticket_id} is {ticket.state}: no {what} can be recorded on it")
        met = meet(conn, ticket_id, event, now)
        add_event(conn, ticket_id, event, at=now, actor=by, note=text,
                  detail={"text": text} | ({"met": met} if met else {}))
        if event == PROGRESS_REPORTED:
            row = conn.execute("SELECT count(*) FROM ticket_events WHERE ticket_id = %s AND event = %s",
                               (ticket_id, event)).fetchone()
            notify_progress_report(conn, ticket, text, int(row[0]) if row else 1, now=now, config=config)
        return met
