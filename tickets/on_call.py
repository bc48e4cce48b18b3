"""The 7×24 on-call roster (handbook 003 "7×24小时值班制度") and routing outside working hours.

Working time is a working day of the mainland calendar (`tickets.sla.is_working_day`: holidays off, adjusted
weekends on) between the configured start and end of the working day (`TicketConfig.work_start`/`work_end`), local
time. Outside it, an urgent ticket (major tier: an urgent repair, a major complaint, a major device fault) goes to
whoever is on call for its department at that moment — the ticket's owner and its work order's assignee — and its
breach escalates to the department's on-call supervisor, then the site manager (`tickets.sweeps`). Inside working
time routing is the daytime one (grid owners). Nobody on call: the daytime owner, and a warning on the timeline.

The roster is rows of (department, user, rung, from, to); rung is the first line or the supervisor. Overlapping
shifts are allowed (a handover): the one that started last wins. A department's rota takes its own staff: someone
of another department (or of none) goes on it only as cover, asked for explicitly (`add_shift(..., cover=True)`,
`forewarn roster add --cover`), as when one guard answers for every department at night."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import psycopg

from tickets.classify import Tier
from tickets.config import TicketConfig
from tickets.errors import InvalidInput
from tickets.sla import is_working_day


class Rung(StrEnum):
    FIRST_LINE = "first_line"  # takes the urgent ticket and its work order
    SUPERVISOR = "supervisor"  # escalated to at breach


@dataclass(frozen=True, slots=True)
class Shift:
    id: int
    department_id: str
    user_id: str
    name: str
    rung: str
    starts_at: datetime
    ends_at: datetime


def is_working_time(at: datetime, config: TicketConfig) -> bool:
    """Whether `at` is inside working hours on a working day (local time of `config.tz`)."""
    local = at.astimezone(config.tz)
    return is_working_day(local.date()) and config.work_start <= local.time() < config.work_end


def needs_on_call(severity: Tier | str, at: datetime, config: TicketConfig) -> bool:
    """An urgent (major-tier) ticket outside working time goes to the on-call rota."""
    return str(severity) == Tier.MAJOR.value and not is_working_time(at, config)


_ON_DUTY = """SELECT o.user_id FROM on_call o JOIN users u ON u.id = o.user_id AND u.active
              WHERE o.department_id = %s AND o.rung = %s AND o.starts_at <= %s AND %s < o.ends_at
              ORDER BY o.starts_at DESC, o.id DESC LIMIT 1"""


def on_duty(conn: psycopg.Connection, department_id: str | None, at: datetime,
            rung: Rung = Rung.FIRST_LINE) -> str | None:
    """Who is on call for the department on `rung` at `at` (an active user), else None."""
    if department_id is None:
        return None
    row = conn.execute(_ON_DUTY, (department_id, rung.value, at, at)).fetchone()
    return str(row[0]) if row else None


def night_taker(conn: psycopg.Connection, severity: Tier | str, department_id: str | None, at: datetime,
                config: TicketConfig) -> str | None:
    """Who takes an urgent ticket's work for `department_id` at `at`: the department's first line on call when the
    ticket is major and `at` is outside working time, else None (the daytime routing decides). Every path that puts
    a work order in someone's hands asks this one question: a ticket opened urgent at night, one made urgent later
    (a device's emergency, a staff reclassification) and one transferred at night."""
    return on_duty(conn, department_id, at) if needs_on_call(severity, at, config) else None


_ADD = """INSERT INTO on_call (department_id, user_id, rung, starts_at, ends_at) VALUES (%s, %s, %s, %s, %s)
          RETURNING id"""
_USER = "SELECT role, active, department_id FROM users WHERE id = %s"
_SHIFTS = """SELECT o.id, o.department_id, o.user_id, u.name, o.rung, o.starts_at, o.ends_at
             FROM on_call o JOIN users u ON u.id = o.user_id
             WHERE (%(department)s::text IS NULL OR o.department_id = %(department)s)
               AND (%(at)s::timestamptz IS NULL OR (o.starts_at <= %(at)s AND %(at)s < o.ends_at))
               AND (%(at)s::timestamptz IS NOT NULL OR o.ends_at > %(now)s)
             ORDER BY o.department_id, o.starts_at, o.rung, o.id"""


class OtherDepartment(InvalidInput):
    """A shift on a department's rota for someone of another department (or of none), not asked for as cover."""

    def __init__(self, user_id: str, own_department: str | None, department_id: str) -> None:
        super().__init__(f"{user_id!r} is staff of {own_department or 'no department'}, not of {department_id}: "
                         f"a department's rota takes its own staff, and someone else only as cover")
        self.user_id, self.own_department, self.department_id = user_id, own_department, department_id


def add_shift(conn: psycopg.Connection, *, department_id: str, user_id: str, starts_at: datetime, ends_at: datetime,
              rung: Rung = Rung.FIRST_LINE, cover: bool = False) -> int:
    """Put `user_id` on call for the department from `starts_at` to `ends_at`; returns the shift's id. Refuses an
    unknown department, a user who is unknown, disabled or a resident, a shift that ends before it starts, and
    (`OtherDepartment`) a user of another department unless `cover` says they cover for this one."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("a shift's times need a time zone")
    if ends_at <= starts_at:
        raise InvalidInput(f"the shift ends ({ends_at.isoformat()}) before it starts ({starts_at.isoformat()})")
    if conn.execute("SELECT 1 FROM departments WHERE id = %s", (department_id,)).fetchone() is None:
        known = ", ".join(r[0] for r in conn.execute("SELECT id FROM departments ORDER BY id"))
        raise InvalidInput(f"unknown department {department_id!r}; known: {known}")
    user = conn.execute(_USER, (user_id,)).fetchone()
    if user is None or user[0] == "resident":
        raise InvalidInput(f"no staff user {user_id!r}")
    if not user[1]:
        raise InvalidInput(f"user {user_id!r} is disabled")
    if user[2] != department_id and not cover:
        raise OtherDepartment(user_id, user[2], department_id)
    row = conn.execute(_ADD, (department_id, user_id, rung.value, starts_at, ends_at)).fetchone()
    assert row is not None
    return int(row[0])


def shifts(conn: psycopg.Connection, *, now: datetime, department_id: str | None = None,
           at: datetime | None = None) -> list[Shift]:
    """The shifts on at `at`, or (without `at`) every shift not yet over at `now`; ordered by department and start."""
    return [Shift(*row) for row in conn.execute(_SHIFTS, {"department": department_id, "at": at, "now": now})]


_BETWEEN = """SELECT o.id, o.department_id, o.user_id, u.name, o.rung, o.starts_at, o.ends_at
              FROM on_call o JOIN users u ON u.id = o.user_id
              WHERE o.starts_at < %(end)s AND %(start)s < o.ends_at
                AND (%(department)s::text IS NULL OR o.department_id = %(department)s)
              ORDER BY o.department_id, o.starts_at, o.rung, o.id"""


def shifts_between(conn: psycopg.Connection, start: datetime, end: datetime, *,
                   department_id: str | None = None) -> list[Shift]:
    """The shifts that overlap [start, end) (the desk's roster page shows a week), by department and start."""
    return [Shift(*row) for row in conn.execute(_BETWEEN, {"start": start, "end": end, "department": department_id})]


def staff_on_call_candidates(conn: psycopg.Connection) -> list[tuple[str, str, str | None]]:
    """(id, name, department) of every active staff user `add_shift` accepts (on their own department's rota; on
    another's as cover), by department and name."""
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT id, name, department_id FROM users WHERE active AND role <> 'resident' "
        "ORDER BY department_id NULLS LAST, name, id")]
