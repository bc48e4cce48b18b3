"""The device page any staff member can open from a ticket or a work order (`/staff/devices/{id}`): its state
(normal, fault, offline), when it was last seen, its open alarms and tickets, and two charts of one metric — the
last 24 hours from the raw readings and the last 30 days from the hourly rollup (`?metric=` picks the metric)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from api.auth import Role
from api.deps import DbDep, NowDep
from api.web.charts import Marker, line_chart
from api.web.deps import StaffWebUser
from api.web.i18n import N_
from api.web.one_hop import PageRouter
from api.web.render import render
from api.web.staff_format import TICKET_STATE, TZ, local_time, request_gettext
from tickets.errors import NotFound
from tickets.telemetry import chart_metrics, device_overview, hourly_series, raw_series

router = PageRouter(tags=["pages: devices"], include_in_schema=False)

STATE = {"fault": N_("Fault"), "offline": N_("Offline"), "normal": N_("Normal"), "unknown": N_("Not heard from yet")}
KIND = {"water": N_("Water supply"), "elevator": N_("Lift"), "access_door": N_("Entrance door")}
DAY, MONTH = timedelta(hours=24), timedelta(days=30)


@router.get("/staff/devices/{device_id}", response_class=HTMLResponse)
def device_page(device_id: str, request: Request, conn: DbDep, user: StaffWebUser, now: NowDep,
                metric: str | None = None) -> Response:
    try:
        overview = device_overview(conn, device_id)
    except NotFound:
        return render(request, "error.html", {"title_id": N_("Not found"), "message_id": N_("There is no such device."),
                                              "message_args": {}}, status_code=404)
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
        charts = [
            {"id": "chart-24h", "title": _("%(metric)s, last 24 hours", metric=chosen),
             "svg": line_chart(day, title=_("%(metric)s, last 24 hours", metric=chosen), empty_text=empty, tz=TZ,
                               markers=markers, time_format="%m-%d %H:%M")},
            {"id": "chart-30d", "title": _("%(metric)s, last 30 days (hourly)", metric=chosen),
             "svg": line_chart(month, title=_("%(metric)s, last 30 days (hourly)", metric=chosen), empty_text=empty,
                               tz=TZ, markers=markers, time_format="%m-%d")},
        ]
    return render(request, "staff/device.html", {
        "overview": overview, "device": device, "state": overview.state, "state_label": STATE[overview.state],
        "kind_label": KIND.get(device.kind, device.kind), "last_seen": local_time(device.last_seen),
        "alarms": [{"a": a, "since": local_time(a.since)} for a in overview.alarms],
        "tickets": [{"t": t, "due": local_time(t.resolve_due), "state": TICKET_STATE.get(t.state, t.state)}
                    for t in overview.tickets],
        "metrics": metrics, "metric": chosen, "charts": charts,
        "work_order_links": user.role in (Role.ENGINEER, Role.MANAGER, Role.ADMIN),  # who may open them
    })
