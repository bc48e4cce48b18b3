"""Review periods in the configured time zone: a month (2026-10), a quarter (2026Q4), a year (2026) or a range
(2026-10-01..2026-10-15, end inclusive), each with the previous period and the same period a year earlier.

Only years FIRST_YEAR..LAST_YEAR (2000-2999) are accepted: a review also looks at the previous period and the same
period a year earlier, and a year such as 0000 or 9999 would take those (or the day after the period) outside the
calendar. `parse_period` refuses any other year with `PeriodOutOfRange`, an InvalidInput naming the value and the
range, so the pages, the REST API and the CLI answer with that message instead of failing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tickets.errors import InvalidInput

FIRST_YEAR = 2000
LAST_YEAR = 2999


class PeriodOutOfRange(InvalidInput):
    """A period outside FIRST_YEAR..LAST_YEAR; `value` is the text as given."""

    def __init__(self, value: str) -> None:
        super().__init__(f"period {value!r} is out of range: the year must be {FIRST_YEAR} to {LAST_YEAR}")
        self.value = value


class Kind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


@dataclass(frozen=True, slots=True)
class Period:
    kind: Kind
    first: date  # first day, local
    last: date  # last day, local, inclusive
    tz: ZoneInfo

    @property
    def label(self) -> str:
        if self.kind is Kind.MONTH:
            return f"{self.first:%Y-%m}"
        if self.kind is Kind.QUARTER:
            return f"{self.first.year}Q{(self.first.month - 1) // 3 + 1}"
        if self.kind is Kind.YEAR:
            return str(self.first.year)
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, datetime.min.time(), self.tz)

    @property
    def until(self) -> datetime:
        """Exclusive end: local midnight after the last day."""
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(), self.tz)

    def previous(self) -> Period:
        if self.kind is Kind.RANGE:
            span = self.last - self.first + timedelta(days=1)
            return Period(Kind.RANGE, self.first - span, self.first - timedelta(days=1), self.tz)
        months = {Kind.MONTH: 1, Kind.QUARTER: 3, Kind.YEAR: 12}[self.kind]
        return _months(self.kind, _shift(self.first, -months), months, self.tz)

    def last_year(self) -> Period:
        if self.kind is Kind.RANGE:
            return Period(Kind.RANGE, _year_back(self.first), _year_back(self.last), self.tz)
        months = {Kind.MONTH: 1, Kind.QUARTER: 3, Kind.YEAR: 12}[self.kind]
        return _months(self.kind, _shift(self.first, -12), months, self.tz)


def _shift(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _year_back(day: date) -> date:
    return day.replace(year=day.year - 1, day=min(day.day, 28) if day.month == 2 else day.day)


def _months(kind: Kind, first: date, months: int, tz: ZoneInfo) -> Period:
    return Period(kind, first, _shift(first, months) - timedelta(days=1), tz)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def _year(digits: str, text: str) -> int:
    """The year `digits` of the period `text`; PeriodOutOfRange outside FIRST_YEAR..LAST_YEAR."""
    year = int(digits)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodOutOfRange(text)
    return year


def parse_period(text: str, tz: ZoneInfo) -> Period:
    """`2026-10`, `2026Q4`, `2026` or `2026-10-01..2026-10-15` with years FIRST_YEAR..LAST_YEAR; anything else
    raises InvalidInput saying so (PeriodOutOfRange for a year outside them)."""
    text = text.strip()
    if m := _MONTH.match(text):
        if not 1 <= int(m[2]) <= 12:
            raise InvalidInput(f"month {text!r}: the month must be 01-12")
        return _months(Kind.MONTH, date(_year(m[1], text), int(m[2]), 1), 1, tz)
    if m := _QUARTER.match(text):
        return _months(Kind.QUARTER, date(_year(m[1], text), 3 * int(m[2]) - 2, 1), 3, tz)
    if m := _YEAR.match(text):
        return _months(Kind.YEAR, date(_year(m[1], text), 1, 1), 12, tz)
    if m := _RANGE.match(text):
        for end in (m[1], m[2]):
            _year(end[:4], text)
        try:
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError as exc:
            raise InvalidInput(f"range {text!r}: {exc}") from None
        if last < first:
            raise InvalidInput(f"range {text!r}: the end is before the start")
        return Period(Kind.RANGE, first, last, tz)
    raise InvalidInput(f"period {text!r}: expected 2026-10 (month), 2026Q4 (quarter), 2026 (year) "
                       "or 2026-10-01..2026-10-15 (range)")
