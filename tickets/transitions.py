"""Applying a lifecycle event to a ticket: one transaction that checks the table, writes the new state with a
guard against concurrent change (state and version), the event row, and the side effects (work order, SLA
pause, resolution checks)."""

from __future__ import annotations

from datetime import datetime

import psycopg

from tickets import sla
from tickets.classify import DEPARTMENT_FOR, Category
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import ClosureBlocked, ConcurrentChange, InvalidInput
from tickets.lifecycle import TicketEvent, next_state
from tickets.notices import notify_done
from tickets.service import (
    Ticket,
    add_event,
    get_ticket,
    incident_is_abnormal,
    open_work_order,
    set_work_order_status,
)
from tickets.staff_push import push_work_order

E = TicketEvent

_WORK_ORDER_STATUS = {E.ACKNOWLEDGE: "acknowledged", E.ARRIVE: "on_site", E.RESOLVE: "done", E.CANCEL: "cancelled"}


def transition(
    conn: psycopg.Connection, ticket_id: int, event: TicketEvent | str, *, actor: str | None, now: datetime,
    note: str = "", expected_version: int | None = None, config: TicketConfig = DEFAULT_CONFIG,
    department_id: str | None = None, override_reason: str | None = None, root_cause: str | None = None,
) -> Ticket:
    """Apply `event` to the ticket and return it as it now is.

    Raises `IllegalTransition` if the table does not allow it, `ConcurrentChange` if the ticket changed under us
    (or is not at `expected_version`), `ClosureBlocked` when resolving while the device is still abnormal
    without an `override_reason`, `NotFound` for an unknown ticket."""
    event = TicketEvent(event)
    with conn.transaction():
        ticket = get_ticket(conn, ticket_id)
        target = next_state(ticket.state, event)
        if expected_version is not None and expected_version != ticket.version:
            raise ConcurrentChange(f"ticket {ticket_id} is at version {ticket.version}, not {expected_version}")
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
        detail = {k: v for k, v in changes.items() if k in ("department_id", "override_reason", "root_cause")}
        add_event(conn, ticket_id, event.value, at=now, actor=actor, from_state=ticket.state,
                  to_state=target.value, note=note, detail=detail)
        updated = get_ticket(conn, ticket_id)
        _after(conn, updated, event, now=now, config=config)
        return updated


def _changes(
    conn: psycopg.Connection, ticket: Ticket, event: TicketEvent, *, now: datetime, config: TicketConfig,
    department_id: str | None, override_reason: str | None, root_cause: str | None,
) -> dict[str, object]:
    """The columns an event sets besides state and version."""
    if event is E.DISPATCH:
        return {"department_id": department_id or ticket.department_id
                or DEPARTMENT_FOR[Category(ticket.category)]}
    if event is E.TRANSFER:
        if not department_id or department_id == ticket.department_id:
            raise InvalidInput("a transfer needs a department_id different from the current one")
        if conn.execute("SELECT 1 FROM departments WHERE id = %s", (department_id,)).fetchone() is None:
            raise InvalidInput(f"no department {department_id!r}")
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
                "responded_at": None, "override_reason": None,
                "respond_due": sla.deadline(now, policy.respond, config.tz),
                "resolve_due": sla.deadline(now, policy.resolve, config.tz)}
    return {}


_OPEN_MEDIATION = "SELECT 1 FROM mediations WHERE ticket_id = %s AND ended_at IS NULL"


def resume_clocks(ticket: Ticket, now: datetime, config: TicketConfig = DEFAULT_CONFIG) -> dict[str, object]:
    """The columns that end a pause of the ticket's clocks at `now` (`sla_paused_at` cleared, deadlines moved by
    the paused time, working-time aware): for pauses other than waiting on the resident (tickets.mediation)."""
    return _resume(ticket, now, config)


def _resume(ticket: Ticket, now: datetime, config: TicketConfig) -> dict[str, object]:
    """Move the deadlines by the time spent waiting on the resident."""
    paused = ticket.sla_paused_at or now
    policy = config.policy(ticket.category, ticket.severity, ticket.sla_profile)
    return {
        "sla_paused_at": None,
        "respond_due": ticket.respond_due and sla.extend(ticket.respond_due, paused, now, policy.respond.working,
                                                          config.tz),
        "resolve_due": ticket.resolve_due and sla.extend(ticket.resolve_due, paused, now, policy.resolve.working,
                                                          config.tz),
    }


def _after(conn: psycopg.Connection, ticket: Ticket, event: TicketEvent, *, now: datetime,
           config: TicketConfig) -> None:
    """Side effects that follow the ticket's new state: on its work order, and the residents' "done" notice."""
    if event is E.RESOLVE:
        notify_done(conn, ticket.id, reopen_count=ticket.reopen_count, now=now, config=config)
    if event is E.DISPATCH and ticket.category == Category.FACILITY and ticket.department_id == "engineering":
        open_work_order(conn, ticket, department_id="engineering", now=now, config=config)
    elif event is E.TRANSFER:
        moved = conn.execute(
            """UPDATE work_orders SET department_id = %s, assignee_id = NULL, status = 'open'
               WHERE ticket_id = %s AND status NOT IN ('done', 'cancelled') RETURNING id""",
            (ticket.department_id, ticket.id),
        ).fetchone()
        if moved is not None:  # the new department's engineers hear of it at once
            push_work_order(conn, int(moved[0]), reason="transferred", now=now)
    elif event is E.REOPEN:
        set_work_order_status(conn, ticket.id, "cancelled", now)
    elif event in _WORK_ORDER_STATUS:
        set_work_order_status(conn, ticket.id, _WORK_ORDER_STATUS[event], now)
