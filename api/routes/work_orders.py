"""Engineers' work orders over REST, for apps and integrations beside the pages: my work orders (due first) and a
supervisor's assignment. Both call `tickets.workorders`, which checks who may do what against the database;
`NotAllowed` becomes 403 here, the other domain errors as everywhere (`api.routes.tickets.domain_errors`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.auth import Principal, Role
from api.deps import DbDep, NowDep, require
from api.routes.tickets import domain_errors
from tickets.errors import NotAllowed
from tickets.workorders import WorkOrderSummary, assign, my_work_orders

router = APIRouter(prefix="/api/v1", tags=["work orders"])
WorkOrderUser = Annotated[Principal, require(Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER)]


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
    due: datetime | None = Field(description="The next SLA deadline: respond until responded, then resolve.")
    due_clock: str = Field(description="respond or resolve")

    @classmethod
    def of(cls, summary: WorkOrderSummary) -> WorkOrderOut:
        return cls(id=summary.id, ticket_id=summary.ticket_id, status=summary.status,
                   ticket_state=summary.ticket_state, title=summary.title, severity=summary.severity,
                   department_id=summary.department_id, assignee_id=summary.assignee_id,
                   device_id=summary.device_id, fault=summary.fault, due=summary.due, due_clock=summary.due_clock)


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
