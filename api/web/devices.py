"""The device page any staff member can open from a ticket or a work order (`/staff/devices/{id}`): its state
(normal, fault, offline), when it was last seen, its open alarms and tickets, and two charts of one metric — the
last 24 hours from the raw readings and the last 30 days from the hourly rollup (`?metric=` picks the metric).

Engineers and managers put the device in maintenance from it for a stated time and reason, or end that window
early (`tickets.maintenance`, the same windows as `forewarn device maintenance`): its alarms then raise nothing
for residents and count no false alarm."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import psycopg
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import Principal, Role
from api.deps import DbDep, NowDep
from api.web.charts import Marker, line_chart
from api.web.deps import CsrfChecked, StaffWebUser, web_require
from api.web.i18n import N_
from api.web.one_hop import PageRouter
from api.web.render import not_found, render
from api.web.staff_format import TICKET_STATE, TZ, evidence_facts, local_time, metric_name, request_gettext
from tickets.errors import InvalidInput, NotFound
from tickets.maintenance import end_window, list_windows, parse_duration, start_window
from tickets.telemetry import chart_metrics, device_overview, hourly_series, raw_series

router = PageRouter(tags=["pages: devices"], include_in_schema=False)

STATE = {"fault": N_("Fault"), "offline": N_("Offline"), "normal": N_("Normal"), "unknown": N_("Not heard from yet")}
KIND = {"water": N_("Water supply"), "elevator": N_("Lift"), "access_door": N_("Entrance door")}
DAY, MONTH = timedelta(hours=24), timedelta(days=30)
MaintenanceUser = Annotated[Principal, web_require(Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER)]
# What the form offers: how long the work is planned to take (tickets.maintenance.parse_duration's spelling).
DURATIONS = [("30m", N_("30 minutes")), ("1h", N_("1 hour")), ("2h", N_("2 hours")), ("4h", N_("4 hours")),
             ("8h", N_("8 hours")), ("1d", N_("1 day")), ("3d", N_("3 days"))]


def _not_found(request: Request) -> HTMLResponse:
    return not_found(request, N_("There is no such device."))


@router.get("/staff/devices/{device_id}", response_class=HTMLResponse)
def device_page(device_id: str, request: Request, conn: DbDep, user: StaffWebUser, now: NowDep,
                metric: str | None = None) -> Response:
    return _device_page(request, conn, user, now, device_id, metric)


def _device_page(request: Request, conn: psycopg.Connection, user: Principal, now: datetime, device_id: str,
                 metric: str | None, *, error: str | None = None, form: dict[str, str] | None = None,
                 status_code: int = 200) -> HTMLResponse:
    try:
        overview = device_overview(conn, device_id)
    except NotFound:
        return _not_found(request)
    device = overview.device
    metrics = chart_metrics(device.kind)
    chosen = metric if metric in metrics else (metrics[0] if metrics else None)
    _ = request_gettext(request)
    charts = []
    if chosen is not None:
        markers = [Marker(a.since, _("Alarm")) for a in overview.alarms]
        empty = _("No readings in this window.")
        day = raw_series(conn, device.id, device.kind, chosen, start=now - DAY, end=now)
        month = hourly_series(conn, device.id, device.kind, chosen, start=now - MONTH, end=now)
        named = metric_name(_, chosen)
        charts = [
            {"id": "chart-24h", "title": _("%(metric)s, last 24 hours", metric=named),
             "svg": line_chart(day, title=_("%(metric)s, last 24 hours", metric=named), empty_text=empty, tz=TZ,
                               markers=markers, time_format="%m-%d %H:%M")},
            {"id": "chart-30d", "title": _("%(metric)s, last 30 days (hourly)", metric=named),
             "svg": line_chart(month, title=_("%(metric)s, last 30 days (hourly)", metric=named), empty_text=empty,
                               tz=TZ, markers=markers, time_format="%m-%d")},
        ]
    return render(request, "staff/device.html", {
        "overview": overview, "device": device, "state": overview.state, "state_label": STATE[overview.state],
        "kind_label": KIND.get(device.kind, device.kind), "last_seen": local_time(device.last_seen),
        "alarms": [{"a": a, "since": local_time(a.since), "facts": evidence_facts(a.evidence)}
                   for a in overview.alarms],
        "tickets": [{"t": t, "due": local_time(t.resolve_due), "state": TICKET_STATE.get(t.state, t.state)}
                    for t in overview.tickets],
        "metrics": metrics, "metric": chosen, "charts": charts,
        # who may open them
        "work_order_links": user.role in (Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN),
        **_maintenance_context(conn, device.id, user, now, error, form or {}),
    }, status_code=status_code)


def _maintenance_context(conn: psycopg.Connection, device_id: str, user: Principal, now: datetime,
                         error: str | None, form: dict[str, str]) -> dict[str, Any]:
    windows = list_windows(conn, at=now, device_id=device_id)  # current and planned, by start
    running = [w for w in windows if w.starts_at <= now]
    current = max(running, key=lambda w: (w.ends_at, w.id)) if running else None  # as active_window picks
    planned = [w for w in windows if w.starts_at > now]
    return {"window": current, "window_until": local_time(current.ends_at) if current else None,
            "planned": [{"w": w, "from": local_time(w.starts_at), "until": local_time(w.ends_at)} for w in planned],
            "may_set_maintenance": user.role in (Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN),
            "durations": DURATIONS, "maintenance_error": error, "form": form}


@router.post("/staff/devices/{device_id}/maintenance", response_class=HTMLResponse)
def set_maintenance(device_id: str, request: Request, conn: DbDep, user: MaintenanceUser, now: NowDep,
                    csrf: CsrfChecked, duration: Annotated[str, Form(max_length=10)] = "",
                    reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    """From now for the chosen time; a wrong choice or no reason shows the page again with what was typed."""
    form = {"duration": duration, "reason": reason}
    error = (N_("Choose how long the work will take.") if duration not in dict(DURATIONS)
             else N_("Say what work is planned.") if not reason.strip() else None)
    if error is None:
        try:
            start_window(conn, device_id, starts_at=now, ends_at=now + parse_duration(duration), reason=reason,
                         set_by=user.name or user.user_id)
        except InvalidInput:  # the checks above leave only an unknown device
            return _not_found(request)
        return RedirectResponse(f"/staff/devices/{device_id}#maintenance", status_code=303)
    return _device_page(request, conn, user, now, device_id, None, error=error, form=form, status_code=422)


@router.post("/staff/devices/{device_id}/maintenance/end", response_class=HTMLResponse)
def end_maintenance(device_id: str, request: Request, conn: DbDep, user: MaintenanceUser, now: NowDep,
                    csrf: CsrfChecked) -> Response:
    """Ends the current window and withdraws planned ones; the faults still raised then go to the lifecycle."""
    try:
        end_window(conn, device_id, at=now, ended_by=user.name or user.user_id)
    except InvalidInput:
        return _not_found(request)
    except NotFound:
        pass  # already over (another engineer ended it, or it ran out): the page shows what is true now
    return RedirectResponse(f"/staff/devices/{device_id}#maintenance", status_code=303)
