"""Satisfaction surveys: a resident answers for themselves (or an agent records a phone answer); managers read
the round's summary (dimension means, NPS, sample share, groups, priority matrix)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field

from api.auth import Role
from api.deps import CurrentUser, DbDep, ManagerUser
from api.routes.tickets import domain_errors
from api.schemas import Identifier, Note
from tickets.surveys import SurveyAnswer, record_survey, survey_summary

router = APIRouter(prefix="/api/v1", tags=["surveys"])
RoundName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,40}$", description="e.g. 2026-Q4")]


class SurveyIn(BaseModel):
    resident_id: Identifier | None = Field(None, description="Staff recording an answer; omitted by residents.")
    basic_services: int = Field(ge=1, le=5)
    facility_maintenance: int = Field(ge=1, le=5)
    communication: int = Field(ge=1, le=5)
    value_added: int = Field(ge=1, le=5)
    overall: int = Field(ge=1, le=10)
    recommend: int = Field(ge=0, le=10, description="How likely to recommend us, 0–10 (NPS).")
    comment: Note = ""


@router.post("/surveys/{round_name}", status_code=201, summary="Answer a satisfaction survey")
def answer_survey(round_name: RoundName, body: SurveyIn, conn: DbDep, user: CurrentUser) -> dict[str, Any]:
    if user.role is Role.RESIDENT:
        if body.resident_id not in (None, user.resident_id):
            raise HTTPException(403, "a resident answers only for themselves")
        resident_id = user.resident_id
    elif user.role in (Role.AGENT, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN):
        if not body.resident_id:
            raise HTTPException(422, "resident_id is required when staff record an answer")
        resident_id = body.resident_id
    else:
        raise HTTPException(403, "surveys are answered by residents or recorded by customer service")
    assert resident_id is not None
    answer = SurveyAnswer(**body.model_dump(exclude={"resident_id"}))
    with domain_errors():
        response_id = record_survey(conn, round_name, resident_id, answer, now=datetime.now(UTC))
    return {"id": response_id, "round": round_name}


@router.get("/surveys/{round_name}/summary", summary="A survey round's summary (managers)")
def summarise_survey(round_name: RoundName, conn: DbDep, user: ManagerUser, site_id: Identifier | None = None
                     ) -> dict[str, Any]:
    return survey_summary(conn, round_name, site_id=site_id)
