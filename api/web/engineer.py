"""The engineer pages (mobile first): my work orders, due first, with their SLA countdown and new ones arriving
live (`forewarn_events` through the live stream; the list is a server-rendered fragment the page re-fetches); one
work order with its evidence (the alarm's explanation and charts of the device's readings around it), the steps
(accept, on site, resolve with a note and photos), the verdict, and for a department head the assign form.

The pages only show what `tickets.workorders` and `tickets.telemetry` return and hand every change to them; a
refused change re-renders the page with a translated headline and the domain's own explanation, and with what its
form carried kept in the form (`Typed`): the text typed, and a refused resolve's photos, stored on no ticket yet
and carried by the form shown again as ids it links when it is sent (`tickets.attachments.attach_to_ticket`), so
that nothing is typed or photographed twice on a phone. A photo refused itself (not an image, too large) costs only
itself: the others of its form are kept so, and the refused one is named (`api.web.files`). The re-rendered page
names its own address (`data-page-url`), which static/engineer.js puts in place of the form's, so that a refresh
reloads the page instead of sending the form again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import psycopg
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import Principal, Role
from api.deps import DbDep, NowDep
from api.web.charts import Marker, line_chart
from api.web.deps import CsrfChecked, web_require
from api.web.files import REJECTED, FormPhotos, Photos, waiting_photos
from api.web.i18n import N_
from api.web.one_hop import PageRouter
from api.web.render import not_found, render
from api.web.staff_format import (
    NO_NOTE,
    TZ,
    countdown,
    error_headline,
    local_time,
    metric_name,
    request_gettext,
    staff_timeline,
)
from api.web.staff_words import TIER_LABEL as SEVERITY  # noqa: N811 - the pages call a tier its severity
from tickets.attachments import MAX_FILES, attach_to_ticket, save_upload, ticket_attachments
from tickets.errors import (
    ClosureBlocked,
    ConcurrentChange,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    NotFound,
    WorkOrdersOpen,
)
from tickets.flows import Verdict, record_verdict
from tickets.lifecycle import TicketEvent
from tickets.names import department_name
from tickets.telemetry import alarm_window, chart_metrics, hourly_series, raw_series
from tickets.workorders import (
    LIVE,
    WorkOrderDetail,
    WorkOrderSummary,
    act,
    actor,
    assign,
    check_may_act,
    check_may_view,
    department_engineers,
    department_work_orders,
    get_work_order,
    my_work_orders,
    work_order_steps,
)

router = PageRouter(tags=["pages: engineer"], include_in_schema=False)
EngineerPageUser = Annotated[Principal, web_require(Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER)]
DomainError = (NotFound, NotAllowed, InvalidInput, ConcurrentChange, ClosureBlocked, IllegalTransition)
LIST_FRAGMENT = "/engineer/work-orders?part=list"

STATUS = {"open": N_("New"), "acknowledged": N_("Accepted"), "on_site": N_("On site"), "done": N_("Done"),
          "cancelled": N_("Cancelled")}
STEPS = {TicketEvent.ACKNOWLEDGE: N_("Accept"), TicketEvent.ARRIVE: N_("On site"), TicketEvent.RESOLVE: N_("Resolve")}
VERDICTS = {Verdict.REAL_FAULT: N_("Real fault"), Verdict.FALSE_ALARM: N_("False alarm"),
            Verdict.PLANNED_MAINTENANCE: N_("Planned maintenance")}
# The longer chart of a work order: the week before the alarm, from the hourly rollup.
HOURLY_WINDOW = timedelta(days=7)


def _rows(orders: list[WorkOrderSummary], now: datetime) -> list[dict[str, Any]]:
    return [{"wo": w, "status": STATUS.get(w.status, w.status), "severity": SEVERITY.get(w.severity, w.severity),
             "countdown": countdown(w.due, now, paused=w.sla_paused_at is not None)} for w in orders]


def _list_context(conn: psycopg.Connection, user: Principal, now: datetime) -> dict[str, Any]:
    me = actor(conn, user.user_id)
    department = _rows(department_work_orders(conn, me.id), now) if (me.is_head or me.oversees_all) else None
    return {"mine": _rows(my_work_orders(conn, me.id), now), "department": department}


@router.get("/engineer/work-orders", response_class=HTMLResponse)
def work_orders_page(request: Request, conn: DbDep, user: EngineerPageUser, now: NowDep,
                     part: Literal["list"] | None = None) -> Response:
    """The page; with `?part=list` the list alone, which the page re-fetches when a work order event arrives."""
    context = _list_context(conn, user, now)
    if part == "list":
        return render(request, "engineer/_work_order_list.html", context)
    return render(request, "engineer/work_orders.html", context | {"fragment_url": LIST_FRAGMENT})


def _charts(request: Request, detail: WorkOrderDetail, now: datetime, conn: psycopg.Connection) -> list[Any]:
    """The evidence charts: raw readings around the alarm, and the week before it from the hourly rollup."""
    wo, why = detail.summary, detail.explanation
    if wo.device_id is None or wo.device_kind is None:
        return []
    metrics = chart_metrics(wo.device_kind)
    metric = why.metric if why.metric in metrics else (metrics[0] if metrics else None)
    if metric is None:
        return []
    _ = request_gettext(request)
    named = metric_name(_, metric)
    since = why.since or wo.created_at
    start, end = alarm_window(since, now)
    markers = [Marker(since, _("Alarm"))]
    around = raw_series(conn, wo.device_id, wo.device_kind, metric, start=start, end=end)
    week = hourly_series(conn, wo.device_id, wo.device_kind, metric, start=since - HOURLY_WINDOW, end=end)
    empty = _("No readings in this window.")
    return [
        {"title": _("%(metric)s around the alarm", metric=named), "svg": line_chart(
            around, title=_("%(metric)s around the alarm", metric=named), empty_text=empty, tz=TZ, markers=markers,
            time_format="%H:%M")},
        {"title": _("%(metric)s, hourly, the week before", metric=named), "svg": line_chart(
            week, title=_("%(metric)s, hourly, the week before", metric=named), empty_text=empty, tz=TZ,
            markers=markers)},
    ]


def _may_act(conn: psycopg.Connection, wo: WorkOrderSummary, user_id: str) -> bool:
    """Whether to offer the steps: only to those `tickets.workorders` lets take them."""
    try:
        check_may_act(conn, wo, user_id)
    except NotAllowed:
        return False
    return True


def _detail_context(request: Request, conn: psycopg.Connection, user: Principal, work_order_id: int,
                    now: datetime) -> dict[str, Any]:
    detail = get_work_order(conn, work_order_id)
    me = check_may_view(conn, detail.summary, user.user_id)
    wo = detail.summary
    # The work order's own steps (a ticket may carry several departments' work orders: tickets.workorders.act).
    steps = [(e.value, STEPS[e]) for e in work_order_steps(wo.status, wo.ticket_state, wo.due_clock) if e in STEPS] \
        if wo.status in LIVE and _may_act(conn, wo, user.user_id) else []
    engineers = department_engineers(conn, wo.department_id) if me.heads(wo.department_id) else []
    return {
        "detail": detail, "wo": wo, "why": detail.explanation,
        "status": STATUS.get(wo.status, wo.status), "severity": SEVERITY.get(wo.severity, wo.severity),
        "countdown": countdown(wo.due, now, paused=wo.sla_paused_at is not None) if wo.status in LIVE else None,
        "due_at": local_time(wo.due) if wo.status in LIVE else None,
        "since": local_time(detail.explanation.since), "detected": local_time(detail.explanation.detected_at),
        "steps": steps, "department_name": department_name(conn, wo.department_id),
        "verdicts": list(VERDICTS.items()) if wo.device_id and wo.fault else [],
        "engineers": engineers, "charts": _charts(request, detail, now, conn),
        "timeline": staff_timeline(conn, detail.timeline),
        "photos": [a.id for a in ticket_attachments(conn, wo.ticket_id)],
        "error": None, "error_detail": None, "done": request.query_params.get("done"),
        "typed": None, "override_wanted": False, "refused_photos": [],
    }


@router.get("/engineer/work-orders/{work_order_id}", response_class=HTMLResponse)
def work_order_page(work_order_id: int, request: Request, conn: DbDep, user: EngineerPageUser,
                    now: NowDep) -> Response:
    try:
        context = _detail_context(request, conn, user, work_order_id, now)
    except NotFound:
        return _not_found(request)
    except NotAllowed as exc:
        return _refused(request, exc)
    return render(request, "engineer/work_order.html", context)


def _not_found(request: Request) -> Response:
    return not_found(request, N_("There is no such work order."))


def _refused(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", {"title_id": N_("Not allowed"),
                                          "message_id": N_("This work order is not open to your account."),
                                          "message_args": {}}, status_code=403)


@dataclass(frozen=True, slots=True)
class Typed:
    """What a refused form carried, to be shown again in it: `form` is the form's id on the page ("resolve",
    "verdict"), `fields` its values by name as typed, `photos` the ids of a resolve's photos stored on no ticket
    yet (the form carries them back as `kept_photos`)."""

    form: str
    fields: dict[str, str]
    photos: list[int] = field(default_factory=list)


def _after_change(request: Request, conn: DbDep, user: Principal, work_order_id: int, now: datetime,
                  exc: Exception, typed: Typed | None = None, photos: Photos | None = None,
                  headline: str | None = None) -> Response:
    """Re-render the work order with what went wrong (the change itself was rolled back) and with `typed` in its
    form. A refused resolve's new `photos` that were taken are stored again, on no ticket, when the page offers the
    resolve form again (to carry them), and committed with the request: a refused step takes none onto the ticket.
    Those refused themselves are named above the form."""
    conn.rollback()
    if isinstance(exc, NotFound):
        return _not_found(request)
    status, generic = (422, NO_NOTE) if isinstance(exc, _NoNote) else error_headline(exc)
    headline = headline or generic
    context = _detail_context(request, conn, user, work_order_id, now)
    if typed is not None and typed.form == "resolve" and photos is not None and photos.data \
            and any(event == TicketEvent.RESOLVE.value for event, _ in context["steps"]):
        saved = [save_upload(conn, data=data, uploaded_by=user.user_id, now=now) for data in photos.data]
        typed = Typed(typed.form, typed.fields, typed.photos + saved)
    override_wanted = isinstance(exc, ClosureBlocked) and not isinstance(exc, WorkOrdersOpen)
    refused = [r.name for r in photos.refused] if photos is not None else []
    return render(request, "engineer/work_order.html",
                  context | {"error": headline, "error_detail": str(exc), "typed": typed,
                             "override_wanted": override_wanted, "refused_photos": refused}, status_code=status)


def _back(work_order_id: int, done: str) -> Response:
    return RedirectResponse(f"/engineer/work-orders/{work_order_id}?done={done}", status_code=303)


class _NoNote(InvalidInput):
    """A resolve with nothing written of what was done: the service report's "what was done" would be empty."""


@router.post("/engineer/work-orders/{work_order_id}/step")
def work_order_step(
    work_order_id: int, request: Request, conn: DbDep, user: EngineerPageUser, now: NowDep, csrf: CsrfChecked,
    photos: FormPhotos, event: Annotated[str, Form()], note: Annotated[str, Form(max_length=2000)] = "",
    root_cause: Annotated[str, Form(max_length=2000)] = "",
    override_reason: Annotated[str, Form(max_length=2000)] = "",
    kept_photos: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI's idiom
) -> Response:
    """Accept, on site, or resolve (with a note, a root cause and photos, stored with the step in one
    transaction). A refused resolve is shown again with what was typed and its photos, kept on no ticket and
    carried back by the form as `kept_photos`, which are linked to the ticket with the step when it is taken; a
    refused photo is named, and the others of its form kept so."""
    kept = waiting_photos(conn, kept_photos, user.user_id)
    refused_photo = photos.error
    try:
        if refused_photo is not None:
            raise refused_photo
        if event == TicketEvent.RESOLVE.value and not note.strip():
            raise _NoNote("resolving a work order needs a note of what was done")
        if len(kept) < len(set(kept_photos)):
            raise InvalidInput("a photo kept from the refused form is no longer waiting for it; choose it again")
        if len(kept) + len(photos.data) > MAX_FILES:
            raise InvalidInput(f"at most {MAX_FILES} photos per form; {len(kept) + len(photos.data)} were sent")
        ticket_id = get_work_order(conn, work_order_id).summary.ticket_id
        if kept and attach_to_ticket(conn, kept, ticket_id=ticket_id, uploaded_by=user.user_id) != len(kept):
            raise ConcurrentChange("a photo kept from the refused form was taken by another submission meanwhile")
        ids = kept + [save_upload(conn, data=data, uploaded_by=user.user_id, now=now, ticket_id=ticket_id)
                      for data in photos.data]
        act(conn, work_order_id, event, user_id=user.user_id, now=now, note=note.strip(),
            root_cause=root_cause.strip() or None, override_reason=override_reason.strip() or None,
            detail={"attachments": ids} if ids else None)
    except (*DomainError, ValueError) as exc:
        typed = Typed(event, {"note": note, "root_cause": root_cause, "override_reason": override_reason}, kept)
        return _after_change(request, conn, user, work_order_id, now, exc, typed, photos,
                             REJECTED if exc is refused_photo else None)  # a bad photo in the words every page uses
    return _back(work_order_id, event)


@router.post("/engineer/work-orders/{work_order_id}/verdict")
def work_order_verdict(
    work_order_id: int, request: Request, conn: DbDep, user: EngineerPageUser, now: NowDep, csrf: CsrfChecked,
    verdict: Annotated[str, Form()], note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        summary = get_work_order(conn, work_order_id).summary
        check_may_view(conn, summary, user.user_id)
        record_verdict(conn, summary.ticket_id, verdict=verdict, by_user=user.user_id, note=note.strip(), now=now)
    except DomainError as exc:
        return _after_change(request, conn, user, work_order_id, now, exc,
                             Typed("verdict", {"verdict": verdict, "note": note}))
    return _back(work_order_id, "verdict")


@router.post("/engineer/work-orders/{work_order_id}/assign")
def work_order_assign(
    work_order_id: int, request: Request, conn: DbDep, user: EngineerPageUser, now: NowDep, csrf: CsrfChecked,
    engineer_id: Annotated[str, Form()], seen_assignee: Annotated[str, Form()] = "",
) -> Response:
    try:
        assign(conn, work_order_id, engineer_id=engineer_id, by_user=user.user_id, now=now,
               expected_assignee=seen_assignee or None)
    except DomainError as exc:
        return _after_change(request, conn, user, work_order_id, now, exc)
    return _back(work_order_id, "assign")

