"""External mediation of a ticket (tickets/mediation.py): customer-service agents, supervisors and managers take a
ticket to a residents' committee or mediator and record how it ended; staff read the history. Residents and
engineers get 403; a second open mediation or a ticket no longer being worked on 409; a bad party or outcome 422."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.auth import Principal, Role
from api.deps import DbDep, NowDep, StaffUser, TicketConfigDep, require
from api.routes.tickets import domain_errors
from api.schemas import Moment, Note, RowId
from tickets.mediation import MediationConflict, Outcome, PartyKind, end_mediation, mediations, start_mediation

router = APIRouter(prefix="/api/v1", tags=["tickets"])
MediatorUser = Annotated[Principal, require(Role.AGENT, Role.SUPERVISOR, Role.MANAGER)]


class MediationIn(BaseModel):
    party: PartyKind = Field(description="residents_committee (社区居委会), owners_committee (业委会), mediator, "
                                         "street_office or other.")
    name: Note = Field(min_length=1, description="The mediating party's name, e.g. 滨江社区居委会.")
    at: Moment | None = Field(None, description="When it started (default: now).")
    note: Note = ""


class MediationEndIn(BaseModel):
    outcome: Outcome = Field(description="agreed, not_agreed or withdrawn.")
    agreement: Note = Field("", description="What the parties agreed (required when agreed).")
    at: Moment | None = Field(None, description="When it ended (default: now).")


@router.post("/tickets/{ticket_id}/mediation", status_code=201,
             summary="Take a ticket to external mediation; pauses its SLA clocks (agents, supervisors, managers)")
def start(ticket_id: RowId, body: MediationIn, conn: DbDep, user: MediatorUser, now: NowDep,
          config: TicketConfigDep) -> dict[str, Any]:
    with domain_errors():
        try:
            made = start_mediation(conn, ticket_id, party=body.party, name=body.name, at=body.at, note=body.note,
                                   by=user.user_id, now=now, config=config)
        except MediationConflict as exc:
            raise HTTPException(409, str(exc)) from exc
    return made.as_dict()


@router.post("/tickets/{ticket_id}/mediation/end",
             summary="End the open mediation with its outcome and agreement; resumes the clocks")
def end(ticket_id: RowId, body: MediationEndIn, conn: DbDep, user: MediatorUser, now: NowDep,
        config: TicketConfigDep) -> dict[str, Any]:
    with domain_errors():
        try:
            done = end_mediation(conn, ticket_id, outcome=body.outcome, agreement=body.agreement, at=body.at,
                                 by=user.user_id, now=now, config=config)
        except MediationConflict as exc:
            raise HTTPException(409, str(exc)) from exc
    return done.as_dict()


@router.get("/tickets/{ticket_id}/mediation", summary="The ticket's mediations, oldest first (staff)")
def history(ticket_id: RowId, conn: DbDep, user: StaffUser) -> list[dict[str, Any]]:
    with domain_errors():
        return [m.as_dict() for m in mediations(conn, ticket_id)]
