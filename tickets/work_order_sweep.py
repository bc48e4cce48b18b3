"""The SLA sweep per work order (issue #16 point 5: each department's work runs its own clock). A work order that
another department was brought in for (`tickets.dispatch`) has its own respond and resolve deadlines; the respond
clock runs until the order reaches its ticket's respond milestone (accepted; on site on a major ticket), then the
resolve clock. The sweep reminds its assignee at 50% and 80% of the running clock and escalates at breach to the
department's head (the assignee's supervisor), then to the site manager, as `tickets.sweeps` does for the ticket's
own clocks. The ticket's own department's work order runs on the ticket's clocks, which `tickets.sweeps` already
watches: it is not swept twice. A ticket waiting on the resident pauses its work orders too. Idempotent: an alert is
a row with a unique key (`work_order_alerts`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from tickets import sla
from tickets.config import TicketConfig
from tickets.milestones import LABEL
from tickets.notices import format_time, notify_user
from tickets.routing import site_manager, supervisor_of
from tickets.service import add_event
from tickets.titles import title_words

# The live work orders of other departments than their ticket's, on tickets whose clocks run, a page at a time.
_DUE = """SELECT w.id, w.ticket_id, w.department_id, w.assignee_id, w.status,
                 coalesce(w.respond_from, w.created_at) AS respond_from,
                 coalesce(w.resolve_from, w.created_at) AS resolve_from, w.respond_met_at, w.respond_due,
                 w.resolve_due, t.category, t.severity, t.sla_profile, t.site_id, t.title,
                 coalesce(d.name, w.department_id) AS department
          FROM work_orders w JOIN tickets t ON t.id = w.ticket_id LEFT JOIN departments d ON d.id = w.department_id
          WHERE w.status NOT IN ('done', 'cancelled') AND w.department_id IS DISTINCT FROM t.department_id
            AND t.sla_paused_at IS NULL AND w.id > %s
          ORDER BY w.id LIMIT %s FOR UPDATE OF w SKIP LOCKED"""
# The head of a department: the user its active staff have as supervisor (as tickets.workorders reads it).
_HEAD = """SELECT m.supervisor_id FROM users m JOIN users h ON h.id = m.supervisor_id AND h.active
           WHERE m.department_id = %s AND m.active AND h.department_id = %s
           GROUP BY m.supervisor_id ORDER BY count(*) DESC, m.supervisor_id LIMIT 1"""
_RECORD = """INSERT INTO work_order_alerts (work_order_id, clock, level, due, at, recipient)
             VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1"""
# (level, fraction of the clock, who): the same ladder as the ticket's clocks (tickets.sweeps.LADDER).
LADDER = (("remind_50", 0.5, "assignee"), ("remind_80", 0.8, "assignee"),
          ("breach", 1.0, "head"), ("breach_manager", 1.5, "manager"))
_LEVEL_TEXT = {"remind_50": "派工单已过时限 50% / work order: 50% of the time used",
               "remind_80": "派工单已过时限 80% / work order: 80% of the time used",
               "breach": "派工单已超时，升级至部门主管 / work order breached, escalated to the department head",
               "breach_manager": "派工单严重超时，升级至管理处 / "
                                 "work order long overdue, escalated to the site manager"}


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    ticket_id: int
    department_id: str
    assignee_id: str | None
    status: str
    respond_from: datetime  # when each clock started: the order's creation, or its escalation (tickets.escalation)
    resolve_from: datetime
    respond_met_at: datetime | None  # the order reached its ticket's respond milestone (migration 0106)
    respond_due: datetime | None
    resolve_due: datetime | None
    category: str
    severity: str
    sla_profile: str | None
    site_id: str
    title: str
    department: str  # by name ("工程部 Engineering"), as the reminder words it


def sweep_work_orders(conn: psycopg.Connection, *, now: datetime, config: TicketConfig, batch: int = 500) -> int:
    """Send the work orders' reminders and escalations due at `now`; returns how many were sent."""
    sent, last = 0, 0
    while True:
        with conn.transaction(), conn.cursor(row_factory=class_row(_Due)) as cur:
            rows = cur.execute(_DUE, (last, batch)).fetchall()
            for row in rows:
                sent += _sweep_one(conn, row, now, config)
        if len(rows) < batch:
            return sent
        last = rows[-1].id


def _sweep_one(conn: psycopg.Connection, w: _Due, now: datetime, config: TicketConfig) -> int:
    policy = config.policy(w.category, w.severity, w.sla_profile)
    if w.respond_met_at is None:  # not accepted yet, or on a major ticket not on site yet
        clock, start, due, working = "respond", w.respond_from, w.respond_due, policy.respond.working
    else:
        clock, start, due, working = "resolve", w.resolve_from, w.resolve_due, policy.resolve.working
    if due is None:
        return 0
    sent = 0
    for level, fraction, who in LADDER:
        point = sla.ladder_point(start, due, fraction, working, config.tz)
        if point > now:
            break
        sent += _alert(conn, w, clock, level, due, _who(conn, who, w), now, config)
    return sent


def _who(conn: psycopg.Connection, who: str, w: _Due) -> str | None:
    """The ladder's rung; a department without a head falls through to the site manager."""
    if who == "assignee" and w.assignee_id is not None:
        return w.assignee_id
    if who in ("assignee", "head"):
        head = supervisor_of(conn, w.assignee_id) if w.assignee_id else None
        if head is None:
            row = conn.execute(_HEAD, (w.department_id, w.department_id)).fetchone()
            head = row[0] if row else None
        if head is not None:
            return head
    return site_manager(conn, w.site_id)


def _alert(conn: psycopg.Connection, w: _Due, clock: str, level: str, due: datetime, recipient: str | None,
           now: datetime, config: TicketConfig) -> int:
    if conn.execute(_RECORD, (w.id, clock, level, due, now, recipient)).fetchone() is None:
        return 0
    add_event(conn, w.ticket_id, f"work_order_sla_{level}", at=now, actor="forewarn",
              note=f"{w.department} #{w.id}：{LABEL.get(clock, clock)}",
              detail={"work_order_id": w.id, "department_id": w.department_id, "clock": clock, "due": due,
                      "recipient": recipient})
    if recipient is not None:
        notify_user(conn, recipient, kind="sla", dedupe_key=f"work_order:{w.id}:{clock}:{level}:{due}", now=now,
                    ticket_id=w.ticket_id, ticket=w.ticket_id,
                    summary=f"{title_words(w.title, 'zh-CN')} ({w.department} #{w.id})",
                    level=_LEVEL_TEXT[level], eta=format_time(due, config))
    return 1
