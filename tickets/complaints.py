"""Complaint intake: classify, then fold into an open incident that explains it (same site or building, same
device kind, within the fold window) or open a complaint ticket owned by whoever took it (首问负责制).
The resident hears back at once: the incident's status and expected time, or the new ticket's deadline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

import psycopg

from tickets import sla
from tickets.callers import Caller, unit_place
from tickets.classify import Category, Classification, Tier, classify_text
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import InvalidInput, RateLimited
from tickets.group_risk import check_group_risk, flag_sensitive
from tickets.household import lock_household, open_household_ticket
from tickets.learned import SYSTEM_ACTORS
from tickets.lifecycle import TicketEvent
from tickets.milestones import retier
from tickets.names import department_name, staff_name
from tickets.notices import format_time, notify_residents, resident
from tickets.on_call import night_taker
from tickets.progress import acknowledge, ticket_words
from tickets.routing import grid_owner, kind_department
from tickets.sensitivity import sensitivity
from tickets.service import add_event, create_ticket, get_ticket
from tickets.staff_push import push_work_order
from tickets.submissions import Submission, earlier, remember
from tickets.symptoms import unexplaining_faults
from tickets.titles import complaint_title
from tickets.transitions import transition
from tickets.warranty import link_warranty

# How a request reached us (handbook 003): the resident's own app, WeChat, a call, the counter; grid staff on a
# door-to-door visit, a referral from the owners' committee, the complaint box, e-mail and the hotline.
Channel = Literal["app", "phone", "wechat", "counter", "grid_visit", "committee_referral", "complaint_box", "email",
                  "hotline"]
CHANNELS: tuple[str, ...] = get_args(Channel)
OUTCOME_MAX = 1000  # characters of the requested outcome (诉求)
LANGS = ("zh-CN", "en")
# Clocks of phones and counters drift a little; a complaint about the future is a typing error.
REPORTED_MAX_FUTURE = timedelta(minutes=5)
# Staff may enter a complaint taken days earlier (a weekend's phone log); past a month it is a typing error.
REPORTED_MAX_PAST = timedelta(days=30)
RATE_WINDOW = timedelta(hours=1)

# The resident's place, locked (FOR NO KEY UPDATE of the resident's row) so that two intakes for one resident run
# one after the other and the rate limit below counts the first before the second is decided. Foreign keys to the
# resident (FOR KEY SHARE) are not blocked by it.
_SQL_PLACE_LOCKED = """SELECT r.unit_id, u.building_id, b.site_id FROM residents r JOIN units u ON u.id = r.unit_id
                       JOIN buildings b ON b.id = u.building_id WHERE r.id = %(resident)s FOR NO KEY UPDATE OF r"""
# Complaints the resident filed within the rate window, and when the oldest of them leaves it.
_SQL_RECENT = """SELECT count(*), min(received_at) FROM complaints
                 WHERE resident_id = %(resident)s AND received_at > %(since)s"""


@dataclass(frozen=True, slots=True)
class ComplaintResult:
    complaint_id: int
    ticket_id: int
    folded: bool
    incident_id: int | None
    anticipated: bool | None  # True: we knew before the resident told us
    category: str
    severity: str
    joined: bool = False  # joined the household's open ticket on the same fault point (tickets/household.py)
    replayed: bool = False  # the answer to an earlier copy of the same submission (tickets/submissions.py)


def intake_complaint(
    conn: psycopg.Connection, *, resident_id: str | None, unit_id: str, channel: str, description: str, lang: str,
    reported_at: datetime, now: datetime, taken_by: str | None = None, attachments: Sequence[str] = (),
    config: TicketConfig = DEFAULT_CONFIG, requested_outcome: str | None = None, caller: Caller | None = None,
    submission: Submission | None = None, request_kind: str = "complaint",
) -> ComplaintResult:
    """Register a complaint (one transaction). `taken_by` is the staff member who took it, if any: they own it.
    `requested_outcome` is what the resident asks to be done (诉求), if they said. Without a resident, `caller`
    (tickets/callers.py) names someone not in the registry: no rate limit per resident and no notice, they are
    called back. With a `submission` seen before, nothing is filed: the first filing's answer comes back, marked
    `replayed`. `request_kind` is what the resident said it is (`tickets.requests.RequestKind`, validated there): an
    enquiry or a suggestion that no known fault explains opens a ticket of its own for customer service, with no
    work order, whatever its words are about (`tickets.routing.kind_department`): it joins no household ticket and
    is no repeat of a repair under warranty."""
    if resident_id is None and caller is None:
        raise InvalidInput("a complaint needs resident_id, or caller_name and caller_phone for a caller not in the "
                           "registry")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    if lang not in LANGS:
        raise InvalidInput(f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    if not description.strip():
        raise InvalidInput("description is empty: say what is wrong")
    requested_outcome = (requested_outcome or "").strip() or None
    if requested_outcome is not None and len(requested_outcome) > OUTCOME_MAX:
        raise InvalidInput(f"requested_outcome is {len(requested_outcome)} characters; at most {OUTCOME_MAX}")
    if reported_at.tzinfo is None:
        raise InvalidInput("reported_at needs a timezone (RFC 3339, e.g. 2026-10-01T08:00:00+08:00)")
    _check_reported_at(reported_at, now)
    with conn.transaction():
        if submission is not None and (first := earlier(conn, submission, now)) is not None:
            return ComplaintResult(**(first | {"replayed": True}))
        if resident_id is None:
            place = unit_place(conn, unit_id)
        else:
            row = conn.execute(_SQL_PLACE_LOCKED, {"resident": resident_id}).fetchone()
            if row is None:
                raise InvalidInput(f"no resident {resident_id!r}")
            place = (row[0], row[1], row[2])
            _check_rate(conn, resident_id, now, config)
            if place[0] != unit_id:
                raise InvalidInput(f"resident {resident_id!r} does not live in unit {unit_id!r}")
        lock_household(conn, unit_id)
        building_id, site_id = place[1], place[2]
        found = classify_text(description, config.taxonomy, config.learned)
        # The fault point, else the category: what a group of households is counted by.
        point = found.subcategory or found.category.value
        words = sensitivity(description)
        incident = matching_incident(conn, found, unit_id, building_id, site_id, reported_at, config, description)
        # Folding into an incident comes first; else the household's open ticket on the same point, on any channel.
        desk = kind_department(request_kind)
        joined = None if incident is not None or desk is not None else open_household_ticket(
            conn, unit_id, point, now, config.join_window, major=found.tier is Tier.MAJOR)
        if incident is not None:
            ticket_id, incident_id, detected_at = incident
            anticipated = detected_at <= reported_at
            lead = (reported_at - detected_at).total_seconds()
        elif joined is not None:
            ticket_id, incident_id, anticipated, lead = joined, None, None, None
        else:
            ticket_id = _open_ticket(conn, found, description, site_id, building_id, unit_id, resident_id,
                                     reported_at, now, taken_by, config, desk)
            if desk is None:  # a question or a suggestion is no fault come back
                link_warranty(conn, ticket_id, unit_id=unit_id, point=point, at=reported_at, now=now, actor=taken_by)
            incident_id, anticipated, lead = None, None, None
        row = conn.execute(
            """INSERT INTO complaints (ticket_id, incident_id, resident_id, unit_id, channel, description, lang,
                   category, severity, device_kind, attachments, reported_at, received_at, taken_by, folded,
                   anticipated, lead_seconds, point, sensitive, sensitive_matched, requested_outcome,
                   caller_name, caller_phone, request_kind)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                       %s)
               RETURNING id""",
            (ticket_id, incident_id, resident_id, unit_id, channel, description, lang, found.category.value,
             found.tier.value, found.device_kind, json.dumps(list(attachments)), reported_at, now, taken_by,
             incident is not None, anticipated, lead, point, words.sensitive, list(words.matched),
             requested_outcome, caller.name if caller else None, caller.phone if caller else None,
             str(request_kind)),
        ).fetchone()
        assert row is not None
        complaint_id = int(row[0])
        if words.sensitive:
            flag_sensitive(conn, ticket_id=ticket_id, complaint_id=complaint_id, found=words, now=now, config=config)
        if incident is None and joined is None:  # a joined household is already counted
            check_group_risk(conn, ticket_id=ticket_id, site_id=site_id, building_id=building_id, point=point,
                             reported_at=reported_at, now=now, config=config)
        if resident_id is not None:  # a caller not in the registry is called back by staff
            _acknowledge_resident(conn, resident_id, ticket_id, incident_id, complaint_id, now, config)
        if incident is not None:
            add_event(conn, ticket_id, "complaint_folded", at=now, actor=taken_by,
                      note=description[:200], detail={"complaint_id": complaint_id, "resident_id": resident_id,
                                                      "anticipated": anticipated, "lead_seconds": lead})
        if joined is not None:
            add_event(conn, ticket_id, "complaint_joined", at=now, actor=taken_by, note=description[:200],
                      detail={"complaint_id": complaint_id, "resident_id": resident_id, "channel": channel})
        result = ComplaintResult(complaint_id, ticket_id, incident is not None, incident_id, anticipated,
                                 found.category.value, found.tier.value, joined is not None)
        if submission is not None:
            remember(conn, submission, complaint_id, asdict(result), now)
        return result


def _check_reported_at(reported_at: datetime, now: datetime) -> None:
    """When the resident noticed: not in the future (beyond clock skew), nor longer ago than staff could still be
    entering a complaint taken by phone or at the counter. Years 1 and 9999 are typing errors, and an absurd date
    would skew lead times, folding and the review metrics."""
    ahead, behind = reported_at - now, now - reported_at
    if ahead > REPORTED_MAX_FUTURE:
        raise InvalidInput(f"reported_at {reported_at.isoformat()} is in the future; it is when the resident noticed")
    if behind > REPORTED_MAX_PAST:
        raise InvalidInput(f"reported_at {reported_at.isoformat()} is more than {REPORTED_MAX_PAST.days} days ago; "
                           "file it with the date it is entered and say when it began in the description")
def _check_rate(conn: psycopg.Connection, resident_id: str, now: datetime, config: TicketConfig) -> None:
    """Refuse a complaint past the resident's hourly limit (on the platform's clock: a simulated run at full speed
    stays within it). The caller holds the resident's row lock, so concurrent intakes cannot both pass."""
    row = conn.execute(_SQL_RECENT, {"resident": resident_id, "since": now - RATE_WINDOW}).fetchone()
    assert row is not None
    count, oldest = row
    if count >= config.complaints_per_hour:
        wait = max(1, int((oldest + RATE_WINDOW - now).total_seconds()) + 1)
        raise RateLimited(f"at most {config.complaints_per_hour} complaints per resident per hour; "
                          "please add to an open complaint instead", retry_after_s=wait)


def matching_incident(
    conn: psycopg.Connection, found: Classification, unit_id: str, building_id: str, site_id: str,
    reported_at: datetime, config: TicketConfig, description: str = "",
) -> tuple[int, int, datetime] | None:
    """The open incident that explains the complaint: same device kind, a device that serves the unit, or is in
    the same building, or is site-wide; detected no later than the fold window after the complaint; for water, of a
    fault that can cause what `description` describes (`tickets.symptoms`: a leak is not explained by an outage).
    Prefers a device serving the unit. Returns (ticket, root incident, detection time)."""
    if found.device_kind is None:
        return None
    unexplaining = sorted(unexplaining_faults(description)) if found.device_kind == "water" else []
    row = conn.execute(
        """SELECT COALESCE(root.ticket_id, i.ticket_id), COALESCE(root.id, i.id),
                  COALESCE(root.detected_at, i.detected_at)
           FROM incidents i JOIN devices d ON d.id = i.device_id
           LEFT JOIN incidents root ON root.id = i.root_incident_id
           WHERE i.status = 'open' AND d.kind = %(kind)s AND d.site_id = %(site)s
             AND COALESCE(root.ticket_id, i.ticket_id) IS NOT NULL
             AND i.detected_at <= %(latest)s AND NOT (i.fault = ANY(%(unexplaining)s))
             AND (d.building_id = %(building)s OR d.building_id IS NULL
                  OR EXISTS (SELECT 1 FROM device_units du WHERE du.device_id = d.id AND du.unit_id = %(unit)s))
           ORDER BY EXISTS (SELECT 1 FROM device_units du WHERE du.device_id = d.id AND du.unit_id = %(unit)s) DESC,
                    (d.building_id = %(building)s) DESC, i.detected_at DESC
           LIMIT 1""",
        {"kind": found.device_kind, "site": site_id, "building": building_id, "unit": unit_id,
         "latest": reported_at + config.fold_window, "unexplaining": unexplaining},
    ).fetchone()
    return (int(row[0]), int(row[1]), row[2]) if row else None


def _open_ticket(
    conn: psycopg.Connection, found: Classification, description: str, site_id: str, building_id: str,
    unit_id: str, resident_id: str | None, reported_at: datetime, now: datetime, taken_by: str | None,
    config: TicketConfig, department_id: str | None = None,
) -> int:
    took = taken_by if taken_by and _is_staff(conn, taken_by) else None
    title = complaint_title(found.category.value, found.subcategory, description)
    ticket_id = create_ticket(
        conn, source="complaint", classification=found, title=title, description=description, site_id=site_id,
        building_id=building_id, now=now, reported_at=reported_at, config=config, actor=taken_by,
        unit_id=unit_id, resident_id=resident_id, owner_id=grid_owner(conn, building_id, "customer_service"),
        taken_by=took, department_id=department_id,
    )
    transition(conn, ticket_id, TicketEvent.DISPATCH, actor=taken_by, now=now, config=config)
    return ticket_id


def _is_staff(conn: psycopg.Connection, user_id: str) -> bool:
    row = conn.execute("SELECT role FROM users WHERE id = %s", (user_id,)).fetchone()
    return row is not None and row[0] in ("agent", "engineer", "supervisor", "manager", "admin")


def _acknowledge_resident(conn: psycopg.Connection, resident_id: str, ticket_id: int, incident_id: int | None,
                          complaint_id: int, now: datetime, config: TicketConfig) -> None:
    ticket = get_ticket(conn, ticket_id)
    if incident_id is not None:
        who = resident(conn, resident_id)
        place = conn.execute(
            """SELECT d.kind, d.location, i.detected_at FROM incidents i JOIN devices d ON d.id = i.device_id
               WHERE i.id = %s""", (incident_id,)).fetchone()
        assert place is not None
        notify_residents(conn, [who], kind="status", dedupe_key=f"incident:{incident_id}:status", now=now,
                         config=config, critical=True, incident_id=incident_id, ticket_id=ticket_id,
                         device_kind=place[0], place=place[1], detected=format_time(place[2], config),
                         ticket=ticket_id, localised=ticket_words(ticket, config))
    else:  # on the channel the request came in, with the ticket's own deadlines (tickets/progress.py)
        acknowledge(conn, ticket, resident_id, complaint_id, now=now, config=config)


_LIVE_ORDERS = """SELECT id, department_id, assignee_id FROM work_orders
                  WHERE ticket_id = %s AND status NOT IN ('done', 'cancelled') ORDER BY id FOR UPDATE"""


def _to_on_call(conn: psycopg.Connection, ticket_id: int, *, now: datetime, config: TicketConfig) -> None:
    """A ticket the desk made urgent: outside working hours each live work order goes to its department's on-call
    person, who is told at once, and the ticket's breach to the on-call supervisor (`routed_on_call`), as if it had
    come in urgent; the daytime assignee would not see it until morning. A department with nobody on call keeps its
    assignee. In working hours nothing moves."""
    moved = False
    for order_id, department, assignee in conn.execute(_LIVE_ORDERS, (ticket_id,)).fetchall():
        taker = night_taker(conn, Tier.MAJOR, department, now, config)
        if taker is None or taker == assignee:
            continue
        conn.execute("UPDATE work_orders SET assignee_id = %s WHERE id = %s", (taker, order_id))
        push_work_order(conn, int(order_id), reason="escalated", now=now, tz=config.tz)
        add_event(conn, ticket_id, "routed_on_call", at=now, actor="forewarn",
                  note=f"{department_name(conn, department)}：{staff_name(conn, taker)}",
                  detail={"department": department, "on_call": taker, "work_order": order_id,
                          "daytime_assignee": assignee})
        moved = True
    if moved:
        conn.execute("UPDATE tickets SET routed_on_call = true WHERE id = %s", (ticket_id,))


def reclassify(conn: psycopg.Connection, ticket_id: int, *, category: str | None, severity: str | None,
               by_user: str, note: str, now: datetime, config: TicketConfig = DEFAULT_CONFIG) -> None:
    """Staff correct a ticket's category or severity; the correction is an event row (what it was, what it is)."""
    try:
        new_category = Category(category) if category else None
        new_tier = Tier(severity) if severity else None
    except ValueError as exc:
        raise InvalidInput(f"{exc}; categories: {[c.value for c in Category]}, severities: "
                           f"{[t.value for t in Tier]}") from exc
    with conn.transaction():
        ticket = get_ticket(conn, ticket_id, lock=True)
        before = {"category": ticket.category, "severity": ticket.severity}
        after = {"category": (new_category or ticket.category).__str__(),
                 "severity": (new_tier or ticket.severity).__str__()}
        # The SLA follows the corrected tier, counted from when each clock started: when the ticket was received, or
        # reopened (and moved on by any wait on the resident, tickets/transitions.py).
        policy = config.policy(after["category"], after["severity"], ticket.sla_profile)
        respond_from, resolve_from = ticket.respond_from or ticket.created_at, ticket.resolve_from or ticket.created_at
        respond_due = sla.deadline(respond_from, policy.respond, config.tz)
        if ticket.sensitive and ticket.respond_due is not None:
            # A sensitive ticket keeps its shortened response clock whatever tier it moves to (group_risk.py).
            respond_due = min(respond_due, ticket.respond_due)
        # A clock whose milestone changes runs again until the new one is met (tickets/milestones.py).
        retier(conn, ticket_id, category=after["category"], tier=after["severity"], profile=ticket.sla_profile,
               respond_due=respond_due, resolve_due=sla.deadline(resolve_from, policy.resolve, config.tz),
               respond_from=respond_from, resolve_from=resolve_from, config=config)
        add_event(conn, ticket_id, "reclassified", at=now, actor=by_user, note=note,
                  detail={"before": before, "after": after})
        if after["severity"] == Tier.MAJOR.value != before["severity"]:
            _to_on_call(conn, ticket_id, now=now, config=config)
    # The desk's reading of a complaint's text teaches the learned classifier at once (tickets/learned.py; the same
    # examples it is rebuilt from on start).
    if (config.learned is not None and ticket.source == "complaint" and ticket.description
            and by_user not in SYSTEM_ACTORS):
        config.learned.learn(ticket.description, after["category"], after["severity"])
