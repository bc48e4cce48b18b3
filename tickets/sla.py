"""SLA clock arithmetic on the mainland-China working-day calendar; the limits themselves are the site's SLA
profile (`tickets.profiles`, `tickets/data/sla_profiles.yaml`).

Working-day limits count only time on working days as published by the State Council (public holidays off,
adjusted working weekends on), from the maintained `chinesecalendar` package; minute limits count wall time.
A ticket waiting on the resident has its clocks paused: on resume its deadlines move by the paused time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import chinese_calendar

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


class Unit(StrEnum):
    MINUTES = "minutes"  # wall-clock time: emergencies do not wait for Monday
    WORKING_DAYS = "working_days"  # time on working days only


@dataclass(frozen=True, slots=True)
class Limit:
    amount: float
    unit: Unit

    @property
    def working(self) -> bool:
        return self.unit is Unit.WORKING_DAYS

    @property
    def span(self) -> timedelta:
        return timedelta(minutes=self.amount) if self.unit is Unit.MINUTES else timedelta(days=self.amount)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    respond: Limit  # until the ticket is acknowledged (staff responded / on the way)
    resolve: Limit  # until it is resolved (for major: the written plan)


_LIMIT = re.compile(r"^\s*(?P<amount>[-+]?[0-9]+(?:\.[0-9]+)?)\s*"
                    r"(?P<unit>min|minutes?|h|hours?|working[ _]days?|wd)\s*$", re.I)
_MINUTES_PER = {"min": 1, "minute": 1, "minutes": 1, "h": 60, "hour": 60, "hours": 60}


def parse_limit(text: str) -> Limit:
    """A limit written as an operator would: "15 min", "24 h", "3 working days" (or "3 wd").

    Raises ValueError naming the accepted forms for anything else (a negative or zero amount, an unknown unit)."""
    found = _LIMIT.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a duration: write e.g. '15 min', '24 h' or '3 working days'")
    amount, unit = float(found["amount"]), found["unit"].lower()
    if amount <= 0:
        raise ValueError(f"{text!r}: a limit must be longer than zero")
    if unit in _MINUTES_PER:
        return Limit(amount * _MINUTES_PER[unit], Unit.MINUTES)
    return Limit(amount, Unit.WORKING_DAYS)


def format_limit(limit: Limit) -> str:
    """The inverse of `parse_limit`: "15 min", "24 h", "3 working days"."""
    def number(x: float) -> str:
        return f"{x:g}"

    if limit.unit is Unit.WORKING_DAYS:
        return f"{number(limit.amount)} working days"
    if limit.amount >= 60 and limit.amount % 60 == 0:
        return f"{number(limit.amount / 60)} h"
    return f"{number(limit.amount)} min"


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # Beyond the years the package knows: Monday to Friday, until the package is upgraded.
        return day.weekday() < 5


def _next_midnight(t: datetime) -> datetime:
    return datetime.combine(t.date() + timedelta(days=1), time(0), tzinfo=t.tzinfo)


def add_working_time(start: datetime, span: timedelta, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """`start` plus `span` of time that elapses only on working days (local calendar of `tz`)."""
    t = start.astimezone(tz)
    remaining = span
    for _ in range(3660):  # ten years of days: a bound, never reached by a real SLA
        midnight = _next_midnight(t)
        if is_working_day(t.date()):
            available = midnight - t
            if remaining <= available:
                return t + remaining
            remaining -= available
        t = midnight
    raise ValueError(f"working-time span {span} from {start} is too long")


def working_time_between(start: datetime, end: datetime, tz: ZoneInfo = DEFAULT_TZ) -> timedelta:
    """How much working-day time lies between `start` and `end`."""
    t, end = start.astimezone(tz), end.astimezone(tz)
    total = timedelta(0)
    while t < end:
        midnight = min(_next_midnight(t), end)
        if is_working_day(t.date()):
            total += midnight - t
        t = midnight
    return total


def deadline(start: datetime, limit: Limit, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    return add_working_time(start, limit.span, tz) if limit.working else start + limit.span


def point_in(start: datetime, due: datetime, fraction: float, working: bool, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """The instant at `fraction` of the way from `start` to `due` (in working time for working-day limits):
    when the 50% and 80% reminders fall due."""
    if working:
        return add_working_time(start, working_time_between(start, due, tz) * fraction, tz)
    return start + (due - start) * fraction


def ladder_point(start: datetime, due: datetime, fraction: float, working: bool,
                 tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """When a rung of an escalation ladder falls due on a clock that started at `start`: up to the deadline, at
    `fraction` of the way there (`point_in`); past it, the clock's span again times `fraction - 1`, in calendar time
    (the site manager hears of a breach half a span after it, nights and weekends included)."""
    if fraction <= 1:
        return point_in(start, due, fraction, working, tz)
    return due + (due - start) * (fraction - 1)


def extend(due: datetime, paused_from: datetime, paused_to: datetime, working: bool,
           tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """A deadline moved by a pause (waiting on the resident)."""
    if working:
        return add_working_time(due, working_time_between(paused_from, paused_to, tz), tz)
    return due + (paused_to - paused_from)
