"""Applying a lifecycle event to a ticket: one transaction that checks the table, writes the new state with a
guard against concurrent change (state and version), the event row, and the side effects (work orders, SLA
pause, resolution checks).

A ticket may carry work orders of several departments (`tickets.dispatch`). Accepting, arriving and resolving the
ticket move its own department's work order (or the one `work_order_id` names, when a work order's step drives the
ticket); transfer moves its own department's; cancel and reopen end them all. A ticket working across departments
resolves only when no work order is left open (`WorkOrdersOpen`, naming the departments). A refused transfer raises
`TransferRefused`, whose `problem` says which rule refused it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import psycopg

from tickets import sla
from tickets.classify import DEPARTMENT_FOR, Category
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import ClosureBlocked, ConcurrentChange, InvalidInput, WorkOrdersOpen
from tickets.lifecycle import TicketEvent, next_state
from tickets.maintenance_notice import notify_maintenance_done
from tickets.milestones import REOPENED, meet
from tickets.on_call import night_taker
from tickets.progress import notify_step
from tickets.service import (
    Ticket,
    add_event,
    get_ticket,
    incident_is_abnormal,
    live_work_orders,
    open_work_order,
    set_work_order_status,
    works_across_departments,
)
from tickets.staff_push import push_work_order
from tickets.warranty import start_warranty

E = TicketEvent


class TransferProblem(StrEnum):
    """Why a transfer was refused."""

    NO_DEPARTMENT = "no_department"
    SAME_DEPARTMENT = "same_department"  # the ticket is already with it
    UNKNOWN_DEPARTMENT = "unknown_department"
    HAS_WORK_ORDER = "has_work_order"  # the department already works on the ticket through a live work order


class TransferRefused(InvalidInput):
    """A transfer the ticket cannot take as asked. `problem` says which rule refused it, so that a page can say it in
    the reader's language; the message is the API's and the command line's English."""

    def __init__(self, message: str, problem: TransferProblem, department_id: str | None) -> None:
        super().__init__(message)
        self.problem, self.department_id = problem, department_id


_WORK_ORDER_STATUS = {E.ACKNOWLEDGE: "acknowledged", E.ARRIVE: "on_site", E.RESOLVE: "done", E.CANCEL: "cancelled"}


def transition(
    conn: psycopg.Connection, ticket_id: int, event: TicketEvent | str, *, actor: str | None, now: datetime,
    note: str = "", expected_version: int | None = None, config: TicketConfig = DEFAULT_CONFIG,
    department_id: str | None = None, override_reason: str | None = None, root_cause: str | None = None,
    work_order_id: int | None = None,
) -> Ticket:
    """Apply `event` to the ticket and return it as it now is. `work_order_id`: the work order whose step this is
    (`tickets.workorders.act`); it moves with the ticket instead of the ticket's own department's.

    Raises `IllegalTransition` if the table does not allow it, `ConcurrentChange` if the ticket changed under us
    (or is not at `expected_version`), `ClosureBlocked` when resolving while the device is still abnormal
    without an `override_reason`, `WorkOrdersOpen` when resolving while other departments' work orders are open,
    `NotFound` for an unknown ticket."""
    event = TicketEvent(event)
    with conn.transaction():
        ticket = get_ticket(conn, ticket_id)
        target = next_state(ticket.state, event)
        if expected_version is not None and expected_version != ticket.version:
            raise ConcurrentChange(f"ticket {ticket_id} is at version {ticket.version}, not {expected_version}")
        if event is E.RESOLVE:
            _check_work_orders_done(conn, ticket, work_order_id)
        changes = _changes(conn, ticket, event, now=now, config=config, department_id=department_id,
                           override_reason=override_reason, root_cause=root_cause)
        assignments = ", ".join(f"{column} = %({column})s" for column in changes)
        row = conn.execute(
            f"""UPDATE tickets SET state = %(to)s, version = version + 1{', ' + assignments if changes else ''}
                WHERE id = %(id)s AND state = %(from)s AND version = %(version)s RETURNING id""",
            changes | {"to": target.value, "id": ticket_id, "from": ticket.state, "version": ticket.version},
        ).fetchone()
        if row is None:
            raise ConcurrentChange(f"ticket {ticket_id} changed while being updated; reload it and try again")
        detail: dict[str, object] = {k: v for k, v in changes.items()
                                     if k in ("department_id", "override_reason", "root_cause")}
        met = meet(conn, ticket_id, event, now)  # the clocks whose milestone this step meets (tickets/milestones.py)
        if met:
            detail["met"] = met
        add_event(conn, ticket_id, event.value, at=now, actor=actor, from_state=ticket.state,
                  to_state=target.value, note=note, detail=detail)
        updated = get_ticket(conn, ticket_id)
        _after(conn, ticket, updated, event, now=now, config=config, work_order_id=work_order_id, note=note)
        return updated


def _check_work_orders_done(conn: psycopg.Connection, ticket: Ticket, work_order_id: int | None) -> None:
    """Refuse to resolve while work orders are open. The one being completed (`work_order_id`) does not count; a
    ticket with work of its own department only resolves its own work order with it, as it always did; once other
    departments are involved, every open work order blocks."""
    live = [w for w in live_work_orders(conn, ticket.id) if w.id != work_order_id]
    if work_order_id is None and not works_across_departments(conn, ticket):
        live = [w for w in live if w.department_id != ticket.department_id]
    if live:
        names = ", ".join(f"{w.department_id} (work order {w.id}, {w.status})" for w in live)
        raise WorkOrdersOpen(f"ticket {ticket.id} cannot be resolved while work orders are open: {names}; each "
                             "department completes its own work order, and the last one done resolves the ticket",
                             [w.department_id for w in live])


def _changes(
    conn: psycopg.Connection, ticket: Ticket, event: TicketEvent, *, now: datetime, config: TicketConfig,
    department_id: str | None, override_reason: str | None, root_cause: str | None,
) -> dict[str, object]:
    """The columns an event sets besides state and version."""
    if event is E.DISPATCH:
        return {"department_id": department_id or ticket.department_id
                or DEPARTMENT_FOR[Category(ticket.category)]}
    if event is E.TRANSFER:
        _check_transfer(conn, ticket, department_id)
        return {"department_id": department_id, "transfers": ticket.transfers + 1}
    if event is E.ACKNOWLEDGE:
        return {"responded_at": ticket.responded_at or now}
    if event is E.WAIT_RESIDENT:
        return {"sla_paused_at": ticket.sla_paused_at or now}  # already paused by a mediation: from its start
    if event is E.RESUME:
        changes = _resume(ticket, now, config)
        if conn.execute(_OPEN_MEDIATION, (ticket.id,)).fetchone():  # the mediation still holds the clocks
            changes["sla_paused_at"] = now
        return changes
    if event is E.RESOLVE:
        abnormal = incident_is_abnormal(conn, ticket.id)
        if abnormal and not (override_reason and override_reason.strip()):
            devices = ", ".join(f"{device} ({fault})" for _, device, fault in abnormal)
            raise ClosureBlocked(f"the device is still abnormal: {devices}; wait for it to recover, "
                                 "or resolve with an override reason")
        return {"resolved_at": now, "override_reason": override_reason if abnormal else None,
                "root_cause": root_cause or ticket.root_cause}
    if event is E.CLOSE:
        return {"closed_at": now}
    if event is E.CANCEL:
        return {"sla_paused_at": None}  # a cancelled ticket is not "waiting" on anyone
    if event is E.REOPEN:
        policy = config.policy(ticket.category, ticket.severity, ticket.sla_profile)
        return {"reopen_count": ticket.reopen_count + 1, "resolved_at": None, "closed_at": None,
                "override_reason": None, **REOPENED,  # both clocks start again; the first response stays the first
                "respond_from": now, "resolve_from": now,
                "respond_due": sla.deadline(now, policy.respond, config.tz),
                "resolve_due": sla.deadline(now, policy.resolve, config.tz)}
    return {}


def _check_transfer(conn: psycopg.Connection, ticket: Ticket, department_id: str | None) -> None:
    """Refuse a transfer to no department, to the ticket's own, to an unknown one, or to one already working on the
    ticket through a live work order (`TransferRefused`, saying which)."""
    if not department_id or department_id == ticket.department_id:
        raise TransferRefused("a transfer needs a department_id different from the current one",
                              TransferProblem.SAME_DEPARTMENT if department_id else TransferProblem.NO_DEPARTMENT,
                              department_id)
    if conn.execute("SELECT 1 FROM departments WHERE id = %s", (department_id,)).fetchone() is None:
        raise TransferRefused(f"no department {department_id!r}", TransferProblem.UNKNOWN_DEPARTMENT, department_id)
    if any(w.department_id == department_id for w in live_work_orders(conn, ticket.id)):
        raise TransferRefused(f"{department_id} already has an open work order on ticket {ticket.id}; transfer to "
                              "another department, or let that work order carry the work",
                              TransferProblem.HAS_WORK_ORDER, department_id)


_OPEN_MEDIATION = "SELECT 1 FROM mediations WHERE ticket_id = %s AND ended_at IS NULL"


def resume_clocks(ticket: Ticket, now: datetime, config: TicketConfig = DEFAULT_CONFIG) -> dict[str, object]:
    """The columns that end a pause of the ticket's clocks at `now` (`sla_paused_at` cleared, deadlines moved by
    the paused time, working-time aware): for pauses other than waiting on the resident (tickets.mediation)."""
    return _resume(ticket, now, config)


def _resume(ticket: Ticket, now: datetime, config: TicketConfig) -> dict[str, object]:
    """Move the deadlines by the time spent waiting on the resident, and the clocks' starts with them: the sweep's
    reminders fall at shares of the time the clock ran, not of the time it stood still."""
    paused = ticket.sla_paused_at or now
    policy = config.policy(ticket.category, ticket.severity, ticket.sla_profile)
    respond, resolve = policy.respond.working, policy.resolve.working
    return {
        "sla_paused_at": None,
        "respond_due": ticket.respond_due and sla.extend(ticket.respond_due, paused, now, respond, config.tz),
        "resolve_due": ticket.resolve_due and sla.extend(ticket.resolve_due, paused, now, resolve, config.tz),
        "respond_from": sla.extend(ticket.respond_from or ticket.created_at, paused, now, respond, config.tz),
        "resolve_from": sla.extend(ticket.resolve_from or ticket.created_at, paused, now, resolve, config.tz),
    }


def _after(conn: psycopg.Connection, before: Ticket, ticket: Ticket, event: TicketEvent, *, now: datetime,
           config: TicketConfig, work_order_id: int | None, note: str = "") -> None:
    """Side effects that follow the ticket's new state: on its work orders, the warranty of a resolved repair, the
    notice to the residents whose requests are on it (one per step, tickets/progress.py), and a planned
    maintenance visit's completion notice to the units its device serves."""
    notify_step(conn, ticket, event, now=now, config=config, note=note)
    if event is E.RESOLVE:
        start_warranty(conn, ticket, now=now, config=config)
        notify_maintenance_done(conn, ticket.id, now=now, config=config)  # a planned visit: the device's units
    if event is E.DISPATCH and ticket.category == Category.FACILITY and ticket.department_id == "engineering":
        open_work_order(conn, ticket, department_id="engineering", now=now, config=config)
    elif event is E.TRANSFER:
        # The new department's: its on-call person for an urgent ticket at night, else nobody yet (its grid decides).
        moved = conn.execute(
            """UPDATE work_orders SET department_id = %s, assignee_id = %s, status = 'open', respond_met_at = NULL
               WHERE ticket_id = %s AND department_id = %s AND status NOT IN ('done', 'cancelled') RETURNING id""",
            (ticket.department_id, night_taker(conn, ticket.severity, ticket.department_id, now, config), ticket.id,
             before.department_id),
        ).fetchone()
        if moved is not None:  # the new department's engineers hear of it at once
            push_work_order(conn, int(moved[0]), reason="transferred", now=now)
    elif event is E.RESUME and before.sla_paused_at is not None:
        _extend_work_orders(conn, ticket, before.sla_paused_at, now, config)
    elif event in (E.REOPEN, E.CANCEL):
        set_work_order_status(conn, ticket.id, "cancelled", now)
    elif event in _WORK_ORDER_STATUS:
        set_work_order_status(conn, ticket.id, _WORK_ORDER_STATUS[event], now, work_order_id=work_order_id,
                              department_id=None if work_order_id is not None else before.department_id)


def _extend_work_orders(conn: psycopg.Connection, ticket: Ticket, paused: datetime, now: datetime,
                        config: TicketConfig) -> None:
    """The live work orders' own clocks move by the time the ticket waited on the resident, as the ticket's do."""
    policy = config.policy(ticket.category, ticket.severity, ticket.sla_profile)
    respond, resolve = policy.respond.working, policy.resolve.working
    for work_order_id, respond_due, resolve_due, respond_from, resolve_from in conn.execute(
            """SELECT id, respond_due, resolve_due, coalesce(respond_from, created_at),
                      coalesce(resolve_from, created_at)
               FROM work_orders WHERE ticket_id = %s AND status NOT IN ('done', 'cancelled')""",
            (ticket.id,)).fetchall():
        conn.execute(
            """UPDATE work_orders SET respond_due = %s, resolve_due = %s, respond_from = %s, resolve_from = %s
               WHERE id = %s""",
            (respond_due and sla.extend(respond_due, paused, now, respond, config.tz),
             resolve_due and sla.extend(resolve_due, paused, now, resolve, config.tz),
             sla.extend(respond_from, paused, now, respond, config.tz),
             sla.extend(resolve_from, paused, now, resolve, config.tz), work_order_id))
