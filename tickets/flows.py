"""What happens when an alarm arrives or an engineer gives a verdict: incidents (one open per device fault,
by a partial unique index), preventive tickets with their work orders, notices to exactly the residents the
device serves, and labels for the detectors. Each call is one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import psycopg

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.classify import classify_alarm, warns_residents
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import ConcurrentChange, InvalidInput, NotFound
from tickets.escalation import escalate
from tickets.lifecycle import TicketEvent, TicketState, next_state
from tickets.maintenance import NEVER_HELD_BACK, active_window, hold_back, hold_back_clear
from tickets.notices import ADDRESS, LANGUAGE, Recipient, format_time, notify_residents, residents_of_device
from tickets.service import add_event, create_ticket, get_ticket
from tickets.silence import GROUP_FAULT, SILENCE_FAULT, group_silence, member_back, release_stragglers, warn_due_groups
from tickets.symptoms import unexplaining_faults
from tickets.titles import fault_title
from tickets.transitions import transition

_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}  # StrEnum: stored values look up too
ACTOR = "forewarn"  # the actor recorded on events the system itself takes


@dataclass(frozen=True, slots=True)
class HandleResult:
    action: str  # opened | reopened | joined | attached | updated | recovered | ignored | suppressed
    incident_id: int | None = None
    ticket_id: int | None = None
    notices: int = 0


@dataclass(frozen=True, slots=True)
class _Device:
    id: str
    kind: str
    site_id: str
    building_id: str | None
    location: str

    def title(self, fault: str) -> str:
        """The title of a ticket about `fault` of this device ("elevator entrapment @ …")."""
        return fault_title(self.kind, fault, self.location or self.id)


def handle_alarm(conn: psycopg.Connection, alarm: Alarm, *, now: datetime,
                 config: TicketConfig = DEFAULT_CONFIG) -> HandleResult:
    """Turn one alarm transition into incidents, tickets, work orders and notices, in one transaction."""
    with conn.transaction():
        row = conn.execute("SELECT id, kind, site_id, building_id, location FROM devices WHERE id = %s",
                           (alarm.device_id,)).fetchone()
        if row is None:
            raise NotFound(f"alarm for unknown device {alarm.device_id!r}")
        device = _Device(*row)
        if alarm.state is AlarmState.CLEARED:
            return _cleared(conn, alarm, device, now, config)
        if alarm.state is AlarmState.UPDATED:
            updated = _updated(conn, alarm, device, now, config)
            if updated is not None:
                return updated
        window = active_window(conn, alarm.device_id, alarm.ts)
        if window is not None and alarm.fault in NEVER_HELD_BACK:
            return _raised(conn, alarm, device, now, config, window=window.id)
        if window is not None and hold_back(conn, alarm, window):
            return HandleResult("suppressed")
        return _raised(conn, alarm, device, now, config)


def _root_of(conn: psycopg.Connection, alarm: Alarm) -> tuple[int, int] | None:
    """(incident, ticket) of the open root incident the alarm names as its cause, if any (a root is placed on a
    ticket in the transaction that opens it: one without would have nowhere to attach the alarm)."""
    if not alarm.parent_device_id:
        return None
    return conn.execute(
        """SELECT id, ticket_id FROM incidents WHERE device_id = %s AND status = 'open' AND fault <> %s
           AND root_incident_id IS NULL AND ticket_id IS NOT NULL ORDER BY detected_at DESC LIMIT 1""",
        (alarm.parent_device_id, GROUP_FAULT),
    ).fetchone()


def _raised(conn: psycopg.Connection, alarm: Alarm, device: _Device, now: datetime,
            config: TicketConfig, *, window: int | None = None) -> HandleResult:
    """A new fault, or another raise of an open one. `window`: the planned maintenance window the device is in, for
    a fault never held back by one (`tickets.maintenance.NEVER_HELD_BACK`): engineering only, no resident notice."""
    root = _root_of(conn, alarm)
    for _ in range(2):
        inserted = conn.execute(
            """INSERT INTO incidents (device_id, fault, status, severity, detector, evidence, since, detected_at,
                   updated_at, root_incident_id, ticket_id)
               VALUES (%s, %s, 'open', %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (device_id, fault) WHERE status = 'open' DO NOTHING RETURNING id""",
            (alarm.device_id, alarm.fault, alarm.severity.value, alarm.detector,
             json.dumps(alarm.evidence.as_dict(), default=str), alarm.since, now, now, root[0] if root else None,
             root[1] if root else None),
        ).fetchone()
        if inserted is not None:
            incident_id = int(inserted[0])
            if root is None and alarm.fault == SILENCE_FAULT and device.building_id is not None:
                # Several devices of the building silent together are one event (tickets/silence.py).
                group = group_silence(conn, incident_id=incident_id, device_id=device.id, site_id=device.site_id,
                                      building_id=device.building_id, since=alarm.since, now=now, config=config)
                if group is not None:
                    return HandleResult("attached", group.incident_id, group.ticket_id, group.notices)
            return _place(conn, alarm, device, incident_id, root, now, config, window=window)
        # Already open (an earlier raise of this episode, or another worker's): join it. Each statement sees what
        # was committed when it started, so a clear committed between the INSERT and this look-up leaves nothing to
        # join: the incident is over, and the insert is tried again to open the new one.
        joined = _updated(conn, alarm, device, now, config)
        if joined is not None:
            return HandleResult("joined", joined.incident_id, joined.ticket_id, joined.notices)
    raise ConcurrentChange(f"the open {alarm.fault} incident of {alarm.device_id} kept changing; retry the alarm")


def _place(conn: psycopg.Connection, alarm: Alarm, device: _Device, incident_id: int,
           root: tuple[int, int] | None, now: datetime, config: TicketConfig, *,
           window: int | None = None) -> HandleResult:
    """An incident is attached to the root incident that explains it, or goes on its device's ticket (a new one
    if none is open); its residents are warned unless they already know, or the device is in a planned maintenance
    window (`window`) they were told of."""
    if root is not None:
        add_event(conn, root[1], "alarm_attached", at=now, actor=ACTOR,
                  note=f"{alarm.device_id} {alarm.fault} attributed to this incident's root cause",
                  detail={"incident_id": incident_id, "device_id": alarm.device_id, "fault": alarm.fault})
        _escalate(conn, alarm, device, incident_id, root[1], now, config)
        sent = _warn(conn, alarm, device, root[0], root[1], now, config)
        return HandleResult("attached", root[0], root[1], sent)
    ticket_id, action = _ticket_for(conn, alarm, device, incident_id, now, config)
    if action == "joined":
        _escalate(conn, alarm, device, incident_id, ticket_id, now, config)
    conn.execute("UPDATE incidents SET ticket_id = %s WHERE id = %s", (ticket_id, incident_id))
    _link_earlier_complaints(conn, device, incident_id, ticket_id, now, config)
    if window is not None:
        add_event(conn, ticket_id, "raised_in_maintenance", at=now, actor=ACTOR,
                  note=f"{alarm.fault} inside planned maintenance window #{window}: never held back; "
                       "residents not warned (told of the planned work)",
                  detail={"window_id": window, "incident_id": incident_id, "fault": alarm.fault})
        return HandleResult(action, incident_id, ticket_id, 0)
    if action == "joined" and _warned_at_least(conn, ticket_id, alarm.severity):
        return HandleResult(action, incident_id, ticket_id, 0)  # its residents already know this device is down
    sent = _warn(conn, alarm, device, incident_id, ticket_id, now, config)
    return HandleResult(action, incident_id, ticket_id, sent)


def _escalate(conn: psycopg.Connection, alarm: Alarm, device: _Device, incident_id: int, ticket_id: int,
              now: datetime, config: TicketConfig) -> None:
    """A fault joining a ticket opened for another, or one of its faults turning critical: more urgent than the
    ticket, it escalates it and its work orders (`tickets.escalation`: passengers trapped in a lift already out of
    service on a routine order; a motor's overheating warning become critical)."""
    escalate(conn, ticket_id, classify_alarm(device.kind, alarm.fault, alarm.severity), device_id=device.id,
             fault=alarm.fault, title=device.title(alarm.fault), incident_id=incident_id,
             summary=alarm.evidence.summary, now=now, config=config)


def _rehome(conn: psycopg.Connection, alarm: Alarm, device: _Device, incident_id: int, old_ticket: int | None,
            now: datetime, config: TicketConfig) -> HandleResult:
    """The root cause this incident was attached to is over but the incident is not (the detectors re-homed it):
    it leaves the root's ticket for the root that explains it now, or for a ticket of its own, and its residents,
    who are about to hear that the root's outage is over, are warned about what is still wrong."""
    root = _root_of(conn, alarm)
    conn.execute(
        """UPDATE incidents SET root_incident_id = %s, ticket_id = %s, severity = %s, evidence = %s, updated_at = %s
           WHERE id = %s""",
        (root[0] if root else None, root[1] if root else None, alarm.severity.value,
         json.dumps(alarm.evidence.as_dict(), default=str), now, incident_id),
    )
    if old_ticket is not None:
        add_event(conn, old_ticket, "alarm_detached", at=now, actor=ACTOR, note=alarm.evidence.summary,
                  detail={"incident_id": incident_id, "device_id": alarm.device_id, "fault": alarm.fault})
    return _place(conn, alarm, device, incident_id, root, now, config)


def _open_ticket_of_device(conn: psycopg.Connection, device_id: str) -> int | None:
    """The device's preventive ticket still being worked on, if any (one fault or several: one visit fixes it)."""
    row = conn.execute(
        """SELECT id FROM tickets WHERE device_id = %s AND source = 'preventive'
           AND state NOT IN ('resolved', 'closed', 'cancelled') ORDER BY id DESC LIMIT 1 FOR UPDATE""",
        (device_id,),
    ).fetchone()
    return int(row[0]) if row else None


def _warned_at_least(conn: psycopg.Connection, ticket_id: int, severity: Severity) -> bool:
    """Whether the ticket's residents were warned about an incident at least this severe that is still open: a worse
    fault on the same device (a slow leak, then a burst) is news and is told; a lesser one alongside is not. A fault
    after the ones they were told of are over (and they heard the service was back) is news too, however long the
    ticket stays open for the engineers."""
    rows = conn.execute(
        """SELECT DISTINCT i.severity FROM notices n JOIN incidents i ON i.id = n.incident_id
           WHERE n.ticket_id = %s AND n.kind = 'warning' AND n.resident_id IS NOT NULL AND i.status = 'open'""",
        (ticket_id,),
    ).fetchall()
    return any(_RANK.get(r[0], 0) >= _RANK[severity] for r in rows)


def _ticket_for(conn: psycopg.Connection, alarm: Alarm, device: _Device, incident_id: int, now: datetime,
                config: TicketConfig) -> tuple[int, str]:
    """Join the device's ticket still being worked on; reopen the ticket that had the same device fault (its own or
    one that joined it) if it came back within the window; else a new ticket. One device fault, or several at once,
    is one ticket and one work order."""
    open_ticket = _open_ticket_of_device(conn, alarm.device_id)
    if open_ticket is not None:
        add_event(conn, open_ticket, "alarm_joined", at=now, actor=ACTOR,
                  note=f"also {alarm.fault}: {alarm.evidence.summary}",
                  detail={"incident_id": incident_id, "fault": alarm.fault, "severity": alarm.severity.value})
        return open_ticket, "joined"
    # The same fault of the device, whether it opened that ticket or joined it (a lift out of service and then
    # trapping passengers, trapping them again after the repair: the repair did not hold).
    previous = conn.execute(
        """SELECT t.id FROM tickets t WHERE t.device_id = %(device)s AND t.state IN ('resolved', 'closed')
           AND t.resolved_at >= %(since)s
           AND (t.fault = %(fault)s OR EXISTS (SELECT 1 FROM incidents i WHERE i.ticket_id = t.id
                                               AND i.device_id = t.device_id AND i.fault = %(fault)s))
           ORDER BY t.resolved_at DESC LIMIT 1 FOR UPDATE""",
        {"device": alarm.device_id, "fault": alarm.fault, "since": now - config.reopen_window},
    ).fetchone()
    if previous is not None:
        ticket_id = int(previous[0])
        conn.execute("UPDATE tickets SET incident_id = %s, fault = %s, title = %s WHERE id = %s",
                     (incident_id, alarm.fault, device.title(alarm.fault), ticket_id))  # what the new work order is for
        transition(conn, ticket_id, TicketEvent.REOPEN, actor=ACTOR, now=now, config=config,
                   note=f"the same fault ({alarm.fault}) returned within {config.reopen_window}")
        transition(conn, ticket_id, TicketEvent.DISPATCH, actor=ACTOR, now=now, config=config)
        return ticket_id, "reopened"
    classification = classify_alarm(device.kind, alarm.fault, alarm.severity)
    ticket_id = create_ticket(
        conn, source="preventive", classification=classification,
        title=device.title(alarm.fault), description=alarm.evidence.summary,
        site_id=device.site_id, building_id=device.building_id, now=now, reported_at=alarm.since, config=config,
        actor=ACTOR, device_id=device.id, fault=alarm.fault, incident_id=incident_id,
    )
    transition(conn, ticket_id, TicketEvent.DISPATCH, actor=ACTOR, now=now, config=config)
    return ticket_id, "opened"


def _warn(conn: psycopg.Connection, alarm: Alarm, device: _Device, incident_id: int, ticket_id: int,
          now: datetime, config: TicketConfig) -> int:
    """The early warning to the residents of the device's units. INFO alarms and quiet faults (a propped door, a
    faulty sensor: `tickets.classify.QUIET_FAULTS`) have no resident impact."""
    if alarm.severity is Severity.INFO or not warns_residents(alarm.fault):
        return 0
    ticket = get_ticket(conn, ticket_id)
    return notify_residents(
        conn, residents_of_device(conn, device.id), kind="warning", dedupe_key=f"incident:{incident_id}:warning",
        now=now, config=config, critical=ticket.severity == "major" or alarm.severity is Severity.CRITICAL,
        incident_id=incident_id, ticket_id=ticket_id,
        device_kind=device.kind, place=device.location or device.id, summary=alarm.evidence.summary,
        fault=alarm.fault, eta=format_time(ticket.resolve_due, config),
    )


def _updated(conn: psycopg.Connection, alarm: Alarm, device: _Device, now: datetime,
             config: TicketConfig) -> HandleResult | None:
    """Fresh evidence or a new severity for the open incident; a notice only when the severity goes up."""
    row = conn.execute(
        """SELECT i.id, i.severity, COALESCE(i.root_incident_id, i.id), i.ticket_id, r.device_id, i.silence_group_id
           FROM incidents i LEFT JOIN incidents r ON r.id = i.root_incident_id
           WHERE i.device_id = %s AND i.fault = %s AND i.status = 'open' FOR UPDATE OF i""",
        (alarm.device_id, alarm.fault),
    ).fetchone()
    if row is None:
        return None
    incident_id, old, key_incident, ticket_id, root_device = int(row[0]), Severity(row[1]), int(row[2]), row[3], row[4]
    if row[5] is not None:  # a member of a building's silence: the group, not the device, speaks to residents
        return HandleResult("updated", incident_id, ticket_id, 0)
    if root_device is not None and root_device != alarm.parent_device_id:
        return _rehome(conn, alarm, device, incident_id, ticket_id, now, config)
    conn.execute(
        "UPDATE incidents SET severity = %s, evidence = %s, updated_at = %s WHERE id = %s",
        (alarm.severity.value, json.dumps(alarm.evidence.as_dict(), default=str), now, incident_id),
    )
    sent = 0
    escalated = _RANK[alarm.severity] > _RANK[old] and ticket_id is not None
    if escalated:
        add_event(conn, ticket_id, "alarm_escalated", at=now, actor=ACTOR, note=alarm.evidence.summary,
                  detail={"from": old.value, "to": alarm.severity.value, "incident_id": incident_id})
        _escalate(conn, alarm, device, incident_id, ticket_id, now, config)  # critical now: the major tier's clocks
    if escalated and warns_residents(alarm.fault):
        ticket = get_ticket(conn, ticket_id)
        sent = notify_residents(
            conn, residents_of_device(conn, device.id), kind="update",
            dedupe_key=f"incident:{key_incident}:update:{alarm.severity.value}", now=now, config=config,
            critical=alarm.severity is Severity.CRITICAL, incident_id=key_incident, ticket_id=ticket_id,
            device_kind=device.kind, place=device.location or device.id, summary=alarm.evidence.summary,
            fault=alarm.fault, eta=format_time(ticket.resolve_due, config),
        )
    return HandleResult("updated", incident_id, ticket_id, sent)


def _cleared(conn: psycopg.Connection, alarm: Alarm, device: _Device, now: datetime,
             config: TicketConfig) -> HandleResult:
    """The device recovered: the incident is closed and everyone who was told about it hears it is over."""
    row = conn.execute(
        """UPDATE incidents SET status = 'recovered', recovered_at = %s, updated_at = %s
           WHERE device_id = %s AND fault = %s AND status = 'open'
           RETURNING id, ticket_id, COALESCE(root_incident_id, id), silence_group_id""",
        (now, now, alarm.device_id, alarm.fault),
    ).fetchone()
    if row is None:  # nothing to close: a fault held back by a maintenance window, or nothing at all
        return HandleResult("suppressed" if hold_back_clear(conn, alarm) else "ignored")
    incident_id, ticket_id, key_incident = int(row[0]), row[1], int(row[2])
    if row[3] is not None:  # back from a building's silence: "restored" is the group's to say, once, at its end
        add_event(conn, ticket_id, "alarm_cleared", at=now, actor=ACTOR, note=alarm.evidence.summary,
                  detail={"incident_id": incident_id, "device_id": alarm.device_id, "fault": alarm.fault})
        return HandleResult("recovered", key_incident, ticket_id, member_back(conn, int(row[3]), now=now,
                                                                               config=config))
    if ticket_id is not None:
        add_event(conn, ticket_id, "alarm_cleared", at=now, actor=ACTOR, note=alarm.evidence.summary,
                  detail={"incident_id": incident_id, "device_id": alarm.device_id, "fault": alarm.fault})
        still = (conn.execute(
            "SELECT count(*) FROM incidents WHERE ticket_id = %s AND device_id = %s AND status = 'open'",
            (ticket_id, device.id)).fetchone() or (0,))[0]
        if still:  # another fault of this device, on the same ticket, is not over: "restored" would be untrue
            return HandleResult("recovered", incident_id, ticket_id, 0)
    told = [Recipient(*r) for r in conn.execute(
        f"""SELECT DISTINCT r.id, r.unit_id, {LANGUAGE}, r.channel, {ADDRESS}
           FROM notices n JOIN residents r ON r.id = n.resident_id
           JOIN device_units du ON du.unit_id = r.unit_id AND du.device_id = %(device)s
           WHERE (n.incident_id = %(key)s OR (%(ticket)s::bigint IS NOT NULL AND n.ticket_id = %(ticket)s))
             AND n.kind IN ('warning', 'update', 'status')
             AND NOT EXISTS (  -- warned about another fault of the same service that is not over: not restored
                 SELECT 1 FROM notices w JOIN incidents i ON i.id = w.incident_id AND i.status = 'open'
                 JOIN devices d ON d.id = i.device_id AND d.kind = %(kind)s
                 WHERE w.resident_id = r.id AND w.kind IN ('warning', 'update') AND i.id <> %(key)s)""",
        {"device": device.id, "key": key_incident, "ticket": ticket_id, "kind": device.kind},
    )]
    sent = notify_residents(
        conn, told, kind="restored", dedupe_key=f"incident:{key_incident}:restored:{device.id}", now=now,
        config=config, critical=False, incident_id=key_incident, ticket_id=ticket_id, device_kind=device.kind,
        place=device.location or device.id,
    )
    return HandleResult("recovered", incident_id, ticket_id, sent)


def settle_silence(conn: psycopg.Connection, *, now: datetime, config: TicketConfig = DEFAULT_CONFIG) -> int:
    """The scheduler's silence job (tickets/silence.py): warn the residents of buildings silent past the hold time;
    then resolve the groups whose building is back but for a device or two, which become lone silent devices with
    tickets of their own (for engineering only). Returns the residents warned. Safe to run twice."""
    sent = warn_due_groups(conn, now=now, config=config)
    with conn.transaction():
        for incident_id in release_stragglers(conn, now=now, config=config):
            row = conn.execute(
                """SELECT d.id, d.kind, d.site_id, d.building_id, d.location, i.severity, i.since, i.detector,
                          i.evidence->>'summary' FROM incidents i JOIN devices d ON d.id = i.device_id
                   WHERE i.id = %s""", (incident_id,)).fetchone()
            assert row is not None
            device = _Device(*row[:5])
            alarm = Alarm(device_id=device.id, fault=SILENCE_FAULT, state=AlarmState.RAISED, severity=Severity(row[5]),
                          since=row[6], ts=now, detector=row[7], evidence=Evidence(
                              f"{row[8] or 'offline'}; still offline after the rest of the building came back"))
            _place(conn, alarm, device, incident_id, None, now, config)
    return sent


# Residents can notice a fault before its first abnormal reading (taps weakening while the pressure is still above
# what the rule calls low), so a complaint up to this long before the incident's `since` may be about it; an older
# one is about something else — in the anticipation run, a booster's earlier pump failure, recovered two hours
# before its tank ran low, had its residents' complaint folded into the tank's incident and counted as its report.
EARLY_COMPLAINT = timedelta(hours=1)


def _link_earlier_complaints(conn: psycopg.Connection, device: _Device, incident_id: int, ticket_id: int,
                             now: datetime, config: TicketConfig) -> None:
    """Complaints that came in before we detected this fault: linked to the incident and counted as missed.
    A complaint ticket nobody has picked up yet is merged into the incident's ticket (cancelled as a duplicate),
    so that engineers get one work order for one fault; one already in hand stays, linked. Only complaints made
    after the fault began, or at most `EARLY_COMPLAINT` before its first abnormal reading, are about it."""
    candidates = conn.execute(
        """SELECT c.id, c.description, i.fault FROM complaints c, incidents i
           WHERE i.id = %(incident)s AND c.incident_id IS NULL AND c.device_kind = %(kind)s
             AND c.reported_at >= %(from)s AND c.reported_at >= i.since - %(early)s
             AND c.unit_id IN (SELECT unit_id FROM device_units WHERE device_id = %(device)s)
           ORDER BY c.id FOR UPDATE OF c""",
        {"incident": incident_id, "kind": device.kind, "from": now - config.fold_window, "device": device.id,
         "early": EARLY_COMPLAINT},
    ).fetchall()
    # A complaint this fault cannot explain (a tap leaking, the booster's supply out: tickets.symptoms) is not it.
    about = [c for c, text, fault in candidates if device.kind != "water" or fault not in unexplaining_faults(text)]
    linked = conn.execute(
        """UPDATE complaints c SET incident_id = %(incident)s, anticipated = false,
               lead_seconds = extract(epoch FROM c.reported_at - %(now)s)
           WHERE c.id = ANY(%(about)s) RETURNING c.id, c.ticket_id""",
        {"incident": incident_id, "now": now, "about": about},
    ).fetchall() if about else []
    for complaint_id, own_ticket in linked:
        row = conn.execute(
            """SELECT t.state, (SELECT count(*) FROM complaints c WHERE c.ticket_id = t.id) FROM tickets t
               WHERE t.id = %s AND t.source = 'complaint'""", (own_ticket,)).fetchone()
        if row is None or row[0] != TicketState.DISPATCHED.value or row[1] != 1:
            continue
        transition(conn, own_ticket, TicketEvent.CANCEL, actor=ACTOR, now=now, config=config,
                   note=f"merged into #{ticket_id}: the fault behind this complaint was detected")
        conn.execute("UPDATE complaints SET ticket_id = %s, folded = true WHERE id = %s", (ticket_id, complaint_id))
        add_event(conn, ticket_id, "complaint_folded", at=now, actor=ACTOR, note=f"merged from #{own_ticket}",
                  detail={"complaint_id": complaint_id, "merged_from": own_ticket, "anticipated": False})


@dataclass(frozen=True, slots=True)
class Label:
    id: int
    device_id: str
    fault: str
    false_alarm: bool
    ticket_id: int | None
    at: datetime
    by: str | None


class Verdict(StrEnum):
    """An engineer's verdict on an alarm. Only a false alarm teaches the detectors to be slower; planned
    maintenance was a real abnormality, rightly detected, but nothing to repair: its ticket is cancelled too."""

    REAL_FAULT = "real_fault"
    FALSE_ALARM = "false_alarm"
    PLANNED_MAINTENANCE = "planned_maintenance"


_CANCELS = {Verdict.FALSE_ALARM: "false alarm", Verdict.PLANNED_MAINTENANCE: "planned maintenance"}


# The faults of the ticket's own device, each with its latest incident, the ticket's first fault first (an
# incident of another device attached to this root cause is that device's to judge).
_FAULTS = """SELECT DISTINCT ON (fault) fault, id FROM incidents WHERE ticket_id = %(ticket)s AND device_id = %(device)s
             ORDER BY fault, id DESC"""


def record_verdict(conn: psycopg.Connection, ticket_id: int, *, false_alarm: bool | None = None,
                   verdict: Verdict | str | None = None, by_user: str | None, note: str = "", now: datetime,
                   config: TicketConfig = DEFAULT_CONFIG) -> int:
    """An engineer's verdict on a preventive ticket (`verdict`, or the older `false_alarm` flag), stored as a
    label for the detectors, one per fault of the device on the ticket (a lift out of service and then trapping
    passengers: both detectors hear it); a false alarm or planned maintenance also cancels the ticket if it is still
    open. Returns the id of the label of the ticket's own fault."""
    if verdict is None:
        if false_alarm is None:
            raise InvalidInput("give a verdict: real_fault, false_alarm or planned_maintenance")
        verdict = Verdict.FALSE_ALARM if false_alarm else Verdict.REAL_FAULT
    try:
        verdict = Verdict(verdict)
    except ValueError:
        raise InvalidInput(f"unknown verdict {verdict!r}; use real_fault, false_alarm or planned_maintenance") from None
    is_false = verdict is Verdict.FALSE_ALARM
    with conn.transaction():
        ticket = get_ticket(conn, ticket_id)
        if ticket.device_id is None or ticket.fault is None:
            raise InvalidInput(f"ticket {ticket_id} is not about a device fault; verdicts apply to preventive tickets")
        faults: dict[str, int | None] = dict(conn.execute(_FAULTS, {"ticket": ticket_id,
                                                                     "device": ticket.device_id}).fetchall())
        faults.setdefault(ticket.fault, ticket.incident_id)
        labels: dict[str, int] = {}
        for fault in sorted(faults, key=lambda f: f != ticket.fault):
            row = conn.execute(
                """INSERT INTO detector_labels (device_id, fault, false_alarm, verdict, ticket_id, incident_id, at,
                                                by, note)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (ticket.device_id, fault, is_false, verdict.value, ticket_id, faults[fault], now, by_user, note),
            ).fetchone()
            assert row is not None
            labels[fault] = int(row[0])
        add_event(conn, ticket_id, "verdict", at=now, actor=by_user, note=note,
                  detail={"false_alarm": is_false, "verdict": verdict.value, "label_id": labels[ticket.fault],
                          "labels": labels})
        if verdict in _CANCELS and _allows(ticket.state, TicketEvent.CANCEL):
            transition(conn, ticket_id, TicketEvent.CANCEL, actor=by_user, now=now, config=config,
                       note=f"{_CANCELS[verdict]}: {note}")
        return labels[ticket.fault]


def _allows(state: str, event: TicketEvent) -> bool:
    try:
        next_state(TicketState(state), event)
    except ValueError:
        return False
    return True


def pending_labels(conn: psycopg.Connection, since_id: int) -> list[Label]:
    """Verdict labels with id > `since_id`, oldest first: the runtime applies them to the detector engine."""
    rows = conn.execute(
        """SELECT id, device_id, fault, false_alarm, ticket_id, at, by FROM detector_labels
           WHERE id > %s ORDER BY id""",
        (since_id,),
    ).fetchall()
    return [Label(*row) for row in rows]
