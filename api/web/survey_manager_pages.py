"""The manager's survey pages (issue 17 point 8, "survey waves and their reports"):

- `/manager/surveys`: every site's waves, newest first: site, kind, status, opened, sample, responses, the
  response rate and coverage, NPS (hidden under 5 responses, as in the report);
- `/manager/surveys/{id}`: the wave's report (`tickets.survey_analysis.wave_report`): per dimension and item the
  mean, share of 4–5, weight, priority-matrix quadrant and change; NPS with its 95 % interval; coverage per
  building; groups; comments; and the downloads
- `/manager/surveys/{id}/export?format=csv|xlsx` (`tickets.survey_export`, on the page's session).

The forms on these pages (open, close, top up, invite, plan an action from a matrix cell) post to
api/web/survey_wave_forms.py, which renders the same pages again with what was wrong.

Managers and admins only (a resident or engineer gets the 403 page), like the other manager pages. The estate has no
per-manager site scope (the dashboard lists every site too), so a manager sees every site's waves."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbDep, NowDep, TicketConfigDep
from api.web.i18n import N_, choose_lang
from api.web.one_hop import PageRouter
from api.web.render import render
from api.web.review_pages import ManagerWebUser
from tickets import names
from tickets.config import TicketConfig
from tickets.errors import NotFound
from tickets.notices import format_time
from tickets.nps import nps_interval
from tickets.survey_analysis import MIN_GROUP, Quadrant, wave_report
from tickets.survey_export import report_csv, report_xlsx
from tickets.survey_template import VERSION

router = PageRouter(tags=["pages: manager"], include_in_schema=False)
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
KIND = {"routine": N_("Routine"), "special": N_("Special"), "move_out": N_("Move-out")}
STATUS = {"open": N_("open"), "closed": N_("closed")}
MODE = {"online": N_("online"), "in_person": N_("in person"), "phone": N_("phone")}
QUADRANT = {Quadrant.FIX_FIRST.value: N_("Fix first"), Quadrant.NEXT.value: N_("Next"),
            Quadrant.KEEP_THE_LEAD.value: N_("Keep the lead"), Quadrant.MAINTAIN.value: N_("Maintain")}
OPEN_FORM = {"site_id": "", "kind": "routine", "sample": "0.10", "seed": "0", "incident": "", "reason": ""}
# What the wave page says after a form went through (api/web/survey_wave_forms.py redirects with ?done=...&n=...).
DONE = {"closed": N_("The wave is closed: it takes no more responses."),
        "topup": N_("%(n)s households added to the sample, to be phoned."),
        "invited": N_("%(n)s survey links sent."),
        "renewed": N_("%(n)s expired survey links sent again.")}
# The report's cross-analyses (tickets/survey_groups.py), and the group values the page translates (the others —
# buildings, age bands, unit types — are shown as the estate file writes them).
GROUP_BY = {"building": N_("Building"), "mode": N_("Way of answering"), "tenure": N_("Tenure"),
            "age_band": N_("Age band"), "unit_type": N_("Unit type"), "tenure_length": N_("Years since moving in"),
            "language": N_("Language"), "channel": N_("Notice channel"), "needs_help": N_("Needs help"),
            "complaint_resolved": N_("Had a complaint resolved (12 months before the wave)"),
            "proactive_notice": N_("Got a proactive notice (12 months before the wave)")}
GROUP_VALUE = {**MODE, "owner": N_("owner"), "tenant": N_("tenant"), "yes": N_("yes"), "no": N_("no"),
               "unknown": N_("not stated"), "<1y": N_("under 1 year"), "1-3y": N_("1 to 3 years"),
               "3-10y": N_("3 to 10 years"), "10y+": N_("10 years or more")}
# Every wave with its site, sample, responses and the recommend answers (for NPS), newest first.
WAVES = """SELECT w.id, w.site_id, s.name AS site_name, w.kind, w.status, w.opened_at, w.households,
                  (SELECT count(*) FROM survey_wave_sample p WHERE p.wave_id = w.id)::int AS sampled,
                  coalesce(array_agg(r.recommend) FILTER (WHERE r.id IS NOT NULL), '{}') AS recommend
           FROM survey_waves w JOIN sites s ON s.id = w.site_id
           LEFT JOIN survey_wave_responses r ON r.wave_id = w.id
           GROUP BY w.id, s.name ORDER BY w.opened_at DESC, w.id DESC LIMIT 500"""


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+g}"


def list_context(conn: psycopg.Connection, config: TicketConfig) -> dict[str, Any]:
    """What /manager/surveys shows: the waves, and what the form to open one offers (api/web/survey_wave_forms.py)."""
    waves: list[dict[str, Any]] = []
    for row in conn.execute(WAVES).fetchall():
        wave_id, site_id, site_name, kind, status, opened_at, households, sampled, recommend = row
        estimate = nps_interval(list(recommend), population=households) if len(recommend) >= MIN_GROUP else None
        waves.append({"id": wave_id, "site": site_name or site_id, "kind": KIND.get(kind, kind),
                      "status": STATUS.get(status, status), "opened": format_time(opened_at, config),
                      "sampled": sampled, "households": households, "responses": len(recommend),
                      "rate": _percent(len(recommend), sampled), "coverage": _percent(len(recommend), households),
                      "nps": "-" if estimate is None else _signed(estimate.score)})
    return {"waves": waves, "kinds": KIND, "template": VERSION, "error": None, "form": dict(OPEN_FORM),
            "sites": names.sites(conn)}


@router.get("/manager/surveys", response_class=HTMLResponse)
def surveys_page(request: Request, conn: DbDep, user: ManagerWebUser, config: TicketConfigDep,
                 opened: Annotated[int | None, Query()] = None) -> Response:
    return render(request, "manager/surveys.html", list_context(conn, config) | {"opened": opened})


def report_context(request: Request, conn: psycopg.Connection, wave_id: int, now: datetime,
                   config: TicketConfig) -> dict[str, Any]:
    """What /manager/surveys/{id} shows; NotFound for no such wave."""
    report = wave_report(conn, wave_id)
    lang = "en" if choose_lang(request) == "en" else "zh-CN"
    labels = report["labels"]
    wave = report["wave"]
    return {
        "report": report, "wave": wave, "kind": KIND.get(wave["kind"], wave["kind"]),
        "status": STATUS.get(wave["status"], wave["status"]), "mode_label": MODE, "quadrant_label": QUADRANT,
        "group_by": GROUP_BY, "group_value": GROUP_VALUE,
        "item_label": {k: v[lang] for k, v in labels["items"].items()},
        "dimension_label": {k: v[lang] for k, v in labels["dimensions"].items()},
        "signed": _signed, "sampled": sum(s["sampled"] for s in report["coverage"]),
        # the matrix's cells for the action forms, fix first first (QUADRANT is in that order)
        "matrix": sorted(((k, f) for k, f in report.get("dimensions", {}).items() if f["quadrant"]),
                         key=lambda cell: list(QUADRANT).index(cell[1]["quadrant"])),
        "departments": names.departments(conn),
        # the site and its buildings by name (the report carries their ids, as its exports do)
        "site_name": names.site_name(conn, wave["site"]), "building_names": names.building_names(conn, wave["site"]),
        "today": now.astimezone(config.tz).date().isoformat(), "error": None, "cell_form": {}, "done": None}


def no_wave(request: Request) -> Response:
    return render(request, "error.html", {"title_id": N_("Not found"), "message_id": N_(
        "There is no such survey wave."), "message_args": {}}, status_code=404)


@router.get("/manager/surveys/{wave_id}", response_class=HTMLResponse)
def survey_page(request: Request, wave_id: int, conn: DbDep, user: ManagerWebUser, now: NowDep,
                config: TicketConfigDep, done: Annotated[str | None, Query(max_length=20)] = None,
                n: Annotated[int | None, Query()] = None) -> Response:
    try:
        context = report_context(request, conn, wave_id, now, config)
    except NotFound:
        return no_wave(request)
    return render(request, "manager/survey.html", context | {"done": DONE.get(done or ""), "done_n": n or 0})


@router.get("/manager/surveys/{wave_id}/export")
def survey_export(request: Request, wave_id: int, conn: DbDep, user: ManagerWebUser,
                  format: Annotated[Literal["csv", "xlsx"], Query()]) -> Response:
    try:
        report = wave_report(conn, wave_id)
    except NotFound:
        return no_wave(request)
    body: str | bytes = report_csv(report) if format == "csv" else report_xlsx(report)
    return Response(body, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="survey-wave-{wave_id}.{format}"'})
