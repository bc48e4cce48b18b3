"""The forms of the manager's survey pages (issue 17 points 6 and 8), each a CSRF-checked POST that redirects
after it went through, or shows the page again with what was wrong (422; 404 for a missing wave), in the reader's
language. Every rule is the library's, as `forewarn survey wave create|close|topup|invite` apply it:

- `POST /manager/surveys`: open a wave (`tickets.survey_waves.create_wave`: ≥ 10 % of the households, systematic
  from the seed; a special wave may follow an incident);
- `POST /manager/surveys/{id}/close`, `/topup` (one building short of its share: `top_up`), `/invite` (the one-time
  links of `tickets.survey_links.invite_online`, to `public_url`), `/renew` (a fresh link for each one that expired
  unused: `renew_expired`; the page says how many, from `?done=renewed&n=`);
- `POST /manager/surveys/{id}/actions`: an improvement action from a priority-matrix cell
  (`tickets.survey_actions.plan_from_cell`), then listed on /manager/actions.

Managers and admins only, like the pages."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import DbDep, NowDep, TicketConfigDep
from api.web.config import web_config
from api.web.deps import CsrfChecked
from api.web.i18n import N_
from api.web.one_hop import PageRouter
from api.web.render import render
from api.web.review_pages import ManagerWebUser
from api.web.survey_manager_pages import OPEN_FORM, list_context, no_wave, report_context
from tickets.errors import InvalidInput, NotFound
from tickets.survey_actions import plan_from_cell
from tickets.survey_links import invite_online, renew_expired
from tickets.survey_sampling import SampleRefused
from tickets.survey_waves import (
    IncidentHasWave,
    IncidentMissesSite,
    NoIncident,
    NotSpecialWave,
    close_wave,
    create_wave,
    top_up,
)

router = PageRouter(tags=["pages: manager"], include_in_schema=False)
Text = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=2000)]


class FormError(Exception):
    """A field the page cannot read; `message_id` (with `args`) says it in the reader's language."""

    def __init__(self, message_id: str, **args: object) -> None:
        super().__init__(message_id)
        self.message_id, self.args_ = message_id, args


def error_box(exc: Exception, headline: str, sites: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The page's error box: a translated message and, for a refusal the library words itself, its detail. `sites`
    names the sites a refusal mentions (their ids otherwise)."""
    if isinstance(exc, FormError):
        return {"id": exc.message_id, "args": exc.args_, "detail": ""}
    if isinstance(exc, NoIncident):
        return {"id": N_("There is no incident %(incident)s: check its number."), "args": {"incident": exc.incident_id},
                "detail": ""}
    if isinstance(exc, NotSpecialWave):
        return {"id": N_("Only a special wave follows an incident: choose the kind Special, or leave the incident "
                         "empty."), "args": {}, "detail": ""}
    if isinstance(exc, IncidentHasWave):
        if exc.wave_id is None:
            return {"id": N_("Incident %(incident)s already has its special wave: one special wave per incident."),
                    "args": {"incident": exc.incident_id}, "detail": ""}
        return {"id": N_("Incident %(incident)s already has its special wave, #%(wave)s: one special wave per "
                         "incident."), "args": {"incident": exc.incident_id, "wave": exc.wave_id}, "detail": ""}
    if isinstance(exc, IncidentMissesSite):
        named = sites or {}
        places = {"incident": exc.incident_id, "site": named.get(exc.site_id, exc.site_id),
                  "incident_site": named.get(exc.incident_site_id, exc.incident_site_id)}
        if exc.incident_site_id != exc.site_id:
            return {"id": N_("Incident %(incident)s happened at %(incident_site)s, not %(site)s: choose its site."),
                    "args": places, "detail": ""}
        return {"id": N_("Incident %(incident)s hit no household of %(site)s: its device serves none of them, so "
                         "there is nobody to ask."), "args": places, "detail": ""}
    if isinstance(exc, SampleRefused):
        numbers = {"households": f"{exc.households:,}", "size": f"{exc.size:,}", "minimum": f"{exc.minimum:,}"}
        if not exc.too_small:
            return {"id": N_("A site of %(households)s households cannot open a wave of %(size)s: that is more "
                             "than all of them."), "args": numbers, "detail": ""}
        if exc.population.startswith("incident"):
            return {"id": N_("The %(households)s households an incident hit cannot open a wave of %(size)s: the "
                             "sample must be at least 10 %% of them (%(minimum)s)."), "args": numbers, "detail": ""}
        return {"id": N_("A site of %(households)s households cannot open a wave of %(size)s: the sample must be "
                         "at least 10 %% of the households (%(minimum)s)."), "args": numbers, "detail": ""}
    return {"id": headline, "args": {}, "detail": str(exc)}


def _share(text: str) -> float:
    """"0.10", "10%" or "150" (households) as `create_wave` takes it; a translated FormError for anything else."""
    try:
        value = float(text.strip().rstrip("%").strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise FormError(N_("The sample must be a share such as 0.10 or a number of households."))
    return value / 100 if text.strip().endswith("%") else value


def _whole(text: str, message_id: str) -> int:
    """A whole number the database can hold (bigint); a translated FormError for anything else."""
    try:
        value = int(text.strip())
    except ValueError:
        raise FormError(message_id) from None
    if not -(2**63) <= value < 2**63:
        raise FormError(message_id)
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FormError(N_("Give the deadline as a date (YYYY-MM-DD).")) from None


@router.post("/manager/surveys")
def open_wave(request: Request, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
              csrf: CsrfChecked, site_id: Text, kind: Text, sample: Text = "0.10", seed: Text = "0",
              incident: Text = "", reason: LongText = "") -> Response:
    form = {"site_id": site_id, "kind": kind, "sample": sample, "seed": seed, "incident": incident,
            "reason": reason}
    try:
        wave = create_wave(
            conn, site_id=site_id, kind=kind, sample=_share(sample),
            seed=_whole(seed or "0", N_("The seed must be a whole number.")), reason=reason.strip(),
            incident_id=_whole(incident, N_("The incident must be given by its number.")) if incident.strip()
            else None, by=user.user_id, now=now)
    except (FormError, InvalidInput, NotFound) as exc:
        conn.rollback()
        context = list_context(conn, config)
        return render(request, "manager/surveys.html", context | {
            "error": error_box(exc, N_("The wave was not opened."), dict(context["sites"])),
            "form": OPEN_FORM | form, "opened": None}, status_code=422)
    return RedirectResponse(f"/manager/surveys?opened={wave.id}#wave-{wave.id}", status_code=303)


def _wave_refused(request: Request, conn: DbDep, wave_id: int, now: NowDep, config: TicketConfigDep,
                  exc: Exception, headline: str, cell_form: dict[str, str] | None = None) -> Response:
    conn.rollback()
    try:
        context = report_context(request, conn, wave_id, now, config)
    except NotFound:
        return no_wave(request)
    return render(request, "manager/survey.html", context | {
        "error": error_box(exc, headline), "cell_form": cell_form or {}}, status_code=422)


@router.post("/manager/surveys/{wave_id}/close")
def close(request: Request, wave_id: int, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
          csrf: CsrfChecked) -> Response:
    try:
        close_wave(conn, wave_id, now=now)
    except (InvalidInput, NotFound) as exc:
        return _wave_refused(request, conn, wave_id, now, config, exc, N_("The wave was not closed."))
    return RedirectResponse(f"/manager/surveys/{wave_id}?done=closed", status_code=303)


@router.post("/manager/surveys/{wave_id}/topup")
def topup(request: Request, wave_id: int, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
          csrf: CsrfChecked, building_id: Text) -> Response:
    try:
        added = top_up(conn, wave_id, building_id=building_id.strip())
    except (InvalidInput, NotFound) as exc:
        return _wave_refused(request, conn, wave_id, now, config, exc, N_("No household was added."))
    return RedirectResponse(f"/manager/surveys/{wave_id}?done=topup&n={len(added)}#coverage", status_code=303)


@router.post("/manager/surveys/{wave_id}/invite")
def invite(request: Request, wave_id: int, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
           csrf: CsrfChecked) -> Response:
    try:
        issued = invite_online(conn, wave_id, now, web_config(request).public_url, config=config)
    except (InvalidInput, NotFound) as exc:
        return _wave_refused(request, conn, wave_id, now, config, exc, N_("No survey link was sent."))
    return RedirectResponse(f"/manager/surveys/{wave_id}?done=invited&n={len(issued)}", status_code=303)


@router.post("/manager/surveys/{wave_id}/renew")
def renew(request: Request, wave_id: int, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
          csrf: CsrfChecked) -> Response:
    try:
        renewed = renew_expired(conn, wave_id, now, web_config(request).public_url, config=config)
    except (InvalidInput, NotFound) as exc:
        return _wave_refused(request, conn, wave_id, now, config, exc, N_("No expired survey link was sent again."))
    return RedirectResponse(f"/manager/surveys/{wave_id}?done=renewed&n={len(renewed)}", status_code=303)


@router.post("/manager/surveys/{wave_id}/actions")
def plan_action(request: Request, wave_id: int, conn: DbDep, user: ManagerWebUser, now: NowDep,
                config: TicketConfigDep, csrf: CsrfChecked, dimension: Text, title: Text, department_id: Text,
                owner: Text, deadline: Text, measures: LongText = "") -> Response:
    form = {"dimension": dimension, "title": title, "department_id": department_id, "owner": owner,
            "deadline": deadline, "measures": measures}
    try:
        action = plan_from_cell(conn, wave_id, dimension, by=user.user_id, now=now, title=title,
                                department_id=department_id, owner=owner, deadline=_day(deadline),
                                measures=measures, starts_on=now.astimezone(config.tz).date())
    except (FormError, InvalidInput, NotFound) as exc:
        return _wave_refused(request, conn, wave_id, now, config, exc, N_("The action was not saved."), form)
    return RedirectResponse(f"/manager/actions?added={action.id}#action-{action.id}", status_code=303)
