"""Tickets, work orders, incidents, verdicts and return visits for staff. Role checks on every route: engineers
see their department's work orders; staff see tickets; only engineers (or managers) override telemetry or give
verdicts. Domain errors become clear 4xx answers here, in one place (`domain_errors`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from api.auth import Principal, Role
from api.deps import CurrentUser, DbDep, ManagerUser, NowDep, StaffUser, TicketConfigDep, require
from api.schemas import INT_MAX, Identifier, Moment, Note, RowId
from tickets.classify import Category
from tickets.complaints import reclassify
from tickets.errors import ClosureBlocked, ConcurrentChange, IllegalTransition, InvalidInput, NotFound, RateLimited
from tickets.flows import Verdict, record_verdict
from tickets.lifecycle import TicketEvent, TicketState, allowed_events
from tickets.plans import record_plan, report_progress
from tickets.review.proactive import review_metrics
from tickets.service import get_ticket
from tickets.transitions import transition
from tickets.visits import Rating, record_return_visit, resident_concerned

router = APIRouter(prefix="/api/v1", tags=["tickets"])
EngineerUser = Annotated[Principal, require(Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER)]
VisitUser = Annotated[Principal, require(Role.AGENT, Role.SUPERVISOR, Role.MANAGER, Role.RESIDENT)]


@contextmanager
def domain_errors() -> Iterator[None]:
    """Domain errors → HTTP: unknown → 404, conflicts with the ticket's state → 409, bad input → 422, over a rate
    limit → 429 with Retry-After."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except (IllegalTransition, ConcurrentChange, ClosureBlocked) as exc:
        raise HTTPException(409, str(exc)) from exc
    except InvalidInput as exc:
        raise HTTPException(422, str(exc)) from exc
    except RateLimited as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after_s)}) from exc


def _rows(cursor: Any) -> list[dict[str, Any]]:
    names = [c.name for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@router.get("/tickets", summary="Tickets, newest first (staff)")
def list_tickets(
    conn: DbDep, user: StaffUser, state: TicketState | None = None,
    source: Literal["complaint", "preventive"] | None = None, department_id: Identifier | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    return _rows(conn.execute(
        """SELECT id, source, state, version, category, severity, title, site_id, building_id, unit_id, device_id,
                  department_id, owner_id, transfers, reopen_count, respond_due, resolve_due, created_at
           FROM tickets WHERE (%(state)s::text IS NULL OR state = %(state)s)
             AND (%(source)s::text IS NULL OR source = %(source)s)
             AND (%(dept)s::text IS NULL OR department_id = %(dept)s)
           ORDER BY id DESC LIMIT %(limit)s""",
        {"state": state, "source": source, "dept": department_id, "limit": limit}))


@router.get("/tickets/{ticket_id}", summary="One ticket with its timeline, work orders and complaints (staff)")
def show_ticket(ticket_id: RowId, conn: DbDep, user: StaffUser) -> dict[str, Any]:
    with domain_errors():
        ticket = get_ticket(conn, ticket_id)
    return ticket.as_dict() | {
        "allowed_events": [e.value for e in allowed_events(ticket.state)],
        "events": _rows(conn.execute(
            "SELECT at, actor, event, from_state, to_state, note, detail FROM ticket_events WHERE ticket_id = %s "
            "ORDER BY id", (ticket_id,))),
        "work_orders": _rows(conn.execute(
            "SELECT id, department_id, assignee_id, status, evidence, created_at, acknowledged_at, done_at, "
            "respond_due, resolve_due, reason FROM work_orders WHERE ticket_id = %s ORDER BY id", (ticket_id,))),
        "complaints": _rows(conn.execute(
            "SELECT id, resident_id, unit_id, channel, description, reported_at, folded, anticipated, lead_seconds, "
            "point, sensitive, sensitive_matched, requested_outcome FROM complaints WHERE ticket_id = %s "
            "ORDER BY id", (ticket_id,))),
        # The group-risk flag the ticket is part of (tickets/group_risk.py), or null.
        "group_risk": next(iter(_rows(conn.execute(
            "SELECT id, building_id, point, households, ticket_id, first_at, raised_at FROM group_risks "
            "WHERE id = %s", (ticket.group_risk_id,)))), None),
    }


class TransitionIn(BaseModel):
    event: TicketEvent
    note: Note = ""
    expected_version: int | None = Field(None, ge=0, le=INT_MAX,
                                         description="Refuse with 409 if the ticket has moved on since.")
    department_id: Identifier | None = Field(None, description="For transfer: the department to hand over to.")
    override_reason: Note | None = Field(None, description="Resolve although the device is still abnormal "
                                                           "(engineers).")
    root_cause: Note | None = None


@router.post("/tickets/{ticket_id}/transitions", summary="Apply a lifecycle event (staff)")
def apply_transition(ticket_id: RowId, body: TransitionIn, conn: DbDep, user: StaffUser, now: NowDep,
                     config: TicketConfigDep) -> dict[str, Any]:
    if body.override_reason and user.role not in (Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN):
        raise HTTPException(403, "only engineers and managers may override the telemetry check")
    with domain_errors():
        ticket = transition(conn, ticket_id, body.event, actor=user.user_id, now=now, note=body.note,
                            expected_version=body.expected_version, department_id=body.department_id,
                            override_reason=body.override_reason, root_cause=body.root_cause, config=config)
    return ticket.as_dict()


class ClassificationIn(BaseModel):
    category: Category | None = None  # every category of the taxonomy (house_quality, neighbour, ... too)
    severity: Literal["major", "general", "complex"] | None = None
    note: Note = ""


@router.patch("/tickets/{ticket_id}/classification", summary="Correct category or severity (recorded) (staff)")
def correct_classification(
    ticket_id: RowId, body: ClassificationIn, conn: DbDep, user: StaffUser, now: NowDep, config: TicketConfigDep
) -> dict[str, Any]:
    if body.category is None and body.severity is None:
        raise HTTPException(422, "give a category or a severity to change")
    with domain_errors():
        reclassify(conn, ticket_id, category=body.category, severity=body.severity, by_user=user.user_id,
                   note=body.note, now=now, config=config)
        return get_ticket(conn, ticket_id).as_dict()


class RecordIn(BaseModel):
    text: Note = Field(description="The written plan or the progress report, in the resident's words.")


@router.post("/tickets/{ticket_id}/plan", status_code=201,
             summary="Record the written plan (meets a 'plan' clock) (staff)")
def post_plan(ticket_id: RowId, body: RecordIn, conn: DbDep, user: StaffUser, now: NowDep) -> dict[str, Any]:
    with domain_errors():
        met = record_plan(conn, ticket_id, text=body.text, by=user.user_id, now=now)
        return {"ticket": get_ticket(conn, ticket_id).as_dict(), "met": met}


@router.post("/tickets/{ticket_id}/progress", status_code=201,
             summary="Record a progress report, sent to the residents (meets a 'progress' clock) (staff)")
def post_progress(ticket_id: RowId, body: RecordIn, conn: DbDep, user: StaffUser, now: NowDep,
                  config: TicketConfigDep) -> dict[str, Any]:
    with domain_errors():
        met = report_progress(conn, ticket_id, text=body.text, by=user.user_id, now=now, config=config)
        return {"ticket": get_ticket(conn, ticket_id).as_dict(), "met": met}


class VerdictIn(BaseModel):
    false_alarm: bool | None = Field(None, description="The older form: true = false_alarm, false = real_fault.")
    verdict: Verdict | None = Field(None, description="real_fault, false_alarm or planned_maintenance.")
    note: Note = ""


@router.post("/tickets/{ticket_id}/verdict", status_code=201, summary="An engineer's verdict on an alarm")
def give_verdict(ticket_id: RowId, body: VerdictIn, conn: DbDep, user: EngineerUser, now: NowDep,
                 config: TicketConfigDep) -> dict[str, Any]:
    with domain_errors():
        label = record_verdict(conn, ticket_id, false_alarm=body.false_alarm, verdict=body.verdict,
                               by_user=user.user_id, note=body.note, now=now, config=config)
    verdict = body.verdict or (Verdict.FALSE_ALARM if body.false_alarm else Verdict.REAL_FAULT)
    return {"label_id": label, "ticket_id": ticket_id, "false_alarm": verdict is Verdict.FALSE_ALARM,
            "verdict": verdict.value}


class VisitIn(BaseModel):
    response_speed: int = Field(ge=1, le=5)
    professionalism: int = Field(ge=1, le=5)
    attitude: int = Field(ge=1, le=5)
    overall: int = Field(ge=1, le=5, description="1–2 is unsatisfied and reopens the ticket.")
    comment: Note = ""


@router.post("/tickets/{ticket_id}/return-visit", status_code=201,
             summary="Record the return visit's rating (agents, or the resident for their own ticket)")
def return_visit(ticket_id: RowId, body: VisitIn, conn: DbDep, user: VisitUser, now: NowDep,
                 config: TicketConfigDep) -> dict[str, Any]:
    with domain_errors():
        # A resident rates a ticket they complained about, also one their complaint was folded into.
        if user.role is Role.RESIDENT and not (user.resident_id and
                                               resident_concerned(conn, ticket_id, user.resident_id)):
            raise NotFound(f"no ticket {ticket_id}")
        result = record_return_visit(conn, ticket_id, Rating(**body.model_dump()), by_user=user.user_id,
                                     now=now, config=config)
    return {"visit_id": result.visit_id, "satisfied": result.satisfied, "within_48h": result.within_48h,
            "state": result.state}


@router.get("/work-orders", summary="Work orders: an engineer sees their department's; managers see all")
def list_work_orders(
    conn: DbDep, user: CurrentUser, status: Identifier | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    if user.role not in (Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN):
        raise HTTPException(403, "work orders are for engineers, supervisors and managers")
    scoped = user.role in (Role.ENGINEER, Role.SUPERVISOR)  # their own department's
    department = user.department_id if scoped else None
    if scoped and department is None:
        raise HTTPException(403, "your user has no department; ask an admin to set one")
    return _rows(conn.execute(
        """SELECT w.id, w.ticket_id, w.department_id, w.assignee_id, w.status, w.device_id, w.fault, w.evidence,
                  w.created_at, w.acknowledged_at, w.done_at, t.severity, t.title, t.state AS ticket_state,
                  t.resolve_due, w.respond_due AS work_order_respond_due,
                  w.resolve_due AS work_order_resolve_due, w.reason
           FROM work_orders w JOIN tickets t ON t.id = w.ticket_id
           WHERE (%(dept)s::text IS NULL OR w.department_id = %(dept)s)
             AND (%(status)s::text IS NULL OR w.status = %(status)s)
           ORDER BY w.id DESC LIMIT %(limit)s""",
        {"dept": department, "status": status, "limit": limit}))


@router.get("/incidents", summary="Incidents (deduplicated alarms) with their tickets (staff)")
def list_incidents(conn: DbDep, user: StaffUser, status: Literal["open", "recovered"] | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    return _rows(conn.execute(
        """SELECT id, device_id, fault, status, severity, detector, evidence, since, detected_at, recovered_at,
                  root_incident_id, ticket_id
           FROM incidents WHERE %(status)s::text IS NULL OR status = %(status)s ORDER BY id DESC LIMIT %(limit)s""",
        {"status": status, "limit": limit}))


@router.get("/metrics/review", summary="Proactive and service metrics for a period (managers)")
def get_review_metrics(conn: DbDep, user: ManagerUser, since: Moment, until: Moment) -> dict[str, Any]:
    if since >= until:
        raise HTTPException(422, "give since < until, both RFC 3339 with an offset")
    return review_metrics(conn, since=since, until=until).as_dict()
