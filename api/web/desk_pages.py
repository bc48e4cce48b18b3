"""The service desk's pages (issue #16 point 11): the queue of open tickets, due first (`/desk`), and one ticket
with its timeline, the transfer form, the written plan and progress report forms (they meet the ticket's plan and
progress clocks, tickets/milestones.py) and the reply scripts to copy (`/desk/tickets/{id}`). For agents,
supervisors and managers.

A ticket the office handles itself (no live work order: a complaint about noise, fees, attitude, parking ...) is
also accepted and resolved here, with the owner's staff's own steps; a ticket with a live work order moves by its
work orders' steps (the engineer's pages), so the desk offers it none.

The pages read through `tickets.desk` and hand the transfer and the steps to `tickets.transitions.transition`; a
refusal re-renders the ticket with a translated headline and the domain's own explanation, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import psycopg
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import Principal, Role
from api.deps import DbDep, NowDep, TicketConfigDep
from api.web.deps import CsrfChecked, web_require
from api.web.i18n import N_, choose_lang
from api.web.one_hop import PageRouter
from api.web.render import not_found, render
from api.web.staff_format import (
    NO_NOTE,
    TICKET_STATE,
    countdown,
    error_headline,
    evidence_facts,
    local_time,
    staff_timeline,
)
from api.web.staff_words import TIER_LABEL as SEVERITY  # noqa: N811 - the pages call a tier its severity
from tickets.config import TicketConfig
from tickets.desk import OPEN_STATES, desk_queue, incident_evidence, timeline
from tickets.desk_intake import filed_complaint, receipt_of, unidentified_callers, unit_residents
from tickets.errors import (
    ClosureBlocked,
    ConcurrentChange,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    NotFound,
)
from tickets.lifecycle import TicketEvent, allowed_events
from tickets.names import department_name, departments, resident_name, unit_name, user_name
from tickets.plans import record_plan, report_progress
from tickets.reply_templates import fill_templates
from tickets.service import Ticket, get_ticket, live_work_orders
from tickets.transitions import TransferProblem, TransferRefused, transition

router = PageRouter(tags=["pages: service desk"], include_in_schema=False)
DeskUser = Annotated[Principal, web_require(Role.AGENT, Role.SUPERVISOR, Role.MANAGER)]

CATEGORY = {"service_attitude": N_("Service attitude"), "facility": N_("Facility repair"), "billing": N_("Billing"),
            "community": N_("Community management"), "house_quality": N_("House quality"),
            "environment": N_("Environment"), "neighbour": N_("Neighbour dispute"), "parcel": N_("Parcel service")}
DUE_KIND = {"respond": N_("respond by"), "resolve": N_("resolve by")}
# The time limits the agent reads out after filing (tickets/requests.py `Clock`), as the resident's pages word them.
CLOCK = {"respond": N_("We get back to you by"), "on_site": N_("Someone is with you by"),
         "answer": N_("Your question is answered by"), "resolve": N_("Dealt with by"),
         "back": N_("Expected back by")}
NO_REASON = N_("Please give the reason for the transfer.")
NO_DEPARTMENT = N_("Please choose the department to transfer to.")
# A transfer the back end refused (tickets.transitions.TransferRefused), in words.
TRANSFER_REFUSED = {
    TransferProblem.NO_DEPARTMENT: NO_DEPARTMENT,
    TransferProblem.SAME_DEPARTMENT: N_("This ticket is already with that department: choose another one."),
    TransferProblem.UNKNOWN_DEPARTMENT: N_("There is no such department: choose one from the list."),
    TransferProblem.HAS_WORK_ORDER: N_("That department already has an open work order on this ticket: transfer it to "
                                       "another department, or let that work order carry the work."),
}
NO_TEXT = N_("Please write the plan or the progress report.")
RECORD_REFUSED = N_("This ticket is over: no plan or progress report can be recorded on it.")
# The lifecycle steps the owner's staff take themselves on a ticket without a live work order, in the order shown.
DESK_STEPS = (TicketEvent.ACKNOWLEDGE, TicketEvent.WAIT_RESIDENT, TicketEvent.RESUME, TicketEvent.RESOLVE,
              TicketEvent.CANCEL)
# The steps that need a word from the agent (the event's note), and the message when it is missing.
NOTE_NEEDED = {TicketEvent.RESOLVE: NO_NOTE,
               TicketEvent.WAIT_RESIDENT: N_("Please say what you are waiting for from the resident."),
               TicketEvent.CANCEL: N_("Please give the reason for cancelling.")}
STEP_REFUSED = N_("This step cannot be taken in the ticket's present state.")
CHANGED = N_("This ticket has changed meanwhile. Reload the page and try again.")
ON_WORK_ORDERS = N_("This ticket's steps are taken on its work orders.")


def _filter(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@router.get("/desk", response_class=HTMLResponse)
def desk_queue_page(request: Request, conn: DbDep, user: DeskUser, now: NowDep, department: str | None = None,
                    state: str | None = None) -> Response:
    """The open tickets, due first; `?department=` and `?state=` narrow the list."""
    department, state = _filter(department), _filter(state)
    rows = [{"t": r, "state": TICKET_STATE.get(r.state, r.state), "severity": SEVERITY.get(r.severity, r.severity),
             "category": CATEGORY.get(r.category, r.category), "due_kind": DUE_KIND.get(r.due_kind or "", ""),
             "countdown": countdown(r.due, now, paused=r.sla_paused_at is not None)}
            for r in desk_queue(conn, department_id=department, state=state)]
    return render(request, "desk/queue.html", {
        "rows": rows, "departments": departments(conn), "states": [(s, TICKET_STATE[s]) for s in OPEN_STATES],
        "department": department, "state": state})


def ticket_context(request: Request, conn: psycopg.Connection, ticket_id: int, now: datetime) -> dict[str, Any]:
    ticket = get_ticket(conn, ticket_id)
    open_ = ticket.state in OPEN_STATES
    due = ticket.respond_due if ticket.respond_met_at is None and ticket.respond_due else ticket.resolve_due
    name = resident_name(conn, ticket.resident_id)
    return {
        "ticket": ticket, "state": TICKET_STATE.get(ticket.state, ticket.state),
        "severity": SEVERITY.get(ticket.severity, ticket.severity),
        "category": CATEGORY.get(ticket.category, ticket.category), "resident_name": name,
        "unit_name": unit_name(conn, ticket.unit_id),
        "evidence": evidence_facts(incident_evidence(conn, ticket.incident_id)),
        "owner_name": user_name(conn, ticket.owner_id),
        "countdown": countdown(due, now, paused=ticket.sla_paused_at is not None) if open_ else None,
        "respond_by": local_time(ticket.respond_due), "resolve_by": local_time(ticket.resolve_due),
        "timeline": staff_timeline(conn, timeline(conn, ticket_id)),
        "may_transfer": TicketEvent.TRANSFER in allowed_events(ticket.state),
        "may_record": ticket.state not in ("resolved", "closed", "cancelled"), "text": "",
        "steps": desk_steps(conn, ticket), "note": "", "note_for": "", "root_cause": "",
        "department_name": department_name(conn, ticket.department_id),
        "departments": [(d, n) for d, n in departments(conn) if d != ticket.department_id],
        "replies": fill_templates(ticket_id=ticket.id, category=ticket.category, respond_due=ticket.respond_due,
                                  resolve_due=ticket.resolve_due, resident_name=name, lang=choose_lang(request)),
        "error": None, "error_detail": None, "reason": "", "chosen_department": "",
        "done": request.query_params.get("done"),
        "callers": [(c, unit_residents(conn, c.unit_id)) for c in unidentified_callers(conn, ticket_id)],
        "filed": _filed(conn, ticket_id, request.query_params.get("filed")),
    }


def desk_steps(conn: psycopg.Connection, ticket: Ticket) -> list[str]:
    """The steps the desk offers: accept, wait for the resident and resume, resolve, cancel, as far as the ticket's
    state allows them, and none while a work order is live (its steps move the ticket)."""
    if live_work_orders(conn, ticket.id):
        return []
    allowed = allowed_events(ticket.state)
    return [event.value for event in DESK_STEPS if event in allowed]


def _filed(conn: psycopg.Connection, ticket_id: int, complaint: str | None) -> dict[str, Any] | None:
    """The banner after filing at the desk (`?filed=<complaint>`): the time limits to read out to the caller."""
    found = filed_complaint(conn, int(complaint)) if complaint and complaint.isdigit() and len(complaint) < 10 \
        else None
    if found is None or found.ticket_id != ticket_id:
        return None
    receipt = receipt_of(conn, found)
    return {"complaint": found, "folded": receipt.folded,
            "limits": [(t.clock.value, CLOCK[t.clock.value], local_time(t.due)) for t in receipt.limits]}


def ticket_not_found(request: Request) -> Response:
    return not_found(request, N_("There is no such ticket."))


@router.get("/desk/tickets/{ticket_id}", response_class=HTMLResponse)
def desk_ticket_page(ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep) -> Response:
    try:
        context = ticket_context(request, conn, ticket_id, now)
    except NotFound:
        return ticket_not_found(request)
    return render(request, "desk/ticket.html", context)


def _refusal(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, IllegalTransition):
        return 409, N_("This ticket cannot be transferred in its present state.")
    if isinstance(exc, ConcurrentChange):
        return 409, CHANGED
    return 422, N_("This cannot be done as given.")


@router.post("/desk/tickets/{ticket_id}/transfer")
def desk_transfer(
    ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep, config: TicketConfigDep,
    csrf: CsrfChecked, department_id: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "", seen_version: Annotated[int | None, Form()] = None,
) -> Response:
    """Hand the ticket to another department with a reason (the TRANSFER event, counted on the ticket)."""
    reason, department_id = reason.strip(), department_id.strip()
    missing = NO_DEPARTMENT if not department_id else NO_REASON if not reason else None
    try:
        if missing:
            raise InvalidInput(missing)
        transition(conn, ticket_id, TicketEvent.TRANSFER, actor=user.user_id, now=now, note=reason,
                   department_id=department_id, expected_version=seen_version, config=config)
    except NotFound:
        conn.rollback()
        return ticket_not_found(request)
    except (IllegalTransition, ConcurrentChange, InvalidInput) as exc:
        conn.rollback()
        worded = missing or (TRANSFER_REFUSED[exc.problem] if isinstance(exc, TransferRefused) else None)
        status, headline = (422, worded) if worded else _refusal(exc)
        context = ticket_context(request, conn, ticket_id, now)
        return render(request, "desk/ticket.html", context | {
            "error": headline, "error_detail": None if worded else str(exc), "reason": reason,
            "chosen_department": department_id}, status_code=status)
    return RedirectResponse(f"/desk/tickets/{ticket_id}?done=transfer", status_code=303)


@router.post("/desk/tickets/{ticket_id}/plan")
def desk_plan(ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep, csrf: CsrfChecked,
              text: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Record the written plan (meets a 'plan' clock, tickets/milestones.py)."""
    return _record(request, conn, ticket_id, "plan", lambda: record_plan(conn, ticket_id, text=text,
                                                                        by=user.user_id, now=now), now, text)


@router.post("/desk/tickets/{ticket_id}/progress")
def desk_progress(ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep,
                  config: TicketConfigDep, csrf: CsrfChecked, text: Annotated[str, Form(max_length=4000)] = ""
                  ) -> Response:
    """Record a progress report, sent to the residents (meets a 'progress' clock)."""
    return _record(request, conn, ticket_id, "progress", lambda: report_progress(
        conn, ticket_id, text=text, by=user.user_id, now=now, config=config), now, text)


def _record(request: Request, conn: psycopg.Connection, ticket_id: int, what: str, record: Callable[[], object],
            now: datetime, text: str) -> Response:
    try:
        record()
    except NotFound:
        conn.rollback()
        return ticket_not_found(request)
    except InvalidInput as exc:
        conn.rollback()
        headline = NO_TEXT if not text.strip() else RECORD_REFUSED
        context = ticket_context(request, conn, ticket_id, now)
        return render(request, "desk/ticket.html", context | {
            "error": headline, "error_detail": None if not text.strip() else str(exc), "text": text},
            status_code=422)
    return RedirectResponse(f"/desk/tickets/{ticket_id}?done={what}", status_code=303)


@router.post("/desk/tickets/{ticket_id}/acknowledge")
def desk_acknowledge(ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep,
                     config: TicketConfigDep, csrf: CsrfChecked, seen_version: Annotated[int | None, Form()] = None
                     ) -> Response:
    """Accept the ticket (ACKNOWLEDGE: the response clock is met, the residents are told it is in hand)."""
    return _step(request, conn, user, ticket_id, TicketEvent.ACKNOWLEDGE, now, config, seen_version)


@router.post("/desk/tickets/{ticket_id}/resolve")
def desk_resolve(
    ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep, config: TicketConfigDep,
    csrf: CsrfChecked, note: Annotated[str, Form(max_length=2000)] = "",
    root_cause: Annotated[str, Form(max_length=2000)] = "", seen_version: Annotated[int | None, Form()] = None,
) -> Response:
    """Resolve the ticket with what was done (required, the event's note) and the root cause if known (RESOLVE:
    the residents get the "done" notice that invites their rating)."""
    return _step(request, conn, user, ticket_id, TicketEvent.RESOLVE, now, config, seen_version,
                 note=note.strip(), root_cause=root_cause.strip())


@router.post("/desk/tickets/{ticket_id}/wait_resident")
def desk_wait(ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep, config: TicketConfigDep,
              csrf: CsrfChecked, note: Annotated[str, Form(max_length=2000)] = "",
              seen_version: Annotated[int | None, Form()] = None) -> Response:
    """Wait for the resident (access, a document, an answer), saying what for (the timeline's note): the time
    limits stand still until the work resumes (WAIT_RESIDENT); the resident's request page says we wait for them."""
    return _step(request, conn, user, ticket_id, TicketEvent.WAIT_RESIDENT, now, config, seen_version,
                 note=note.strip())


@router.post("/desk/tickets/{ticket_id}/resume")
def desk_resume(ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep, config: TicketConfigDep,
                csrf: CsrfChecked, seen_version: Annotated[int | None, Form()] = None) -> Response:
    """Resume the work: the limits move on by the time spent waiting (RESUME)."""
    return _step(request, conn, user, ticket_id, TicketEvent.RESUME, now, config, seen_version)


@router.post("/desk/tickets/{ticket_id}/cancel")
def desk_cancel(ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep, config: TicketConfigDep,
                csrf: CsrfChecked, note: Annotated[str, Form(max_length=2000)] = "",
                seen_version: Annotated[int | None, Form()] = None) -> Response:
    """Cancel a ticket opened in error or withdrawn by the resident, with the reason (CANCEL); it is then off the
    queue and out of the time limits."""
    return _step(request, conn, user, ticket_id, TicketEvent.CANCEL, now, config, seen_version, note=note.strip())


def _step(request: Request, conn: psycopg.Connection, user: Principal, ticket_id: int, event: TicketEvent,
          now: datetime, config: TicketConfig, seen_version: int | None, *, note: str = "",
          root_cause: str = "") -> Response:
    """Take a desk step through the lifecycle (`transition`, guarded by the page's version); a refusal re-renders
    the ticket page with a translated headline and what was typed."""
    missing = NOTE_NEEDED.get(event) if not note else None
    try:
        if missing is not None:
            raise InvalidInput(missing)
        if live_work_orders(conn, ticket_id):
            raise _OnWorkOrders(f"ticket {ticket_id} has live work orders: it moves by their steps, on the "
                                "engineer's pages")
        transition(conn, ticket_id, event, actor=user.user_id, now=now, note=note, root_cause=root_cause or None,
                   expected_version=seen_version, config=config)
    except NotFound:
        conn.rollback()
        return ticket_not_found(request)
    except (IllegalTransition, ConcurrentChange, InvalidInput, NotAllowed, ClosureBlocked) as exc:
        conn.rollback()
        context = ticket_context(request, conn, ticket_id, now)
        status, headline = _step_refusal(exc, moved=seen_version is not None
                                         and context["ticket"].version != seen_version)
        return render(request, "desk/ticket.html", context | {
            "error": missing or headline, "error_detail": None if missing else str(exc), "note": note,
            "note_for": event.value, "root_cause": root_cause}, status_code=422 if missing else status)
    return RedirectResponse(f"/desk/tickets/{ticket_id}?done={event.value}", status_code=303)


class _OnWorkOrders(NotAllowed):
    """A desk step asked of a ticket whose live work orders carry its steps."""


def _step_refusal(exc: Exception, *, moved: bool) -> tuple[int, str]:
    """Status and headline of a refused step; `moved`: the ticket is no longer at the page's version (a step
    refused because someone else moved it on is a concurrent change to the user)."""
    if isinstance(exc, ConcurrentChange) or (isinstance(exc, IllegalTransition) and moved):
        return 409, CHANGED
    if isinstance(exc, IllegalTransition):
        return 409, STEP_REFUSED
    if isinstance(exc, _OnWorkOrders):
        return 409, ON_WORK_ORDERS
    if isinstance(exc, ClosureBlocked):  # the desk gives no override reason: that is the engineers' call
        return 409, N_("The device behind this ticket is still abnormal: it can be resolved once it has recovered.")
    return error_headline(exc)
