"""The service report of a ticket (tickets/service_report.py) as a page and a PDF: for the resident from their
request (`/resident/requests/{id}/report[.pdf]`, their own only — anyone else's is the 404 page), and for staff from
the ticket (`/staff/tickets/{id}/report[.pdf]`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbDep
from api.web.deps import ResidentWebUser, StaffWebUser
from api.web.i18n import N_, choose_lang
from api.web.one_hop import PageRouter
from api.web.render import not_found, render
from api.web.resident import ticket_config
from tickets.errors import NotFound
from tickets.portal import resident_request
from tickets.service_report import ServiceReport, service_report, to_pdf

router = PageRouter(tags=["pages"], include_in_schema=False)


def _local(request: Request) -> Callable[[datetime | None], str]:
    tz = ticket_config(request).tz

    def local(at: datetime | None) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if at is not None else "—"

    return local


def _not_found(request: Request) -> Response:
    return not_found(request, N_("There is nothing here for your account."))


def _answer(request: Request, report: ServiceReport, pdf: bool, back: str) -> Response:
    if pdf:
        body = to_pdf(report, "en" if choose_lang(request) == "en" else "zh-CN", local=_local(request))
        return Response(body, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="service-report-{report.ticket_id}.pdf"',
            "Cache-Control": "no-store"})
    return render(request, "service_report.html", {"r": report, "local": _local(request), "back": back})


def _for_resident(request: Request, conn: DbDep, user: ResidentWebUser, complaint_id: int, pdf: bool) -> Response:
    assert user.resident_id is not None  # ResidentWebUser guarantees a resident
    try:
        ticket_id = resident_request(conn, user.resident_id, user.user_id, complaint_id).request.ticket_id
    except NotFound:
        return _not_found(request)
    return _answer(request, service_report(conn, ticket_id, choose_lang(request)), pdf,
                   f"/resident/requests/{complaint_id}")


@router.get("/resident/requests/{complaint_id}/report", response_class=HTMLResponse)
def resident_report(request: Request, complaint_id: int, user: ResidentWebUser, conn: DbDep) -> Response:
    return _for_resident(request, conn, user, complaint_id, pdf=False)


@router.get("/resident/requests/{complaint_id}/report.pdf")
def resident_report_pdf(request: Request, complaint_id: int, user: ResidentWebUser, conn: DbDep) -> Response:
    return _for_resident(request, conn, user, complaint_id, pdf=True)


def _for_staff(request: Request, conn: DbDep, ticket_id: int, pdf: bool) -> Response:
    try:
        report = service_report(conn, ticket_id, choose_lang(request))
    except NotFound:
        return _not_found(request)
    return _answer(request, report, pdf, "/")


@router.get("/staff/tickets/{ticket_id}/report", response_class=HTMLResponse)
def staff_report(request: Request, ticket_id: int, user: StaffWebUser, conn: DbDep) -> Response:
    return _for_staff(request, conn, ticket_id, pdf=False)


@router.get("/staff/tickets/{ticket_id}/report.pdf")
def staff_report_pdf(request: Request, ticket_id: int, user: StaffWebUser, conn: DbDep) -> Response:
    return _for_staff(request, conn, ticket_id, pdf=True)
