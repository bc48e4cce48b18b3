"""Callers not in the registry (issue #16 point 4; docs/lifecycle.md "Intake"): someone on the hotline or a note in
the complaint box whose resident record we cannot find yet. Staff take their name and a number to call back, and
the unit it is about (the ticket is routed by its building); once the caller is identified, `link_caller` makes
the complaint the resident's own (the resident must live in that unit)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import psycopg

from tickets.errors import InvalidInput, NotFound
from tickets.service import add_event

NAME_MAX = 100
_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,30}")

_COMPLAINT = "SELECT ticket_id, unit_id, resident_id, caller_name FROM complaints WHERE id = %s FOR UPDATE"
_RESIDENT = "SELECT unit_id, active FROM residents WHERE id = %s"
_LINK = "UPDATE complaints SET resident_id = %s WHERE id = %s"
_UNIT_PLACE = """SELECT u.id, u.building_id, b.site_id FROM units u JOIN buildings b ON b.id = u.building_id
                 WHERE u.id = %s"""


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    phone: str


def caller(name: str | None, phone: str | None) -> Caller:
    """A caller's name and phone, checked: both are needed to call them back."""
    name, phone = (name or "").strip(), (phone or "").strip()
    if not name or not phone:
        raise InvalidInput("a caller not in the registry needs caller_name and caller_phone (to call them back)")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"caller_name is {len(name)} characters; at most {NAME_MAX}")
    if not _PHONE.fullmatch(phone):
        raise InvalidInput(f"caller_phone {phone!r} is not a phone number (digits, spaces, '-', a leading '+')")
    return Caller(name, phone)


def unit_place(conn: psycopg.Connection, unit_id: str) -> tuple[str, str, str]:
    """(unit, building, site) of a unit; `InvalidInput` if there is none."""
    row = conn.execute(_UNIT_PLACE, (unit_id,)).fetchone()
    if row is None:
        raise InvalidInput(f"no unit {unit_id!r}")
    return row[0], row[1], row[2]


def link_caller(conn: psycopg.Connection, complaint_id: int, resident_id: str, *, by_user: str | None,
                now: datetime) -> int:
    """Link a caller's complaint to the resident once identified (one transaction); returns its ticket. The
    resident must be active and live in the complaint's unit; a complaint already linked is refused."""
    with conn.transaction():
        row = conn.execute(_COMPLAINT, (complaint_id,)).fetchone()
        if row is None:
            raise NotFound(f"no complaint {complaint_id}")
        ticket_id, unit_id, linked, name = row
        if linked is not None:
            raise InvalidInput(f"complaint {complaint_id} is already resident {linked!r}'s")
        who = conn.execute(_RESIDENT, (resident_id,)).fetchone()
        if who is None or not who[1]:
            raise InvalidInput(f"no resident {resident_id!r}")
        if who[0] != unit_id:
            raise InvalidInput(f"resident {resident_id!r} does not live in unit {unit_id!r}, the complaint's unit")
        conn.execute(_LINK, (resident_id, complaint_id))
        add_event(conn, int(ticket_id), "caller_linked", at=now, actor=by_user, note=name or "",
                  detail={"complaint_id": complaint_id, "resident_id": resident_id})
    return int(ticket_id)
