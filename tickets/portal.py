"""The resident's view of the platform (the resident pages render exactly this): the state of each service that
reaches their unit, their notices, their own requests with a timeline in resident-friendly steps, and whether a
return visit is open for them. Every function is scoped to one resident: another resident's notice, request or
ticket is `NotFound`, exactly as a missing one is. Read-only; runs in the caller's transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import psycopg
from psycopg.rows import class_row

from tickets.classify import QUIET_FAULTS
from tickets.errors import NotFound
from tickets.requests import RequestKind, TimeLimit, limits_of
from tickets.service import get_ticket

_OWN_FILE = re.compile(r"/files/\d+")

# --- Named statements ---------------------------------------------------------------------------------------

# Each device serving the unit, with its worst open fault that residents notice (quiet faults and INFO alarms do
# not change the service) and the ticket handling it (an attached incident's is its root's). A building's silence
# (tickets/silence.py) shows once its residents were warned, on every silent device of it, as the building's fault;
# before that (a blip inside the hold time) it shows nowhere.
UNIT_SERVICES = """
SELECT d.id AS device_id, d.kind, d.location, f.fault, f.severity, f.since, t.id AS ticket_id,
       t.state AS ticket_state, t.resolve_due, w.status AS work_order_status
FROM device_units du JOIN devices d ON d.id = du.device_id AND d.active
LEFT JOIN LATERAL (
    SELECT CASE WHEN g.id IS NULL THEN i.fault ELSE root.fault END AS fault, i.severity, i.since,
           COALESCE(root.ticket_id, i.ticket_id) AS ticket_id
    FROM incidents i LEFT JOIN incidents root ON root.id = i.root_incident_id
    LEFT JOIN silence_groups g ON g.id = i.silence_group_id AND g.status = 'open'
    WHERE i.device_id = d.id AND i.status = 'open' AND i.severity <> 'info'
      AND (NOT (i.fault = ANY(%(quiet)s)) OR g.warned_at IS NOT NULL)
      AND (i.fault <> 'building_silent'
           OR EXISTS (SELECT 1 FROM silence_groups w WHERE w.incident_id = i.id AND w.warned_at IS NOT NULL))
    ORDER BY (i.severity = 'critical') DESC, i.detected_at LIMIT 1) f ON true
LEFT JOIN tickets t ON t.id = f.ticket_id
LEFT JOIN LATERAL (
    -- the ticket's own department's work on the device, before other departments brought in (tickets.dispatch)
    SELECT status FROM work_orders wo WHERE wo.ticket_id = t.id
    ORDER BY wo.department_id IS NOT DISTINCT FROM t.department_id DESC, wo.id DESC LIMIT 1) w ON true
WHERE du.unit_id = %(unit)s
ORDER BY array_position(ARRAY['elevator', 'water', 'access_door'], d.kind), d.location, d.id
"""

# A resident's own notices, newest first, one page (keyset on id), in the language asked for where the notice was
# kept in it (`notices.texts`), as sent otherwise; a "done" notice can be rated while its ticket waits for the
# return visit.
RESIDENT_NOTICES = """
SELECT n.id, n.kind, coalesce(n.texts -> %(lang)s::text ->> 'title', n.title) AS title,
       coalesce(n.texts -> %(lang)s::text ->> 'body', n.body) AS body, n.critical, n.created_at, n.ticket_id,
       n.incident_id, (n.kind = 'done' AND t.state = 'resolved') AS can_rate
FROM notices n LEFT JOIN tickets t ON t.id = n.ticket_id
WHERE n.resident_id = %(resident)s AND n.delivered_at IS NOT NULL
  AND (%(before)s::bigint IS NULL OR n.id < %(before)s)
  AND (%(only)s::bigint IS NULL OR n.id = %(only)s)
ORDER BY n.id DESC LIMIT %(limit)s
"""

# A resident's own requests (newest first) with the ticket each is on now (a folded one: the fault's ticket).
RESIDENT_REQUESTS = """
SELECT c.id AS complaint_id, c.request_kind AS kind, c.description, c.reported_at, c.folded, c.ticket_id,
       t.state AS ticket_state, t.source AS ticket_source, t.department_id, t.respond_due, t.resolve_due,
       t.resolved_at, (t.state = 'resolved') AS can_rate,
       EXISTS (SELECT 1 FROM return_visits v WHERE v.ticket_id = t.id AND v.by_user = %(user)s) AS rated,
       c.attachments AS photos, c.requested_outcome
FROM complaints c JOIN tickets t ON t.id = c.ticket_id
WHERE c.resident_id = %(resident)s AND (%(only)s::bigint IS NULL OR c.id = %(only)s)
  AND (%(ticket)s::bigint IS NULL OR c.ticket_id = %(ticket)s)
ORDER BY c.id DESC LIMIT %(limit)s
"""

# The ticket's timeline, oldest first; the page shows only the steps a resident should see (`Step`).
# `all_clear`: an alarm that cleared left none of the ticket's incidents (its own, or those attached to them: a flood
# sensor, the zone downstream of a failed booster) still open — one device back among several is not "back to normal".
TICKET_TIMELINE = """
SELECT e.at, e.event, e.to_state, e.detail ->> 'department_id' AS department_id, e.note,
       (e.detail ->> 'complaint_id')::bigint AS complaint_id, t.source,
       CASE WHEN e.event IN ('mediation_started', 'mediation_ended') THEN e.detail END AS mediation,
       e.event = 'alarm_cleared' AND NOT EXISTS (
           SELECT 1 FROM incidents i
           WHERE (i.ticket_id = t.id OR i.root_incident_id IN (SELECT r.id FROM incidents r WHERE r.ticket_id = t.id))
             AND i.detected_at <= e.at AND (i.recovered_at IS NULL OR i.recovered_at > e.at)) AS all_clear
FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
WHERE e.ticket_id = %s ORDER BY e.id
"""



# --- Services -----------------------------------------------------------------------------------------------

class Progress(StrEnum):
    """What we are doing about a fault, in the resident's terms."""

    DETECTED = "detected"  # we know; a ticket is being opened
    ASSIGNED = "assigned"  # passed to the team that fixes it
    ACCEPTED = "accepted"  # an engineer has taken the job
    ON_SITE = "on_site"  # an engineer is there
    WAITING_RESIDENT = "waiting_resident"  # we need something from a resident (access, information)
    CHECKING = "checking"  # the repair is done; we are watching the device come back


_PROGRESS = {"new": Progress.ASSIGNED, "dispatched": Progress.ASSIGNED, "reopened": Progress.ASSIGNED,
             "acknowledged": Progress.ACCEPTED, "on_site": Progress.ON_SITE,
             "waiting_resident": Progress.WAITING_RESIDENT, "resolved": Progress.CHECKING,
             "closed": Progress.CHECKING}


@dataclass(frozen=True, slots=True)
class _ServiceRow:
    device_id: str
    kind: str
    location: str
    fault: str | None
    severity: str | None
    since: datetime | None
    ticket_id: int | None
    ticket_state: str | None
    resolve_due: datetime | None
    work_order_status: str | None


@dataclass(frozen=True, slots=True)
class ServiceState:
    """One lift, water supply or entrance door serving the unit: normal, or its fault and what we are doing."""

    device_id: str
    kind: str  # elevator | water | access_door
    location: str
    fault: str | None  # None: working normally
    since: datetime | None
    progress: Progress | None
    expected_back: datetime | None  # the ticket's resolve deadline
    ticket_id: int | None

    @property
    def normal(self) -> bool:
        return self.fault is None


def unit_services(conn: psycopg.Connection, unit_id: str) -> list[ServiceState]:
    """The state of every service reaching the unit (from `device_units`), lifts first, then water, then doors."""
    with conn.cursor(row_factory=class_row(_ServiceRow)) as cur:
        rows = cur.execute(UNIT_SERVICES, {"unit": unit_id, "quiet": sorted(QUIET_FAULTS)}).fetchall()
    return [ServiceState(r.device_id, r.kind, r.location, r.fault, r.since,
                         None if r.fault is None else _PROGRESS.get(r.ticket_state or "", Progress.DETECTED),
                         r.resolve_due if r.fault is not None else None, r.ticket_id) for r in rows]


# --- Notices ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ResidentNotice:
    id: int
    kind: str  # warning | update | restored | status | received | done
    title: str
    body: str
    critical: bool
    created_at: datetime
    ticket_id: int | None
    incident_id: int | None
    can_rate: bool  # a "done" notice whose return visit is still open


@dataclass(frozen=True, slots=True)
class NoticePage:
    items: list[ResidentNotice]
    older: int | None  # pass as `before` for the next page; None: this is the last page


def resident_notices(conn: psycopg.Connection, resident_id: str, *, before: int | None = None,
                     limit: int = 20, lang: str | None = None) -> NoticePage:
    """The resident's notices, newest first, `limit` at a time, in `lang` (None: as sent)."""
    with conn.cursor(row_factory=class_row(ResidentNotice)) as cur:
        rows = cur.execute(RESIDENT_NOTICES, {"resident": resident_id, "before": before, "only": None,
                                              "limit": limit + 1, "lang": lang}).fetchall()
    return NoticePage(rows[:limit], rows[limit - 1].id if len(rows) > limit else None)


def resident_notice(conn: psycopg.Connection, resident_id: str, notice_id: int,
                    lang: str | None = None) -> ResidentNotice:
    """One of the resident's notices, in `lang` (None: as sent); anyone else's is `NotFound`."""
    with conn.cursor(row_factory=class_row(ResidentNotice)) as cur:
        row = cur.execute(RESIDENT_NOTICES, {"resident": resident_id, "before": None, "only": notice_id,
                                             "limit": 1, "lang": lang}).fetchone()
    if row is None:
        raise NotFound(f"no notice {notice_id}")
    return row


# --- Requests and their timelines ---------------------------------------------------------------------------

class Step(StrEnum):
    """A step of a request's timeline as the resident reads it. Internal events (reclassification, verdicts,
    SLA reminders, other residents' reports) are not steps."""

    DETECTED = "detected"  # we found the fault ourselves (a preventive ticket)
    RECEIVED = "received"
    LINKED = "linked"  # your report was linked to a fault we already knew about
    ASSIGNED = "assigned"  # to a department
    HANDED_OVER = "handed_over"  # to another department
    ACCEPTED = "accepted"
    ON_SITE = "on_site"
    WAITING_FOR_YOU = "waiting_for_you"  # with what we need from them (the step's note)
    PROGRESS = "progress"  # staff's progress report, in their words
    RESUMED = "resumed"
    MEDIATION_STARTED = "mediation_started"  # taken to mediation: with whom (its time limits are paused)
    MEDIATION_ENDED = "mediation_ended"  # how it ended, with the agreement when there is one
    BACK_TO_NORMAL = "back_to_normal"  # the device's readings are normal again
    DONE = "done"
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"


_STEP_OF_EVENT = {"dispatch": Step.ASSIGNED, "transfer": Step.HANDED_OVER, "acknowledge": Step.ACCEPTED,
                  "arrive": Step.ON_SITE, "wait_resident": Step.WAITING_FOR_YOU, "resume": Step.RESUMED,
                  "progress_reported": Step.PROGRESS, "resolve": Step.DONE, "close": Step.CLOSED,
                  "reopen": Step.REOPENED, "cancel": Step.CANCELLED,
                  "mediation_started": Step.MEDIATION_STARTED, "mediation_ended": Step.MEDIATION_ENDED}


_STEPS_WITH_NOTE = frozenset({Step.WAITING_FOR_YOU, Step.PROGRESS})  # notes of other steps are the staff's own


@dataclass(frozen=True, slots=True)
class TimelineStep:
    at: datetime
    step: Step
    department_id: str | None  # for assigned / handed over
    note: str | None = None  # the staff's words the resident reads: what we need from them, a progress report,
    #                          a mediation's agreement
    party: str | None = None  # a mediation's party kind (tickets.mediation.PartyKind)
    party_name: str | None = None  # and its name, as staff recorded it (滨江社区居委会)
    outcome: str | None = None  # how an ended mediation ended (tickets.mediation.Outcome)


@dataclass(frozen=True, slots=True)
class ResidentRequest:
    complaint_id: int
    kind: str
    description: str
    reported_at: datetime
    folded: bool
    ticket_id: int
    ticket_state: str
    ticket_source: str
    department_id: str | None
    respond_due: datetime | None
    resolve_due: datetime | None
    resolved_at: datetime | None
    can_rate: bool  # resolved, waiting for the return visit
    rated: bool  # this resident already rated it
    photos: list[str]  # the request's attachments; the pages show the platform's own (`own_photos`)
    requested_outcome: str | None  # what the resident asked to be done (诉求)

    @property
    def own_photos(self) -> list[str]:
        """The photos stored by the platform (`/files/<id>`), not links a REST client may have given."""
        return [p for p in self.photos if isinstance(p, str) and _OWN_FILE.fullmatch(p)]


@dataclass(frozen=True, slots=True)
class RequestDetail:
    request: ResidentRequest
    limits: list[TimeLimit]
    timeline: list[TimelineStep]


def resident_requests(conn: psycopg.Connection, resident_id: str, user_id: str, *,
                      limit: int = 50) -> list[ResidentRequest]:
    """The resident's own requests, newest first."""
    with conn.cursor(row_factory=class_row(ResidentRequest)) as cur:
        return cur.execute(RESIDENT_REQUESTS, {"resident": resident_id, "user": user_id, "only": None,
                                               "ticket": None, "limit": limit}).fetchall()


def resident_request(conn: psycopg.Connection, resident_id: str, user_id: str, complaint_id: int) -> RequestDetail:
    """One of the resident's requests with its time limits and timeline; anyone else's is `NotFound`."""
    with conn.cursor(row_factory=class_row(ResidentRequest)) as cur:
        request = cur.execute(RESIDENT_REQUESTS, {"resident": resident_id, "user": user_id, "only": complaint_id,
                                                  "ticket": None, "limit": 1}).fetchone()
    if request is None:
        raise NotFound(f"no request {complaint_id}")
    ticket = get_ticket(conn, request.ticket_id)
    limits = limits_of(RequestKind(request.kind), ticket, folded=request.folded)
    return RequestDetail(request, limits, timeline(conn, request.ticket_id, complaint_id))


def timeline(conn: psycopg.Connection, ticket_id: int, complaint_id: int) -> list[TimelineStep]:
    """The ticket's events as the resident who filed `complaint_id` should see them."""
    steps: list[TimelineStep] = []
    rows = conn.execute(TICKET_TIMELINE, (ticket_id,))
    for at, event, _to, department, note, about, source, mediation, all_clear in rows:
        if event == "created":
            step: Step | None = Step.DETECTED if source == "preventive" else Step.RECEIVED
        elif event == "complaint_folded":
            step = Step.LINKED if about == complaint_id else None
        elif event == "alarm_cleared":
            step = Step.BACK_TO_NORMAL if all_clear else None
        else:
            step = _STEP_OF_EVENT.get(event)
        if step in (Step.MEDIATION_STARTED, Step.MEDIATION_ENDED):
            steps.append(_mediation_step(at, step, mediation or {}))
        elif step is not None:
            said = note if step in _STEPS_WITH_NOTE and note else None
            steps.append(TimelineStep(at, step, department, said))
    return steps


def _mediation_step(at: datetime, step: Step, detail: dict[str, str]) -> TimelineStep:
    """A mediation's step from its event's detail: who mediates, how it ended and the agreement (the parties' own
    words, which the resident was told). The staff's note on the start is theirs and stays off."""
    return TimelineStep(at, step, None, detail.get("agreement") or None, party=detail.get("party_kind"),
                        party_name=detail.get("party_name"), outcome=detail.get("outcome"))


def request_on_ticket(conn: psycopg.Connection, resident_id: str, user_id: str, ticket_id: int) -> ResidentRequest:
    """The resident's newest request on the ticket (their key to its return visit); `NotFound` if they have none."""
    with conn.cursor(row_factory=class_row(ResidentRequest)) as cur:
        row = cur.execute(RESIDENT_REQUESTS, {"resident": resident_id, "user": user_id, "only": None,
                                              "ticket": ticket_id, "limit": 1}).fetchone()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}")
    return row
