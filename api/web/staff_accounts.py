"""`/staff/accounts`: staff look up a unit's residents, see whether each has an account (invited, signed up,
disabled), and invite them from the page; codes no channel can carry are shown to hand over, as the
`forewarn estate invite` command prints them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse
from psycopg.rows import dict_row

from api.deps import DbDep, NowDep
from api.web import queries
from api.web.config import web_config
from api.web.delivery import code_sender
from api.web.deps import CsrfChecked, StaffWebUser
from api.web.invitations import NoResidents, invite_residents, residents_to_invite
from api.web.one_hop import PageRouter
from api.web.render import frame_of, render

router = PageRouter(prefix="/staff", tags=["pages"], include_in_schema=False)


def _unit_accounts(conn: Any, unit: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cursor:
        return list(cursor.execute(queries.UNIT_ACCOUNTS, {"unit": unit}).fetchall())


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, user: StaffWebUser, conn: DbDep, unit: str = "") -> HTMLResponse:
    unit = unit.strip()
    rows = _unit_accounts(conn, unit) if unit else []
    return render(request, "staff/accounts.html", {"unit": unit, "rows": rows, "invitations": []})


@router.post("/accounts/invite", response_class=HTMLResponse)
def invite_unit(request: Request, user: StaffWebUser, csrf: CsrfChecked, conn: DbDep, now: NowDep,
                unit: Annotated[str, Form(max_length=100)]) -> HTMLResponse:
    config = web_config(request)
    try:
        residents = residents_to_invite(conn, unit=unit.strip())
    except NoResidents:
        return render(request, "staff/accounts.html", {"unit": unit, "rows": [], "invitations": []},
                      status_code=404)
    invitations = invite_residents(conn, residents, now=now, ttl=timedelta(hours=config.signup_code_hours),
                                   public_url=config.public_url, sender=code_sender(request),
                                   catalogues=frame_of(request).catalogues)
    conn.execute("INSERT INTO audit_log (actor, action, subject, detail) VALUES (%s, 'estate.invite', %s, "
                 "jsonb_build_object('residents', %s::int))", (user.user_id, unit, len(invitations)))
    return render(request, "staff/accounts.html", {"unit": unit, "rows": _unit_accounts(conn, unit),
                                                   "invitations": [i for i in invitations if i.sent_via is None]})
