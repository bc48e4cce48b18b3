"""Pushing a work order to the engineers who should take it, the moment it is opened, moved to another department,
(re)assigned, or escalated to a more urgent fault of its device (`tickets.escalation`): its assignee, or every active
engineer of its department while it is unassigned.

Two ways, in the caller's transaction (so a rolled-back change pushes nothing): a staff notice per engineer through
the notice outbox (one home for delivery: in-app always, plus the engineer's own channel — `users.notify_channel`,
sms/wechat through the gateway webhook, e-mail — delivered when the platform has that channel configured), and a
`forewarn_events` NOTIFY that the live pages listen to (`tickets.events`).

A push is read on a phone, away from the pages, so it names things as the pages do, in both languages (staff accounts
have no language of their own yet): the fault or the complaint's point by name (`tickets.titles.title_words`), and
the tier ("困人 @ 1号楼 A梯｜重大", never "elevator entrapment @ …｜major")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg

from tickets.errors import InvalidInput, NotFound
from tickets.events import notify_staff_event
from tickets.notices import CHANNEL_FOR
from tickets.sla import DEFAULT_TZ
from tickets.taxonomy import TIER_NAMES
from tickets.titles import fault_name, title_words

# The work order as the push words it, and who gets it (assignee, or the department's engineers).
_WORK_ORDER = """SELECT w.id, w.ticket_id, w.department_id, w.assignee_id, t.title, t.severity, w.fault,
                        COALESCE(d.location, w.device_id, '') AS place,
                        CASE WHEN t.respond_met_at IS NULL THEN t.respond_due ELSE t.resolve_due END AS due
                 FROM work_orders w JOIN tickets t ON t.id = w.ticket_id LEFT JOIN devices d ON d.id = w.device_id
                 WHERE w.id = %s"""
_RECIPIENTS = """SELECT id, notify_channel,
                        CASE notify_channel WHEN 'email' THEN email WHEN 'sms' THEN phone WHEN 'wechat' THEN phone END
                 FROM users
                 WHERE active AND ((%(assignee)s::text IS NOT NULL AND id = %(assignee)s)
                       OR (%(assignee)s::text IS NULL AND department_id = %(department)s AND role = 'engineer'))
                 ORDER BY id"""
# One staff notice; its dedupe key makes a repeated push of the same change a no-op.
_NOTICE = """INSERT INTO notices (user_id, ticket_id, kind, lang, title, body, critical, dedupe_key, created_at)
             VALUES (%(user)s, %(ticket)s, %(kind)s, 'zh-CN', %(title)s, %(body)s, %(critical)s, %(key)s,
                     %(now)s)
             ON CONFLICT (user_id, dedupe_key) WHERE user_id IS NOT NULL DO NOTHING RETURNING id"""
# How a staff member is reached besides in-app.
_SET_CONTACT = """UPDATE users SET notify_channel = %(channel)s, phone = COALESCE(%(phone)s, phone),
                                    email = COALESCE(%(email)s, email)
                  WHERE id = %(user)s AND role <> 'resident' RETURNING notify_channel, phone, email"""
_OUTBOX = """INSERT INTO outbox (notice_id, channel, address, next_attempt_at, created_at)
             VALUES (%s, %s, %s, %s, %s)"""

# Staff notices carry both languages: staff accounts have no language of their own yet.
_WORDS = {
    "new": ("新派工单 #{wo}：{title_zh} / New work order #{wo}: {title_en}",
            "{place}｜{severity}｜截止 due {due}"),
    "transferred": ("转来派工单 #{wo}：{title_zh} / Work order #{wo} moved to your department: {title_en}",
                    "{place}｜{severity}｜截止 due {due}"),
    "assigned": ("指派给您的派工单 #{wo}：{title_zh} / Work order #{wo} assigned to you: {title_en}",
                 "{place}｜{severity}｜截止 due {due}"),
    "escalated": ("派工单 #{wo} 升级为紧急：{fault_zh} / Work order #{wo} now urgent: {fault_en}",
                  "{place}｜{severity}｜截止 due {due}｜{title_zh}"),
}


@dataclass(frozen=True, slots=True)
class Push:
    work_order_id: int
    user_ids: tuple[str, ...]


def push_work_order(conn: psycopg.Connection, work_order_id: int, *, reason: str, now: datetime,
                    tz: ZoneInfo = DEFAULT_TZ) -> Push:
    """Tell the engineers who should take the work order (see the module docstring). `reason`: new, transferred,
    assigned or escalated. Returns who was told."""
    row = conn.execute(_WORK_ORDER, (work_order_id,)).fetchone()
    if row is None:
        return Push(work_order_id, ())
    wo, ticket_id, department, assignee, title, severity, fault, place, due = row
    recipients = conn.execute(_RECIPIENTS, {"assignee": assignee, "department": department}).fetchall()
    title_t, body_t = _WORDS[reason]
    due_text = due.astimezone(tz).strftime("%Y-%m-%d %H:%M") if due else "—"
    zh, en = TIER_NAMES.get(severity, (severity, severity))
    fields = {"wo": wo, "title_zh": title_words(title, "zh-CN"), "title_en": title_words(title, "en"), "place": place,
              "severity": f"{zh} {en}", "due": due_text, "fault_zh": fault_name(fault or "", "zh-CN"),
              "fault_en": fault_name(fault or "", "en")}
    key = f"work_order:{wo}:{reason}:{assignee or department}:{now.isoformat()}"
    told: list[str] = []
    for user_id, channel, address in recipients:
        if _notice(conn, user_id, channel, address, ticket_id=ticket_id, kind="work_order",
                   title=title_t.format(**fields), body=body_t.format(**fields), critical=severity == "major",
                   key=key, now=now):
            told.append(user_id)
    if assignee is not None:
        notify_staff_event(conn, type="work_order", id=wo, user_id=assignee, action=reason)
    else:
        notify_staff_event(conn, type="work_order", id=wo, department_id=department, action=reason)
    return Push(work_order_id, tuple(told))


def _notice(conn: psycopg.Connection, user_id: str, channel: str, address: str | None, *, ticket_id: int, kind: str,
            title: str, body: str, critical: bool, key: str, now: datetime) -> bool:
    """One staff notice and its deliveries (in-app, and the person's own channel); False if the key was used."""
    notice = conn.execute(_NOTICE, {"user": user_id, "ticket": ticket_id, "kind": kind, "title": title, "body": body,
                                    "critical": critical, "key": key, "now": now}).fetchone()
    if notice is None:
        return False
    conn.execute(_OUTBOX, (notice[0], "in_app", None, now, now))
    if channel != "app":
        conn.execute(_OUTBOX, (notice[0], CHANNEL_FOR[channel], address, now, now))
    return True


_STAFF_CONTACT = """SELECT id, notify_channel,
                           CASE notify_channel WHEN 'email' THEN email WHEN 'sms' THEN phone
                                               WHEN 'wechat' THEN phone END
                    FROM users WHERE id = ANY(%s) AND active ORDER BY id"""


def push_staff_notice(conn: psycopg.Connection, user_ids: list[str], *, ticket_id: int, kind: str, title: str,
                      body: str, key: str, now: datetime, critical: bool = True) -> tuple[str, ...]:
    """Tell staff about a ticket (a group risk, a sensitive complaint) the way work orders are pushed: a notice
    each, in-app and on their own channel. `key` makes it once per person: a repeat is a no-op. Returns who was
    told this time."""
    told = [user_id for user_id, channel, address in conn.execute(_STAFF_CONTACT, (user_ids,)).fetchall()
            if _notice(conn, user_id, channel, address, ticket_id=ticket_id, kind=kind, title=title, body=body,
                       critical=critical, key=key, now=now)]
    for user_id in told:
        notify_staff_event(conn, type="ticket", id=ticket_id, user_id=user_id, action=kind)
    return tuple(told)


STAFF_CHANNELS = ("app", "sms", "wechat", "email")


def set_staff_contact(conn: psycopg.Connection, user_id: str, *, channel: str, phone: str | None = None,
                      email: str | None = None) -> tuple[str, str | None, str | None]:
    """Set how a staff member's work-order pushes leave besides in-app: app (in-app only), sms or wechat (through
    the gateway webhook, to their phone) or email. A channel without its address is refused. Returns
    (channel, phone, email) as stored."""
    if channel not in STAFF_CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}; use one of: {', '.join(STAFF_CHANNELS)}")
    row = conn.execute(_SET_CONTACT, {"channel": channel, "phone": phone, "email": email, "user": user_id}).fetchone()
    if row is None:
        raise NotFound(f"no staff user {user_id!r}")
    needed = {"sms": (row[1], "--phone"), "wechat": (row[1], "--phone"), "email": (row[2], "--email")}.get(channel)
    if needed is not None and not needed[0]:
        raise InvalidInput(f"{channel} needs an address: give {needed[1]}")
    return row[0], row[1], row[2]
