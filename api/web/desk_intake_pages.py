"""The service desk's intake page (issue #16 point 11): what an agent uses while a resident is on the phone or at the
counter (`/desk/intake`). One form, three buttons, no script needed: search the registry (unit, building and room,
or phone), check what the complaint would become (the suggested classification, which the agent may correct, and
the open incident or household ticket it would fold into, with a link), then file it and land on the ticket's
desk page with the time limits to read out. A caller not in the registry is filed by name and phone and linked to
the resident later from the ticket page (`POST /desk/complaints/{id}/link`, the same `link_caller` as REST).

The domain work is `tickets.desk_intake`; bad input re-renders the form with a message (never a 500), a form
without a valid CSRF token included, so that nothing the agent typed is lost."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Annotated, Any

import psycopg
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbDep, NowDep, TicketConfigDep
from api.schemas import RowId
from api.web.config import web_config
from api.web.deps import CsrfChecked, csrf_binding
from api.web.desk_pages import CATEGORY, SEVERITY, DeskUser, ticket_context, ticket_not_found
from api.web.i18n import N_, choose_lang
from api.web.one_hop import PageRouter
from api.web.render import render
from api.web.sessions import csrf_valid
from api.web.staff_format import TICKET_STATE, local_time
from tickets.callers import NAME_MAX, Caller, caller, link_caller, unit_place
from tickets.classify import DEPARTMENT_FOR, Category, Tier
from tickets.complaints import OUTCOME_MAX
from tickets.config import TicketConfig
from tickets.desk_intake import (
    SEARCH_LIMIT,
    file_at_desk,
    find_residents,
    own_sites,
    preview_intake,
    registry_resident,
)
from tickets.errors import InvalidInput, NotFound, RateLimited
from tickets.names import departments
from tickets.routing import kind_department
from tickets.submissions import KEY_MAX, KeyReused
from tickets.submissions import submission as submission_of

router = PageRouter(tags=["pages: service desk"], include_in_schema=False)

CHANNELS = {"phone": N_("Phone"), "counter": N_("Counter"), "hotline": N_("Hotline"), "email": N_("E-mail"),
            "grid_visit": N_("Grid visit"), "committee_referral": N_("Owners' committee referral"),
            "complaint_box": N_("Complaint box")}
KINDS = {"complaint": N_("Complaint"), "repair": N_("Repair"), "enquiry": N_("Enquiry"),
         "suggestion": N_("Suggestion")}
DESCRIPTION_MAX = 4000
BAD_CSRF = N_("This form has expired or did not come from this site. Please reload the page and try again.")


@dataclass(frozen=True, slots=True)
class IntakeForm:
    """What the agent typed, carried from one step to the next."""

    channel: str = "phone"
    q: str = ""
    resident_id: str = ""  # empty: a caller not in the registry
    caller_name: str = ""
    caller_phone: str = ""
    unit_id: str = ""
    description: str = ""
    requested_outcome: str = ""
    kind: str = "complaint"
    category: str = ""  # empty: the suggestion
    severity: str = ""
    suggested_category: str = ""  # what the check showed: a choice equal to it is no correction
    suggested_severity: str = ""
    submission: str = ""  # the form's own key: filed twice (a double click, a reload), it files once


def _clean(value: str) -> str:
    return value.replace("\x00", "").strip()


def _page(request: Request, conn: psycopg.Connection, form: IntakeForm, *, status_code: int = 200,
          **extra: Any) -> Response:
    context: dict[str, Any] = {
        "f": form, "channels": CHANNELS, "kinds": KINDS, "categories": [(c.value, CATEGORY[c.value]) for c in Category],
        "severities": [(t.value, SEVERITY[t.value]) for t in Tier], "results": None, "more": False, "chosen": None,
        "preview": None, "error": None, "error_detail": None, "notice": None, "max_text": DESCRIPTION_MAX,
        "max_outcome": OUTCOME_MAX, "max_name": NAME_MAX} | extra
    if form.resident_id and context["chosen"] is None:
        context["chosen"] = registry_resident(conn, form.resident_id)
    return render(request, "desk/intake.html", context, status_code=status_code)


def _search(conn: psycopg.Connection, q: str, user_id: str) -> dict[str, Any]:
    """The registry's closest `SEARCH_LIMIT` matches for `q`, the agent's own estates first among equals, and
    whether more matched than are shown: across a portfolio of estates a room number alone ("1501") matches a room
    in every one of them, and the caller may be past the list's end, so the page says so rather than let the agent
    think the list is all there is."""
    found = find_residents(conn, q, limit=SEARCH_LIMIT + 1, own=own_sites(conn, user_id))
    return {"results": found[:SEARCH_LIMIT], "more": len(found) > SEARCH_LIMIT}


@router.get("/desk/intake", response_class=HTMLResponse)
def intake_form(request: Request, conn: DbDep, user: DeskUser, q: str = "") -> Response:
    """The blank intake form; `?q=` searches the registry at once."""
    form = IntakeForm(q=_clean(q), submission=uuid.uuid4().hex)
    return _page(request, conn, form, **(_search(conn, form.q, user.user_id) if form.q else {}))


def _checked(conn: psycopg.Connection, form: IntakeForm) -> tuple[str | None, str, Caller | None]:
    """(a message id, or None when the form can be filed; the unit; the caller not in the registry)."""
    if form.channel not in CHANNELS:
        return N_("Choose the channel the complaint came in on."), "", None
    if form.kind not in KINDS:
        return N_("Choose what kind of request this is."), "", None
    if not form.description:
        return N_("Please say what the problem is."), "", None
    if len(form.description) > DESCRIPTION_MAX or len(form.requested_outcome) > OUTCOME_MAX:
        return N_("The text is too long. Please shorten it."), "", None
    if (form.category and form.category not in CATEGORY) or (form.severity and form.severity not in SEVERITY):
        return N_("Choose a category and a severity from the lists."), "", None
    if form.resident_id:
        found = registry_resident(conn, form.resident_id)
        if found is None:
            return N_("There is no such resident in the registry."), "", None
        return None, found.unit_id, None
    if not form.caller_name or not form.caller_phone:
        return N_("Choose the resident, or give the caller's name and phone."), "", None
    try:
        who = caller(form.caller_name, form.caller_phone)
    except InvalidInput:
        if len(form.caller_name) > NAME_MAX:
            return N_("The caller's name is too long."), "", None
        return N_("The phone number is not valid: digits, spaces, '-' and a leading '+' only."), "", None
    if not form.unit_id:
        return N_("Give the unit the complaint is about."), "", None
    try:
        unit = unit_place(conn, form.unit_id)[0]
    except InvalidInput:
        return N_("There is no such unit. Check the unit id (for example rs-b1-0101)."), "", None
    return None, unit, who


@router.post("/desk/intake", response_class=HTMLResponse)
def intake_step(
    request: Request, conn: DbDep, user: DeskUser, now: NowDep, config: TicketConfigDep,
    step: Annotated[str, Form()] = "check", csrf_token: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "", q: Annotated[str, Form()] = "", resident_id: Annotated[str, Form()] = "",
    caller_name: Annotated[str, Form()] = "", caller_phone: Annotated[str, Form()] = "",
    unit_id: Annotated[str, Form()] = "", description: Annotated[str, Form()] = "",
    requested_outcome: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "", severity: Annotated[str, Form()] = "",
    suggested_category: Annotated[str, Form()] = "", suggested_severity: Annotated[str, Form()] = "",
    submission: Annotated[str, Form(max_length=KEY_MAX)] = "",
) -> Response:
    """`step`: search (the registry), check (what it would become) or file."""
    form = IntakeForm(*(_clean(v) for v in (channel, q, resident_id, caller_name, caller_phone, unit_id,
                                              description, requested_outcome, kind, category, severity,
                                              suggested_category, suggested_severity, submission)))
    if not csrf_valid(web_config(request).secret_key, csrf_binding(request), csrf_token):
        return _page(request, conn, form, error=BAD_CSRF, status_code=403)
    if step == "search":
        if not form.q:
            return _page(request, conn, form, error=N_("Type a unit, a building and room, or a phone number."),
                         status_code=422)
        matches = _search(conn, form.q, user.user_id)
        notice = None if matches["results"] else N_("No resident of the registry matches. Check it with the caller, "
                                                  "or take their name and phone below.")
        return _page(request, conn, form, notice=notice, **matches)
    error, unit, who = _checked(conn, form)
    if error is not None:
        return _page(request, conn, form, error=error, status_code=422)
    if step == "file":
        return _file(request, conn, user.user_id, form, unit, who, now, config)
    preview = preview_intake(conn, unit_id=unit, description=form.description, now=now, config=config,
                             kind=form.kind)
    found = preview.found
    department = kind_department(form.kind) or found.department or DEPARTMENT_FOR.get(found.category)
    names = dict(departments(conn))
    fold = preview.fold
    shown = {"category": found.category.value, "category_label": CATEGORY.get(found.category.value, ""),
             "point": found.subcategory, "severity": found.tier.value, "severity_label": SEVERITY[found.tier.value],
             "department": names.get(department or "", department), "matched": found.matched,
             "fold": None if fold is None else asdict(fold) | {
                 "state": TICKET_STATE.get(fold.ticket_state, fold.ticket_state),
                 "back_by": local_time(fold.resolve_due)}}
    return _page(request, conn, replace(form, unit_id=unit), preview=shown)


def _file(request: Request, conn: psycopg.Connection, user_id: str, form: IntakeForm, unit: str,
          who: Caller | None, now: datetime, config: TicketConfig) -> Response:
    # Only what the agent changed from the suggestion they were shown is a correction: text edited after the check
    # without checking again is classified afresh, not pinned to the old suggestion.
    category = form.category if form.category != form.suggested_category else ""
    severity = form.severity if form.severity != form.suggested_severity else ""
    fields = asdict(form)
    del fields["q"], fields["submission"]  # the search box is not part of the complaint
    try:
        once = submission_of(user_id, form.submission, fields) if form.submission else None
        filed = file_at_desk(conn, kind=form.kind, channel=form.channel, unit_id=unit,
                             resident_id=form.resident_id or None, caller=who, description=form.description,
                             requested_outcome=form.requested_outcome or None, lang=choose_lang(request), now=now,
                             taken_by=user_id, category=category or None, severity=severity or None,
                             config=config, submission=once)
    except KeyReused:  # the browser went back to a form already filed, and it was changed
        conn.rollback()
        return _page(request, conn, replace(form, submission=uuid.uuid4().hex), status_code=409, error=N_(
            "This form was already filed with other details. Check the resident's tickets; to file this one too, "
            "file it again."))
    except RateLimited:
        conn.rollback()
        return _page(request, conn, form, status_code=429, error=N_(
            "This resident has filed many complaints in the last hour. Add to one of their open tickets instead."))
    except InvalidInput as exc:
        conn.rollback()
        return _page(request, conn, form, error=N_("This cannot be done as given."), error_detail=str(exc),
                     status_code=422)
    receipt = filed.receipt
    return RedirectResponse(f"/desk/tickets/{receipt.ticket_id}?filed={receipt.complaint_id}", status_code=303)


@router.post("/desk/complaints/{complaint_id}/link")
def link_complaint(complaint_id: RowId, request: Request, conn: DbDep, user: DeskUser, now: NowDep,
                   csrf: CsrfChecked, resident_id: Annotated[str, Form()] = "",
                   ticket_id: Annotated[int | None, Form(ge=1, le=2**62)] = None) -> Response:
    """Link a caller's complaint to the resident of the registry they turned out to be (the same `link_caller`
    as `POST /api/v1/complaints/{id}/link`); back to the ticket's desk page."""
    try:
        linked = link_caller(conn, complaint_id, _clean(resident_id), by_user=user.user_id, now=now)
    except NotFound:
        conn.rollback()
        return ticket_not_found(request)
    except InvalidInput as exc:
        conn.rollback()
        if ticket_id is None:
            return ticket_not_found(request)
        try:
            context = ticket_context(request, conn, ticket_id, now)
        except NotFound:
            return ticket_not_found(request)
        return render(request, "desk/ticket.html", context | {
            "error": N_("The caller could not be linked to this resident."), "error_detail": str(exc)},
            status_code=422)
    return RedirectResponse(f"/desk/tickets/{linked}?done=link", status_code=303)
