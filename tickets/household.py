"""The 72-hour join (issue #16 point 4; docs/lifecycle.md "Intake"): the same household raising the same fault
point again, on any channel, while its complaint ticket about it is still open and was opened within the join
window (`TicketConfig.join_window`, FOREWARN_JOIN_WINDOW_HOURS, 72 h), is the same matter. The new complaint
joins that ticket instead of opening a second one. A ticket opened for a request the desk answers (an enquiry, a
suggestion: `tickets.routing.ANSWERED_AT_DESK`) is that question's own: a fault or a complaint does not join it, or
it would reach no engineer."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from tickets.routing import ANSWERED_AT_DESK

# The household's newest open complaint ticket on the fault point (subcategory, else category), opened within the
# window, by a complaint or a repair (its first request's kind). The caller holds the unit's row lock, so two intakes
# from one household cannot both open a ticket.
_OPEN = """SELECT t.id FROM tickets t
           WHERE t.source = 'complaint' AND t.unit_id = %(unit)s AND COALESCE(t.subcategory, t.category) = %(point)s
             AND t.state NOT IN ('resolved', 'closed', 'cancelled') AND t.created_at > %(since)s
             AND (NOT %(major)s OR t.severity = 'major')
             AND COALESCE((SELECT c.request_kind FROM complaints c WHERE c.ticket_id = t.id ORDER BY c.id LIMIT 1),
                          'complaint') <> ALL(%(apart)s)
           ORDER BY t.created_at DESC, t.id DESC LIMIT 1"""
_LOCK_UNIT = "SELECT 1 FROM units WHERE id = %s FOR NO KEY UPDATE"


def lock_household(conn: psycopg.Connection, unit_id: str) -> bool:
    """Serialise the intakes of one household (until the transaction ends); False: no such unit."""
    return conn.execute(_LOCK_UNIT, (unit_id,)).fetchone() is not None


def open_household_ticket(conn: psycopg.Connection, unit_id: str, point: str, now: datetime,
                          window: timedelta, *, major: bool) -> int | None:
    """The open ticket a complaint from `unit_id` about `point` received at `now` joins, or None. A major-tier
    complaint (a burst pipe after a dripping tap) joins only a major ticket: it keeps its own urgent clocks. An
    enquiry's or a suggestion's ticket is joined by nothing (the caller does not look for one for those)."""
    if window <= timedelta(0):
        return None
    row = conn.execute(_OPEN, {"unit": unit_id, "point": point, "since": now - window, "major": major,
                               "apart": sorted(ANSWERED_AT_DESK)}).fetchone()
    return int(row[0]) if row else None
