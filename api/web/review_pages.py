"""The manager's review pages: `/manager/review?month=2026-10` (the monthly review: figures against targets,
red/green, the high-frequency points and channel charts, the exports) and `/manager/scorecards?month=...`.
Managers and admins only (a resident or engineer gets the 403 page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import Principal, Role
from api.deps import DbDep, NowDep, TargetsDep, TicketConfigDep
from api.web.deps import web_require
from api.web.i18n import N_, choose_lang
from api.web.one_hop import PageRouter
from api.web.render import render
from tickets.config import TicketConfig
from tickets.errors import InvalidInput
from tickets.names import departments, user_name
from tickets.review import report
from tickets.review.actions import attach_actions
from tickets.review.compute import compute_review
from tickets.review.periods import FIRST_YEAR, LAST_YEAR, Period, PeriodOutOfRange, parse_period
from tickets.review.scorecards import department_scorecards, person_scorecards, team_scorecards
from tickets.teams import list_teams

router = PageRouter(tags=["pages: review"], include_in_schema=False)
ManagerWebUser = Annotated[Principal, web_require(Role.MANAGER)]
MonthQuery = Annotated[str | None, Query(max_length=40)]
TITLE = N_("Monthly review")
BAD_PERIOD = N_("Not a period the review can show")  # the heading of a refused month or quarter (422)
# A figure's source (tickets.review.compute.SOURCES) as the manager's pages name it.
SOURCE_LABEL = {"complaint": N_("Complaints"), "preventive": N_("Preventive")}


def _period(request: Request, month: str | None, now: NowDep, config: TicketConfigDep) -> Period | HTMLResponse:
    """The month asked for (the last complete one without `month`), or the 422 page saying what to give."""
    if month is None:  # the last complete month
        local = now.astimezone(config.tz)
        month = f"{local.year - (local.month == 1)}-{(local.month - 2) % 12 + 1:02d}"
    try:
        return parse_period(month, config.tz)
    except PeriodOutOfRange as exc:
        return _bad(request, N_("%(value)s is outside the years the reviews cover (%(first)s to %(last)s). Give the "
                                "month as 2026-10."), value=exc.value, first=FIRST_YEAR, last=LAST_YEAR)
    except InvalidInput:
        return _bad(request, N_("Give the month as 2026-10."))


@dataclass(frozen=True, slots=True)
class MonthNav:
    """The month a page shows (`shown`), the one before, the one after (None past the current month) and the
    current month (so far), as `YYYY-MM` for `?month=`."""

    shown: str
    previous: str
    next: str | None
    current: str


def month_nav(period: Period, now: datetime, config: TicketConfig) -> MonthNav:
    local = now.astimezone(config.tz)
    following = (period.first.replace(day=28) + timedelta(days=4)).replace(day=1)
    current = f"{local.year}-{local.month:02d}"
    after = f"{following:%Y-%m}"
    return MonthNav(period.label, period.previous().label, after if after <= current else None, current)


def _bad(request: Request, message_id: str, **message_args: object) -> HTMLResponse:
    return render(request, "error.html", {"title_id": BAD_PERIOD, "message_id": message_id,
                                          "message_args": message_args}, status_code=422)


def _lang(request: Request) -> str:
    return "en" if choose_lang(request) == "en" else "zh-CN"


def figures_words(lang: str) -> dict[str, object]:
    """What the figures table (manager/_figures.html) names its codes with: each source (a message id) and each
    mark, green or red, in the report's own words (达标/未达标, as its PDF says)."""
    words = report.PDF_WORDS[lang]
    return {"source_label": SOURCE_LABEL, "mark_label": {"green": words["green"], "red": words["red"]}}


@router.get("/manager/review", response_class=HTMLResponse)
def review_page(request: Request, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
                targets: TargetsDep, month: MonthQuery = None) -> Response:
    period = _period(request, month, now, config)
    if isinstance(period, Response):
        return period
    review = attach_actions(conn, compute_review(conn, period, targets=targets, now=now), period)
    lang = _lang(request)
    return render(request, "manager/review.html", {
        "review": review, "header": report.HEADER[lang], "rows": report.rows(review, lang),
        "charts": report.charts(review, lang), "actions": report.actions_html(review, lang),
        "period": period.label, "month_nav": month_nav(period, now, config), "title_id": TITLE}
        | figures_words(lang))


@router.get("/manager/scorecards", response_class=HTMLResponse)
def scorecards_page(request: Request, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
                    month: MonthQuery = None) -> Response:
    period = _period(request, month, now, config)
    if isinstance(period, Response):
        return period
    people = person_scorecards(conn, period, now=now)
    names = {"departments": dict(departments(conn)),  # each card's owner by name, as the rest of the pages show them
             "teams": {team.id: team.name for team in list_teams(conn)},
             "people": {c.who: user_name(conn, c.who) or c.who for c in people}}
    return render(request, "manager/scorecards.html", {
        "period": period.label, "departments": department_scorecards(conn, period, now=now),
        "teams": team_scorecards(conn, period, now=now), "people": people, "names": names,
        "month_nav": month_nav(period, now, config)})
