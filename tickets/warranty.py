"""Warranty on a repair (issue #16 point 9; docs/lifecycle.md "Warranty"): a ticket of a unit is under warranty
for `TicketConfig.warranty` (FOREWARN_WARRANTY_DAYS) from when it is resolved. A new ticket from the same unit on
the same fault point while it is under warranty is a repeat of it: `tickets.warranty_of` points at the original,
and an event on each ticket's timeline names the other, so staff and the resident see the link on both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from tickets.config import TicketConfig
from tickets.service import add_event

# Resolving a unit's ticket (again) starts its warranty from now.
_START = "UPDATE tickets SET warranty_until = %s WHERE id = %s AND unit_id IS NOT NULL"
# The newest ticket of the unit on the fault point still under warranty at `at`: resolved (or closed) and not the
# new ticket itself.
_ORIGINAL = """SELECT id, warranty_until FROM tickets
               WHERE unit_id = %(unit)s AND COALESCE(subcategory, category) = %(point)s AND id <> %(ticket)s
                 AND state IN ('resolved', 'closed') AND warranty_until >= %(at)s
               ORDER BY resolved_at DESC, id DESC LIMIT 1"""
_LINK = "UPDATE tickets SET warranty_of = %s WHERE id = %s"
_LINKS = """SELECT (SELECT warranty_of FROM tickets WHERE id = %(ticket)s),
                   (SELECT warranty_until FROM tickets WHERE id = %(ticket)s),
                   ARRAY(SELECT id FROM tickets WHERE warranty_of = %(ticket)s ORDER BY id)"""


@dataclass(frozen=True, slots=True)
class WarrantyLinks:
    of: int | None  # this ticket repeats a repair still under warranty: that repair's ticket
    until: datetime | None  # this ticket's own warranty runs until then (once resolved)
    repeats: list[int]  # tickets that came back within this one's warranty


def start_warranty(conn: psycopg.Connection, ticket: Any, *, now: datetime, config: TicketConfig) -> None:
    """Called when a ticket is resolved: its warranty runs from now (a zero warranty: none)."""
    conn.execute(_START, (now + config.warranty if config.warranty > timedelta(0) else None, ticket.id))


def link_warranty(conn: psycopg.Connection, ticket_id: int, *, unit_id: str, point: str, at: datetime,
                  now: datetime, actor: str | None = None) -> int | None:
    """Link a new ticket to the unit's repair of the same fault point still under warranty at `at` (when the
    resident noticed); returns the original's id, or None when there is none."""
    row = conn.execute(_ORIGINAL, {"unit": unit_id, "point": point, "ticket": ticket_id, "at": at}).fetchone()
    if row is None:
        return None
    original, until = int(row[0]), row[1]
    conn.execute(_LINK, (original, ticket_id))
    add_event(conn, ticket_id, "under_warranty", at=now, actor=actor,
              note=f"repeat of ticket #{original} within its warranty",
              detail={"warranty_of": original, "warranty_until": until.isoformat()})
    add_event(conn, original, "warranty_repeat", at=now, actor=actor,
              note=f"the fault came back within the warranty: ticket #{ticket_id}",
              detail={"repeat_ticket_id": ticket_id})
    return original


def warranty_links(conn: psycopg.Connection, ticket_id: int) -> WarrantyLinks:
    row = conn.execute(_LINKS, {"ticket": ticket_id}).fetchone()
    assert row is not None
    return WarrantyLinks(row[0], row[1], list(row[2] or []))
