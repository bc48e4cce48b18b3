"""A fault still raised when its maintenance window ends is handed back: the visit is over and the lift is still out
of service, so residents must hear of it and engineering must get its work order. The detectors do not raise an
episode twice, so without this a fault that outlasted the window would never open an incident.

`release_ended_windows` (a scheduler job, every `RELEASE_S`) finds, per device and fault, the last transition a
window that has ended held back; when that was a raise or an update (not a clear) and no other window holds the
device now, it queues the alarm again as an UPDATED transition at the window's end (the durable alarm queue: the
consumer applies it in order with the site's other alarms, and `handle_alarm` opens the incident as for a new
raise). Every held row of that fault is then marked released, so it is handed back once."""

from __future__ import annotations

from datetime import datetime

import psycopg

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.alarm_queue import enqueue
from tickets.maintenance import active_window

RELEASE_S = 30.0
DETECTOR = "maintenance-window"

_HELD = """SELECT DISTINCT ON (s.device_id, s.fault)
                  s.device_id, s.fault, s.state, s.severity, s.since, s.summary, w.ends_at, d.site_id
           FROM suppressed_alarms s JOIN maintenance_windows w ON w.id = s.window_id
                JOIN devices d ON d.id = s.device_id
           WHERE s.released_at IS NULL AND w.ends_at <= %(now)s
           ORDER BY s.device_id, s.fault, s.id DESC"""
_MARK = """UPDATE suppressed_alarms SET released_at = %(now)s
           WHERE device_id = %(device)s AND fault = %(fault)s AND released_at IS NULL
             AND window_id IN (SELECT id FROM maintenance_windows WHERE ends_at <= %(now)s)"""


def release_ended_windows(conn: psycopg.Connection, *, now: datetime) -> int:
    """Queue again the faults still raised when their window ended; returns how many. One transaction."""
    queued = 0
    with conn.transaction():
        held = conn.execute(_HELD, {"now": now}).fetchall()
        for device, fault, state, severity, since, summary, ends_at, site in held:
            if active_window(conn, device, now) is not None:
                continue  # another window (an extended visit) holds it: decided when that one ends
            if state != AlarmState.CLEARED.value:
                alarm = Alarm(device_id=device, fault=fault, state=AlarmState.UPDATED, severity=Severity(severity),
                              since=since, ts=ends_at, detector=DETECTOR,
                              evidence=Evidence(summary=f"{summary} (still so when the maintenance window ended)"),
                              extra={"site_id": site})
                queued += enqueue(conn, [alarm])
            conn.execute(_MARK, {"now": now, "device": device, "fault": fault})
    return queued
