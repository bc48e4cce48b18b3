"""What the engineer and device pages show the same way: local times, the SLA countdown, and a refused change's
translated headline. Plain values for the templates (no logic in templates)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from api.web.i18n import N_, choose_lang
from api.web.render import frame_of
from tickets.errors import ClosureBlocked, ConcurrentChange, IllegalTransition, InvalidInput, NotAllowed, WorkOrdersOpen
from tickets.sla import DEFAULT_TZ

TZ = DEFAULT_TZ  # the estate's time zone for every time a page shows
# The ticket states (tickets.lifecycle.TicketState) as staff read them.
TICKET_STATE = {"new": N_("Received"), "dispatched": N_("Dispatched"), "acknowledged": N_("Accepted"),
                "on_site": N_("On site"), "waiting_resident": N_("Waiting for the resident"),
                "resolved": N_("Resolved"), "closed": N_("Closed"), "reopened": N_("Reopened"),
                "cancelled": N_("Cancelled")}


@dataclass(frozen=True, slots=True)
class Countdown:
    """The next SLA deadline: `due_iso` for the page's ticking script, `clock` (H:MM) and whether it is overdue."""

    due_iso: str
    due_text: str
    clock: str
    overdue: bool
    paused: bool


def local_time(at: datetime | None) -> str:
    return at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if at is not None else "—"


def countdown(due: datetime | None, now: datetime, *, paused: bool = False) -> Countdown | None:
    if due is None:
        return None
    seconds = int((due - now).total_seconds())
    left = abs(seconds)
    clock = f"{left // 3600}:{left % 3600 // 60:02d}"
    return Countdown(due.isoformat(), local_time(due), clock, seconds < 0, paused)


def request_gettext(request: Request) -> Callable[..., str]:
    """The request's `_` for Python-side texts (chart titles), the same one its template gets."""
    return frame_of(request).catalogues.gettext(choose_lang(request))


def error_headline(exc: Exception) -> tuple[int, str]:
    """HTTP status and a translated-later headline for a refused change."""
    if isinstance(exc, NotAllowed):
        return 403, N_("You may not do this.")
    if isinstance(exc, WorkOrdersOpen):
        return 409, N_("Other departments' work orders on this ticket are still open.")
    if isinstance(exc, ClosureBlocked):
        return 409, N_("The device is still abnormal. Wait for it to recover, or give an override reason.")
    if isinstance(exc, IllegalTransition | ConcurrentChange):
        return 409, N_("This work order has moved on meanwhile. Reload the page and try again.")
    if isinstance(exc, InvalidInput | ValueError):
        return 422, N_("This cannot be done as given.")
    return 400, N_("This cannot be done as given.")
