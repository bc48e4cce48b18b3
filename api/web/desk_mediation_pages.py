"""The desk's mediation page (issue #16 points 6 and 11): `/desk/tickets/{id}/mediation` lists the ticket's external
mediations (party, dates, outcome, agreement) and holds the forms to start one and to end the open one, which
pause and resume the ticket's SLA clocks. Agents, supervisors and managers, as the REST routes
(api/routes/mediation.py); engineers and residents get the 403 page.

Every change goes through `tickets.mediation`; its refusals (a second open mediation, a ticket no longer being
worked on: MediationConflict, 409; an end before the start, a future time, a missing name: InvalidInput, 422)
re-render the page with the form as typed and the message, never a 500."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import psycopg
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbDep, NowDep, TicketConfigDep
from api.web.deps import CsrfChecked
from api.web.desk_forms import form_time, headline, input_value
from api.web.desk_pages import DeskUser, ticket_not_found
from api.web.i18n import N_
from api.web.one_hop import PageRouter
from api.web.render import render
from api.web.staff_format import TICKET_STATE, local_time
from tickets.config import TicketConfig
from tickets.errors import InvalidInput, NotFound
from tickets.mediation import (
    MEDIATABLE,
    MediationConflict,
    Outcome,
    PartyKind,
    end_mediation,
    mediations,
    start_mediation,
)
from tickets.service import get_ticket

router = PageRouter(tags=["pages: service desk"], include_in_schema=False)

PARTY = {PartyKind.RESIDENTS_COMMITTEE: N_("Residents' committee"),
         PartyKind.OWNERS_COMMITTEE: N_("Owners' committee"),
         PartyKind.MEDIATOR: N_("Professional mediator"), PartyKind.STREET_OFFICE: N_("Street office"),
         PartyKind.OTHER: N_("Other party")}
OUTCOME = {Outcome.AGREED: N_("Agreed"), Outcome.NOT_AGREED: N_("Not agreed"), Outcome.WITHDRAWN: N_("Withdrawn")}
CONFLICT = N_("This mediation cannot be started or ended in the ticket's present state.")


def _context(request: Request, conn: psycopg.Connection, ticket_id: int, now: datetime,
             config: TicketConfig) -> dict[str, Any]:
    ticket = get_ticket(conn, ticket_id)
    rows = mediations(conn, ticket_id)
    open_one = next((m for m in rows if m.ended_at is None), None)
    # The open mediation's own clock (tickets/sweeps.py chases it up the ladder from half of it).
    follow_up = open_one.started_at + config.mediation_within if open_one else None
    return {
        "follow_up": local_time(follow_up) if follow_up else None,
        "follow_up_passed": follow_up is not None and follow_up <= now,
        "ticket": ticket, "state": TICKET_STATE.get(ticket.state, ticket.state),
        "paused_since": local_time(ticket.sla_paused_at) if ticket.sla_paused_at else None,
        "rows": [{"m": m, "party": PARTY.get(PartyKind(m.party_kind), m.party_kind),
                  "outcome": OUTCOME.get(Outcome(m.outcome)) if m.outcome else None,
                  "started": local_time(m.started_at), "ended": local_time(m.ended_at) if m.ended_at else None}
                 for m in rows],
        "open": open_one, "may_start": open_one is None and ticket.state in MEDIATABLE,
        "parties": list(PARTY.items()), "outcomes": list(OUTCOME.items()),
        "form": {"party": PartyKind.RESIDENTS_COMMITTEE.value, "name": "", "started_at": input_value(now),
                 "ended_at": input_value(now), "outcome": Outcome.AGREED.value, "agreement": ""},
        "error": None, "error_detail": None, "done": request.query_params.get("done"),
    }


@router.get("/desk/tickets/{ticket_id}/mediation", response_class=HTMLResponse)
def mediation_page(ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep,
                   config: TicketConfigDep) -> Response:
    try:
        return render(request, "desk/mediation.html", _context(request, conn, ticket_id, now, config))
    except NotFound:
        return ticket_not_found(request)


def _refused(request: Request, conn: psycopg.Connection, ticket_id: int, now: datetime, config: TicketConfig,
             exc: Exception, form: dict[str, str]) -> Response:
    conn.rollback()
    context = _context(request, conn, ticket_id, now, config)
    status = 409 if isinstance(exc, MediationConflict) else 422
    return render(request, "desk/mediation.html", context | {
        "error": CONFLICT if status == 409 else headline(exc), "error_detail": str(exc),
        "form": context["form"] | form}, status_code=status)


@router.post("/desk/tickets/{ticket_id}/mediation/start")
def mediation_start(
    ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep, config: TicketConfigDep,
    csrf: CsrfChecked, party: Annotated[str, Form(max_length=40)] = "", name: Annotated[str, Form(max_length=200)] = "",
    started_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Take the ticket to mediation by `party` (`name`) from `started_at`: its clocks pause from then."""
    form = {"party": party, "name": name, "started_at": started_at}
    try:
        start_mediation(conn, ticket_id, party=party, name=name, by=user.user_id, now=now,
                        at=form_time(started_at, what="start time"), config=config)
    except NotFound:
        conn.rollback()
        return ticket_not_found(request)
    except (MediationConflict, InvalidInput) as exc:
        return _refused(request, conn, ticket_id, now, config, exc, form)
    return RedirectResponse(f"/desk/tickets/{ticket_id}/mediation?done=start", status_code=303)


@router.post("/desk/tickets/{ticket_id}/mediation/end")
def mediation_end(
    ticket_id: int, request: Request, conn: DbDep, user: DeskUser, now: NowDep, config: TicketConfigDep,
    csrf: CsrfChecked, outcome: Annotated[str, Form(max_length=40)] = "",
    agreement: Annotated[str, Form(max_length=4000)] = "", ended_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """End the open mediation at `ended_at` with its outcome and agreement: the clocks resume, deadlines moved."""
    form = {"outcome": outcome, "agreement": agreement, "ended_at": ended_at}
    try:
        end_mediation(conn, ticket_id, outcome=outcome, agreement=agreement, by=user.user_id, now=now,
                      at=form_time(ended_at, what="end time"), config=config)
    except NotFound:
        conn.rollback()
        return ticket_not_found(request)
    except (MediationConflict, InvalidInput) as exc:
        return _refused(request, conn, ticket_id, now, config, exc, form)
    return RedirectResponse(f"/desk/tickets/{ticket_id}/mediation?done=end", status_code=303)
