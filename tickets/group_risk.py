"""Group risk and sensitivity (issue #16 point 8; handbook 004: complaints left alone become group incidents,
群体性事件). Run inside complaint intake's transaction, after the complaint row is written:

- `check_group_risk`: N distinct households (units) complaining about one fault point in one building within the
  window, none folded into an incident, raise ONE `group_risks` row; the first complaint's ticket is made major
  through `reclassify` (clocks recomputed, an event row), every counted ticket is linked to the flag, and the site's
  manager(s) get one staff notice. Later households join the flag while its lead ticket is neither closed nor
  cancelled: no second flag or notice. Once the lead is closed, a new burst of households raises a new flag.
- `flag_sensitive`: a complaint whose words threaten the media, a lawyer or collective action marks its ticket
  sensitive, brings the response deadline forward and tells the owner's supervisor (else the manager) once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from tickets.config import TicketConfig
from tickets.lifecycle import RESPONSE_PENDING
from tickets.names import building_name
from tickets.review.definitions import point_name
from tickets.routing import site_manager, supervisor_of
from tickets.sensitivity import Sensitivity
from tickets.service import add_event
from tickets.staff_push import push_staff_notice
from tickets.titles import title_words

SYSTEM_ACTOR = "system:group_risk"

# One intake at a time per building and point decides whether a flag is raised, so two concurrent fifth
# complaints cannot both raise one.
_SQL_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('group_risk:' || %s || ':' || %s, 0))"
# The flag still live for the building and point: its lead ticket is neither closed nor cancelled (the manager's
# dashboard lists the same flags). It lives as long as its lead, not only its window: households complaining days
# later about a riser still being fixed join it, and once the lead is closed a new burst is a new flag.
_SQL_LIVE_FLAG = """SELECT g.id FROM group_risks g JOIN tickets t ON t.id = g.ticket_id
                    WHERE g.building_id = %(building)s AND g.point = %(point)s
                      AND t.state NOT IN ('closed', 'cancelled')
                    ORDER BY g.raised_at DESC LIMIT 1"""
# Complaints about the point in the building within the window that no incident absorbed and no earlier flag
# counted (its lead closed), one per household (its earliest), oldest first.
_SQL_HOUSEHOLDS = """SELECT DISTINCT ON (c.unit_id) c.unit_id, c.ticket_id, c.reported_at
                     FROM complaints c JOIN units u ON u.id = c.unit_id JOIN tickets t ON t.id = c.ticket_id
                     WHERE u.building_id = %(building)s AND c.point = %(point)s AND NOT c.folded
                       AND t.group_risk_id IS NULL
                       AND c.reported_at > %(since)s AND c.reported_at <= %(at)s
                     ORDER BY c.unit_id, c.reported_at"""
_SQL_RAISE = """INSERT INTO group_risks (site_id, building_id, point, ticket_id, households, first_at, raised_at)
                VALUES (%(site)s, %(building)s, %(point)s, %(ticket)s, %(households)s, %(first)s, %(now)s)
                RETURNING id"""
_SQL_LINK = "UPDATE tickets SET group_risk_id = %s WHERE id = ANY(%s) AND group_risk_id IS NULL"
_SQL_MANAGERS = "SELECT user_id FROM site_managers WHERE site_id = %s ORDER BY user_id"
# Marks the ticket sensitive once; the response deadline moves earlier only, and only while nobody has responded
# (since it was opened, reopened or handed to another department: tickets.lifecycle.RESPONSE_PENDING).
_SQL_SENSITIVE = """UPDATE tickets SET sensitive = true, version = version + 1,
                        respond_due = CASE WHEN state = ANY(%(pending)s)
                                           THEN LEAST(respond_due, %(due)s) ELSE respond_due END
                    WHERE id = %(ticket)s AND NOT sensitive RETURNING owner_id, site_id, respond_due, title"""


@dataclass(frozen=True, slots=True)
class GroupRisk:
    id: int
    ticket_id: int
    households: int
    raised: bool  # False: the complaint joined a flag already raised


def check_group_risk(conn: psycopg.Connection, *, ticket_id: int, site_id: str, building_id: str, point: str,
                     reported_at: datetime, now: datetime, config: TicketConfig) -> GroupRisk | None:
    """The flag this (unfolded) complaint raised or joined, or None while fewer households than the threshold
    have complained. See the module docstring."""
    from tickets.complaints import reclassify  # complaints calls this module

    since = reported_at - config.group_risk_window
    conn.execute(_SQL_LOCK, (building_id, point))
    live = conn.execute(_SQL_LIVE_FLAG, {"building": building_id, "point": point}).fetchone()
    if live is not None:
        conn.execute(_SQL_LINK, (live[0], [ticket_id]))
        return GroupRisk(int(live[0]), ticket_id, 0, raised=False)
    rows = conn.execute(_SQL_HOUSEHOLDS, {"building": building_id, "point": point, "since": since,
                                          "at": reported_at}).fetchall()
    if len(rows) < config.group_risk_households:
        return None
    first = min(rows, key=lambda r: r[2])
    lead = int(first[1])
    row = conn.execute(_SQL_RAISE, {"site": site_id, "building": building_id, "point": point, "ticket": lead,
                                    "households": len(rows), "first": first[2], "now": now}).fetchone()
    assert row is not None
    flag = int(row[0])
    conn.execute(_SQL_LINK, (flag, sorted({int(r[1]) for r in rows})))
    note = f"群体风险 group risk: {len(rows)} households, {point}, building {building_id}"
    add_event(conn, lead, "group_risk", at=now, actor=SYSTEM_ACTOR, note=note,
              detail={"group_risk_id": flag, "households": len(rows), "point": point, "building_id": building_id})
    severity = conn.execute("SELECT severity FROM tickets WHERE id = %s", (lead,)).fetchone()
    if severity is not None and severity[0] != "major":
        reclassify(conn, lead, category=None, severity="major", by_user=SYSTEM_ACTOR, note=note, now=now,
                   config=config)
    managers = [r[0] for r in conn.execute(_SQL_MANAGERS, (site_id,))] or [m for m in [site_manager(conn, site_id)]
                                                                          if m]
    push_staff_notice(
        conn, managers, ticket_id=lead, kind="group_risk", key=f"group_risk:{flag}", now=now,
        title=f"群体投诉风险 #{lead}：{len(rows)} 户 / Group complaint risk on ticket #{lead}: {len(rows)} households",
        body=f"{building_name(conn, building_id)}｜{point_name(point, 'zh-CN')} {point_name(point, 'en')}｜"
             f"{first[2].astimezone(config.tz):%Y-%m-%d %H:%M} 起 since")
    return GroupRisk(flag, lead, len(rows), raised=True)


def flag_sensitive(conn: psycopg.Connection, *, ticket_id: int, complaint_id: int, found: Sensitivity,
                   now: datetime, config: TicketConfig) -> bool:
    """Mark the ticket sensitive (once), bring its response deadline to at most `config.sensitive_respond` from
    now, write an event row and tell the owner's supervisor (else the site manager) once. True if this call
    marked it."""
    row = conn.execute(_SQL_SENSITIVE, {"ticket": ticket_id, "due": now + config.sensitive_respond,
                                        "pending": [state.value for state in RESPONSE_PENDING]}).fetchone()
    if row is None:
        return False
    owner, site_id, respond_due, title = row
    add_event(conn, ticket_id, "sensitive", at=now, actor=SYSTEM_ACTOR, note=", ".join(found.matched),
              detail={"complaint_id": complaint_id, "rules": list(found.rules), "matched": list(found.matched),
                      "respond_due": respond_due.isoformat() if respond_due else None})
    told = supervisor_of(conn, owner) or site_manager(conn, site_id)
    if told:
        push_staff_notice(
            conn, [told], ticket_id=ticket_id, kind="sensitive", key=f"ticket:{ticket_id}:sensitive", now=now,
            title=f"敏感投诉 #{ticket_id}：{title_words(title, 'zh-CN')} / Sensitive complaint #{ticket_id}",
            body=f"{'、'.join(found.matched)}｜响应截止 respond by "
                 f"{respond_due.astimezone(config.tz):%Y-%m-%d %H:%M}" if respond_due else "、".join(found.matched))
    return True
