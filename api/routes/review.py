"""The review for managers: a period's figures (JSON, CSV, XLSX or PDF) and the scorecards. Managers and admins only;
everyone else gets 403."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import DbDep, ManagerUser, NowDep, TargetsDep, TicketConfigDep
from api.routes.review_actions import ActionOut, CauseOut
from api.schemas import Identifier
from tickets.errors import InvalidInput
from tickets.review import report
from tickets.review.actions import attach_actions
from tickets.review.compute import Slice, compute_review
from tickets.review.periods import Period, parse_period
from tickets.review.scorecards import department_scorecards, person_scorecards, team_scorecards

router = APIRouter(prefix="/api/v1/review", tags=["review"])

PeriodQuery = Annotated[str, Query(max_length=40, description="2026-10, 2026Q4, 2026 or 2026-10-01..2026-10-15")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def period_of(text: str, config: TicketConfigDep) -> Period:
    try:
        return parse_period(text, config.tz)
    except InvalidInput as exc:
        raise HTTPException(422, str(exc)) from None


class FigureOut(BaseModel):
    key: str
    value: float | None
    numerator: float | None = None
    denominator: int | None = None
    target: float | None = None
    ok: bool | None = Field(description="true green, false red, null: no target or no data")


class PointOut(BaseModel):
    point: str
    building: str
    complaints: int
    share: float = Field(description="percent of the period's complaints")


class ReviewOut(BaseModel):
    """`format=json`; the same figures as CSV (`format=csv`), a workbook (`format=xlsx`) or a PDF report
    (`format=pdf`)."""

    period: str
    slice: str
    figures: dict[str, dict[str, FigureOut]] = Field(description="source (complaint, preventive) → metric → figure")
    volume: dict[str, dict[str, int]]
    points: list[PointOut]
    unclosed: dict[str, dict[str, int]]
    breaches: list[dict[str, Any]]
    sla_by_tier: dict[str, dict[str, float | None]]
    sla_by_type: dict[str, dict[str, float | None]]
    proactive: dict[str, Any]
    previous: dict[str, float | None]
    last_year: dict[str, float | None]
    actions: list[ActionOut] = Field(description="improvement actions started by the period's end, each with its "
                                                 "metric before and after")
    causes: list[CauseOut] = Field(description="root causes recorded in the period (5W1H and the chain of whys)")


@router.get("", summary="The review of a period: every figure beside its target and the earlier periods",
            response_model=None, responses={200: {"model": ReviewOut, "content": {
                "text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def get_review(conn: DbDep, user: ManagerUser, config: TicketConfigDep, targets: TargetsDep, now: NowDep,
               period: PeriodQuery,
               site: Identifier | None = None, building: Identifier | None = None,
               department: Identifier | None = None, team: Identifier | None = None,
               person: Identifier | None = None, format: Literal["json", "csv", "xlsx", "pdf"] = "json",
               lang: Literal["zh-CN", "en"] = "zh-CN") -> dict[str, Any] | Response:
    chosen = period_of(period, config)
    where = Slice(site, building, department, team=team, person=person)
    review = attach_actions(conn, compute_review(conn, chosen, where, targets=targets, now=now), chosen, where)
    if format == "csv":
        return Response(report.to_csv(review, lang), media_type="text/csv; charset=utf-8")
    if format == "xlsx":
        return Response(report.to_xlsx(review, lang), media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="review-{review.period}.xlsx"'})
    if format == "pdf":
        return Response(report.to_pdf(review, lang), media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="review-{review.period}.pdf"'})
    return review.as_dict()


@router.get("/scorecards", summary="Scorecards per department, team and person for a period")
def get_scorecards(conn: DbDep, user: ManagerUser, config: TicketConfigDep, now: NowDep, period: PeriodQuery,
                   ) -> dict[str, list[dict[str, Any]]]:
    chosen = period_of(period, config)
    return {"departments": [c.as_dict() for c in department_scorecards(conn, chosen, now=now)],
            "teams": [c.as_dict() for c in team_scorecards(conn, chosen, now=now)],
            "people": [c.as_dict() for c in person_scorecards(conn, chosen, now=now)]}
