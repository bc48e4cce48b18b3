"""The service desk's intake (issue #16 point 11; api/web/desk_intake_pages.py): while a resident is on the phone
or at the counter, the agent finds them in the registry (by unit, building and room, name or phone), checks what the
complaint would become before filing it (the suggested classification, and the open incident or household ticket
it would fold into, so the caller can be told "we already know"), then files it with the request kind's clocks.

The preview reuses intake's own rules (`tickets.complaints.matching_incident`, `tickets.household.
open_household_ticket`); filing is `intake_complaint`, and an agent's correction of the suggestion goes through
`reclassify`, so it is an event row like any other correction. An enquiry or a suggestion taken at the desk stays
with customer service, as one filed in the app does (`tickets.routing.kind_department`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from tickets.routing import kind_department
from tickets.service import get_ticket
from tickets.submissions import Submission

SEARCH_LIMIT = 20  # a short list, best matches first: the agent narrows it with the building, the name or the phone
_MAX_TERMS = 10  # a result pasted back ("滨江花园 Riverside Gardens · 1号楼 Building 1 1301 · 刘磊 · 174…") is 9
_PHONE_QUERY = re.compile(r"\+?[0-9][0-9 ()-]*")  # a query that is only a phone number
_PHONE_DIGITS = 7  # a whole phone number has this many digits or more; fewer are a room, a building or …
_PHONE_END = 4  # … the phone's last digits (手机尾号), from this many
_MOBILE = 11  # a mobile number's digits, without +86
_UNIT = re.compile(r"([0-9]{1,3})(?:-[0-9]{1,3})?-([0-9]{2,6})")  # building-room (1-1301), building-entrance-room
_TERM = re.compile(r"""
      (?P<building>[0-9a-z]+)\s*(?:号楼|栋|幢|座|\#)    # a building: 1号楼, 1栋, 1幢, 1#, a座
    | (?P<code>[a-z][a-z0-9]*(?:-[a-z0-9]+)*)          # a code (rs-b1-1301, r-00103, rs-b1, b1-1301) or a word
    | (?P<number>[0-9]+(?:-[0-9]+)*)\s*(?:室|房|号)?    # a room (1301, 0101室), 1-1301, a phone or its end
    | (?P<text>[^\W\d_a-z]+)                           # a name or a part of one, a site's name: 刘磊, 滨江花园
""", re.VERBOSE)


@dataclass(frozen=True, slots=True)
class RegistryResident:
    id: str
    name: str
    unit_id: str
    building_id: str
    building_name: str
    number: str
    phone: str | None
    site_id: str
    site_name: str


_RESIDENTS = """SELECT r.id, r.name, r.unit_id, u.building_id, b.name AS building_name, u.number, r.phone, b.site_id,
                       s.name AS site_name
                FROM residents r JOIN units u ON u.id = r.unit_id JOIN buildings b ON b.id = u.building_id
                JOIN sites s ON s.id = b.site_id
                WHERE r.active AND ({where}) ORDER BY r.unit_id, r.id LIMIT {limit}"""
_BY_ID = "r.id = %(q)s"
# Every term of the query scores a resident (0: no match): where they live (`k`: lower-case names and ids, the room
# without leading zeros as 0101 is said "101", the building's number, the first in its name, "1号楼 Building 1": 1,
# else at the end of its id), who they are (their name, id and phone digits). The room, the building's number and the
# phone digits are generated columns (migration 0109). Those matching every term are found, the closest first. Only
# the candidates of the narrowest term are scored (a phone by its index, a unit or room by `units_room`, a building
# by its units, else a scan of the names): every result matches that term. Scoring every resident took a p95 of 108
# ms at 50 000 residents and 523 ms at 200 000; this, 47 and 295 ms (docs/measurements/desk-search.md).
_KEYS = """CROSS JOIN LATERAL (SELECT lower(u.id) AS unit, lower(b.id) AS building_id, lower(s.id) AS site_id,
    lower(b.name) AS building, replace(lower(b.name), ' ', '') AS building_compact, lower(s.name) AS site, u.room,
    b.building_no) k"""
_UNITS = f"""SELECT u.id FROM units u JOIN buildings b ON b.id = u.building_id JOIN sites s ON s.id = b.site_id
    {_KEYS} WHERE {{where}}"""
_PEOPLE = "SELECT r.id FROM residents r WHERE r.active AND ({where})"
# `= ANY(ARRAY(…))`: the candidates are found first, then looked up by key (joined, they were estimated by the thousand
# and the whole registry hashed).
_IN_UNITS = "SELECT r.id FROM residents r WHERE r.active AND r.unit_id = ANY(ARRAY({units}))"
_SEARCH = """SELECT id, name, unit_id, building_id, building_name, number, phone, site_id, site_name FROM (
    SELECT r.id, r.name, r.unit_id, u.building_id, b.name AS building_name, u.number, r.phone, b.site_id,
           s.name AS site_name, {scores}
    FROM residents r JOIN units u ON u.id = r.unit_id JOIN buildings b ON b.id = u.building_id
    JOIN sites s ON s.id = b.site_id {keys}
    WHERE r.active AND r.id = ANY(ARRAY({candidates}))
) found WHERE {required}
ORDER BY {total} DESC, site_id = ANY(%(own)s) DESC, site_id, building_id, number, id LIMIT %(limit)s"""
# The estates a staff member works in: those where they own a grid (for any department) or are the site manager.
_OWN_SITES = """SELECT b.site_id FROM grid_owners g JOIN buildings b ON b.grid = g.grid WHERE g.user_id = %(user)s
                UNION SELECT site_id FROM site_managers WHERE user_id = %(user)s ORDER BY 1"""

# How close a match is: who the caller is (their unit, phone or name), then where they live.
_EXACT, _NAME, _UNIT_MATCH, _NAME_START, _ROOM, _NAME_PART, _BUILDING, _SITE, _WORD, _PHONE_ENDING = (
    100, 90, 80, 70, 60, 50, 40, 30, 20, 10)
# How narrow a term's candidates are, the narrowest scored: a phone, a unit, a room, a building, else all names.
_BY_PHONE, _BY_UNIT, _BY_ROOM, _BY_BUILDING, _BY_SCAN = range(5)


@dataclass
class _Term:
    place: list[tuple[str, int]]  # conditions on the unit, its building and site (`k`), and their closeness
    person: list[str]  # scores of the resident (`r`): their name, id or phone
    finds: list[str] = field(default_factory=list)  # conditions on `r` finding every resident `person` scores
    rank: int = _BY_SCAN

    def candidates(self) -> str:
        """The active residents this term may match: those `finds` finds, and those of the units `place` names."""
        parts = [_PEOPLE.format(where=" OR ".join(self.finds))] if self.finds else []
        if self.place:
            conditions = [condition for condition, _ in self.place]
            units = (_UNITS.format(where=" OR ".join(f"({c})" for c in conditions)) if self.rank == _BY_SCAN
                     else " UNION ALL ".join(_UNITS.format(where=c) for c in conditions))  # each by its index
            parts.append(_IN_UNITS.format(units=units))
        return " UNION ALL ".join(parts)


def _name_score(p: str) -> str:
    """The resident's name is `p`, starts with it or has it (one `strpos` for the many it is not in)."""
    return (f"CASE WHEN strpos(lower(r.name), {p}) = 0 THEN 0 WHEN lower(r.name) = {p} THEN {_NAME} "
            f"WHEN starts_with(lower(r.name), {p}) THEN {_NAME_START} ELSE {_NAME_PART} END")


def _phone_score(p: str, digits: str, phone_ends: bool) -> list[str]:
    """The resident's phone is `digits` (its end: the register's "+86 174…" is "174…"), or the register's is the end
    of the one typed ("+86 174…", "0086 174…" with its 11 digits), or ends with them where they are to be read so."""
    if len(digits) >= _PHONE_DIGITS:
        typed = f"right(r.phone_digits, {len(digits)}) = {p}"
        if len(digits) > _MOBILE:
            typed += f" OR right(r.phone_digits, {_MOBILE}) = right({p}, {_MOBILE})"
        return [f"CASE WHEN {typed} THEN {_EXACT} ELSE 0 END"]
    if phone_ends and len(digits) >= _PHONE_END:
        return [f"CASE WHEN right(r.phone_digits, {len(digits)}) = {p} THEN {_PHONE_ENDING} ELSE 0 END"]
    return []


def _phone_find(key: str, digits: str, params: dict[str, str]) -> list[str]:
    """Phones ending in `digits` (in their last 11 at most) by the index of the reversed digits: a range, as ':'
    follows '9'."""
    params |= {f"{key}e": digits[::-1][:_MOBILE], f"{key}f": digits[::-1][:_MOBILE] + ":"}
    end = 'reverse(r.phone_digits) COLLATE "C"'
    return [f"{end} >= %({key}e)s AND {end} < %({key}f)s"]


def _number_term(i: int, number: str, phone_ends: bool, params: dict[str, str]) -> _Term:
    """A number term: a room (0101 is "101"), a building and room (1-1301), a building (≤ 3 digits), or a phone or
    its end; its candidates the union of each way it matches."""
    p, term = f"%(t{i})s", _Term([], [])
    params[f"t{i}"] = re.sub(r"[^0-9]", "", number)
    term.person += _phone_score(p, params[f"t{i}"], phone_ends)
    ranks = [_BY_PHONE] if term.person else []
    if term.person:
        term.finds = _phone_find(f"t{i}", params[f"t{i}"], params)
    if unit := _UNIT.fullmatch(number):
        params |= {f"t{i}n": unit[1].lstrip("0"), f"t{i}r": unit[2].lstrip("0")}
        term.place.append((f"k.building_no = %(t{i}n)s AND k.room = %(t{i}r)s", _UNIT_MATCH))
        ranks.append(_BY_UNIT)
    elif number.isdigit() and number.strip("0"):
        params[f"t{i}r"] = number.lstrip("0")
        term.place.append((f"k.room = %(t{i}r)s", _ROOM))
        ranks.append(_BY_ROOM)
        if len(number) <= 3:
            term.place.append((f"k.building_no = %(t{i}r)s", _BUILDING))
            ranks.append(_BY_BUILDING)
    term.rank = max(ranks, default=_BY_SCAN)
    return term


def _search_terms(query: str) -> tuple[list[_Term], dict[str, str]]:
    """The terms of `query` (normalised), each as what it may match with how closely, and their parameters."""
    digits = re.sub(r"[^0-9]", "", query)
    if _PHONE_QUERY.fullmatch(query) and len(digits) >= _PHONE_DIGITS and not _UNIT.fullmatch(query):
        whole = {"t0": digits}  # 138 0000 1111, +86 138-…
        return [_Term([], _phone_score("%(t0)s", digits, True), _phone_find("t0", digits, whole), _BY_PHONE)], whole
    found = list(_TERM.finditer(query))[:_MAX_TERMS]
    # A phone's last digits only where the query names no building ("8129", "刘磊 8129"): in "1号楼1301", "1-1301"
    # or "1 1301" 1301 is the room, and a building 1 resident whose phone ends in 1301 no match.
    numbers = [m["number"] for m in found if m["number"]]
    phone_ends = len(numbers) == 1 and not _UNIT.fullmatch(numbers[0]) and not any(m["building"] for m in found)
    terms: list[_Term] = []
    params: dict[str, str] = {}
    for i, m in enumerate(found):
        p, term = f"%(t{i})s", _Term([], [])
        if m["building"]:
            params[f"t{i}"], term.rank = re.sub(r"\s", "", m[0]), _BY_BUILDING
            term.place.append((f"starts_with(k.building_compact, {p})", _BUILDING))
            if (number := m["building"].lstrip("0")).isdigit():
                params[f"t{i}n"] = number
                term.place.append((f"k.building_no = %(t{i}n)s", _BUILDING))
        elif m["code"]:
            params[f"t{i}"] = m["code"]
            term.place += [(f"k.unit = {p}", _EXACT), (f"right(k.unit, length({p}) + 1) = '-' || {p}", _UNIT_MATCH),
                           (f"k.building_id = {p} OR right(k.building_id, length({p}) + 1) = '-' || {p}", _BUILDING),
                           (f"k.site_id = {p} OR starts_with(k.unit, {p} || '-') OR strpos(k.site, {p}) > 0", _SITE),
                           (f"strpos(k.building, {p}) > 0", _WORD)]
            term.person += [f"CASE WHEN lower(r.id) = {p} THEN {_EXACT} ELSE 0 END", _name_score(p)]
            term.finds += [f"lower(r.id) = {p}", f"strpos(lower(r.name), {p}) > 0"]
        elif m["number"]:
            term = _number_term(i, m["number"], phone_ends, params)
        else:
            params[f"t{i}"] = m["text"]
            term.place += [(f"strpos(k.site, {p}) > 0", _SITE), (f"strpos(k.building, {p}) > 0", _WORD)]
            term.person.append(_name_score(p))
            term.finds.append(f"strpos(lower(r.name), {p}) > 0")
        if not term.place and not term.person:
            return [], {}  # a term nothing matches ("00", "12-34-56-78")
        terms.append(term)
    return terms, params


def own_sites(conn: psycopg.Connection, user_id: str) -> list[str]:
    """The estates `user_id` works in (a grid they own, a site they manage): theirs come first in a search."""
    return [row[0] for row in conn.execute(_OWN_SITES, {"user": user_id})]


def find_residents(conn: psycopg.Connection, query: str, limit: int = SEARCH_LIMIT, *,
                   own: Sequence[str] = ()) -> list[RegistryResident]:
    """Active residents of the registry matching what the caller said, the closest first (at most `limit`: the
    desk asks for one more than it shows, to know that the agent should narrow the search): their unit with or
    without the building, with or without spaces ("1号楼1301", "1号楼 1301", "1-1301", "1301", "rs-b1-1301"), their
    name or a part of it, their phone (spaces and dashes ignored) or its last four digits or more, the site's name
    with the building and unit ("滨江花园 1号楼 1301"), or their resident id. Every term must match; case, full-width
    characters and spaces make no difference. Among equally close matches, the residents of the estates in `own`
    (`own_sites`: the agent's) come first: across a portfolio, "1301" is a room in every estate."""
    terms, params = _search_terms(unicodedata.normalize("NFKC", query).lower().strip())
    if not terms:
        return []
    scores = [f"GREATEST({', '.join(['0', *(f'CASE WHEN {c} THEN {w} ELSE 0 END' for c, w in t.place), *t.person])})"
              f" AS s{i}" for i, t in enumerate(terms)]
    sql = _SEARCH.format(candidates=min(terms, key=lambda t: t.rank).candidates(), keys=_KEYS,
                         scores=", ".join(scores),
                         required=" AND ".join(f"s{i} > 0" for i in range(len(terms))),
                         total=" + ".join(f"s{i}" for i in range(len(terms))))
    with conn.cursor(row_factory=class_row(RegistryResident)) as cur:
        return cur.execute(sql, params | {"limit": limit, "own": list(own)}).fetchall()


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
                   config: TicketConfig = DEFAULT_CONFIG, kind: RequestKind | str = RequestKind.COMPLAINT,
                   ) -> IntakePreview:
    """What intake would make of a request of `kind` saying `description` from `unit_id` at `now`, without filing
    anything: the suggested classification, and the open incident (first) or the household's open ticket it would
    fold into (an enquiry or a suggestion joins no household ticket: the desk answers it on its own)."""
    if not description.strip():
        raise InvalidInput("description is empty: say what is wrong")
    unit, building_id, site_id = unit_place(conn, unit_id)
    found = classify_text(description, config.taxonomy)
    incident = matching_incident(conn, found, unit, building_id, site_id, now, config, description)
    if incident is not None:
        ticket_id, incident_id = incident[0], incident[1]
        into = "incident"
    else:
        point = found.subcategory or found.category.value
        joined = None if kind_department(str(kind)) is not None else open_household_ticket(
            conn, unit, point, now, config.join_window, major=found.tier is Tier.MAJOR)
        if joined is None:
            return IntakePreview(found, None)
        ticket_id, incident_id, into = joined, None, "household"
    ticket = get_ticket(conn, ticket_id)
    return IntakePreview(found, FoldTarget(into, ticket_id, incident_id, ticket.state, ticket.resolve_due))


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
    """File what the agent took (one transaction), owned by them (首问负责制), with the kind's clocks and department
    (an enquiry or a suggestion: customer service, `tickets.routing.kind_department`). A category or severity
    differing from the suggestion corrects a new ticket through `reclassify` (recorded as an event); a complaint
    folded into a known fault or joining the household's ticket leaves that ticket as it is. A `submission` filed
    before files nothing and changes nothing: the filing is the first one's."""
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
                                submission=submission, request_kind=kind.value)
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
