"""What the service desk's pages read (api/web/desk_pages.py): the open tickets, due first, and one ticket's
timeline and the detector's evidence (the names it shows are `tickets.names`'). Reads only; every change goes
through `tickets.transitions`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from tickets.lifecycle import TicketState
from tickets.workorders import TimelineEntry  # the timeline row, one home (the engineer's page reads it too)

# A ticket leaves the desk's queue once it is resolved, closed or cancelled.
DONE_STATES = (TicketState.RESOLVED.value, TicketState.CLOSED.value, TicketState.CANCELLED.value)
OPEN_STATES = tuple(s.value for s in TicketState if s.value not in DONE_STATES)
QUEUE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    title: str
    category: str
    severity: str
    department_id: str | None
    department_name: str | None
    owner_id: str | None
    owner_name: str | None
    state: str
    due: datetime | None  # respond_due until its milestone is met (tickets/milestones.py), then resolve_due
    due_kind: str | None  # "respond" or "resolve"
    sla_paused_at: datetime | None
    unidentified_caller: bool  # a complaint on it from a caller not yet linked to a resident of the registry


_QUEUE = f"""
    SELECT t.id, t.title, t.category, t.severity, t.department_id, d.name AS department_name, t.owner_id,
           u.name AS owner_name, t.state,
           CASE WHEN t.respond_met_at IS NULL AND t.respond_due IS NOT NULL THEN t.respond_due ELSE t.resolve_due END
               AS due,
           CASE WHEN t.respond_met_at IS NULL AND t.respond_due IS NOT NULL THEN 'respond'
                WHEN t.resolve_due IS NOT NULL THEN 'resolve' END AS due_kind,
           t.sla_paused_at,
           EXISTS (SELECT 1 FROM complaints c WHERE c.ticket_id = t.id AND c.resident_id IS NULL)
               AS unidentified_caller
    FROM tickets t LEFT JOIN departments d ON d.id = t.department_id LEFT JOIN users u ON u.id = t.owner_id
    WHERE t.state <> ALL(%(done)s) AND (%(dept)s::text IS NULL OR t.department_id = %(dept)s)
      AND (%(state)s::text IS NULL OR t.state = %(state)s)
    ORDER BY due ASC NULLS LAST, t.id LIMIT {QUEUE_LIMIT}"""


def desk_queue(conn: psycopg.Connection, *, department_id: str | None = None,
               state: str | None = None) -> list[QueueRow]:
    """The open tickets (at most `QUEUE_LIMIT`), the one due first on top; those without a deadline last."""
    with conn.cursor(row_factory=class_row(QueueRow)) as cur:
        return cur.execute(_QUEUE, {"done": list(DONE_STATES), "dept": department_id, "state": state}).fetchall()


def timeline(conn: psycopg.Connection, ticket_id: int) -> list[TimelineEntry]:
    with conn.cursor(row_factory=class_row(TimelineEntry)) as cur:
        return cur.execute("SELECT at, actor, event, from_state, to_state, note, detail FROM ticket_events "
                           "WHERE ticket_id = %s ORDER BY id", (ticket_id,)).fetchall()


def incident_evidence(conn: psycopg.Connection, incident_id: int | None) -> dict[str, Any] | None:
    """The detector's evidence of an incident (`detectors.alarm.Evidence.as_dict`), None for none."""
    if incident_id is None:
        return None
    row = conn.execute("SELECT evidence FROM incidents WHERE id = %s", (incident_id,)).fetchone()
    return row[0] if row else None
