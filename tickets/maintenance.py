"""Planned maintenance windows: an engineer puts a device "in maintenance" for a stated time (from the CLI, `forewarn
device maintenance`), and alarms raised for it meanwhile open no incident, ticket, work order or resident notice;
they are logged in `suppressed_alarms` with the reason "planned maintenance" instead (see `tickets.flows`). As no
incident or ticket exists for them, they never get a verdict and count as no false alarm.

One fault is never held back: passengers trapped in a lift (`NEVER_HELD_BACK`). A window is stated in advance and
often outlasts the work — the car back in service an hour early, the window left running — and a trapped person's
alarm press must reach the rescue whatever the window says (an elevator's maintenance unit answers an entrapment
at any hour). It opens its incident, ticket and urgent work order as anywhere else, with a `raised_in_maintenance`
event on the ticket; its residents are not warned, as they were told of the planned work.

A window is ended early by setting its `ends_at` to the time it was ended."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from detectors.alarm import Alarm, AlarmState
from tickets.errors import InvalidInput, NotFound

MAX_WINDOW = timedelta(days=7)  # longer than a week is not a visit but a device out of use: deactivate it instead
SUPPRESSED_REASON = "planned maintenance"
NEVER_HELD_BACK = frozenset({"entrapment"})  # a trapped person's alarm reaches the rescue, window or not
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True, slots=True)
class Window:
    id: int
    device_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    set_by: str
    created_at: datetime
    ended_by: str | None = None


_COLUMNS = "id, device_id, starts_at, ends_at, reason, set_by, created_at, ended_by"


def parse_duration(text: str) -> timedelta:
    """'30m', '2h' or '1d' as a timedelta; anything else is InvalidInput."""
    match = _DURATION.match(text or "")
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(f"bad duration {text!r}: give a positive number of minutes, hours or days, e.g. 30m, 2h, 1d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def start_window(conn: psycopg.Connection, device_id: str, *, starts_at: datetime, ends_at: datetime, reason: str,
                 set_by: str) -> Window:
    """Put a device in maintenance from `starts_at` to `ends_at` (timezone-aware); returns the stored window."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("give the window's times with a timezone (e.g. 2026-11-24T09:00+08:00)")
    if not (reason or "").strip():
        raise InvalidInput("a maintenance window needs a reason (what work is planned), e.g. --reason '季度保养'")
    if not (set_by or "").strip():
        raise InvalidInput("a maintenance window needs who set it")
    if ends_at <= starts_at:
        raise InvalidInput(f"the window ends ({ends_at.isoformat()}) before it starts ({starts_at.isoformat()})")
    if ends_at - starts_at > MAX_WINDOW:
        raise InvalidInput(f"a maintenance window is at most {MAX_WINDOW.days} days; this one is "
                           f"{ends_at - starts_at} (deactivate a device that is out of use for longer)")
    with conn.transaction():
        if conn.execute("SELECT 1 FROM devices WHERE id = %s", (device_id,)).fetchone() is None:
            raise InvalidInput(f"unknown device {device_id!r}")
        row = conn.execute(
            f"""INSERT INTO maintenance_windows (device_id, starts_at, ends_at, reason, set_by)
                VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
            (device_id, starts_at, ends_at, reason.strip(), set_by.strip()),
        ).fetchone()
    assert row is not None
    return Window(*row)


def end_window(conn: psycopg.Connection, device_id: str, *, at: datetime, ended_by: str) -> list[Window]:
    """End the device's current and future windows at `at` (a future one is withdrawn: ends_at = starts_at).
    Raises InvalidInput for an unknown device and NotFound when it has no window to end."""
    with conn.transaction():
        if conn.execute("SELECT 1 FROM devices WHERE id = %s", (device_id,)).fetchone() is None:
            raise InvalidInput(f"unknown device {device_id!r}")
        rows = conn.execute(
            f"""UPDATE maintenance_windows SET ends_at = GREATEST(starts_at, %(at)s), ended_by = %(by)s
                WHERE device_id = %(device)s AND ends_at > %(at)s RETURNING {_COLUMNS}""",
            {"at": at, "by": ended_by, "device": device_id},
        ).fetchall()
    if not rows:
        raise NotFound(f"{device_id} has no current or planned maintenance window")
    return [Window(*r) for r in rows]


def active_window(conn: psycopg.Connection, device_id: str, at: datetime) -> Window | None:
    """The window the device is in at `at` (starts_at <= at < ends_at), the latest-ending if several overlap."""
    row = conn.execute(
        f"""SELECT {_COLUMNS} FROM maintenance_windows WHERE device_id = %s AND starts_at <= %s AND ends_at > %s
            ORDER BY ends_at DESC, id DESC LIMIT 1""",
        (device_id, at, at),
    ).fetchone()
    return Window(*row) if row else None


def list_windows(conn: psycopg.Connection, *, at: datetime, site_id: str | None = None,
                 include_past: bool = False, device_id: str | None = None) -> list[Window]:
    """Current and planned windows (and past ones with include_past), optionally of one site or one device, by
    start time."""
    rows = conn.execute(
        f"""SELECT {", ".join("w." + c.strip() for c in _COLUMNS.split(","))}
            FROM maintenance_windows w JOIN devices d ON d.id = w.device_id
            WHERE (%(site)s::text IS NULL OR d.site_id = %(site)s) AND (%(past)s OR w.ends_at > %(at)s)
              AND (%(device)s::text IS NULL OR w.device_id = %(device)s)
            ORDER BY w.starts_at, w.id""",
        {"site": site_id, "past": include_past, "at": at, "device": device_id},
    ).fetchall()
    return [Window(*r) for r in rows]


def hold_back(conn: psycopg.Connection, alarm: Alarm, window: Window) -> bool:
    """Hold back a raise or update of a device in `window` (the one at the alarm's own time): a new fault opens
    nothing (no incident, ticket, work order or notice, and so no verdict and no false alarm) and is logged in
    `suppressed_alarms` for operators; True. A fault already open when the window began (its incident exists) is
    left to the normal path; False. The caller keeps `NEVER_HELD_BACK` out of here."""
    if conn.execute("SELECT 1 FROM incidents WHERE device_id = %s AND fault = %s AND status = 'open'",
                    (alarm.device_id, alarm.fault)).fetchone() is not None:
        return False
    _log(conn, alarm, window.id)
    return True


def hold_back_clear(conn: psycopg.Connection, alarm: Alarm) -> bool:
    """A clear with no open incident to close: when the fault's last transition was held back by a window, the clear
    is logged with it (the operator sees the episode end) and nobody is told, as nobody was warned; True."""
    held = conn.execute("""SELECT window_id, state FROM suppressed_alarms WHERE device_id = %s AND fault = %s
                           ORDER BY id DESC LIMIT 1""", (alarm.device_id, alarm.fault)).fetchone()
    if held is None or held[1] == AlarmState.CLEARED.value:
        return False
    _log(conn, alarm, int(held[0]))
    return True


def _log(conn: psycopg.Connection, alarm: Alarm, window_id: int) -> None:
    conn.execute(
        """INSERT INTO suppressed_alarms (window_id, device_id, fault, state, severity, since, at, reason, summary)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (window_id, alarm.device_id, alarm.fault, alarm.state.value, alarm.severity.value, alarm.since, alarm.ts,
         SUPPRESSED_REASON, alarm.evidence.summary),
    )


def suppressed_count(conn: psycopg.Connection, window_id: int) -> int:
    """How many alarm transitions the window held back."""
    row = conn.execute("SELECT count(*) FROM suppressed_alarms WHERE window_id = %s", (window_id,)).fetchone()
    return int(row[0]) if row else 0
