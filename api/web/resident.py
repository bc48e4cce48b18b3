"""The resident pages (mobile first): my services, my notices (live), report a problem, my requests with their
timelines, and the return visit. A request's address has its own id (`/resident/requests/{id}`), but the notices
name its ticket ("工单 #12"): the request pages show that number, `/resident/tickets/{number}` leads to the request,
and a notice about a ticket links there. They render what `tickets.portal` and `tickets.requests` return; every page is
scoped to the signed-in resident, and another resident's notice, request or ticket is the 404 page, exactly as a
missing one is. Staff are refused by `ResidentWebUser` (403 page)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import psycopg
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from api.auth import Principal
from api.deps import DbDep, NowDep, get_state
from api.routes.complaints import RATE_LIMIT_PER_HOUR
from api.web.deps import CsrfChecked, ResidentWebUser
from api.web.files import FormPhotos, Photos
from api.web.i18n import N_, choose_lang
from api.web.one_hop import PageRouter
from api.web.render import not_found, render
from api.web.resident_photos import PhotoRejected, keep_photos, save_photos
from api.web.staff_format import request_gettext
from tickets.announcements import mark_read
from tickets.attachments import attach_to_ticket
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.confirm import confirm_repair, dispute_repair, has_confirmed
from tickets.errors import IllegalTransition, InvalidInput, NotFound
from tickets.portal import (
    ResidentRequest,
    request_on_ticket,
    resident_notice,
    resident_notices,
    resident_request,
    resident_requests,
    unit_services,
)
from tickets.profiles import unit_profile
from tickets.requests import RequestKind, file_request, recent_requests, rules
from tickets.submissions import KEY_MAX, KeyReused, earlier, submission
from tickets.visits import Rating, record_return_visit
from tickets.warranty import warranty_links

router = PageRouter(prefix="/resident", tags=["resident pages"], include_in_schema=False)
PAGE_SIZE = 20
# A survey notice's one-time link (tickets/survey_links.py): the notice page offers it as a button, on this host.
SURVEY_LINK = re.compile(r"/survey/[A-Za-z0-9_-]{16,200}")
# One limit for requests from the app and from the REST API (far above what a household files).
REQUESTS_PER_HOUR = RATE_LIMIT_PER_HOUR
TextField = Annotated[str, Form(max_length=4000)]
Score = Annotated[int, Form(ge=1, le=5)]


def ticket_config(request: Request) -> TicketConfig:
    """The composition root's `TicketConfig` (time zone, SLA overrides) when it gave one, else the defaults."""
    config = get_state(request).extras.get("tickets")
    return config if isinstance(config, TicketConfig) else DEFAULT_CONFIG


def _page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """`render` with the resident's clock: `local(t)` is `t` in the estate's time zone."""
    tz = ticket_config(request).tz

    _ = request_gettext(request)
    days: list[str] = []

    def local(at: datetime | None) -> datetime | None:
        return at.astimezone(tz) if at is not None else None

    def when(at: datetime | None) -> Markup | str:
        """`at` as the resident reads it: `<time>2026-10-08 (Thu) 09:00</time>` in the estate's zone. Python, not
        a template macro: a list of notices formats dozens of times, and the macro (seven day names translated
        per call) was a twelfth of a resident page's CPU (bench.web, py-spy)."""
        if not at:
            return "—"
        if not days:
            days.extend(_(day) for day in WEEKDAYS)
        t = at.astimezone(tz)
        return Markup(f'<time datetime="{t.isoformat()}">{t:%Y-%m-%d} ({escape(days[t.weekday()])}) '
                      f"{t:%H:%M}</time>")

    return render(request, template, context | {"local": local, "when": when}, status_code=status_code)


WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def _not_found(request: Request) -> HTMLResponse:
    return not_found(request, N_("There is nothing here for your account."))


def _me(user: Principal) -> tuple[str, str]:
    assert user.resident_id is not None and user.unit_id is not None  # ResidentWebUser guarantees a resident
    return user.resident_id, user.unit_id


@router.get("", response_class=HTMLResponse)
def home(request: Request, user: ResidentWebUser, conn: DbDep) -> Response:
    _, unit = _me(user)
    return _page(request, "resident/home.html", {"services": unit_services(conn, unit), "unit_id": unit})


@router.get("/services/fragment", response_class=HTMLResponse)
def services_fragment(request: Request, user: ResidentWebUser, conn: DbDep) -> Response:
    """The services list alone: the home page swaps it in when a notice arrives (live.js)."""
    _, unit = _me(user)
    return _page(request, "resident/_services.html", {"services": unit_services(conn, unit)})


@router.get("/notices", response_class=HTMLResponse)
def notices(request: Request, user: ResidentWebUser, conn: DbDep, before: int | None = None) -> Response:
    resident, _ = _me(user)
    page = resident_notices(conn, resident, before=before, limit=PAGE_SIZE, lang=choose_lang(request))
    return _page(request, "resident/notices.html", {"page": page, "paged": before is not None})


@router.get("/notices/fragment", response_class=HTMLResponse)
def notices_fragment(request: Request, user: ResidentWebUser, conn: DbDep) -> Response:
    """The newest page of notices alone: the notices page swaps it in when a notice arrives (live.js)."""
    resident, _ = _me(user)
    return _page(request, "resident/_notices.html",
                 {"page": resident_notices(conn, resident, limit=PAGE_SIZE, lang=choose_lang(request))})


@router.get("/notices/{notice_id}", response_class=HTMLResponse)
def notice(request: Request, notice_id: int, user: ResidentWebUser, conn: DbDep, now: NowDep) -> Response:
    resident, _ = _me(user)
    try:
        found = resident_notice(conn, resident, notice_id, choose_lang(request))
    except NotFound:
        return _not_found(request)
    mark_read(conn, resident, notice_id, now)  # the read receipt, the first time only (announcements' figures)
    survey = SURVEY_LINK.search(found.body) if found.kind == "survey" else None
    return _page(request, "resident/notice.html", {"notice": found, "survey_path": survey.group(0) if survey else None,
                                                   "has_request": _has_request(conn, user, found.ticket_id)})


def _has_request(conn: psycopg.Connection, user: Principal, ticket_id: int | None) -> bool:
    """Whether the resident has a request on the ticket a notice names (a fault notice may reach a household that
    reported nothing): only then does the notice link to it."""
    return ticket_id is not None and _my_request(conn, user, ticket_id) is not None


def _report_page(request: Request, conn: psycopg.Connection, unit: str, *, error: str | None = None,
                 kind: str = "", description: str = "", status_code: int = 200, kept: list[int] | None = None,
                 refused: list[str] | None = None, detail: str | None = None) -> HTMLResponse:
    """The form, with the time limits of the SLA profile of the resident's own site. Each form carries a key of its
    own, so that sending it twice (a second tap while the phone waits, a reload) files one request. Shown again
    after a refusal: `error` and its `detail`, the words typed, the photos `kept` (ids, on no ticket yet) and the
    names of those `refused`."""
    config = ticket_config(request)
    profile = unit_profile(conn, unit, config.sla_profiles())
    return _page(request, "resident/report.html",
                 {"kinds": list(RequestKind), "rules": rules(profile, config), "error": error, "kind": kind,
                  "description": description, "submission": uuid.uuid4().hex, "error_detail": detail,
                  "kept_photos": kept or [], "refused_photos": refused or []}, status_code=status_code)


@dataclass(frozen=True, slots=True)
class _Sent:
    """What a report form carried: its words, its new photos, the ids of photos kept from a refused try, its key."""

    kind: str
    description: str
    photos: Photos
    kept: list[int]
    key: str | None


def _again(request: Request, conn: psycopg.Connection, user: Principal, sent: _Sent, now: datetime, error: str,
           status_code: int, detail: str | None = None) -> HTMLResponse:
    """The form refused and shown again with all it carried: the words, and the photos (the good new ones stored
    now on no ticket, with those kept before), with the refused ones named."""
    _, unit = _me(user)
    kept = keep_photos(conn, sent.photos, sent.kept, uploaded_by=user.user_id, now=now)
    return _report_page(request, conn, unit, error=error, kind=sent.kind, description=sent.description,
                        status_code=status_code, kept=kept, refused=[r.name for r in sent.photos.refused],
                        detail=detail)


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, user: ResidentWebUser, conn: DbDep) -> Response:
    _, unit = _me(user)
    return _report_page(request, conn, unit)


@router.post("/report", response_class=HTMLResponse)
def report(request: Request, _: CsrfChecked, user: ResidentWebUser, conn: DbDep, now: NowDep,
           kind: Annotated[str, Form(max_length=20)], description: TextField, photos: FormPhotos,
           kept_photos: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI's idiom
           key: Annotated[str | None, Form(alias="submission", max_length=KEY_MAX)] = None) -> Response:
    """File the request; refused, the form is shown again with all it carried (`_again`), photos included."""
    resident, _unit = _me(user)
    sent = _Sent(kind, description, photos, kept_photos, key)
    if kind not in {k.value for k in RequestKind}:
        return _again(request, conn, user, sent, now, N_("Choose what kind of request this is."), 422)
    if not description.strip():
        return _again(request, conn, user, sent, now, N_("Please say what the problem is."), 422)
    if recent_requests(conn, resident, now=now) >= REQUESTS_PER_HOUR:
        return _again(request, conn, user, sent, now, N_("You have sent many requests in the last hour. Please add "
                                                         "to one of your open requests instead."), 429)
    return _file(request, conn, user, sent, now)


def _file(request: Request, conn: psycopg.Connection, user: Principal, sent: _Sent, now: datetime) -> Response:
    resident, unit = _me(user)
    kind, description = sent.kind, sent.description
    try:
        with conn.transaction():
            once = None if not sent.key else submission(user.user_id, sent.key,
                                                        {"kind": kind, "description": description})
            if once is not None and (first := earlier(conn, once, now)) is not None:  # this form, sent again
                return RedirectResponse(f"/resident/requests/{first['complaint_id']}?filed=1", status_code=303)
            saved = save_photos(conn, sent.photos, sent.kept, uploaded_by=user.user_id, now=now)
            receipt = file_request(conn, kind=kind, resident_id=resident, unit_id=unit, description=description,
                                   lang=choose_lang(request), now=now, attachments=[f"/files/{i}" for i in saved],
                                   config=ticket_config(request), submission=once)
            attach_to_ticket(conn, saved, ticket_id=receipt.ticket_id, uploaded_by=user.user_id)
    except PhotoRejected as exc:
        return _again(request, conn, user, sent, now, exc.message_id, 422, str(exc))
    except KeyReused:  # the page went back to a form already sent, and its words were changed
        return _again(request, conn, user, sent, now, N_("This form was already sent with other words. Check your "
                                                         "requests; to send this one too, press Send again."), 409)
    except InvalidInput:
        return _again(request, conn, user, sent, now,
                      N_("We could not take this request. Please check it and try again."), 422)
    return RedirectResponse(f"/resident/requests/{receipt.complaint_id}?filed=1", status_code=303)


@router.get("/requests", response_class=HTMLResponse)
def requests_list(request: Request, user: ResidentWebUser, conn: DbDep) -> Response:
    resident, _ = _me(user)
    return _page(request, "resident/requests.html", {"requests": resident_requests(conn, resident, user.user_id)})


def _request_page(request: Request, conn: psycopg.Connection, user: Principal, complaint_id: int, *,
                  status_code: int = 200, **flags: Any) -> HTMLResponse:
    """One of the resident's requests: its limits, timeline, warranty links and the confirm / dispute forms."""
    resident, _ = _me(user)
    try:
        detail = resident_request(conn, resident, user.user_id, complaint_id)
    except NotFound:
        return _not_found(request)
    ticket_id = detail.request.ticket_id
    context = {"detail": detail, "filed": False, "rated": False, "confirmed": False, "disputed": False,
               "error": None, "reason": "", "warranty": warranty_links(conn, ticket_id),
               "has_confirmed": has_confirmed(conn, ticket_id, resident)} | flags
    return _page(request, "resident/request.html", context, status_code=status_code)


@router.get("/requests/{complaint_id}", response_class=HTMLResponse)
def request_detail(request: Request, complaint_id: int, user: ResidentWebUser, conn: DbDep, filed: bool = False,
                   rated: bool = False, confirmed: bool = False, disputed: bool = False) -> Response:
    return _request_page(request, conn, user, complaint_id, filed=filed, rated=rated, confirmed=confirmed,
                         disputed=disputed)


def _answer(request: Request, conn: psycopg.Connection, user: Principal, complaint_id: int, now: datetime,
            reason: str | None) -> Response:
    """Confirm the repair (`reason` None) or dispute it with `reason`; back to the request page."""
    resident, _ = _me(user)
    try:
        ticket_id = resident_request(conn, resident, user.user_id, complaint_id).request.ticket_id
    except NotFound:
        return _not_found(request)
    if reason is not None and not reason.strip():
        return _request_page(request, conn, user, complaint_id, status_code=422,
                             error=N_("Please say what is still wrong."))
    try:
        if reason is None:
            confirm_repair(conn, ticket_id, resident_id=resident, by_user=user.user_id, now=now)
        else:
            dispute_repair(conn, ticket_id, resident_id=resident, by_user=user.user_id, reason=reason, now=now,
                           config=ticket_config(request))
    except (InvalidInput, IllegalTransition):  # not waiting for a check any more (rated, reopened meanwhile)
        return _request_page(request, conn, user, complaint_id, status_code=409, reason=reason or "",
                             error=N_("This request is not waiting for your check any more."))
    done = "confirmed" if reason is None else "disputed"
    return RedirectResponse(f"/resident/requests/{complaint_id}?{done}=1", status_code=303)


@router.post("/requests/{complaint_id}/confirm", response_class=HTMLResponse)
def confirm(request: Request, complaint_id: int, _: CsrfChecked, user: ResidentWebUser, conn: DbDep,
            now: NowDep) -> Response:
    return _answer(request, conn, user, complaint_id, now, None)


@router.post("/requests/{complaint_id}/dispute", response_class=HTMLResponse)
def dispute(request: Request, complaint_id: int, _: CsrfChecked, user: ResidentWebUser, conn: DbDep, now: NowDep,
            reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    return _answer(request, conn, user, complaint_id, now, reason)


def _my_request(conn: psycopg.Connection, user: Principal, ticket_id: int) -> ResidentRequest | None:
    """The signed-in resident's request on ticket `ticket_id`, or None: another resident's ticket is as missing as one
    that does not exist."""
    try:
        return request_on_ticket(conn, _me(user)[0], user.user_id, ticket_id)
    except NotFound:
        return None


def _to_my_request(request: Request, conn: psycopg.Connection, user: Principal, ticket_id: int,
                   anchor: str = "") -> Response:
    """To the resident's request page for ticket `ticket_id` (at `anchor`), or the 404 page."""
    mine = _my_request(conn, user, ticket_id)
    if mine is None:
        return _not_found(request)
    return RedirectResponse(f"/resident/requests/{mine.complaint_id}{anchor}", status_code=303)


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket(request: Request, ticket_id: int, user: ResidentWebUser, conn: DbDep) -> Response:
    """The resident's request on ticket `ticket_id`, by the number the notices give ("工单 #12"): the request page
    (whose address has the request's own id) shows that number too."""
    return _to_my_request(request, conn, user, ticket_id)


@router.get("/check/{ticket_id}", response_class=HTMLResponse)
def check(request: Request, ticket_id: int, user: ResidentWebUser, conn: DbDep) -> Response:
    """From the "done — please check" notice: the resident's request on that ticket, at its confirm/dispute forms."""
    return _to_my_request(request, conn, user, ticket_id, "#check")


@router.get("/visit/{ticket_id}", response_class=HTMLResponse)
def visit_form(request: Request, ticket_id: int, user: ResidentWebUser, conn: DbDep) -> Response:
    if (mine := _my_request(conn, user, ticket_id)) is None:
        return _not_found(request)
    return _page(request, "resident/visit.html", {"request_": mine, "error": None})


@router.post("/visit/{ticket_id}", response_class=HTMLResponse)
def visit(request: Request, ticket_id: int, _: CsrfChecked, user: ResidentWebUser, conn: DbDep, now: NowDep,
          response_speed: Score, professionalism: Score, attitude: Score, overall: Score,
          comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
    if (mine := _my_request(conn, user, ticket_id)) is None:
        return _not_found(request)
    try:
        record_return_visit(conn, ticket_id, Rating(response_speed, professionalism, attitude, overall, comment),
                            by_user=user.user_id, now=now, config=ticket_config(request))
    except (InvalidInput, IllegalTransition):  # already rated, or reopened meanwhile: say so on the form
        return _page(request, "resident/visit.html",
                     {"request_": mine, "error": N_("This request is not waiting for a rating any more.")},
                     status_code=409)
    return RedirectResponse(f"/resident/requests/{mine.complaint_id}?rated=1", status_code=303)
