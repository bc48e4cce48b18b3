"""Survey waves over REST (handbook 001 §2.2–2.4), for integrations (a BI tool, a mini-program): what the manager's
pages (api/web/survey_manager_pages.py, survey_wave_forms.py) and the desk's (api/web/desk_survey_pages.py) do, with
the same library calls. Managers (and admins) list, open, read, close and top up waves and send their links; agents,
supervisors and managers read the phone worklist and record the answers they collect (assisted). Residents and
engineers get 403. A closed wave, a household outside the sample or one that answered already, a second wave for
an incident, closing twice: 409; bad input: 422; an unknown wave, site or incident: 404."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from api.auth import Principal, Role
from api.deps import DbDep, ManagerUser, NowDep, TicketConfigDep, require
from api.routes.tickets import domain_errors
from api.schemas import BIGINT_MAX, Identifier, Note, RowId
from api.web.config import web_config
from tickets.survey_analysis import wave_report
from tickets.survey_links import invite_online, renew_expired
from tickets.survey_waves import (
    AlreadyAnswered,
    IncidentHasWave,
    NotInSample,
    Wave,
    WaveClosed,
    close_wave,
    create_wave,
    get_wave,
    list_waves,
    record_response,
    sample_modes,
    top_up,
    worklist,
)

router = APIRouter(prefix="/api/v1", tags=["survey waves"])
DeskApiUser = Annotated[Principal, require(Role.AGENT, Role.SUPERVISOR, Role.MANAGER)]
Score = Annotated[int, Field(ge=1, le=5)]
# What conflicts with the state of a wave (or an incident's) rather than being bad input.
CONFLICTS = (WaveClosed, NotInSample, AlreadyAnswered, IncidentHasWave)


@contextmanager
def wave_errors() -> Iterator[None]:
    """`domain_errors`, with the conflicts above as 409."""
    with domain_errors():
        try:
            yield
        except CONFLICTS as exc:
            raise HTTPException(409, str(exc)) from exc


class WaveIn(BaseModel):
    site_id: Identifier
    kind: Literal["routine", "special", "move_out"] = "routine"
    sample: float = Field(0.10, gt=0, le=BIGINT_MAX, allow_inf_nan=False,
                          description="A share of the households (0.10, at least 10 %) or, above 1, a number of "
                                      "households (150).")
    seed: int = Field(0, ge=-(2**63), le=BIGINT_MAX, description="The systematic draw's start: the same seed, the "
                                                                 "same sample.")
    reason: Note = ""
    incident_id: int | None = Field(None, ge=1, le=BIGINT_MAX,
                                    description="A special wave after an incident asks the households it hit.")


class WaveOut(BaseModel):
    id: int
    site_id: str
    kind: str
    template: str
    status: Literal["open", "closed"]
    households: int
    sample_share: float
    seed: int
    reason: str
    incident_id: int | None
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    plan: dict[str, int] = Field(description="Sampled households per planned mode (online, in_person, phone).")


class WaveLineOut(BaseModel):
    id: int
    site_id: str
    site_name: str
    kind: str
    reason: str
    status: Literal["open", "closed"]
    opened_at: datetime
    closed_at: datetime | None
    households: int
    sampled: int
    answered: int


class ContactOut(BaseModel):
    unit_id: str
    building_id: str
    planned_mode: str
    resident_id: str | None
    name: str | None
    phone: str | None


class TopUpIn(BaseModel):
    building_id: Identifier | None = Field(None, description="Only this building; omitted: every under-covered one.")


class AnswerIn(BaseModel):
    unit_id: Identifier
    resident_id: Identifier | None = Field(None, description="Who answered, a resident of the unit.")
    scores: dict[Identifier, Score] = Field(max_length=50, description="1–5 for every item of the questionnaire "
                                                                       "(tickets/survey_template.py), by item key.")
    overall: int = Field(ge=1, le=10)
    recommend: int = Field(ge=0, le=10, description="How likely to recommend us, 0–10 (NPS).")
    mode: Literal["phone", "in_person"] = "phone"
    comment: Note = ""


def _wave_out(conn: psycopg.Connection, wave: Wave) -> WaveOut:
    return WaveOut(**asdict(wave), plan=sample_modes(conn, wave.id))


@router.get("/survey-waves", summary="Survey waves, newest first (managers)")
def list_survey_waves(conn: DbDep, user: ManagerUser, site_id: Identifier | None = None,
                      status: Literal["open", "closed"] | None = None) -> list[WaveLineOut]:
    return [WaveLineOut(**asdict(line)) for line in list_waves(conn, site_id=site_id, status=status)]


@router.post("/survey-waves", status_code=201, summary="Open a survey wave (managers)")
def open_survey_wave(body: WaveIn, conn: DbDep, user: ManagerUser, now: NowDep) -> WaveOut:
    with wave_errors():
        wave = create_wave(conn, site_id=body.site_id, kind=body.kind, sample=body.sample, seed=body.seed,
                           reason=body.reason.strip(), incident_id=body.incident_id, by=user.user_id, now=now)
    return _wave_out(conn, wave)


@router.get("/survey-waves/{wave_id}", summary="A survey wave's report, with coverage per building (managers)")
def survey_wave_report(wave_id: RowId, conn: DbDep, user: ManagerUser) -> dict[str, Any]:
    with wave_errors():
        return wave_report(conn, wave_id)


@router.post("/survey-waves/{wave_id}/close", summary="Close a survey wave: no more answers (managers)")
def close_survey_wave(wave_id: RowId, conn: DbDep, user: ManagerUser, now: NowDep) -> WaveOut:
    with wave_errors():
        return _wave_out(conn, close_wave(conn, wave_id, now=now))


@router.post("/survey-waves/{wave_id}/top-up", summary="Add households to under-covered buildings (managers)")
def top_up_survey_wave(wave_id: RowId, body: TopUpIn, conn: DbDep, user: ManagerUser) -> dict[str, Any]:
    with wave_errors():
        added = top_up(conn, wave_id, building_id=body.building_id)
    return {"wave_id": wave_id, "added": len(added), "unit_ids": added}


def _open(conn: psycopg.Connection, wave_id: int) -> None:
    """Links go out for an open wave only; a closed one is a conflict, as for answers and top-ups."""
    if get_wave(conn, wave_id).status != "open":
        raise WaveClosed(wave_id, f"survey wave {wave_id} is closed: links go out for an open wave")


@router.post("/survey-waves/{wave_id}/invitations", summary="Send the online households their links (managers)")
def invite(wave_id: RowId, request: Request, conn: DbDep, user: ManagerUser, now: NowDep,
           config: TicketConfigDep) -> dict[str, Any]:
    with wave_errors():
        _open(conn, wave_id)
        issued = invite_online(conn, wave_id, now, web_config(request).public_url, config=config)
    return {"wave_id": wave_id, "sent": len(issued), "notices": sum(i.notices for i in issued)}


@router.post("/survey-waves/{wave_id}/invitations/renew", summary="Send expired unused links again (managers)")
def renew_invitations(wave_id: RowId, request: Request, conn: DbDep, user: ManagerUser, now: NowDep,
                      config: TicketConfigDep) -> dict[str, Any]:
    with wave_errors():
        _open(conn, wave_id)
        renewed = renew_expired(conn, wave_id, now, web_config(request).public_url, config=config)
    return {"wave_id": wave_id, "renewed": len(renewed), "notices": sum(i.notices for i in renewed)}


@router.get("/survey-waves/{wave_id}/worklist", summary="Sampled households not yet answered, to phone (desk)")
def survey_worklist(wave_id: RowId, conn: DbDep, user: DeskApiUser) -> list[ContactOut]:
    with wave_errors():
        contacts = worklist(conn, wave_id)
    return [ContactOut(unit_id=c.unit_id, building_id=c.building_id, planned_mode=c.mode, resident_id=c.resident_id,
                       name=c.name, phone=c.phone) for c in contacts]


@router.post("/survey-waves/{wave_id}/responses", status_code=201,
             summary="Record a household's phone or in-person answer (desk)")
def record_survey_response(wave_id: RowId, body: AnswerIn, conn: DbDep, user: DeskApiUser,
                           now: NowDep) -> dict[str, Any]:
    with wave_errors():
        response_id = record_response(conn, wave_id, body.unit_id, scores=body.scores, overall=body.overall,
                                      recommend=body.recommend, now=now, mode=body.mode,
                                      comment=body.comment.strip(), entered_by=user.user_id,
                                      resident_id=body.resident_id)
    return {"id": response_id, "wave_id": wave_id, "unit_id": body.unit_id}
