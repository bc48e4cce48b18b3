"""Root causes and improvement actions of the review (issue #17 point 3) over REST: record a cause (5W1H and the
chain of whys) on a ticket or a high-frequency point, plan an action with the metric and slice it should move, move
it on, and read it with that metric before and after its start. Managers, admins and department heads (staff who
supervise someone); everyone else gets 403."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from api.auth import Principal, Role
from api.deps import CurrentUser, DbDep, NowDep, TicketConfigDep
from api.schemas import BIGINT_MAX, Identifier, Note, RowId, Title
from tickets.errors import InvalidInput, NotFound
from tickets.review import actions as act
from tickets.review.compute import Slice
from tickets.review.definitions import METRICS

router = APIRouter(prefix="/api/v1/review", tags=["review"])

IS_SUPERVISOR = "SELECT 1 FROM users WHERE supervisor_id = %s LIMIT 1"


def reviewer(conn: DbDep, user: CurrentUser) -> Principal:
    """Managers and admins, and staff who head a department (someone's supervisor)."""
    if user.role in (Role.MANAGER, Role.ADMIN):
        return user
    if user.role is Role.SUPERVISOR or (user.is_staff and conn.execute(IS_SUPERVISOR, (user.user_id,)).fetchone()
                                        is not None):
        return user
    raise HTTPException(status.HTTP_403_FORBIDDEN, "root causes and actions are for managers and department heads")


ReviewerUser = Annotated[Principal, Depends(reviewer)]
StatusName = Literal["planned", "in_progress", "done", "cancelled"]
MetricKey = Annotated[str, Field(max_length=40, json_schema_extra={"enum": list(METRICS)},
                                 description="a metric of the review's definitions (tickets/review/definitions.py)")]
PointName = Annotated[Identifier, Field(description="a fault point: the ticket's subcategory, else its category, "
                                                    "e.g. elevator")]
TicketRef = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Day = Annotated[date, Field(ge=act.EARLIEST, le=act.LATEST, description="YYYY-MM-DD")]


@contextmanager
def _errors(missing: int = 404) -> Iterator[None]:
    """Bad input → 422; an unknown object → `missing` (422 when the body named it); an illegal status → 409."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(missing, str(exc)) from exc
    except InvalidInput as exc:
        raise HTTPException(422, str(exc)) from exc
    except act.IllegalActionStatus as exc:
        raise HTTPException(409, str(exc)) from exc


class CauseIn(BaseModel):
    """On a ticket (`ticket_id`) or on a high-frequency point (`point`, optionally `building_id`): exactly one."""

    ticket_id: TicketRef | None = None
    point: PointName | None = None
    building_id: Identifier | None = None
    what: Note = ""
    where: Note = ""
    when: Note = ""
    who: Note = ""
    why: Note = ""
    how: Note = ""
    whys: list[Note] = Field(default=[], max_length=20, description="the chain of whys, in order")


class CauseOut(BaseModel):
    id: int
    ticket_id: int | None
    point: str | None
    building_id: str | None
    what: str
    where: str
    when: str
    who: str
    why: str
    how: str
    whys: list[str] = Field(description="the chain of whys, in order (why 1 first)")
    created_by: str
    created_at: datetime


class ActionIn(BaseModel):
    title: Title
    department_id: Identifier
    owner: Title
    deadline: Day
    metric: MetricKey
    measures: Note = ""
    starts_on: Day | None = Field(None, description="YYYY-MM-DD it takes effect, the before/after split "
                                                     "(default: today)")
    source: Literal["complaint", "preventive"] = "complaint"
    site_id: Identifier | None = Field(None, description="slice: a site")
    building_id: Identifier | None = Field(None, description="slice: a building")
    slice_department_id: Identifier | None = Field(None, description="slice: the tickets' department")
    point: PointName | None = Field(None, description="slice: a fault point")
    slice_team_id: Identifier | None = Field(None, description="slice: the tickets a team's members own")
    cause_id: TicketRef | None = Field(None, description="the root cause it answers")


class ActionPatch(BaseModel):
    status: StatusName | None = Field(None, description="planned→in_progress→done; done→in_progress; "
                                                        "planned/in_progress→cancelled→planned")
    deadline: Day | None = None
    owner: Title | None = None
    measures: Note | None = None
    note: Note = ""


class MonthOut(BaseModel):
    month: str
    side: Literal["before", "after"]
    value: float | None


class EffectOut(BaseModel):
    metric: str
    slice: str
    months: list[MonthOut]
    before: float | None = Field(description="the metric's monthly mean over the months before the start")
    after: float | None = Field(description="and over the whole months after it that are over")
    change_pct: float | None = Field(description="(after − before) / before, in percent")
    improved: bool | None = Field(description="the change goes the metric's good way; null: nothing to compare")
    pending: int = Field(description="months after the start not over yet")


class ActionEventOut(BaseModel):
    at: datetime
    by_user: str
    event: str
    from_status: str | None
    to_status: str | None
    detail: dict[str, Any]


class ActionOut(BaseModel):
    id: int
    cause_id: int | None
    title: str
    measures: str
    department_id: str
    owner: str
    deadline: date
    starts_on: date
    status: StatusName
    metric: str
    source: Literal["complaint", "preventive"]
    slice_site: str | None
    slice_building: str | None
    slice_department: str | None
    slice_point: str | None
    slice_team: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    effect: EffectOut
    events: list[ActionEventOut] = Field(description="the action's history (only when read one by one)")


@router.post("/causes", status_code=201, summary="Record a root cause: 5W1H and the chain of whys",
             response_model=CauseOut)
def add_cause(body: CauseIn, conn: DbDep, user: ReviewerUser, now: NowDep) -> dict[str, Any]:
    with _errors(missing=422):
        return act.add_cause(conn, by=user.user_id, now=now, ticket_id=body.ticket_id, point=body.point,
                             building_id=body.building_id, whys=body.whys,
                             **body.model_dump(include=set(act.FIVE_W_ONE_H))).as_dict()


@router.get("/causes", summary="Root causes, newest first", response_model=list[CauseOut])
def list_causes(conn: DbDep, user: ReviewerUser, ticket_id: Annotated[int | None, Query(ge=1, le=BIGINT_MAX)] = None,
                point: Identifier | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                ) -> list[dict[str, Any]]:
    return [c.as_dict() for c in act.list_causes(conn, ticket_id=ticket_id, point=point, limit=limit)]


@router.get("/causes/{cause_id}", summary="One root cause with its chain of whys", response_model=CauseOut)
def get_cause(cause_id: RowId, conn: DbDep, user: ReviewerUser) -> dict[str, Any]:
    with _errors():
        return act.get_cause(conn, cause_id).as_dict()


@router.post("/actions", status_code=201, summary="Plan an improvement action and the metric it should move",
             response_model=ActionOut)
def add_action(body: ActionIn, conn: DbDep, user: ReviewerUser, now: NowDep, config: TicketConfigDep,
               ) -> dict[str, Any]:
    with _errors(missing=422):
        action = act.add_action(
            conn, by=user.user_id, now=now, title=body.title, department_id=body.department_id, owner=body.owner,
            deadline=body.deadline, metric=body.metric, measures=body.measures,
            starts_on=body.starts_on or now.astimezone(config.tz).date(), source=body.source,
            where=Slice(body.site_id, body.building_id, body.slice_department_id, body.point, team=body.slice_team_id),
            cause_id=body.cause_id)
        return act.view(conn, action, as_of=now, tz=config.tz, with_events=True).as_dict()


@router.get("/actions", summary="Improvement actions by deadline, each with its metric before and after",
            response_model=list[ActionOut])
def list_actions(conn: DbDep, user: ReviewerUser, now: NowDep, config: TicketConfigDep,
                 status: StatusName | None = None, department_id: Identifier | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    return [act.view(conn, a, as_of=now, tz=config.tz).as_dict()
            for a in act.list_actions(conn, status=status, department_id=department_id, limit=limit)]


@router.get("/actions/{action_id}", summary="One improvement action: its metric month by month and its history",
            response_model=ActionOut)
def get_action(action_id: RowId, conn: DbDep, user: ReviewerUser, now: NowDep, config: TicketConfigDep,
               ) -> dict[str, Any]:
    with _errors():
        return act.view(conn, act.get_action(conn, action_id), as_of=now, tz=config.tz, with_events=True).as_dict()


@router.patch("/actions/{action_id}", summary="Move an action on, or change its deadline, owner or measures",
              response_model=ActionOut)
def update_action(action_id: RowId, body: ActionPatch, conn: DbDep, user: ReviewerUser, now: NowDep,
                  config: TicketConfigDep) -> dict[str, Any]:
    with _errors():
        action = act.update_action(conn, action_id, by=user.user_id, now=now, status=body.status,
                                   deadline=body.deadline, owner=body.owner, measures=body.measures, note=body.note)
        return act.view(conn, action, as_of=now, tz=config.tz, with_events=True).as_dict()
