"""The desk's announcements (issue #16 points 10 and 11): `/desk/announcements` lists them newest first (kind,
site or building, title, when, "read by N of M") with the form to announce to a site or one building, and
`/desk/announcements/{id}` shows one with its read receipts (recipients, delivered, read). Agents, supervisors and
managers read; agents and managers (and admin) announce, as the REST routes (api/routes/announcements.py).

The form hands everything to `tickets.announcements.create_announcement` (one notice per current resident of the
target, in one transaction); its refusal (a missing or too long title or text, an unknown site or building, an
outage ending before it starts or already over, times on a kind that is not an outage) re-renders the form as typed,
headed by what was wrong in the reader's language."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import Principal, Role
from api.deps import DbDep, NowDep, TicketConfigDep
from api.web.deps import CsrfChecked, web_require
from api.web.desk_forms import form_time, headline
from api.web.desk_pages import DeskUser
from api.web.i18n import N_, choose_lang
from api.web.one_hop import PageRouter
from api.web.render import render
from api.web.staff_format import local_time
from tickets.announcements import (
    Announcement,
    AnnouncementKind,
    AnnouncementProblem,
    AnnouncementRefused,
    create_announcement,
    get_announcement,
    list_announcements,
    stats,
)
from tickets.errors import InvalidInput, NotFound
from tickets.names import sites_and_buildings

router = PageRouter(tags=["pages: service desk"], include_in_schema=False)
Announcer = Annotated[Principal, web_require(Role.AGENT, Role.MANAGER)]
ANNOUNCERS = frozenset({Role.AGENT, Role.MANAGER, Role.ADMIN})
KIND = {AnnouncementKind.PLANNED_OUTAGE: N_("Planned outage"),
        AnnouncementKind.RECTIFICATION: N_("Rectification notice"), AnnouncementKind.COMMUNITY: N_("Community notice")}
# A refused announcement (tickets.announcements.AnnouncementRefused) in words: by its problem, and for a title or
# text by the field too.
REFUSED = {
    AnnouncementProblem.UNKNOWN_KIND: N_("Please choose the kind of announcement."),
    AnnouncementProblem.ENDS_BEFORE_START: N_("The outage must end after it starts: check its start and end."),
    AnnouncementProblem.NOT_AN_OUTAGE: N_("Start and end times are only for a planned outage: choose that kind, or "
                                          "leave the times empty."),
    AnnouncementProblem.OUTAGE_OVER: N_("This outage is already over: a planned outage is announced before it ends. "
                                        "Check its end, or tell residents what happened in a community notice "
                                        "without times."),
    AnnouncementProblem.UNKNOWN_SITE: N_("There is no such site: choose one from the list."),
    AnnouncementProblem.UNKNOWN_BUILDING: N_("That building is not one of the chosen site's: choose one of its "
                                             "buildings, or the whole site."),
}
MISSING = {"title_zh": N_("Please give the announcement a title in Chinese."),
           "body_zh": N_("Please write the announcement's text in Chinese.")}
TOO_LONG = {"title_zh": N_("The Chinese title is %(length)s characters long: at most %(limit)s."),
            "body_zh": N_("The Chinese text is %(length)s characters long: at most %(limit)s."),
            "title_en": N_("The English title is %(length)s characters long: at most %(limit)s."),
            "body_en": N_("The English text is %(length)s characters long: at most %(limit)s.")}
EMPTY_FORM = {"site_id": "", "building_id": "", "kind": AnnouncementKind.PLANNED_OUTAGE.value, "title_zh": "",
              "body_zh": "", "title_en": "", "body_en": "", "starts_at": "", "ends_at": ""}


_PLACE = """SELECT s.name, b.name FROM sites s LEFT JOIN buildings b ON b.id = %(building)s AND b.site_id = s.id
            WHERE s.id = %(site)s"""


def _row(conn: psycopg.Connection, a: Announcement, lang: str) -> dict[str, Any]:
    zh = lang == "zh-CN"
    place = conn.execute(_PLACE, {"site": a.site_id, "building": a.building_id}).fetchone()
    return {"a": a, "kind": KIND.get(AnnouncementKind(a.kind), a.kind), "stats": stats(conn, a.id),
            "site_name": place[0] if place else a.site_id,  # by name, as the form offers them
            "building_name": (place[1] if place and place[1] else a.building_id) if a.building_id else None,
            "title": a.title_zh if zh else a.title_en, "body": a.body_zh if zh else a.body_en,
            "created": local_time(a.created_at),
            "window": (local_time(a.starts_at), local_time(a.ends_at)) if a.starts_at or a.ends_at else None}


def _list_context(request: Request, conn: psycopg.Connection, user: Principal, site: str | None) -> dict[str, Any]:
    lang = choose_lang(request)
    targets = sites_and_buildings(conn)
    return {"rows": [_row(conn, a, lang) for a in list_announcements(conn, site_id=site)],
            "sites": targets, "site": site, "kinds": list(KIND.items()), "may_announce": user.role in ANNOUNCERS,
            "form": EMPTY_FORM | {"site_id": site or (targets[0][0] if targets else "")},
            "error": None, "error_args": {}, "error_detail": None}


def _refusal(exc: InvalidInput) -> dict[str, Any]:
    """The form's error box: the headline (a message id and its numbers) and, when the headline does not say it all,
    the back end's own text beneath it."""
    if isinstance(exc, AnnouncementRefused):
        if exc.problem is AnnouncementProblem.MISSING and exc.field in MISSING:
            return {"error": MISSING[exc.field], "error_args": {}, "error_detail": None}
        if exc.problem is AnnouncementProblem.TOO_LONG and exc.field in TOO_LONG:
            numbers = {"length": f"{exc.length:,}", "limit": f"{exc.limit:,}"}
            return {"error": TOO_LONG[exc.field], "error_args": numbers, "error_detail": None}
        if exc.problem in REFUSED:
            return {"error": REFUSED[exc.problem], "error_args": {}, "error_detail": None}
    return {"error": headline(exc), "error_args": {}, "error_detail": str(exc)}


@router.get("/desk/announcements", response_class=HTMLResponse)
def announcements_page(request: Request, conn: DbDep, user: DeskUser, site: str | None = None) -> Response:
    return render(request, "desk/announcements.html",
                  _list_context(request, conn, user, (site or "").strip() or None))


@router.get("/desk/announcements/{announcement_id}", response_class=HTMLResponse)
def announcement_page(announcement_id: int, request: Request, conn: DbDep, user: DeskUser) -> Response:
    try:
        found = get_announcement(conn, announcement_id)
    except NotFound:
        return render(request, "error.html", {"title_id": N_("Not found"),
                                              "message_id": N_("There is no such announcement."),
                                              "message_args": {}}, status_code=404)
    return render(request, "desk/announcement.html", {**_row(conn, found, choose_lang(request)),
                                                      "done": request.query_params.get("done")})


@router.post("/desk/announcements")
def announce(
    request: Request, conn: DbDep, user: Announcer, now: NowDep, config: TicketConfigDep, csrf: CsrfChecked,
    site_id: Annotated[str, Form(max_length=100)] = "", building_id: Annotated[str, Form(max_length=100)] = "",
    kind: Annotated[str, Form(max_length=40)] = "", title_zh: Annotated[str, Form(max_length=400)] = "",
    body_zh: Annotated[str, Form(max_length=8000)] = "", title_en: Annotated[str, Form(max_length=400)] = "",
    body_en: Annotated[str, Form(max_length=8000)] = "", starts_at: Annotated[str, Form(max_length=40)] = "",
    ends_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Announce to the site, or to one building of it: one notice per current resident (as `announce create`)."""
    form = {"site_id": site_id, "building_id": building_id, "kind": kind, "title_zh": title_zh, "body_zh": body_zh,
            "title_en": title_en, "body_en": body_en, "starts_at": starts_at, "ends_at": ends_at}
    try:
        made, _ = create_announcement(
            conn, site_id=site_id.strip(), building_id=building_id.strip() or None, kind=kind.strip(),
            title_zh=title_zh, body_zh=body_zh, title_en=title_en, body_en=body_en,
            starts_at=form_time(starts_at, required=False, what="start"),
            ends_at=form_time(ends_at, required=False, what="end"), author=user.user_id, now=now, config=config)
    except InvalidInput as exc:
        conn.rollback()
        context = _list_context(request, conn, user, None)
        return render(request, "desk/announcements.html", context | _refusal(exc) | {"form": form},
                      status_code=422)
    return RedirectResponse(f"/desk/announcements/{made.id}?done=created", status_code=303)
