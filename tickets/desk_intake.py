"""The service desk's intake (issue #16 point 11; api/web/desk_intake_pages.py): while a resident is on the phone
or at the counter, the agent finds them in the registry (by unit, building and room, or phone), checks what the
complaint would become before filing it (the suggested classification, and the open incident or household ticket
it would fold into, so the caller can be told "we already know"), then files it with the request kind's clocks.

The preview reuses intake's own rules (`tickets.complaints.matching_incident`, `tickets.household.
open_household_ticket`); filing is `intake_complaint`, and an agent's correction of the suggestion goes through
`reclassify`, so it is an event row like any other correction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from tickets.callers import Caller, unit_place
from tickets.classify import Category, Classification, Tier, classify_text
from tickets.complaints import intake_complaint, matching_incident, reclassify
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import InvalidInput
from tickets.household import open_household_ticket
from tickets.profiles import unit_profile
from tickets.requests import Receipt, RequestKind, config_for_kind, limits_of
from tickets.service import get_ticket
from tickets.submissions import Submission

SEARCH_LIMIT = 20
_DIGITS = re.compile(r"\+?[0-9][0-9 -]{4,30}")


@dataclass(frozen=True, slots=True)
class RegistryResident:
    id: str
    name: str
    unit_id: str
    building_id: str
    building_name: str
    number: str
    phone: str | None


_RESIDENTS = """SELECT r.id, r.name, r.unit_id, u.building_id, b.name AS building_name, u.number, r.phone
                FROM residents r JOIN units u ON u.id = r.unit_id JOIN buildings b ON b.id = u.building_id
                WHERE r.active AND ({where}) ORDER BY r.unit_id, r.id LIMIT {limit}"""
_BY_UNIT = "lower(r.unit_id) = lower(%(q)s)"
_BY_PHONE = "regexp_replace(r.phone, '[^0-9]', '', 'g') = %(digits)s"
_BY_ROOM = """u.number = %(room)s AND (lower(b.id) = lower(%(building)s) OR b.name ILIKE %(building_like)s
              OR b.name ILIKE %(building_prefix)s)"""
_BY_ID = "r.id = %(q)s"


def find_residents(conn: psycopg.Connection, query: str) -> list[RegistryResident]:
    """Active residents of the registry matching what the caller said: a unit id (rs-b1-0101), a resident id, a
    building and a room ("rs-b1 0101", "1号楼 0101"), or a phone number (spaces and dashes ignored)."""
    query = " ".join(query.split())
    if not query:
        return []
    where, params = [_BY_UNIT, _BY_ID], {"q": query}
    if _DIGITS.fullmatch(query):
        where.append(_BY_PHONE)
        params["digits"] = re.sub(r"[^0-9]", "", query)
    parts = query.rsplit(" ", 1)
    if len(parts) == 2:
        building, room = parts
        where.append(_BY_ROOM)
        params |= {"room": room, "building": building, "building_like": f"% {building}%",
                   "building_prefix": f"{building}%"}
    sql = _RESIDENTS.format(where=" OR ".join(where), limit=SEARCH_LIMIT)
    with conn.cursor(row_factory=class_row(RegistryResident)) as cur:
        return cur.execute(sql, params).fetchall()


def registry_resident(conn: psycopg.Connection, resident_id: str) -> RegistryResident | None:
    """The active resident `resident_id`, or None."""
    with conn.cursor(row_factory=class_row(RegistryResident)) as cur:
        return cur.execute(_RESIDENTS.format(where=_BY_ID, limit=1), {"q": resident_id}).fetchone()


def unit_residents(conn: psycopg.Connection, unit_id: str) -> list[RegistryResident]:
    """The active residents of a unit: who a caller of that unit may turn out to be."""
    with conn.cursor(row_factory=class_row(RegistryResident)) as cur:
        return cur.execute(_RESIDENTS.format(where="r.unit_id = %(q)s", limit=SEARCH_LIMIT),
                           {"q": unit_id}).fetchall()


@dataclass(frozen=True, slots=True)
class FoldTarget:
    kind: str  # "incident": an open incident explains it; "household": the household's open ticket (72 h join)
    ticket_id: int
    incident_id: int | None
    ticket_state: str
    resolve_due: datetime | None


@dataclass(frozen=True, slots=True)
class IntakePreview:
    found: Classification
    fold: FoldTarget | None  # what filing would join instead of opening a ticket


def preview_intake(conn: psycopg.Connection, *, unit_id: str, description: str, now: datetime,
                   config: TicketConfig = DEFAULT_CONFIG) -> IntakePreview:
    """What intake would make of `description` from `unit_id` at `now`, without filing anything: the suggested
    classification, and the open incident (first) or the household's open ticket it would fold into."""
    if not description.strip():
        raise InvalidInput("description is empty: say what is wrong")
    unit, building_id, site_id = unit_place(conn, unit_id)
    found = classify_text(description, config.taxonomy)
    incident = matching_incident(conn, found, unit, building_id, site_id, now, config, description)
    if incident is not None:
        ticket_id, incident_id = incident[0], incident[1]
        kind = "incident"
    else:
        point = found.subcategory or found.category.value
        joined = open_household_ticket(conn, unit, point, now, config.join_window, major=found.tier is Tier.MAJOR)
        if joined is None:
            return IntakePreview(found, None)
        ticket_id, incident_id, kind = joined, None, "household"
    ticket = get_ticket(conn, ticket_id)
    return IntakePreview(found, FoldTarget(kind, ticket_id, incident_id, ticket.state, ticket.resolve_due))


@dataclass(frozen=True, slots=True)
class DeskFiling:
    receipt: Receipt
    joined: bool  # joined the household's open ticket
    overridden: bool  # the agent's category or severity was applied (a `reclassified` event)


def file_at_desk(
    conn: psycopg.Connection, *, kind: RequestKind | str, channel: str, unit_id: str, resident_id: str | None,
    caller: Caller | None, description: str, requested_outcome: str | None, lang: str, now: datetime,
    taken_by: str, category: str | None = None, severity: str | None = None,
    config: TicketConfig = DEFAULT_CONFIG, submission: Submission | None = None,
) -> DeskFiling:
    """File what the agent took (one transaction), owned by them (首问负责制), with the kind's clocks. A category
    or severity differing from the suggestion corrects a new ticket through `reclassify` (recorded as an event);
    a complaint folded into a known fault or joining the household's ticket leaves that ticket as it is. A
    `submission` filed before files nothing and changes nothing: the filing is the first one's."""
    try:
        kind = RequestKind(kind)
        wanted_category = Category(category) if category else None
        wanted_tier = Tier(severity) if severity else None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    with conn.transaction():
        profile = unit_profile(conn, unit_id, config.sla_profiles())
        kind_config = config_for_kind(kind, config, profile)
        made = intake_complaint(conn, resident_id=resident_id, unit_id=unit_id, channel=channel,
                                description=description, lang=lang, reported_at=now, now=now, taken_by=taken_by,
                                config=kind_config, requested_outcome=requested_outcome, caller=caller,
                                submission=submission)
        if not made.replayed:
            conn.execute("UPDATE complaints SET request_kind = %s WHERE id = %s", (kind.value, made.complaint_id))
        changed = ((wanted_category is not None and wanted_category.value != made.category)
                   or (wanted_tier is not None and wanted_tier.value != made.severity))
        overridden = changed and not made.folded and not made.joined and not made.replayed
        if overridden:
            reclassify(conn, made.ticket_id, category=category or None, severity=severity or None, by_user=taken_by,
                       note=f"corrected at the desk's intake (suggested {made.category}/{made.severity})", now=now,
                       config=kind_config)
        ticket = get_ticket(conn, made.ticket_id)
    receipt = Receipt(made.complaint_id, made.ticket_id, kind, made.folded,
                      limits_of(kind, ticket, folded=made.folded))
    return DeskFiling(receipt, made.joined, overridden)


@dataclass(frozen=True, slots=True)
class FiledComplaint:
    """A complaint as the desk's ticket page reads it after filing, and a caller still to identify."""

    id: int
    ticket_id: int
    unit_id: str
    request_kind: str | None
    folded: bool
    caller_name: str | None
    caller_phone: str | None
    resident_id: str | None


_COMPLAINTS = """SELECT id, ticket_id, unit_id, request_kind, folded, caller_name, caller_phone, resident_id
                 FROM complaints WHERE {where} ORDER BY id"""


def filed_complaint(conn: psycopg.Connection, complaint_id: int) -> FiledComplaint | None:
    with conn.cursor(row_factory=class_row(FiledComplaint)) as cur:
        return cur.execute(_COMPLAINTS.format(where="id = %s"), (complaint_id,)).fetchone()


def unidentified_callers(conn: psycopg.Connection, ticket_id: int) -> list[FiledComplaint]:
    """The ticket's complaints from callers not yet linked to a resident of the registry."""
    with conn.cursor(row_factory=class_row(FiledComplaint)) as cur:
        return cur.execute(_COMPLAINTS.format(where="ticket_id = %s AND resident_id IS NULL"),
                           (ticket_id,)).fetchall()


def receipt_of(conn: psycopg.Connection, complaint: FiledComplaint) -> Receipt:
    """The time limits the caller is told for a filed complaint (its kind's clocks, or the known fault's)."""
    kind = RequestKind(complaint.request_kind or RequestKind.COMPLAINT.value)
    ticket = get_ticket(conn, complaint.ticket_id)
    return Receipt(complaint.id, complaint.ticket_id, kind, complaint.folded,
                   limits_of(kind, ticket, folded=complaint.folded))
