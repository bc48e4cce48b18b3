"""Engineers' work orders over REST, for apps and integrations beside the pages: my work orders (due first), a
supervisor's assignment, and another department's work order added to a ticket (`tickets.dispatch`). They call
`tickets.workorders` and `tickets.dispatch`, which check who may do what against the database; `NotAllowed` becomes
403 here, the other domain errors as everywhere (`api.routes.tickets.domain_errors`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.auth import Principal, Role
from api.deps import DbDep, NowDep, TicketConfigDep, require
from api.routes.tickets import domain_errors
from api.schemas import Identifier, Note, RowId
from tickets.dispatch import TicketWorkOrder, add_work_order
from tickets.errors import NotAllowed, WorkOrderExists
from tickets.workorders import WorkOrderSummary, assign, my_work_orders

router = APIRouter(prefix="/api/v1", tags=["work orders"])
WorkOrderUser = Annotated[Principal, require(Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER)]
# Engineers pass the role check here; `tickets.dispatch` lets only department heads among them add work orders.
DispatchUser = Annotated[Principal, require(Role.AGENT, Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER)]


class WorkOrderOut(BaseModel):
    id: int
    ticket_id: int
    status: str
    ticket_state: str
    title: str
    severity: str
    department_id: str
    assignee_id: str | None
    device_id: str | None
    fault: str | None
    due: datetime | None = Field(description="The work order's own next deadline: respond until the order meets "
                                             "its ticket's respond milestone (accepted; on a major ticket, on site), "
                                             "then resolve.")
    due_clock: str = Field(description="respond or resolve")
    respond_milestone: str = Field(description="what meets the respond clock: respond (accepting) or on_site")

    @classmethod
    def of(cls, summary: WorkOrderSummary) -> WorkOrderOut:
        return cls(id=summary.id, ticket_id=summary.ticket_id, status=summary.status,
                   ticket_state=summary.ticket_state, title=summary.title, severity=summary.severity,
                   department_id=summary.department_id, assignee_id=summary.assignee_id,
                   device_id=summary.device_id, fault=summary.fault, due=summary.due, due_clock=summary.due_clock,
                   respond_milestone=summary.respond_milestone)


class AssignIn(BaseModel):
    engineer_id: str = Field(min_length=1, max_length=200)


@router.get("/work-orders/mine", summary="My live work orders (assigned to me, or my department's unassigned), "
            "due first")
def mine(conn: DbDep, user: WorkOrderUser) -> list[WorkOrderOut]:
    with domain_errors():
        try:
            return [WorkOrderOut.of(w) for w in my_work_orders(conn, user.user_id)]
        except NotAllowed as exc:
            raise HTTPException(403, str(exc)) from exc


@router.post("/work-orders/{work_order_id}/assign", summary="A department head assigns a work order to a named "
             "engineer of the department")
def assign_work_order(work_order_id: int, body: AssignIn, conn: DbDep, user: WorkOrderUser,
                      now: NowDep) -> WorkOrderOut:
    with domain_errors():
        try:
            return WorkOrderOut.of(assign(conn, work_order_id, engineer_id=body.engineer_id, by_user=user.user_id,
                                          now=now))
        except NotAllowed as exc:
            raise HTTPException(403, str(exc)) from exc


class AddWorkOrderIn(BaseModel):
    department_id: Identifier = Field(description="engineering, cleaning, security, customer_service, …")
    reason: Note = Field("", description="Why this department is brought in.")


class TicketWorkOrderOut(BaseModel):
    id: int
    ticket_id: int
    department_id: str
    assignee_id: str | None
    status: str
    reason: str
    created_at: datetime
    respond_due: datetime | None = Field(description="This work order's own response deadline.")
    resolve_due: datetime | None = Field(description="This work order's own resolution deadline.")

    @classmethod
    def of(cls, ticket_id: int, w: TicketWorkOrder) -> TicketWorkOrderOut:
        return cls(id=w.id, ticket_id=ticket_id, department_id=w.department_id, assignee_id=w.assignee_id,
                   status=w.status, reason=w.reason, created_at=w.created_at, respond_due=w.respond_due,
                   resolve_due=w.resolve_due)


@router.post("/tickets/{ticket_id}/work-orders", status_code=201,
             summary="Bring another department in: a work order of its own on the ticket (agents, department heads, "
                     "managers); 409 if that department already has a live one",
             responses={403: {"description": "Not an agent, department head or manager"},
                        404: {"description": "No such ticket"},
                        409: {"description": "That department already has a live work order on the ticket"},
                        422: {"description": "Unknown department, or a ticket not being worked on"}})
def add_ticket_work_order(ticket_id: RowId, body: AddWorkOrderIn, conn: DbDep, user: DispatchUser, now: NowDep,
                          config: TicketConfigDep) -> TicketWorkOrderOut:
    with domain_errors():
        try:
            added = add_work_order(conn, ticket_id, body.department_id, by_user=user.user_id, now=now,
                                   reason=body.reason, config=config)
        except NotAllowed as exc:
            raise HTTPException(403, str(exc)) from exc
        except WorkOrderExists as exc:
            raise HTTPException(409, str(exc)) from exc
    return TicketWorkOrderOut.of(ticket_id, added)
