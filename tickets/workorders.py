"""Engineering work orders as engineers and their supervisors use them: my work orders (assigned to me, or to my
department and unassigned) sorted by what is due first, one work order with its evidence, taking one, and a
supervisor assigning one to a named engineer of the department. Lifecycle steps go through
`tickets.transitions.transition`; pushes to the engineers through `tickets.staff_push`.

Who may act on a work order: its assignee; any engineer of its department while it is unassigned (accepting it
takes it); the department's head (a user with the supervisor role, or the user the department's staff have as
supervisor, `users.supervisor_id`); managers and admins. Only the head, a manager or an admin assigns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from tickets.errors import ConcurrentChange, IllegalWorkOrderStep, InvalidInput, NotAllowed, NotFound
from tickets.lifecycle import TicketEvent, allowed_events
from tickets.milestones import meet
from tickets.service import Ticket, add_event, get_ticket, live_work_orders, set_work_order_status
from tickets.staff_push import push_work_order
from tickets.transitions import transition

LIVE = ("open", "acknowledged", "on_site")

# The columns of a work order row as pages show it; `due` is the work order's own next deadline (respond until the
# order meets its ticket's respond milestone — accepted, or on site where the ticket's clock is to be on site — then
# resolve; the ticket's for work orders from before they had clocks) and `due_clock` names which one.
_SUMMARY_COLUMNS = """
    w.id, w.ticket_id, w.status, t.state AS ticket_state, t.version AS ticket_version, t.title, t.severity,
    t.category, w.department_id, w.assignee_id, u.name AS assignee_name, w.device_id, d.kind AS device_kind,
    COALESCE(d.location, '') AS location, w.fault, w.created_at, w.acknowledged_at, t.sla_paused_at,
    CASE WHEN w.respond_met_at IS NULL THEN COALESCE(w.respond_due, t.respond_due)
         ELSE COALESCE(w.resolve_due, t.resolve_due) END AS due,
    CASE WHEN w.respond_met_at IS NULL THEN 'respond' ELSE 'resolve' END AS due_clock,
    COALESCE(t.respond_milestone, 'respond') AS respond_milestone, w.reason"""
_SUMMARY_FROM = """
    FROM work_orders w JOIN tickets t ON t.id = w.ticket_id
    LEFT JOIN users u ON u.id = w.assignee_id LEFT JOIN devices d ON d.id = w.device_id"""
# Live work orders of one engineer: assigned to them, or unassigned in their department; due first.
_MINE = f"""SELECT {_SUMMARY_COLUMNS} {_SUMMARY_FROM}
    WHERE w.status = ANY(%(live)s)
      AND (w.assignee_id = %(user)s OR (w.assignee_id IS NULL AND w.department_id = %(department)s))
    ORDER BY due NULLS LAST, w.id"""
# Live work orders of a department (its head's view), or of every department (%(department)s NULL); due first.
_DEPARTMENT = f"""SELECT {_SUMMARY_COLUMNS} {_SUMMARY_FROM}
    WHERE w.status = ANY(%(live)s) AND (%(department)s::text IS NULL OR w.department_id = %(department)s)
    ORDER BY due NULLS LAST, w.id"""
# One work order, any status.
_ONE = f"SELECT {_SUMMARY_COLUMNS}, w.evidence, t.description, t.incident_id {_SUMMARY_FROM} WHERE w.id = %(id)s"
# The oldest live work order of a ticket (its own department's, unless that one is over).
_OF_TICKET = "SELECT id FROM work_orders WHERE ticket_id = %s AND status = ANY(%s) ORDER BY id LIMIT 1"
# Who the acting user is, and whether they head a department: the user its staff have as supervisor.
_ACTOR = """SELECT u.id, u.role, u.department_id, u.active,
                   u.role = 'supervisor' OR EXISTS (SELECT 1 FROM users m WHERE m.supervisor_id = u.id
                           AND m.department_id = u.department_id AND m.active) AS is_head
            FROM users u WHERE u.id = %s"""
# The engineers of a department, for the assign form and the error that lists them.
_ENGINEERS = """SELECT id, name FROM users WHERE department_id = %s AND role = 'engineer' AND active ORDER BY id"""
# Assignment: a guarded UPDATE — the work order is still live and still has the assignee the caller saw.
_ASSIGN = """UPDATE work_orders SET assignee_id = %(to)s
             WHERE id = %(id)s AND status = ANY(%(live)s) AND assignee_id IS NOT DISTINCT FROM %(from)s
             RETURNING id"""
# The ticket's events, oldest first, for the work order's timeline.
_EVENTS = """SELECT at, actor, event, from_state, to_state, note, detail FROM ticket_events
             WHERE ticket_id = %s ORDER BY id"""


@dataclass(frozen=True, slots=True)
class WorkOrderSummary:
    id: int
    ticket_id: int
    status: str
    ticket_state: str
    ticket_version: int
    title: str
    severity: str
    category: str
    department_id: str
    assignee_id: str | None
    assignee_name: str | None
    device_id: str | None
    device_kind: str | None
    location: str
    fault: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    sla_paused_at: datetime | None
    due: datetime | None
    due_clock: str
    respond_milestone: str = "respond"  # what meets the respond clock: "on_site" on a major ticket (the rescue)
    reason: str = ""  # why the department was brought in (tickets.dispatch), for work orders added to a ticket

    def seconds_left(self, now: datetime) -> float | None:
        """Time to the next deadline (negative once overdue); None without a deadline."""
        return (self.due - now).total_seconds() if self.due is not None else None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why the detectors raised the alarm (the evidence JSON of `detectors.alarm.Evidence`), as stored on the work
    order when it was opened; for a complaint's work order, the resident's words."""

    summary: str
    metric: str | None = None
    value: float | None = None
    baseline: float | None = None
    score: float | None = None
    detector: str | None = None
    alarm_severity: str | None = None
    since: datetime | None = None
    detected_at: datetime | None = None
    readings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    actor: str | None
    event: str
    from_state: str | None
    to_state: str | None
    note: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WorkOrderDetail:
    summary: WorkOrderSummary
    explanation: Explanation
    description: str
    incident_id: int | None
    timeline: list[TimelineEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Actor:
    """The user acting on a work order, as the database knows them (roles are checked here, not trusted)."""

    id: str
    role: str
    department_id: str | None
    active: bool
    is_head: bool

    @property
    def oversees_all(self) -> bool:
        return self.role in ("manager", "admin")

    def heads(self, department_id: str) -> bool:
        return self.oversees_all or (self.is_head and self.department_id == department_id)


@dataclass(frozen=True, slots=True)
class Engineer:
    id: str
    name: str


def actor(conn: psycopg.Connection, user_id: str) -> Actor:
    with conn.cursor(row_factory=class_row(Actor)) as cur:
        found = cur.execute(_ACTOR, (user_id,)).fetchone()
    if found is None or not found.active:
        raise NotAllowed(f"user {user_id!r} is unknown or disabled")
    return found


def my_work_orders(conn: psycopg.Connection, user_id: str) -> list[WorkOrderSummary]:
    """The live work orders assigned to the user, and their department's unassigned ones; due first."""
    me = actor(conn, user_id)
    with conn.cursor(row_factory=class_row(WorkOrderSummary)) as cur:
        return cur.execute(_MINE, {"live": list(LIVE), "user": me.id, "department": me.department_id}).fetchall()


def department_work_orders(conn: psycopg.Connection, user_id: str) -> list[WorkOrderSummary]:
    """For a department head: the department's live work orders; for managers and admins: everyone's. Others get
    `NotAllowed`."""
    me = actor(conn, user_id)
    if not (me.oversees_all or me.is_head):
        raise NotAllowed("only a department head, a manager or an admin sees the department's work orders")
    department = None if me.oversees_all else me.department_id
    with conn.cursor(row_factory=class_row(WorkOrderSummary)) as cur:
        return cur.execute(_DEPARTMENT, {"live": list(LIVE), "department": department}).fetchall()


def department_engineers(conn: psycopg.Connection, department_id: str) -> list[Engineer]:
    with conn.cursor(row_factory=class_row(Engineer)) as cur:
        return cur.execute(_ENGINEERS, (department_id,)).fetchall()


def get_work_order(conn: psycopg.Connection, work_order_id: int) -> WorkOrderDetail:
    """One work order with its explanation and its ticket's timeline; `NotFound` for an unknown id."""
    with conn.cursor() as cur:
        row = cur.execute(_ONE, {"id": work_order_id}).fetchone()
        names = [c.name for c in cur.description or ()]
    if row is None:
        raise NotFound(f"no work order {work_order_id}")
    values = dict(zip(names, row, strict=True))
    evidence, description, incident_id = values.pop("evidence"), values.pop("description"), values.pop("incident_id")
    summary = WorkOrderSummary(**values)
    with conn.cursor(row_factory=class_row(TimelineEntry)) as cur:
        timeline = cur.execute(_EVENTS, (summary.ticket_id,)).fetchall()
    return WorkOrderDetail(summary, explanation(evidence, description), description, incident_id, timeline)


def explanation(stored: dict[str, Any] | str | None, description: str = "") -> Explanation:
    """The work order's stored evidence (see `tickets.service.open_work_order`) as an `Explanation`."""
    data: dict[str, Any] = json.loads(stored) if isinstance(stored, str) else dict(stored or {})
    alarm = data.get("evidence")
    if not isinstance(alarm, dict):
        return Explanation(summary=str(data.get("complaint") or description or ""))
    return Explanation(
        summary=str(alarm.get("summary") or description), metric=alarm.get("metric"),
        value=_number(alarm.get("value")), baseline=_number(alarm.get("baseline")), score=_number(alarm.get("score")),
        detector=data.get("detector"), alarm_severity=data.get("severity"), since=_time(data.get("since")),
        detected_at=_time(data.get("detected_at")),
        readings=tuple(r for r in alarm.get("readings") or () if isinstance(r, dict)),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def check_may_view(conn: psycopg.Connection, summary: WorkOrderSummary, user_id: str) -> Actor:
    """Staff of the work order's department, its assignee, managers and admins may see it."""
    me = actor(conn, user_id)
    if me.oversees_all or me.department_id == summary.department_id or summary.assignee_id == me.id:
        return me
    raise NotAllowed(f"work order {summary.id} belongs to {summary.department_id}")


def check_may_act(conn: psycopg.Connection, summary: WorkOrderSummary, user_id: str) -> Actor:
    """The assignee, an engineer of the department while unassigned, its head, managers and admins may act."""
    me = actor(conn, user_id)
    if me.heads(summary.department_id) or summary.assignee_id == me.id:
        return me
    if summary.assignee_id is None and me.role == "engineer" and me.department_id == summary.department_id:
        return me
    who = summary.assignee_name or summary.assignee_id or "the department's engineers"
    raise NotAllowed(f"work order {summary.id} is for {who}; ask your department head to reassign it")


# A work order's own steps: (status, event) -> status. Each department accepts its order (stopping its respond
# clock, or on a major ticket arriving does) before completing it. An order on site whose on-site clock started again
# (passengers trapped while its engineer was there for an earlier fault: tickets/escalation.py) arrives again, for
# the new emergency (`REARRIVE`).
STEPS: dict[tuple[str, TicketEvent], str] = {
    ("open", TicketEvent.ACKNOWLEDGE): "acknowledged",
    ("acknowledged", TicketEvent.ARRIVE): "on_site",
    ("acknowledged", TicketEvent.RESOLVE): "done",
    ("on_site", TicketEvent.ARRIVE): "on_site",
    ("on_site", TicketEvent.RESOLVE): "done",
}
REARRIVE = ("on_site", TicketEvent.ARRIVE)
# Ticket states past which a work order's accept or arrive is its own business: the ticket already moved on.
_TICKET_IN_HAND = {TicketEvent.ACKNOWLEDGE: ("acknowledged", "on_site"), TicketEvent.ARRIVE: ("on_site",)}


def work_order_steps(status: str, ticket_state: str, due_clock: str = "resolve") -> list[TicketEvent]:
    """The steps a work order offers: its own table, and its ticket able to follow (a ticket waiting on the resident
    takes none until it resumes). An order on site arrives again only while its respond clock runs (`REARRIVE`)."""
    steps = []
    for (source, event) in STEPS:
        if source != status or ((source, event) == REARRIVE and due_clock != "respond"):
            continue
        if event is TicketEvent.RESOLVE or ticket_state in _TICKET_IN_HAND.get(event, ()) or \
                event in allowed_events(ticket_state):
            steps.append(event)
    return steps


def act(conn: psycopg.Connection, work_order_id: int, event: TicketEvent | str, *, user_id: str, now: datetime,
        note: str = "", expected_version: int | None = None, override_reason: str | None = None,
        root_cause: str | None = None, detail: dict[str, Any] | None = None) -> Ticket:
    """Accept (acknowledge), arrive on site or resolve a work order, in one transaction. Accepting an unassigned work
    order takes it. The ticket follows when the step moves it on: the first accept acknowledges it, the first
    arrival puts it on site, and the last work order done resolves it; a work order done while others are open
    leaves the ticket in progress. `detail` (e.g. the photos' attachment ids) goes on an extra timeline row."""
    event = TicketEvent(event)
    if event not in (TicketEvent.ACKNOWLEDGE, TicketEvent.ARRIVE, TicketEvent.RESOLVE):
        raise InvalidInput(f"{event.value} is not a work order step; use acknowledge, arrive or resolve")
    with conn.transaction():
        summary = get_work_order(conn, work_order_id).summary
        if summary.status not in LIVE:
            raise InvalidInput(f"work order {work_order_id} is {summary.status}; nothing more to do on it")
        me = check_may_act(conn, summary, user_id)
        target = STEPS.get((summary.status, event))
        if (summary.status, event) == REARRIVE and summary.due_clock != "respond":
            target = None  # on site already, and no new emergency since
        if target is None:
            raise IllegalWorkOrderStep(work_order_id, summary.status, event.value,
                                       [e.value for (s, e) in STEPS if s == summary.status
                                        and ((s, e) != REARRIVE or summary.due_clock == "respond")])
        if event is TicketEvent.ACKNOWLEDGE and summary.assignee_id is None:
            _set_assignee(conn, summary, me.id, by=me.id, now=now, push=False)
        others = [w for w in live_work_orders(conn, summary.ticket_id) if w.id != work_order_id]
        own_step = (event is TicketEvent.RESOLVE and others) or (summary.status, event) == REARRIVE or \
            summary.ticket_state in _TICKET_IN_HAND.get(event, ())
        if own_step:  # the ticket stays where it is: only this department's work order moves
            if expected_version is not None and expected_version != summary.ticket_version:
                raise ConcurrentChange(f"ticket {summary.ticket_id} is at version {summary.ticket_version}, "
                                       f"not {expected_version}")
            set_work_order_status(conn, summary.ticket_id, target, now, work_order_id=work_order_id)
            # Any work order on site meets the on-site clock; one done of several does not resolve the ticket.
            met = meet(conn, summary.ticket_id, event, now) if event is TicketEvent.ARRIVE else {}
            waiting = ", ".join(w.department_id for w in others) if event is TicketEvent.RESOLVE else ""
            add_event(conn, summary.ticket_id, f"work_order_{target}", at=now, actor=me.id,
                      note=note or (f"still open: {waiting}" if waiting else ""),
                      detail={"work_order_id": work_order_id, "department_id": summary.department_id,
                              "root_cause": root_cause, "still_open": [w.department_id for w in others]}
                      | ({"met": met} if met else {}))
            ticket = get_ticket(conn, summary.ticket_id)
        else:
            ticket = transition(conn, summary.ticket_id, event, actor=me.id, now=now, note=note,
                                expected_version=expected_version, override_reason=override_reason,
                                root_cause=root_cause, work_order_id=work_order_id)
        if detail:
            add_event(conn, summary.ticket_id, "work_order_" + event.value, at=now, actor=me.id,
                      detail={"work_order_id": work_order_id} | detail)
        return ticket


def assign(conn: psycopg.Connection, work_order_id: int, *, engineer_id: str, by_user: str, now: datetime,
           expected_assignee: str | None | object = ...) -> WorkOrderSummary:
    """A supervisor gives a department's work order to a named engineer of that department, in one transaction:
    the guarded update, a timeline row ("assigned"), and the push to the engineer. Refuses anyone but the
    department's head (or a manager or admin), an engineer of another department, and a work order that is over.
    `expected_assignee` (the assignee the supervisor saw) makes a concurrent reassignment a `ConcurrentChange`."""
    with conn.transaction():
        summary = get_work_order(conn, work_order_id).summary
        me = actor(conn, by_user)
        if not me.heads(summary.department_id):
            raise NotAllowed(f"only the head of {summary.department_id}, a manager or an admin assigns its work orders")
        if summary.status not in LIVE:
            raise InvalidInput(f"work order {work_order_id} is {summary.status}; it cannot be assigned")
        engineers = department_engineers(conn, summary.department_id)
        if engineer_id not in {e.id for e in engineers}:
            names = ", ".join(e.id for e in engineers) or "none"
            raise InvalidInput(f"{engineer_id!r} is not an active engineer of {summary.department_id}; "
                               f"choose one of: {names}")
        if expected_assignee is not ... and expected_assignee != summary.assignee_id:
            raise ConcurrentChange(f"work order {work_order_id} was reassigned meanwhile; reload and try again")
        if summary.assignee_id == engineer_id:
            return summary
        _set_assignee(conn, summary, engineer_id, by=me.id, now=now, push=True)
        return get_work_order(conn, work_order_id).summary


def _set_assignee(conn: psycopg.Connection, summary: WorkOrderSummary, engineer_id: str, *, by: str, now: datetime,
                  push: bool) -> None:
    row = conn.execute(_ASSIGN, {"to": engineer_id, "id": summary.id, "live": list(LIVE),
                                 "from": summary.assignee_id}).fetchone()
    if row is None:
        raise ConcurrentChange(f"work order {summary.id} changed while being assigned; reload and try again")
    event = "assigned" if summary.assignee_id is None else "reassigned"
    note = f"{summary.assignee_id} → {engineer_id}" if summary.assignee_id else f"→ {engineer_id}"
    add_event(conn, summary.ticket_id, event, at=now, actor=by, note=note,
              detail={"work_order_id": summary.id, "from": summary.assignee_id, "to": engineer_id})
    if push:
        push_work_order(conn, summary.id, reason="assigned", now=now)


def live_work_order_of(conn: psycopg.Connection, ticket_id: int) -> int | None:
    """The ticket's oldest live work order; `tickets.dispatch.ticket_work_orders` lists them all."""
    row = conn.execute(_OF_TICKET, (ticket_id, list(LIVE))).fetchone()
    return int(row[0]) if row else None
