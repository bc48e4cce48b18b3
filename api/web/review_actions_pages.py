"""The manager's improvement actions page: `/manager/actions` lists every action with the metric it should move,
month means before and after its start and the change (green when it went the right way), moves an action on, and
has the form to plan a new one (CSRF-checked, like every form). Managers and admins only."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbDep, NowDep, TicketConfigDep
from api.web.deps import CsrfChecked
from api.web.i18n import N_
from api.web.one_hop import PageRouter
from api.web.render import render
from api.web.review_pages import ManagerWebUser, _lang
from tickets.errors import InvalidInput, NotFound
from tickets.names import departments, place_names, sites
from tickets.review import actions as act
from tickets.review import report
from tickets.review.compute import Slice
from tickets.review.definitions import METRICS, POINT_NAMES, point_name

router = PageRouter(tags=["pages: review"], include_in_schema=False)
FormText = Annotated[str, Form(max_length=200)]
OptionalText = Annotated[str, Form(max_length=200)]
TITLE = N_("Improvement actions")
FORM_FIELDS = ("title", "department_id", "owner", "deadline", "metric", "starts_on", "site_id", "building_id",
               "point", "measures")


def _context(request: Request, conn: DbDep, now: NowDep, config: TicketConfigDep) -> dict[str, Any]:
    lang = _lang(request)
    views = [act.view(conn, a, as_of=now, tz=config.tz) for a in act.list_actions(conn)]
    names = place_names(conn)
    rows = [{"id": v.action.id, "status": v.action.status, "mark": {True: "green", False: "red", None: ""}[
        v.effect.improved], "cells": report.action_rows_of([v.as_dict()], lang, names)[0],
        "next": sorted(act.TRANSITIONS[act.Status(v.action.status)])} for v in views]
    return {"title_id": TITLE, "header": report.ACTION_HEADER[lang], "rows": rows,
            "statuses": report.STATUS_NAMES[lang], "metrics": [(k, m.name(lang)) for k, m in METRICS.items()],
            "points": [(k, point_name(k, lang)) for k in POINT_NAMES],
            "departments": departments(conn), "sites": sites(conn),
            "today": now.astimezone(config.tz).date().isoformat(), "form": dict.fromkeys(FORM_FIELDS, ""),
            "error": None}


@router.get("/manager/actions", response_class=HTMLResponse)
def actions_page(request: Request, conn: DbDep, user: ManagerWebUser, now: NowDep,
                 config: TicketConfigDep) -> Response:
    return render(request, "manager/actions.html", _context(request, conn, now, config))


def _refused(request: Request, conn: DbDep, now: NowDep, config: TicketConfigDep, exc: Exception,
             form: dict[str, str]) -> Response:
    """The page again with what was wrong and the form as it was filled in (nothing was saved)."""
    conn.rollback()
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, act.IllegalActionStatus) else 422
    return render(request, "manager/actions.html", _context(request, conn, now, config) | {
        "error": N_("The action was not saved."), "error_detail": str(exc),
        "form": dict.fromkeys(FORM_FIELDS, "") | form}, status_code=status)


def _day(text: str, what: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a date: use YYYY-MM-DD") from None


@router.post("/manager/actions")
def add_action(request: Request, conn: DbDep, user: ManagerWebUser, now: NowDep, config: TicketConfigDep,
               csrf: CsrfChecked, title: FormText, department_id: FormText, owner: FormText, deadline: FormText,
               metric: FormText, starts_on: OptionalText = "", site_id: OptionalText = "",
               building_id: OptionalText = "", point: OptionalText = "",
               measures: Annotated[str, Form(max_length=2000)] = "") -> Response:
    form = {"title": title, "department_id": department_id, "owner": owner, "deadline": deadline, "metric": metric,
            "starts_on": starts_on, "site_id": site_id, "building_id": building_id, "point": point,
            "measures": measures}
    try:
        due = _day(deadline, "the deadline")
        if due is None:
            raise InvalidInput("give a deadline (YYYY-MM-DD)")
        start = _day(starts_on, "the start") or now.astimezone(config.tz).date()
        action = act.add_action(
            conn, by=user.user_id, now=now, title=title, department_id=department_id, owner=owner, deadline=due,
            metric=metric, measures=measures, starts_on=start,
            where=Slice(site_id.strip() or None, building_id.strip() or None, None, point.strip() or None))
    except (InvalidInput, NotFound) as exc:
        return _refused(request, conn, now, config, exc, form)
    return RedirectResponse(f"/manager/actions?added={action.id}#action-{action.id}", status_code=303)


@router.post("/manager/actions/{action_id}/status")
def move_action(action_id: int, request: Request, conn: DbDep, user: ManagerWebUser, now: NowDep,
                config: TicketConfigDep, csrf: CsrfChecked, status: FormText,
                note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        act.update_action(conn, action_id, by=user.user_id, now=now, status=status, note=note)
    except (InvalidInput, NotFound, act.IllegalActionStatus) as exc:
        return _refused(request, conn, now, config, exc, {})
    return RedirectResponse(f"/manager/actions#action-{action_id}", status_code=303)
