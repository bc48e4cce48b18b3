"""The manager's dashboard and quarterly review pages, and the review's downloads for a signed-in manager:

- `/manager?site=riverside`: one site's dashboard (`tickets.review.dashboard`): open incidents and tickets, what
  is overdue, the open group risks (群体性风险), today's figures and anticipation, charts of the last 12 months;
- `/manager/review/quarter?quarter=2026Q4`: the quarterly review (figures against targets, red/green), the owners'
  committee summary and the league table of sites;
- `/manager/review/export?period=2026-10&format=pdf`: the review's exports (html, pdf, xlsx, csv, json; a quarter's
  json and csv carry its league table), the same files as `/api/v1/review` and `forewarn review`, but served on the
  page's session cookie, so that the page's links download (the REST route takes a bearer token only).

Managers and admins only (a resident or engineer gets the 403 page), like the monthly review."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from api.deps import DbDep, NowDep, TargetsDep, TicketConfigDep
from api.web.charts import line_chart
from api.web.i18n import N_, choose_lang
from api.web.one_hop import PageRouter
from api.web.render import render
from api.web.review_pages import BAD_PERIOD, SOURCE_LABEL, ManagerWebUser, figures_words
from api.web.staff_format import TICKET_STATE, request_gettext
from tickets.errors import InvalidInput
from tickets.names import actor_names, departments
from tickets.review import report
from tickets.review.compute import Figure, Slice, compute_review, league_table
from tickets.review.dashboard import Dashboard, build_dashboard, list_sites
from tickets.review.definitions import METRICS, point_name
from tickets.review.periods import Kind, Period, parse_period
from tickets.review.quarterly import committee_summary, league_csv
from tickets.telemetry import Point, Series

router = PageRouter(tags=["pages: manager"], include_in_schema=False)
SiteQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
PeriodQuery = Annotated[str | None, Query(max_length=40)]
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
         "json": "application/json", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CLOCK = {"respond": N_("response"), "resolve": N_("resolution")}
SEVERITY = {"critical": N_("critical"), "warning": N_("warning"), "info": N_("info")}  # detectors.alarm.Severity
# The dashboard's charts: (trend key, title message id, unit); "anticipation" is the share of anticipated complaints.
CHARTS = (("complaints", N_("Complaints per month"), ""), ("resolution_rate", N_("Resolution rate"), "%"),
          ("closed_loop_rate", N_("Closed-loop rate"), "%"), ("satisfaction_rate", N_("Satisfaction rate"), "%"),
          ("anticipation", N_("Complaints we had anticipated"), "%"))


def _lang(request: Request) -> str:
    return "en" if choose_lang(request) == "en" else "zh-CN"


def _error(request: Request, message_id: str, status: int) -> HTMLResponse:
    title = N_("Not found") if status == 404 else BAD_PERIOD  # no such site; a month or quarter it cannot show
    return render(request, "error.html", {"title_id": title, "message_id": message_id,
                                          "message_args": {}}, status_code=status)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} %"


def _figure_row(figure: Figure, lang: str) -> dict[str, str]:
    mark = {True: "green", False: "red", None: ""}[figure.ok]
    return {"key": figure.key, "name": METRICS[figure.key].name(lang), "value": report.shown(figure.key, figure.value),
            "target": report.shown(figure.key, figure.target) if figure.target is not None else "", "mark": mark}


def _trend_chart(board: Dashboard, key: str, title: str, unit: str, empty: str, tz: ZoneInfo) -> Markup:
    """One headline figure of the 12 months as a line, a point per month at its first local midnight."""
    def start(day: date) -> datetime:
        return datetime.combine(day, time(), tz)

    points = []
    for month in board.trend:
        value = month.anticipation.share if key == "anticipation" else month.figures.get(key)
        if value is not None:
            points.append(Point(start(month.month), value, value, value, 1))
    series = Series(board.site.id, key, unit, start(board.trend[0].month), start(board.trend[-1].month), "review",
                    timedelta(days=30), points)
    return line_chart(series, title=title, empty_text=empty, tz=tz, time_format="%Y-%m", dots=True)


@router.get("/manager", response_class=HTMLResponse)
def dashboard_page(request: Request, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
                   targets: TargetsDep, site: SiteQuery = None) -> Response:
    sites = list_sites(conn)
    chosen = next((s for s in sites if s.id == site), None) if site else (sites[0] if sites else None)
    if chosen is None:
        return _error(request, N_("There is no such site."), 404)
    board = build_dashboard(conn, chosen, now=now, tz=config.tz, targets=targets)
    lang, _ = _lang(request), request_gettext(request)
    charts = [(_(title), _trend_chart(board, key, _(title), unit, _("No data in these months"), config.tz))
              for key, title, unit in CHARTS]
    overdue = [(item, datetime.fromisoformat(item.due).strftime("%Y-%m-%d %H:%M")) for item in board.overdue]
    # an overdue ticket's department and owner by name, as the desk's pages show them
    names = {"department": dict(departments(conn)), "owner": actor_names(conn, (i.owner for i in board.overdue))}
    incidents = [(i, datetime.fromisoformat(i.detected_at).strftime("%Y-%m-%d %H:%M")) for i in board.incidents]
    # a flag's fault point by name in the page's language, its times as the other times read
    group_risks = [(g, point_name(g.point, lang), datetime.fromisoformat(g.first_at).strftime("%Y-%m-%d %H:%M"),
                    datetime.fromisoformat(g.raised_at).strftime("%Y-%m-%d %H:%M")) for g in board.group_risks]
    today = {source: [_figure_row(f, lang) for f in figures.values()] for source, figures in board.today.items()}
    return render(request, "manager/dashboard.html", {
        "board": board, "sites": sites, "today": today, "overdue": overdue, "incidents": incidents, "charts": charts,
        "group_risks": group_risks, "source_label": SOURCE_LABEL, "names": names,
        "state_label": TICKET_STATE, "clock_label": CLOCK, "severity_label": SEVERITY,
        "anticipation": _percent(board.anticipation.share)})


def _quarter(text: str | None, now: NowDep, config: TicketConfigDep) -> Period | None:
    if text is None:  # the last complete quarter
        local = now.astimezone(config.tz)
        return parse_period(f"{local.year}Q{(local.month - 1) // 3 + 1}", config.tz).previous()
    try:
        period = parse_period(text, config.tz)
    except InvalidInput:
        return None
    return period if period.kind is Kind.QUARTER else None


@router.get("/manager/review/quarter", response_class=HTMLResponse)
def quarter_page(request: Request, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
                 targets: TargetsDep, quarter: PeriodQuery = None) -> Response:
    period = _quarter(quarter, now, config)
    if period is None:
        return _error(request, N_("Give the quarter as 2026Q4."), 422)
    review = compute_review(conn, period, targets=targets, now=now)
    lang, buildings = _lang(request), review.names
    summary = committee_summary(review)
    lines = [{"name": METRICS[s.key].name(lang), "value": report.shown(s.key, s.value),
              "target": report.shown(s.key, s.target) if s.target is not None else "",
              "mark": {True: "green", False: "red", None: ""}[s.ok], "previous": report.shown(s.key, s.previous),
              "last_year": report.shown(s.key, s.last_year)} for s in summary.lines]
    top = summary.top_point
    league = [{"site": r["site"], "name": r["name"], "cells": [report.shown(k, r[k]) for k in report.LEAGUE_COLUMNS]}
              for r in league_table(conn, period, targets=targets, now=now)]
    return render(request, "manager/quarter.html", {
        "period": period.label, "previous": period.previous().label, "header": report.HEADER[lang],
        "rows": report.rows(review, lang), "charts": report.charts(review, lang), "lines": lines,
        "summary": summary, "coverage": _percent(summary.proactive_coverage), "league": league,
        "top": (f"{point_name(top.point, lang)} · {buildings.get(top.building, top.building)} {top.share:.1f} %"
                if top else None),
        "league_header": [METRICS[k].name(lang) for k in report.LEAGUE_COLUMNS]} | figures_words(lang))


@router.get("/manager/review/export")
def export(request: Request, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
           targets: TargetsDep, period: Annotated[str, Query(max_length=40)],
           format: Literal["html", "pdf", "xlsx", "csv", "json"], site: SiteQuery = None) -> Response:
    try:
        chosen = parse_period(period, config.tz)
    except InvalidInput:
        return _error(request, N_("Give the month as 2026-10 or the quarter as 2026Q4."), 422)
    review = compute_review(conn, chosen, Slice(site=site), targets=targets, now=now)
    league = league_table(conn, chosen, targets=targets, now=now) if chosen.kind is Kind.QUARTER else None
    lang = _lang(request)
    body: str | bytes
    if format == "json":
        data: dict[str, Any] = review.as_dict() | ({"league": league} if league is not None else {})
        body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    elif format == "csv":
        body = report.to_csv(review, lang) + (league_csv(league) if league is not None else "")
    elif format == "html":
        body = report.to_html(review, lang)
    else:
        body = report.to_xlsx(review, lang) if format == "xlsx" else report.to_pdf(review, lang)
    name = f"review-{review.period}{'-' + site if site else ''}.{format}"
    return Response(body, media_type=MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{name}"'})
