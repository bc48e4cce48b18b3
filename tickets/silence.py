"""Silence groups: several devices of one building falling silent together are one event — a likely power cut or
network loss in the building — not one monitoring fault each.

The rule (docs/lifecycle.md "Silence groups"; the numbers are `TicketConfig.silence_*`): the `device_offline`
incidents of one building whose silences began within `silence_window` of each other form a group once there are at
least `threshold(...)` of them; a building's devices in a planned maintenance window neither count nor are counted
(their alarms open no incident, and they are left out of the building's total). The group opens one building-level
incident (fault `building_silent`) with one ticket and one work order for engineering; the members' incidents are
linked to it (`root_incident_id`, `silence_group_id`), and a member that had already opened a ticket of its own
(it fell silent first, when it still looked alone) has that ticket merged into the group's if nobody has picked it
up. While the group is open, every further device of the building that falls silent joins it.

Residents are warned only once the group has been silent for `silence_hold` (`warn_due_groups`, a scheduler job, and
any member joining after that): exactly the residents served by the group's silent lifts and water devices, through
the normal notice path (quiet hours apply: the evidence is indirect, so the notice is not critical). When the last
member reports again the group resolves, its incident recovers, and the residents who were warned hear "restored";
a blip over before the hold time has warned nobody and leaves its ticket as the record for engineering. A building
back but for a device or two (`release_stragglers`) resolves too, and those devices become lone silent devices.

A lone silent device is not this module's business: it keeps its own ticket for engineering and warns nobody.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import psycopg

from detectors.alarm import DEVICE_OFFLINE
from tickets.classify import Category, Classification, Tier
from tickets.config import TicketConfig
from tickets.lifecycle import TicketEvent, TicketState
from tickets.names import building_name
from tickets.notices import ADDRESS, LANGUAGE, Recipient, format_time, notify_residents
from tickets.service import add_event, create_ticket, get_ticket
from tickets.transitions import transition

ACTOR = "forewarn"
SILENCE_FAULT = DEVICE_OFFLINE  # the member alarms
GROUP_FAULT = "building_silent"  # the building-level incident and its ticket
# What residents lose with a building's power: the lifts and the pumped water. A silent door reader locks or frees
# its door by its own fail-safe, which a notice cannot tell; it counts toward the group but is not announced.
SERVICE_KINDS = ("elevator", "water")
SUMMARY = "疑似停电或断网 / likely power cut or network loss"


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    building_id: str
    since: datetime
    warned_at: datetime | None
    incident_id: int
    ticket_id: int
    notices: int = 0  # residents warned by the call that returned it


_COLUMNS = "id, building_id, since, warned_at, incident_id, ticket_id"
# The building's open group, locked: its members join and leave one at a time.
_OPEN_GROUP = f"SELECT {_COLUMNS} FROM silence_groups WHERE building_id = %s AND status = 'open' FOR UPDATE"
# Open device_offline incidents of the building, not yet grouped nor explained by another root, that began within
# the window before this one (the one being raised included): the candidates for a new group, first silent first.
_CANDIDATES = """SELECT i.id, i.device_id, i.ticket_id FROM incidents i JOIN devices d ON d.id = i.device_id
    WHERE d.building_id = %(building)s AND i.fault = %(fault)s AND i.status = 'open'
      AND i.silence_group_id IS NULL AND i.root_incident_id IS NULL AND i.since >= %(from)s
    ORDER BY i.since, i.id"""
# The building's monitored devices at `now`: active ones not in a planned maintenance window.
_MONITORED = """SELECT count(*) FROM devices d WHERE d.building_id = %(building)s AND d.active
    AND NOT EXISTS (SELECT 1 FROM maintenance_windows w WHERE w.device_id = d.id
                    AND w.starts_at <= %(now)s AND w.ends_at > %(now)s)"""
# Residents served by the given devices, with the device kinds that serve them.
_SERVED = f"""SELECT DISTINCT r.id, r.unit_id, {LANGUAGE}, r.channel, {ADDRESS}, d.kind
    FROM devices d JOIN device_units du ON du.device_id = d.id JOIN residents r ON r.unit_id = du.unit_id
    WHERE d.id = ANY(%s) AND r.active ORDER BY r.id"""


def threshold(monitored: int, config: TicketConfig) -> int:
    """How many devices of a building with `monitored` devices must fall silent together to be a group: the
    configured count, or the configured share of the building if that is fewer, and never fewer than two (one
    device alone is a lone silent device, whatever the share says).

    >>> from tickets.config import TicketConfig
    >>> [threshold(n, TicketConfig()) for n in (1, 2, 4, 8, 20)]
    [2, 2, 2, 3, 3]
    """
    return max(2, min(config.silence_devices, math.ceil(config.silence_share * monitored)))


def group_silence(conn: psycopg.Connection, *, incident_id: int, device_id: str, site_id: str, building_id: str,
                  since: datetime, now: datetime, config: TicketConfig) -> Group | None:
    """A device of `building_id` fell silent (its `device_offline` incident `incident_id` was just inserted, not yet
    placed on a ticket): join the building's open group, or open one if enough of its devices are silent together.
    None when it is alone: the caller gives it a ticket of its own, as before."""
    conn.execute("SELECT 1 FROM buildings WHERE id = %s FOR UPDATE", (building_id,))  # one group decision at a time
    row = conn.execute(_OPEN_GROUP, (building_id,)).fetchone()
    if row is not None:
        group = Group(*row)
        _link(conn, group, incident_id, device_id, None, now, config)
        return _warn_if_due(conn, group, now, config)
    members = conn.execute(_CANDIDATES, {"building": building_id, "fault": SILENCE_FAULT,
                                         "from": since - config.silence_window}).fetchall()
    monitored = (conn.execute(_MONITORED, {"building": building_id, "now": now}).fetchone() or (0,))[0]
    if len(members) < threshold(int(monitored), config):
        return None
    group = _open(conn, [m[1] for m in members], site_id, building_id, int(monitored), now, config)
    for member_incident, member_device, own_ticket in members:
        _link(conn, group, int(member_incident), member_device, own_ticket, now, config)
    return _warn_if_due(conn, group, now, config)


def _open(conn: psycopg.Connection, devices: list[str], site_id: str, building_id: str, monitored: int,
          now: datetime, config: TicketConfig) -> Group:
    """The building-level incident, its ticket (dispatched: the work order goes to engineering) and the group."""
    name = building_name(conn, building_id)
    first = conn.execute(
        "SELECT min(since) FROM incidents WHERE fault = %s AND status = 'open' AND device_id = ANY(%s)",
        (SILENCE_FAULT, devices)).fetchone()
    since = first[0] if first and first[0] else now
    summary = (f"{len(devices)} of {monitored} devices of {name} went offline within "
               f"{config.silence_window.total_seconds():.0f} s ({', '.join(devices)}): likely a power cut or "
               f"network loss in the building")
    evidence = {"summary": summary, "metric": "devices_offline", "value": len(devices), "baseline": monitored,
                "score": None, "readings": [], "devices": devices}
    # The incident needs a device row: the first silent lift or water device (what residents lose), else the first.
    anchor = conn.execute("SELECT id FROM devices WHERE id = ANY(%s) AND kind = ANY(%s) ORDER BY array_position(%s, id)"
                          " LIMIT 1", (devices, list(SERVICE_KINDS), devices)).fetchone()
    incident = conn.execute(
        """INSERT INTO incidents (device_id, fault, status, severity, detector, evidence, since, detected_at,
               updated_at) VALUES (%s, %s, 'open', 'critical', 'silence-group', %s, %s, %s, %s) RETURNING id""",
        (anchor[0] if anchor else devices[0], GROUP_FAULT, json.dumps(evidence, default=str), since, now, now),
    ).fetchone()
    assert incident is not None
    # Major: the lifts stopped with the power may hold passengers; staff on site within the major tier's limit.
    classification = Classification(Category.FACILITY, Tier.MAJOR, None, None, (GROUP_FAULT,))
    ticket_id = create_ticket(
        conn, source="preventive", classification=classification,
        title=f"疑似停电或断网 / likely power cut or network loss @ {name}", description=summary, site_id=site_id,
        building_id=building_id, now=now, reported_at=since, config=config, actor=ACTOR, fault=GROUP_FAULT,
        incident_id=int(incident[0]),
    )
    transition(conn, ticket_id, TicketEvent.DISPATCH, actor=ACTOR, now=now, config=config)
    conn.execute("UPDATE incidents SET ticket_id = %s WHERE id = %s", (ticket_id, incident[0]))
    row = conn.execute(
        f"""INSERT INTO silence_groups (site_id, building_id, status, since, opened_at, incident_id, ticket_id)
            VALUES (%s, %s, 'open', %s, %s, %s, %s) RETURNING {_COLUMNS}""",
        (site_id, building_id, since, now, incident[0], ticket_id),
    ).fetchone()
    assert row is not None
    add_event(conn, ticket_id, "silence_group_opened", at=now, actor=ACTOR, note=summary,
              detail={"group_id": row[0], "devices": devices, "monitored": monitored})
    return Group(*row)


def _link(conn: psycopg.Connection, group: Group, incident_id: int, device_id: str, own_ticket: int | None,
          now: datetime, config: TicketConfig) -> None:
    """A member's incident goes onto the group; a ticket it opened on its own, that nobody has picked up and that
    holds nothing else, is merged into the group's (cancelled as a duplicate), so engineering gets one work order."""
    conn.execute("UPDATE incidents SET root_incident_id = %s, ticket_id = %s, silence_group_id = %s WHERE id = %s",
                 (group.incident_id, group.ticket_id, group.id, incident_id))
    add_event(conn, group.ticket_id, "alarm_attached", at=now, actor=ACTOR,
              note=f"{device_id} offline: part of this building's silence",
              detail={"incident_id": incident_id, "device_id": device_id, "fault": SILENCE_FAULT})
    if own_ticket is None or own_ticket == group.ticket_id:
        return
    add_event(conn, own_ticket, "alarm_detached", at=now, actor=ACTOR,
              note=f"moved to #{group.ticket_id}: several devices of the building went silent together",
              detail={"incident_id": incident_id, "device_id": device_id, "fault": SILENCE_FAULT})
    ticket = get_ticket(conn, own_ticket)
    others = (conn.execute("SELECT count(*) FROM incidents WHERE ticket_id = %s AND status = 'open'",
                           (own_ticket,)).fetchone() or (0,))[0]
    if ticket.state == TicketState.DISPATCHED.value and ticket.incident_id == incident_id and not others:
        transition(conn, own_ticket, TicketEvent.CANCEL, actor=ACTOR, now=now, config=config,
                   note=f"merged into #{group.ticket_id}: part of a likely power cut or network loss")


def _served(conn: psycopg.Connection, devices: list[str]) -> dict[frozenset[str], list[Recipient]]:
    """The residents the devices serve, grouped by the set of services (device kinds) those devices give them."""
    kinds: dict[str, set[str]] = defaultdict(set)
    who: dict[str, Recipient] = {}
    for rid, unit, lang, channel, address, kind in conn.execute(_SERVED, (devices,)):
        who[rid] = Recipient(rid, unit, lang, channel, address)
        kinds[rid].add(kind)
    by_services: dict[frozenset[str], list[Recipient]] = defaultdict(list)
    for rid, recipient in who.items():
        by_services[frozenset(kinds[rid])].append(recipient)
    return by_services


def _warn(conn: psycopg.Connection, group: Group, now: datetime, config: TicketConfig) -> int:
    """The early warning to the residents served by the group's lifts and water devices still silent."""
    silent = [r[0] for r in conn.execute(
        """SELECT i.device_id FROM incidents i JOIN devices d ON d.id = i.device_id
           WHERE i.silence_group_id = %s AND i.status = 'open' AND d.kind = ANY(%s)""",
        (group.id, list(SERVICE_KINDS)))]
    ticket = get_ticket(conn, group.ticket_id)
    place = building_name(conn, group.building_id)
    sent = 0
    for services, recipients in _served(conn, silent).items():
        sent += notify_residents(
            conn, recipients, kind="warning", dedupe_key=f"incident:{group.incident_id}:warning", now=now,
            config=config, critical=False, incident_id=group.incident_id, ticket_id=group.ticket_id,
            device_kind="+".join(sorted(services)), place=place, summary=SUMMARY, fault=GROUP_FAULT,
            eta=format_time(ticket.resolve_due, config))
    conn.execute("UPDATE silence_groups SET warned_at = coalesce(warned_at, %s) WHERE id = %s", (now, group.id))
    return sent


def _warn_if_due(conn: psycopg.Connection, group: Group, now: datetime, config: TicketConfig) -> Group:
    """Warn now if the group has outlasted the hold (a member joining late warns the residents it adds)."""
    if group.warned_at is None and now - group.since < config.silence_hold:
        return group
    sent = _warn(conn, group, now, config)
    return Group(group.id, group.building_id, group.since, group.warned_at or now, group.incident_id,
                 group.ticket_id, sent)


def warn_due_groups(conn: psycopg.Connection, *, now: datetime, config: TicketConfig) -> int:
    """The scheduler's job: warn the residents of every open group silent for the hold time that has warned nobody
    yet; returns how many residents were warned. One transaction; safe to run twice (notices are deduplicated)."""
    sent = 0
    with conn.transaction():
        rows = conn.execute(
            f"""SELECT {_COLUMNS} FROM silence_groups WHERE status = 'open' AND warned_at IS NULL AND since <= %s
                ORDER BY id FOR UPDATE SKIP LOCKED""", (now - config.silence_hold,)).fetchall()
        for row in rows:
            sent += _warn(conn, Group(*row), now, config)
    return sent


def member_back(conn: psycopg.Connection, group_id: int, *, now: datetime, config: TicketConfig) -> int:
    """A member reported again (its incident already recovered): when it was the last one silent, the group
    resolves, its incident recovers, and the residents who were warned hear "restored". Returns the notices sent."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM silence_groups WHERE id = %s AND status = 'open' FOR UPDATE",
                       (group_id,)).fetchone()
    if row is None:
        return 0
    group = Group(*row)
    still = (conn.execute("SELECT count(*) FROM incidents WHERE silence_group_id = %s AND status = 'open'",
                          (group.id,)).fetchone() or (0,))[0]
    if still:
        return 0
    return _resolve(conn, group, now, config, "every device of the group is reporting again")


# Open groups some of whose members are back, the last of them at least the hold time ago: the building is back,
# and whoever is still silent may be a device of its own that did not survive the cut.
_SETTLING = f"""SELECT {_COLUMNS} FROM silence_groups g WHERE g.status = 'open'
    AND (SELECT max(i.recovered_at) FROM incidents i WHERE i.silence_group_id = g.id) <= %s
    ORDER BY g.id FOR UPDATE SKIP LOCKED"""


def release_stragglers(conn: psycopg.Connection, *, now: datetime, config: TicketConfig) -> list[int]:
    """Resolve the groups whose building is back but for fewer devices than make a group, that have stayed silent
    for the hold time since the last member returned (a lift controller that tripped with the power, a box that
    did not survive it): the residents who were warned hear "restored", and the stragglers' incidents leave the
    group (ids returned) for the caller to give each a ticket of its own, as lone silent devices."""
    released: list[int] = []
    for row in conn.execute(_SETTLING, (now - config.silence_hold,)).fetchall():
        group = Group(*row)
        silent = conn.execute("""SELECT id, device_id FROM incidents WHERE silence_group_id = %s
                                 AND status = 'open' ORDER BY id""", (group.id,)).fetchall()
        monitored = (conn.execute(_MONITORED, {"building": group.building_id, "now": now}).fetchone() or (0,))[0]
        if len(silent) >= threshold(int(monitored), config):
            continue  # still a building-wide silence: some devices came back, most did not
        for incident_id, device_id in silent:
            conn.execute("UPDATE incidents SET root_incident_id = NULL, ticket_id = NULL WHERE id = %s",
                         (incident_id,))
            add_event(conn, group.ticket_id, "alarm_detached", at=now, actor=ACTOR,
                      note=f"{device_id} still offline after the building came back: a ticket of its own",
                      detail={"incident_id": incident_id, "device_id": device_id, "fault": SILENCE_FAULT})
            released.append(int(incident_id))
        _resolve(conn, group, now, config, f"the building is back; {len(silent)} device(s) still offline get "
                 "tickets of their own")
    return released


def _resolve(conn: psycopg.Connection, group: Group, now: datetime, config: TicketConfig, note: str) -> int:
    """The group is over: it and its incident are closed, and the residents who were warned hear "restored"."""
    conn.execute("UPDATE silence_groups SET status = 'resolved', resolved_at = %s WHERE id = %s", (now, group.id))
    conn.execute("UPDATE incidents SET status = 'recovered', recovered_at = %s, updated_at = %s WHERE id = %s",
                 (now, now, group.incident_id))
    add_event(conn, group.ticket_id, "silence_group_resolved", at=now, actor=ACTOR, note=note,
              detail={"group_id": group.id, "warned": group.warned_at is not None})
    if group.warned_at is None:
        return 0  # a blip: nobody was told, so nobody is told it is over
    warned = {r[0] for r in conn.execute(
        "SELECT resident_id FROM notices WHERE incident_id = %s AND kind = 'warning' AND resident_id IS NOT NULL",
        (group.incident_id,))}
    devices = [r[0] for r in conn.execute(
        """SELECT i.device_id FROM incidents i JOIN devices d ON d.id = i.device_id
           WHERE i.silence_group_id = %s AND d.kind = ANY(%s)""", (group.id, list(SERVICE_KINDS)))]
    place = building_name(conn, group.building_id)
    sent = 0
    for services, recipients in _served(conn, devices).items():
        told = [r for r in recipients if r.resident_id in warned]
        sent += notify_residents(
            conn, told, kind="restored", dedupe_key=f"incident:{group.incident_id}:restored", now=now,
            config=config, critical=False, incident_id=group.incident_id, ticket_id=group.ticket_id,
            device_kind="+".join(sorted(services)), place=place)
    return sent
