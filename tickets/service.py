"""Data access for tickets: typed rows, creation with SLA deadlines, the event timeline and work orders.
Plain SQL with bound parameters; every function runs in the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from tickets import sla
from tickets.classify import DEPARTMENT_FOR, Category, Classification
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import NotFound
from tickets.lifecycle import TicketState
from tickets.milestones import milestones_for
from tickets.names import department_name, staff_name
from tickets.on_call import needs_on_call, night_taker, on_duty
from tickets.profiles import site_profile
from tickets.routing import grid_owner, group_department
from tickets.staff_push import push_work_order


@dataclass(slots=True)
class Ticket:
    id: int
    source: str
    state: str
    version: int
    category: str
    subcategory: str | None
    severity: str
    title: str
    description: str
    site_id: str
    building_id: str | None
    unit_id: str | None
    resident_id: str | None
    device_id: str | None
    fault: str | None
    incident_id: int | None
    department_id: str | None
    owner_id: str | None
    transfers: int
    reopen_count: int
    reported_at: datetime
    created_at: datetime
    respond_due: datetime | None
    resolve_due: datetime | None
    responded_at: datetime | None
    sla_paused_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    override_reason: str | None
    root_cause: str | None
    sla_profile: str | None  # the SLA profile the ticket was opened with (None: before profiles, the default)
    sensitive: bool = False  # a complaint on it threatened the media, a lawyer or collective action (group_risk.py)
    group_risk_id: int | None = None  # the group-risk flag it is part of (group_risks)
    # What meets each clock (the profile clause's milestone) and when it was met (tickets/milestones.py).
    respond_milestone: str | None = None
    resolve_milestone: str | None = None
    respond_met_at: datetime | None = None
    resolve_met_at: datetime | None = None
    # When each clock started, where it started again after the opening (a reopen, an escalation): the sweep's
    # reminders are measured from it (tickets/sweeps.py). None: created_at.
    respond_from: datetime | None = None
    resolve_from: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


TICKET_COLUMNS = ", ".join(f.name for f in fields(Ticket))


def get_ticket(conn: psycopg.Connection, ticket_id: int, *, lock: bool = False) -> Ticket:
    with conn.cursor(row_factory=class_row(Ticket)) as cur:
        row = cur.execute(
            f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = %s" + (" FOR UPDATE" if lock else ""), (ticket_id,)
        ).fetchone()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}")
    return row


def add_event(conn: psycopg.Connection, ticket_id: int, event: str, *, at: datetime, actor: str | None,
              from_state: str | None = None, to_state: str | None = None, note: str = "",
              detail: dict[str, Any] | None = None) -> None:
    """One timeline row: who, when, what, from, to, why."""
    conn.execute(
        """INSERT INTO ticket_events (ticket_id, at, actor, event, from_state, to_state, note, detail)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (ticket_id, at, actor, event, from_state, to_state, note, json.dumps(detail or {}, default=str)),
    )


def create_ticket(
    conn: psycopg.Connection, *, source: str, classification: Classification, title: str, description: str,
    site_id: str, building_id: str | None, now: datetime, reported_at: datetime, config: TicketConfig,
    actor: str | None, unit_id: str | None = None, resident_id: str | None = None, device_id: str | None = None,
    fault: str | None = None, incident_id: int | None = None, owner_id: str | None = None,
    taken_by: str | None = None, department_id: str | None = None,
) -> int:
    """Insert a ticket in state `new` with its SLA deadlines and first-responsibility owner; returns its id.
    The caller dispatches it (a transition) in the same transaction.

    Department: `department_id` whatever the classification says (an enquiry or a suggestion: the desk's,
    `tickets.routing.kind_department`); else the complaint-handling group for a complex or billing ticket; else by
    category. Owner: `taken_by` (the staff member who took it keeps it, 首问负责制); else, for an urgent ticket
    outside working hours, whoever is on call for its department (`tickets.on_call`); else the grid owner of a
    department given or of the group, else `owner_id`, else the grid owner of the category's department."""
    # The site's profile now: the deadlines are fixed here, and the profile is stamped so that reopening and pauses
    # follow it even after the site switches.
    profile = site_profile(conn, site_id, config.sla_profiles()).name
    policy = config.policy(classification.category, classification.tier, profile)
    respond_milestone, resolve_milestone = milestones_for(config, classification.tier, profile)
    # The department given, else for complex and billing the group: dispatched to it (else: by category).
    fixed = department_id or group_department(classification.category, classification.tier)
    department = fixed or classification.department or DEPARTMENT_FOR[Category(classification.category)]
    daytime = taken_by or (fixed and grid_owner(conn, building_id, fixed)) or owner_id \
        or grid_owner(conn, building_id, department)
    urgent_at_night = taken_by is None and needs_on_call(classification.tier, now, config)
    on_call = on_duty(conn, department, now) if urgent_at_night else None
    owner = on_call or daytime
    row = conn.execute(
        """INSERT INTO tickets (source, state, category, subcategory, severity, title, description, site_id,
               building_id, unit_id, resident_id, device_id, fault, incident_id, owner_id, reported_at,
               created_at, respond_due, resolve_due, sla_profile, routed_on_call, department_id, respond_milestone,
               resolve_milestone)
           VALUES (%s, 'new', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           RETURNING id""",
        (source, classification.category.value, classification.subcategory, classification.tier.value, title,
         description, site_id, building_id, unit_id, resident_id, device_id, fault, incident_id, owner,
         reported_at, now, sla.deadline(now, policy.respond, config.tz), sla.deadline(now, policy.resolve, config.tz),
         profile, on_call is not None, fixed,
         respond_milestone, resolve_milestone),
    ).fetchone()
    assert row is not None
    ticket_id = int(row[0])
    add_event(conn, ticket_id, "created", at=now, actor=actor, to_state=TicketState.NEW.value,
              detail={"category": classification.category.value, "severity": classification.tier.value,
                      "subcategory": classification.subcategory, "matched": list(classification.matched),
                      "owner": owner, "sla_profile": profile})
    if on_call is not None:  # the timeline's words: the department and the person by name
        add_event(conn, ticket_id, "routed_on_call", at=now, actor="forewarn",
                  note=f"{department_name(conn, department)}：{staff_name(conn, on_call)}",
                  detail={"department": department, "on_call": on_call, "daytime_owner": daytime})
    elif urgent_at_night:  # nobody on the rota: the daytime owner, and someone should fix the rota
        add_event(conn, ticket_id, "on_call_missing", at=now, actor="forewarn",
                  note=f"{department_name(conn, department)} 无人值班，已转日间负责人 / nobody on call; routed to "
                       "the daytime owner",
                  detail={"department": department, "owner": owner})
    return ticket_id


def open_work_order(conn: psycopg.Connection, ticket: Ticket, *, department_id: str, now: datetime,
                    config: TicketConfig = DEFAULT_CONFIG, reason: str = "") -> int | None:
    """A department's work order on a ticket, carrying the device evidence (what, where, since when, why) so that no
    order is bounced back for missing information, with its own clock (respond, resolve) from the ticket's tier and
    SLA profile counted from now, pushed to its assignee (`tickets.staff_push`): the grid owner, or for an urgent
    ticket outside working hours whoever is on call for the department. None if that department already has a live
    one on the ticket (one live per department: the partial unique index)."""
    evidence: dict[str, Any] = {}
    if ticket.incident_id is not None:
        evidence = incident_evidence(conn, ticket.incident_id)
    elif ticket.description:
        evidence = {"complaint": ticket.description, "unit": ticket.unit_id}
    assignee = (night_taker(conn, ticket.severity, department_id, now, config)
                or grid_owner(conn, ticket.building_id, department_id))
    policy = config.policy(ticket.category, ticket.severity, ticket.sla_profile)
    row = conn.execute(
        """INSERT INTO work_orders (ticket_id, department_id, assignee_id, status, device_id, fault, evidence,
               created_at, respond_due, resolve_due, reason)
           VALUES (%s, %s, %s, 'open', %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (ticket_id, department_id) WHERE status NOT IN ('done', 'cancelled') DO NOTHING
           RETURNING id""",
        (ticket.id, department_id, assignee, ticket.device_id, ticket.fault, json.dumps(evidence, default=str), now,
         sla.deadline(now, policy.respond, config.tz), sla.deadline(now, policy.resolve, config.tz), reason),
    ).fetchone()
    if row is None:
        return None
    push_work_order(conn, int(row[0]), reason="new", now=now)  # the engineer hears of it at once
    return int(row[0])


def incident_evidence(conn: psycopg.Connection, incident_id: int) -> dict[str, Any]:
    """What a work order carries of the incident behind it: the detector's evidence, since when, where."""
    found = conn.execute(
        """SELECT i.evidence, i.since, i.detected_at, i.severity, i.detector, d.kind, d.location, d.building_id
           FROM incidents i JOIN devices d ON d.id = i.device_id WHERE i.id = %s""",
        (incident_id,),
    ).fetchone()
    keys = ("evidence", "since", "detected_at", "severity", "detector", "device_kind", "location", "building")
    return dict(zip(keys, found, strict=True)) if found else {}


def set_work_order_status(conn: psycopg.Connection, ticket_id: int, status: str, now: datetime, *,
                          department_id: str | None = None, work_order_id: int | None = None) -> None:
    """Move the ticket's live work orders along with the ticket (acknowledged, on site, done, cancelled): all of
    them, or only the one of `department_id`, or only `work_order_id`. An order reaching its ticket's respond
    milestone (accepted, or on site where the milestone is on_site: `work_order_meets_respond`, migration 0106) has
    its own respond clock met."""
    conn.execute(
        """UPDATE work_orders w SET status = %(status)s,
               acknowledged_at = CASE WHEN %(status)s = 'acknowledged' THEN %(now)s ELSE w.acknowledged_at END,
               done_at = CASE WHEN %(status)s IN ('done', 'cancelled') THEN %(now)s ELSE w.done_at END,
               respond_met_at = CASE WHEN w.respond_met_at IS NULL
                                          AND work_order_meets_respond(%(status)s, t.respond_milestone)
                                     THEN %(now)s ELSE w.respond_met_at END
           FROM tickets t
           WHERE t.id = w.ticket_id AND w.ticket_id = %(ticket)s AND w.status NOT IN ('done', 'cancelled')
             AND (%(department)s::text IS NULL OR w.department_id = %(department)s)
             AND (%(id)s::bigint IS NULL OR w.id = %(id)s)""",
        {"status": status, "now": now, "ticket": ticket_id, "department": department_id, "id": work_order_id},
    )


@dataclass(frozen=True, slots=True)
class LiveWorkOrder:
    id: int
    department_id: str
    status: str


def live_work_orders(conn: psycopg.Connection, ticket_id: int) -> list[LiveWorkOrder]:
    """The ticket's work orders still being worked on (not done, not cancelled), oldest first."""
    with conn.cursor(row_factory=class_row(LiveWorkOrder)) as cur:
        return cur.execute(
            """SELECT id, department_id, status FROM work_orders
               WHERE ticket_id = %s AND status NOT IN ('done', 'cancelled') ORDER BY id""", (ticket_id,)).fetchall()


def works_across_departments(conn: psycopg.Connection, ticket: Ticket) -> bool:
    """Whether the ticket carries (or carried, done) a work order of a department other than its own: then it
    resolves only through its work orders, never past one still open."""
    return conn.execute(
        """SELECT 1 FROM work_orders WHERE ticket_id = %s AND status <> 'cancelled'
           AND department_id IS DISTINCT FROM %s LIMIT 1""", (ticket.id, ticket.department_id)).fetchone() is not None


def incident_is_abnormal(conn: psycopg.Connection, ticket_id: int) -> list[tuple[int, str, str]]:
    """The open incidents behind a ticket (device still abnormal): (incident, device, fault)."""
    return [(int(r[0]), r[1], r[2]) for r in conn.execute(
        "SELECT id, device_id, fault FROM incidents WHERE ticket_id = %s AND status = 'open' ORDER BY id",
        (ticket_id,),
    )]
