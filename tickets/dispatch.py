"""Work across departments (issue #16 point 5, handbook 003: a major complaint sets several departments to work at
once): adding a work order for another department to a ticket, and listing a ticket's work orders with their own
clocks. One live work order per department and ticket (the partial unique index of migration 0089); the ticket's
first-responsibility owner stays its owner; the ticket resolves when the last work order is done
(`tickets.transitions`, `tickets.workorders.act`).

Who may bring a department in: customer service (agents), managers, admins, and department heads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import InvalidInput, NotAllowed, WorkOrderExists
from tickets.lifecycle import TicketState
from tickets.service import add_event, get_ticket, live_work_orders, open_work_order
from tickets.workorders import actor

# A ticket takes other departments' work while it is being worked on: not before it is routed (dispatch first),
# not once it is resolved, closed or cancelled (reopen it first).
_OPEN_TO_WORK = frozenset({TicketState.DISPATCHED, TicketState.ACKNOWLEDGED, TicketState.ON_SITE,
                           TicketState.WAITING_RESIDENT})
# A ticket's work orders, oldest first, with their own clocks.
_OF_TICKET = """SELECT id, department_id, assignee_id, status, reason, created_at, acknowledged_at, done_at,
                       respond_due, resolve_due
                FROM work_orders WHERE ticket_id = %s ORDER BY id"""


@dataclass(frozen=True, slots=True)
class TicketWorkOrder:
    id: int
    department_id: str
    assignee_id: str | None
    status: str
    reason: str
    created_at: datetime
    acknowledged_at: datetime | None
    done_at: datetime | None
    respond_due: datetime | None
    resolve_due: datetime | None


def departments(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT id FROM departments ORDER BY id")]


def ticket_work_orders(conn: psycopg.Connection, ticket_id: int) -> list[TicketWorkOrder]:
    """All of a ticket's work orders, oldest first (`NotFound` for an unknown ticket)."""
    get_ticket(conn, ticket_id)
    with conn.cursor(row_factory=class_row(TicketWorkOrder)) as cur:
        return cur.execute(_OF_TICKET, (ticket_id,)).fetchall()


def check_may_dispatch(conn: psycopg.Connection, user_id: str) -> None:
    """Agents, managers, admins and department heads bring departments in; `NotAllowed` for anyone else."""
    me = actor(conn, user_id)
    if not (me.oversees_all or me.role == "agent" or me.is_head):
        raise NotAllowed("only customer service, a department head, a manager or an admin adds work orders")


def add_work_order(conn: psycopg.Connection, ticket_id: int, department_id: str, *, by_user: str | None,
                   now: datetime, reason: str = "", config: TicketConfig = DEFAULT_CONFIG) -> TicketWorkOrder:
    """Open a work order for `department_id` on the ticket, with its own clock from the ticket's tier and SLA
    profile, pushed to the department (its grid owner, else its engineers), and a timeline row. The ticket's
    owner and state do not change. `by_user` None: an operator at the command line.

    Raises `NotFound` (ticket), `InvalidInput` (unknown department, a ticket not being worked on), `NotAllowed`
    (residents, engineers who head no department), `WorkOrderExists` (that department already has a live one)."""
    with conn.transaction():
        if by_user is not None:
            check_may_dispatch(conn, by_user)
        ticket = get_ticket(conn, ticket_id, lock=True)
        known = departments(conn)
        if department_id not in known:
            raise InvalidInput(f"no department {department_id!r}; choose one of: {', '.join(known)}")
        if ticket.state not in _OPEN_TO_WORK:
            raise InvalidInput(f"ticket {ticket_id} is {ticket.state}; work orders are added while it is dispatched, "
                               "acknowledged, on site or waiting on the resident")
        created = open_work_order(conn, ticket, department_id=department_id, now=now, config=config,
                                  reason=reason.strip())
        if created is None:
            live = next(w for w in live_work_orders(conn, ticket_id) if w.department_id == department_id)
            raise WorkOrderExists(f"{department_id} already has work order {live.id} ({live.status}) open on "
                                  f"ticket {ticket_id}; one live work order per department")
        add_event(conn, ticket_id, "work_order_added", at=now, actor=by_user or "cli", note=reason.strip(),
                  detail={"work_order_id": created, "department_id": department_id, "owner": ticket.owner_id})
        return next(w for w in ticket_work_orders(conn, ticket_id) if w.id == created)
