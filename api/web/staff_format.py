"""What the engineer and device pages show the same way: local times, the SLA countdown, and a refused change's
translated headline. Plain values for the templates (no logic in templates)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import psycopg
from fastapi import Request

from api.web.i18n import N_, choose_lang
from api.web.render import frame_of
from api.web.staff_words import EVENT_LABEL, METRIC_LABEL
from ingest.contract import SPEC_BY_NAME
from tickets.errors import ClosureBlocked, ConcurrentChange, IllegalTransition, InvalidInput, NotAllowed, WorkOrdersOpen
from tickets.names import actor_names, departments
from tickets.sla import DEFAULT_TZ
from tickets.workorders import TimelineEntry

TZ = DEFAULT_TZ  # the estate's time zone for every time a page shows
# A resolve with nothing written of what was done (the desk's and the engineer's): refused, what was typed kept.
NO_NOTE = N_("Please write what was done.")
# The ticket states (tickets.lifecycle.TicketState) as staff read them.
TICKET_STATE = {"new": N_("Received"), "dispatched": N_("Dispatched"), "acknowledged": N_("Accepted"),
                "on_site": N_("On site"), "waiting_resident": N_("Waiting for the resident"),
                "resolved": N_("Resolved"), "closed": N_("Closed"), "reopened": N_("Reopened"),
                "cancelled": N_("Cancelled")}


@dataclass(frozen=True, slots=True)
class Countdown:
    """The next SLA deadline: `due_iso` for the page's ticking script, the time left (or overdue) in days, hours and
    minutes — "16 h 6 min", not "16:06", which reads as a time of day — and whether it is overdue."""

    due_iso: str
    due_text: str
    days: int
    hours: int
    minutes: int
    overdue: bool
    paused: bool


def local_time(at: datetime | None) -> str:
    return at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if at is not None else "—"


def countdown(due: datetime | None, now: datetime, *, paused: bool = False) -> Countdown | None:
    if due is None:
        return None
    seconds = int((due - now).total_seconds())
    minutes = abs(seconds) // 60
    return Countdown(due.isoformat(), local_time(due), minutes // 1440, minutes // 60 % 24, minutes % 60, seconds < 0,
                     paused)


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


@dataclass(frozen=True, slots=True)
class TimelineItem:
    at: str
    label: str | None  # a message id for `_()`; None for a code with no name, which the page shows as it is
    code: str
    actor: str | None
    department: str | None  # the department the step concerns (dispatched or transferred to, its work order's), by name
    note: str | None
    attachments: tuple[int, ...]  # photos taken at the step (an engineer's, on site)
    automatic: bool = False  # taken by the platform itself (a detector, a sweep, the maintenance plan, the CLI)


# The actors the platform records for what it does itself: tickets' ACTOR ("forewarn"), the maintenance plan's, the
# CLI's, and "system:..." (tickets.group_risk).
AUTOMATIC_ACTORS = frozenset({"forewarn", "maintenance-plan", "cli"})


def timeline_items(entries: Iterable[TimelineEntry], department_names: Mapping[str, str],
                   actor_names: Mapping[str, str] | None = None) -> list[TimelineItem]:
    """The timeline as the staff pages show it: each step named, its department and its actor by name (a staff
    member's or a resident's; an id nobody is named by is shown as it is)."""
    names = actor_names or {}
    items = []
    for e in entries:
        department = (e.detail or {}).get("department_id")
        automatic = e.actor is not None and e.actor not in names and (
            e.actor in AUTOMATIC_ACTORS or e.actor.startswith("system:"))
        actor = None if automatic or not e.actor else names.get(e.actor, e.actor)
        items.append(TimelineItem(local_time(e.at), EVENT_LABEL.get(e.event), e.event, actor,
                                  department_names.get(department, department) if department else None, e.note,
                                  tuple((e.detail or {}).get("attachments") or ()), automatic))
    return items


def staff_timeline(conn: psycopg.Connection, entries: Iterable[TimelineEntry]) -> list[TimelineItem]:
    """`timeline_items` with the departments' and the actors' names read from the database."""
    entries = list(entries)
    return timeline_items(entries, dict(departments(conn)), actor_names(conn, (e.actor for e in entries)))


def metric_name(gettext: Callable[[str], str], code: str) -> str:
    """A metric by name in the page's language (`METRIC_LABEL`), for chart titles; a code with no name as it is."""
    return gettext(METRIC_LABEL[code]) if code in METRIC_LABEL else code


@dataclass(frozen=True, slots=True)
class EvidenceFacts:
    """An alarm's evidence as a line a Chinese reader reads at a glance (`staff/_words.html` `evidence`): the metric
    (a code `sw.metric` names), its value and the detector's reference, each with the metric's unit."""

    metric: str
    value: str
    baseline: str | None


# Each metric's unit (ingest/contract.py); the detectors' own evidence metrics beside them.
_UNIT = {spec.name: spec.unit for specs in SPEC_BY_NAME.values() for spec in specs.values() if not spec.boolean}
_UNIT |= {"silence_s": "s", "telemetry_gap_s": "s", "night_min_flow_lpm": "L/min"}


def evidence_facts(evidence: Mapping[str, object] | None) -> EvidenceFacts | None:
    """The facts of a detector's evidence (`detectors.alarm.Evidence.as_dict`), or None when it names no numeric
    metric with a value (an alarm button pressed, a device gone): its sentence says it all.

    >>> evidence_facts({"metric": "pressure_kpa", "value": 4.0, "baseline": 80.0, "summary": "..."})
    EvidenceFacts(metric='pressure_kpa', value='4 kPa', baseline='80 kPa')
    >>> evidence_facts({"metric": "alarm_button", "value": 1.0}) is None
    True
    """
    if not evidence:
        return None
    metric, value, baseline = evidence.get("metric"), evidence.get("value"), evidence.get("baseline")
    if not isinstance(metric, str) or not isinstance(value, int | float) or metric not in _UNIT:
        return None
    unit = _UNIT[metric]
    suffix = "" if unit in ("", "floor", "-1/0/1") else (unit if unit == "%" else f" {unit}")
    return EvidenceFacts(metric, f"{value:.4g}{suffix}",
                         f"{baseline:.4g}{suffix}" if isinstance(baseline, int | float) else None)
