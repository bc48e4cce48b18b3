"""The SLA sweep: reminders to the owner at 50% and 80% of a clock, escalation at breach up the ladder
(owner → supervisor → site manager), the clocks of work orders other departments were brought in for
(`tickets.work_order_sweep`), return visits due within 48 hours of resolution, and external mediations that
drag on (`TicketConfig.mediation_within` after their start: the ticket's own clocks are paused while one is open).
Safe to run concurrently (`FOR UPDATE SKIP LOCKED`) and twice (an alert is a row with a unique key: never sent again).

Reminders are in-app. An escalation (breach) also goes out on the person's own channel — SMS or WeChat through the
gateway webhook, or e-mail (`users.notify_channel`, `forewarn user contact`) — since at night nobody is watching the
pages. A ticket routed to the on-call rota (`tickets.on_call`) escalates to its department's on-call supervisor of
the moment, then the site manager."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from tickets import sla
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.lifecycle import ACTIVE_STATES
from tickets.milestones import LABEL
from tickets.notices import format_time, notify_user, render
from tickets.on_call import Rung, on_duty
from tickets.routing import site_manager, supervisor_of
from tickets.service import add_event
from tickets.staff_push import push_staff_notice
from tickets.titles import title_words
from tickets.work_order_sweep import sweep_work_orders

# (level, fraction of the clock, who): reminders first, then the ladder. A breach goes to the supervisor; if the
# ticket is still open at half as long again past its deadline, to the site manager.
LADDER = (("remind_50", 0.5, "owner"), ("remind_80", 0.8, "owner"),
          ("breach", 1.0, "supervisor"), ("breach_manager", 1.5, "manager"))
_LEVEL_TEXT = {"remind_50": "已过时限 50% / 50% of the time used", "remind_80": "已过时限 80% / 80% of the time used",
               "breach": "已超时，升级至主管 / breached, escalated to the supervisor",
               "breach_manager": "严重超时，升级至管理处 / long overdue, escalated to the site manager"}
ESCALATIONS = frozenset({"breach", "breach_manager"})  # told on the person's phone channel too
# How a staff member is reached besides in-app (recorded on the escalation's timeline row).
_CHANNEL = "SELECT notify_channel FROM users WHERE id = %s"


def sla_sweep(conn: psycopg.Connection, *, now: datetime, config: TicketConfig = DEFAULT_CONFIG,
              batch: int = 500) -> int:
    """Send the reminders and escalations that are due at `now`; returns how many were sent. Works through the
    tickets in pages of `batch`, one transaction per page; call it with an idle connection."""
    sent, last = 0, 0
    while True:
        with conn.transaction():
            rows = conn.execute(
                """SELECT id, state, category, severity, site_id, owner_id, created_at, respond_due, resolve_due,
                          title, sla_profile, department_id, routed_on_call, respond_met_at, resolve_met_at,
                          coalesce(respond_milestone, 'respond'), coalesce(resolve_milestone, 'resolve'),
                          coalesce(respond_from, created_at), coalesce(resolve_from, created_at)
                   FROM tickets WHERE state = ANY(%s) AND sla_paused_at IS NULL AND id > %s
                   ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
                ([s.value for s in ACTIVE_STATES], last, batch),
            ).fetchall()
            for row in rows:
                sent += _sweep_one(conn, row, now, config)
        if len(rows) < batch:
            break
        last = rows[-1][0]
    sent += sweep_work_orders(conn, now=now, config=config, batch=batch)  # other departments' own clocks
    for chase in (_chase_return_visits, _chase_mediations):
        after: int | None = 0
        while after is not None:
            with conn.transaction():
                count, after = chase(conn, now, config, batch, after)
                sent += count
    return sent


def _chase_return_visits(conn: psycopg.Connection, now: datetime, config: TicketConfig, batch: int,
                         after: int) -> tuple[int, int | None]:
    """Resolved tickets with a resident to ask: remind the owner at half the return-visit window, escalate to the
    supervisor when it has passed. Preventive tickets without complaints have nobody to visit."""
    rows = conn.execute(
        """SELECT t.id, t.owner_id, t.site_id, t.resolved_at, t.title FROM tickets t
           WHERE t.state = 'resolved' AND t.resolved_at <= %s
             AND (t.resident_id IS NOT NULL OR EXISTS (SELECT 1 FROM complaints c WHERE c.ticket_id = t.id))
             AND t.id > %s
           ORDER BY t.id LIMIT %s FOR UPDATE OF t SKIP LOCKED""",
        (now - config.return_visit_within / 2, after, batch),
    ).fetchall()
    sent = 0
    for ticket_id, owner, site_id, resolved_at, title in rows:
        due = resolved_at + config.return_visit_within
        for level, point, who in (("remind_50", resolved_at + config.return_visit_within / 2, "owner"),
                                  ("breach", due, "supervisor")):
            if point <= now:
                sent += _alert(conn, ticket_id, "return_visit", level, due,
                               _who(conn, who, owner, site_id, None, now), now, title, config)
    return sent, (rows[-1][0] if len(rows) == batch else None)


def _chase_mediations(conn: psycopg.Connection, now: datetime, config: TicketConfig, batch: int,
                      after: int) -> tuple[int, int | None]:
    """Open mediations: the ticket's clocks are paused while one lasts, so the mediation has a clock of its own, due
    `config.mediation_within` after its start (calendar time: a committee meets at weekends too), chased up the same
    ladder as the ticket's clocks (the owner, then the supervisor, then the site manager). Ending it stops the
    chase; a later mediation of the same ticket has its own due time, so its own alerts."""
    within = config.mediation_within
    rows = conn.execute(
        """SELECT m.id, m.ticket_id, m.started_at, t.owner_id, t.site_id, t.title, t.department_id,
                  t.routed_on_call
           FROM mediations m JOIN tickets t ON t.id = m.ticket_id
           WHERE m.ended_at IS NULL AND m.started_at <= %s AND t.state NOT IN ('closed', 'cancelled')
             AND m.id > %s
           ORDER BY m.id LIMIT %s FOR UPDATE OF t SKIP LOCKED""",
        (now - within * LADDER[0][1], after, batch),
    ).fetchall()
    sent = 0
    for _, ticket_id, started_at, owner, site_id, title, department, on_call in rows:
        due = started_at + within
        for level, fraction, who in LADDER:
            if started_at + within * fraction > now:
                break
            sent += _alert(conn, ticket_id, "mediation", level, due,
                           _who(conn, who, owner, site_id, department if on_call else None, now), now, title,
                           config, milestone="mediation")
    return sent, (rows[-1][0] if len(rows) == batch else None)


def _alert(conn: psycopg.Connection, ticket_id: int, clock: str, level: str, due: datetime, recipient: str | None,
           now: datetime, title: str, config: TicketConfig, *, milestone: str | None = None) -> int:
    """Record the alert once (the unique key is the idempotency) and tell the recipient; 1 if it was new. The
    note and text name the clock's milestone ("on site clock"), the row keeps the clock (respond, resolve)."""
    inserted = conn.execute(
        """INSERT INTO sla_alerts (ticket_id, clock, level, due, at, recipient) VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT DO NOTHING RETURNING 1""",
        (ticket_id, clock, level, due, now, recipient),
    ).fetchone()
    if inserted is None:
        return 0
    escalation = level in ESCALATIONS and recipient is not None
    channel = _channel(conn, recipient) if escalation else "app"
    name = LABEL.get(milestone or clock, f"{(milestone or clock).replace('_', ' ')} clock")  # 到场时限 / on site clock
    add_event(conn, ticket_id, f"sla_{level}", at=now, actor="forewarn", note=name,
              detail={"clock": clock, "milestone": milestone or clock, "due": due, "recipient": recipient,
                      "channel": channel})
    if recipient is None:
        return 1
    key = f"ticket:{ticket_id}:{clock}:{level}:{due}"
    label = f"{LABEL[milestone]}: " if milestone is not None and milestone in LABEL else ""
    fields = {"ticket": ticket_id, "summary": title_words(title, "zh-CN"), "level": label + _LEVEL_TEXT[level],
              "eta": format_time(due, config)}
    if escalation:
        title_text, body = render("sla", "zh-CN", **fields)
        push_staff_notice(conn, [recipient], ticket_id=ticket_id, kind="sla", title=title_text, body=body, key=key,
                          now=now)
    else:
        notify_user(conn, recipient, kind="sla", dedupe_key=key, now=now, ticket_id=ticket_id, **fields)
    return 1


def _channel(conn: psycopg.Connection, user_id: str | None) -> str:
    row = conn.execute(_CHANNEL, (user_id,)).fetchone()
    return str(row[0]) if row else "app"


def _sweep_one(conn: psycopg.Connection, row: tuple[Any, ...], now: datetime, config: TicketConfig) -> int:
    """Each clock runs until its milestone is met (tickets/milestones.py): both may run at once, e.g. a major
    complaint acknowledged with nobody on site escalates on its on-site clock while its plan clock runs too."""
    (ticket_id, _, category, severity, site_id, owner, _, respond_due, resolve_due, title, profile,
     department, on_call, respond_met, resolve_met, respond_milestone, resolve_milestone, respond_from,
     resolve_from) = row
    policy = config.policy(category, severity, profile)  # the profile it was opened with
    sent = 0
    for clock, start, due, met, working, milestone in (
            ("respond", respond_from, respond_due, respond_met, policy.respond.working, respond_milestone),
            ("resolve", resolve_from, resolve_due, resolve_met, policy.resolve.working, resolve_milestone)):
        if due is None or met is not None:
            continue
        for level, fraction, who in LADDER:  # measured from when the clock started (a reopen starts it again)
            point = sla.ladder_point(start, due, fraction, working, config.tz)
            if point > now:
                break
            sent += _alert(conn, ticket_id, clock, level, due,
                           _who(conn, who, owner, site_id, department if on_call else None, now), now, title,
                           config, milestone=milestone)
    return sent


def _who(conn: psycopg.Connection, who: str, owner: str | None, site_id: str, on_call_department: str | None,
         now: datetime) -> str | None:
    """The ladder's rung; a missing supervisor falls through to the site manager, so a breach is never lost. A
    ticket routed on call (`on_call_department` set) has the department's on-call supervisor at `now` as its
    supervisor, else the owner's own."""
    if who == "owner":
        return owner
    if who == "supervisor":
        return (on_duty(conn, on_call_department, now, Rung.SUPERVISOR) or supervisor_of(conn, owner)
                or site_manager(conn, site_id))
    return site_manager(conn, site_id)
