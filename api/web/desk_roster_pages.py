"""The desk's 7×24 on-call roster (issue #16 points 7 and 11): `/desk/roster` shows a week's shifts (this week by
default, `?week=<any date of it>`), one table per department (`?department=` narrows to one), with whoever is on
duty now marked (`tickets.on_call.on_duty`, per rung). Agents, supervisors and managers read it; supervisors and
managers (and admin) add a shift with the form (`POST /desk/roster`, as `forewarn roster add`), whose refusals
(`add_shift`'s InvalidInput: a shift ending before it starts, an unknown department, a person who is not active
staff or is staff of another department) re-render the page with the form as typed and the message. Cover from
another department is asked for with the form's "Cover from another department" box (`add_shift(..., cover=True)`,
as `forewarn roster add --cover`); the refusal of another department's staff says so."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

import psycopg
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import Principal, Role
from api.deps import DbDep, NowDep
from api.web.deps import CsrfChecked, web_require
from api.web.desk_forms import form_time, headline, input_value
from api.web.desk_pages import DeskUser
from api.web.i18n import N_
from api.web.one_hop import PageRouter
from api.web.render import render
from api.web.staff_format import TZ, local_time
from tickets.errors import InvalidInput
from tickets.names import departments
from tickets.on_call import OtherDepartment, Rung, add_shift, on_duty, shifts_between, staff_on_call_candidates

router = PageRouter(tags=["pages: service desk"], include_in_schema=False)
RosterWriter = Annotated[Principal, web_require(Role.SUPERVISOR, Role.MANAGER)]
WRITERS = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})
RUNG = {Rung.FIRST_LINE: N_("First line"), Rung.SUPERVISOR: N_("Supervisor on call")}
OTHER_DEPARTMENT = N_("This person is not staff of the department chosen: a department's rota takes its own staff. "
                      "If they are covering from another department, tick “Cover from another department” and add "
                      "the shift again.")


def _week_start(now: datetime, week: str | None) -> date:
    """The Monday of the week holding `week` (an ISO date), else of today (local)."""
    try:
        day = date.fromisoformat(week.strip()) if week and week.strip() else now.astimezone(TZ).date()
    except ValueError:
        day = now.astimezone(TZ).date()
    return day - timedelta(days=day.weekday())


def _context(request: Request, conn: psycopg.Connection, user: Principal, now: datetime,
             department: str | None, week: str | None) -> dict[str, Any]:
    monday = _week_start(now, week)
    start = datetime.combine(monday, time(0), tzinfo=TZ)
    end = start + timedelta(days=7)
    names = dict(departments(conn))
    rows = shifts_between(conn, start, end, department_id=department)
    on_now = {}  # (department, rung) -> the shift that answers on_duty now
    for dept in {s.department_id for s in rows}:
        for rung in Rung:
            who = on_duty(conn, dept, now, rung)
            current = [s for s in rows if s.department_id == dept and s.rung == rung.value and s.user_id == who
                       and s.starts_at <= now < s.ends_at]
            if current:
                on_now[(dept, rung.value)] = max(current, key=lambda s: (s.starts_at, s.id)).id
    tables: dict[str, list[dict[str, Any]]] = {}
    for s in rows:
        tables.setdefault(s.department_id, []).append({
            "s": s, "rung": RUNG.get(Rung(s.rung), s.rung), "from": local_time(s.starts_at),
            "to": local_time(s.ends_at), "on_duty": on_now.get((s.department_id, s.rung)) == s.id})
    return {
        "tables": [(d, names.get(d, d), tables[d]) for d in sorted(tables)], "departments": list(names.items()),
        "department": department, "week_from": monday.isoformat(), "week_to": (monday + timedelta(6)).isoformat(),
        "previous": (monday - timedelta(7)).isoformat(), "next": (monday + timedelta(7)).isoformat(),
        "may_add": user.role in WRITERS, "people": staff_on_call_candidates(conn), "department_names": names,
        "rungs": list(RUNG.items()),
        "form": {"department_id": department or "", "user_id": "", "rung": Rung.FIRST_LINE.value,
                 "starts_at": input_value(now), "ends_at": input_value(now + timedelta(hours=12)), "cover": False},
        "error": None, "error_detail": None, "done": request.query_params.get("done"),
    }


def _filter(value: str | None) -> str | None:
    return (value or "").strip() or None


def _ticked(value: str) -> bool:
    """Whether a checkbox was ticked: a browser sends a ticked box's value and leaves an unticked one out, so any
    value at all means ticked (and the box is kept ticked when the form comes back with a refusal)."""
    return bool(value.strip())


@router.get("/desk/roster", response_class=HTMLResponse)
def roster_page(request: Request, conn: DbDep, user: DeskUser, now: NowDep, department: str | None = None,
                week: str | None = None) -> Response:
    return render(request, "desk/roster.html", _context(request, conn, user, now, _filter(department), week))


@router.post("/desk/roster")
def roster_add(
    request: Request, conn: DbDep, user: RosterWriter, now: NowDep, csrf: CsrfChecked,
    department_id: Annotated[str, Form(max_length=100)] = "", user_id: Annotated[str, Form(max_length=100)] = "",
    rung: Annotated[str, Form(max_length=20)] = Rung.FIRST_LINE.value,
    starts_at: Annotated[str, Form(max_length=40)] = "", ends_at: Annotated[str, Form(max_length=40)] = "",
    cover: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Put `user_id` on call for the department from `starts_at` to `ends_at` (local time), as `roster add`; with
    the cover box ticked someone of another department goes on it as cover (`roster add --cover`)."""
    form = {"department_id": department_id, "user_id": user_id, "rung": rung, "starts_at": starts_at,
            "ends_at": ends_at, "cover": _ticked(cover)}
    try:
        try:
            rung_value = Rung(rung)
        except ValueError:
            raise InvalidInput(f"rung {rung!r} is not one of: {', '.join(r.value for r in Rung)}") from None
        start = form_time(starts_at, what="start of the shift")
        end = form_time(ends_at, what="end of the shift")
        assert start is not None and end is not None
        add_shift(conn, department_id=department_id.strip(), user_id=user_id.strip(), starts_at=start, ends_at=end,
                  rung=rung_value, cover=_ticked(cover))
    except InvalidInput as exc:
        conn.rollback()
        context = _context(request, conn, user, now, None, None)
        return render(request, "desk/roster.html", context | {
            "error": OTHER_DEPARTMENT if isinstance(exc, OtherDepartment) else headline(exc),
            "error_detail": str(exc), "form": form}, status_code=422)
    week = start.astimezone(TZ).date().isoformat()
    return RedirectResponse(f"/desk/roster?done=shift&week={week}&department={department_id.strip()}",
                            status_code=303)
