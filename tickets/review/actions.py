"""Root causes and improvement actions of the review (issue #17 point 3, handbook 001).

A root cause is written on a ticket or on a high-frequency point (fault point × building): the 5W1H fields and the
chain of whys, in order. An improvement action gives a department, an owner, a deadline, the measures and a status
(`TRANSITIONS`), and the metric (`definitions.METRICS`) and slice it should move from the day it starts. Its effect
is that metric month by month: the `months` whole months before the start's month against the first `months`
whole months from the start (a start on the 1st counts its own month; a start later in a month leaves that month
out, being half before and half after), each side's monthly mean and the change in percent, so that a manager sees
whether "elevator complaints −40 %" happened. Months not yet over are not counted."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from tickets.errors import InvalidInput, NotFound
from tickets.review.compute import SOURCES, Review, Slice, figure_of
from tickets.review.definitions import METRICS
from tickets.review.periods import Kind, Period

FIVE_W_ONE_H = ("what", "where", "when", "who", "why", "how")
EFFECT_MONTHS = 3  # handbook 001 checks an action over the following months; three smooth one odd month out


class Status(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


# The allowed status changes. Done can be taken back to in progress (the check showed no effect, work resumes);
# a cancelled action can be planned again.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PLANNED: frozenset({Status.IN_PROGRESS, Status.CANCELLED}),
    Status.IN_PROGRESS: frozenset({Status.DONE, Status.CANCELLED}),
    Status.DONE: frozenset({Status.IN_PROGRESS}),
    Status.CANCELLED: frozenset({Status.PLANNED}),
}


class IllegalActionStatus(ValueError):
    """A status change `TRANSITIONS` does not allow."""

    def __init__(self, current: Status, wanted: Status) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current]))
        super().__init__(f"an action that is {current} cannot become {wanted}; from {current} it can become: "
                         f"{allowed}")


def next_status(current: Status, wanted: str) -> Status:
    """The status an action moves to when `wanted` is asked for: `wanted` itself if the table allows it (or it is
    the current one); else IllegalActionStatus, or InvalidInput for a name that is no status."""
    if wanted not in Status.__members__.values():
        raise InvalidInput(f"unknown status {wanted!r}: use one of {', '.join(Status)}")
    chosen = Status(wanted)
    if chosen is not current and chosen not in TRANSITIONS[current]:
        raise IllegalActionStatus(current, chosen)
    return chosen


@dataclass(frozen=True, slots=True)
class Cause:
    id: int
    ticket_id: int | None
    point: str | None
    building_id: str | None
    what: str
    where_: str
    when_: str
    who: str
    why: str
    how: str
    created_by: str
    created_at: datetime
    whys: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["where"], out["when"] = out.pop("where_"), out.pop("when_")
        out["whys"] = list(self.whys)
        return out


@dataclass(frozen=True, slots=True)
class Action:
    id: int
    cause_id: int | None
    title: str
    measures: str
    department_id: str
    owner: str
    deadline: date
    starts_on: date
    status: str
    metric: str
    source: str
    slice_site: str | None
    slice_building: str | None
    slice_department: str | None
    slice_point: str | None
    slice_team: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    survey_wave_id: int | None = None  # planned from a cell of this survey wave's priority matrix
    survey_dimension: str | None = None  # the questionnaire dimension of that cell

    @property
    def slice(self) -> Slice:
        return Slice(self.slice_site, self.slice_building, self.slice_department, self.slice_point,
                     team=self.slice_team)


@dataclass(frozen=True, slots=True)
class MonthFigure:
    month: str  # 2026-07
    side: str  # before or after
    value: float | None


@dataclass(frozen=True, slots=True)
class Effect:
    """An action's metric before and after its start."""

    metric: str
    slice: str
    months: list[MonthFigure]
    before: float | None  # the monthly mean of the months before
    after: float | None  # and of the whole months after that are over
    change_pct: float | None  # (after − before) / before, in percent
    improved: bool | None  # the change goes the metric's good way; None: nothing to compare yet
    pending: int  # months after the start not over yet


@dataclass(frozen=True, slots=True)
class ActionView:
    """An action with its root cause's summary and its effect: what the review, the API and the page show."""

    action: Action
    effect: Effect
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.action) | {"effect": asdict(self.effect), "events": self.events}


# --- the named statements -------------------------------------------------------------------------------------

# A cause and its chain of whys.
INSERT_CAUSE = """INSERT INTO root_causes (ticket_id, point, building_id, what, where_, when_, who, why, how,
        created_by, created_at)
    VALUES (%(ticket_id)s, %(point)s, %(building_id)s, %(what)s, %(where)s, %(when)s, %(who)s, %(why)s, %(how)s,
        %(by)s, %(now)s) RETURNING id"""
INSERT_WHY = "INSERT INTO root_cause_whys (cause_id, position, answer) VALUES (%s, %s, %s)"
SELECT_CAUSES = """SELECT id, ticket_id, point, building_id, what, where_, when_, who, why, how, created_by,
        created_at FROM root_causes
    WHERE (%(id)s::bigint IS NULL OR id = %(id)s) AND (%(ticket_id)s::bigint IS NULL OR ticket_id = %(ticket_id)s)
      AND (%(point)s::text IS NULL OR point = %(point)s) ORDER BY id DESC LIMIT %(limit)s"""
SELECT_WHYS = "SELECT answer FROM root_cause_whys WHERE cause_id = %s ORDER BY position"
TICKET_EXISTS = "SELECT 1 FROM tickets WHERE id = %s"
# An action: created with its first event; updated as one guarded statement (the version seen).
INSERT_ACTION = """INSERT INTO review_actions (cause_id, title, measures, department_id, owner, deadline, starts_on,
        metric, source, slice_site, slice_building, slice_department, slice_point, slice_team, created_by,
        created_at, updated_at, survey_wave_id, survey_dimension)
    VALUES (%(cause_id)s, %(title)s, %(measures)s, %(department_id)s, %(owner)s, %(deadline)s, %(starts_on)s,
        %(metric)s, %(source)s, %(slice_site)s, %(slice_building)s, %(slice_department)s, %(slice_point)s,
        %(slice_team)s, %(by)s, %(now)s, %(now)s, %(survey_wave_id)s, %(survey_dimension)s) RETURNING id"""
SELECT_ACTIONS = """SELECT id, cause_id, title, measures, department_id, owner, deadline, starts_on, status, metric,
        source, slice_site, slice_building, slice_department, slice_point, slice_team, created_by, created_at,
        updated_at, version, survey_wave_id, survey_dimension
    FROM review_actions
    WHERE (%(id)s::bigint IS NULL OR id = %(id)s) AND (%(status)s::text IS NULL OR status = %(status)s)
      AND (%(department)s::text IS NULL OR department_id = %(department)s)
    ORDER BY deadline, id LIMIT %(limit)s"""
UPDATE_ACTION = """UPDATE review_actions SET status = %(status)s, deadline = %(deadline)s, owner = %(owner)s,
        measures = %(measures)s, updated_at = %(now)s, version = version + 1
    WHERE id = %(id)s AND version = %(version)s RETURNING id"""
INSERT_EVENT = """INSERT INTO review_action_events (action_id, at, by_user, event, from_status, to_status, detail)
    VALUES (%s, %s, %s, %s, %s, %s, %s)"""
SELECT_EVENTS = """SELECT at, by_user, event, from_status, to_status, detail FROM review_action_events
    WHERE action_id = %s ORDER BY at, id"""
# The actions a review shows: not cancelled, started by the period's end, within its site if any (an action
# recorded later but started earlier shows too: the review of a past month is read after the fact).
ACTIONS_FOR_REVIEW = """SELECT a.id FROM review_actions a LEFT JOIN buildings b ON b.id = a.slice_building
    WHERE a.status <> 'cancelled' AND a.starts_on < %(until)s::date
      AND (%(site)s::text IS NULL OR a.slice_site = %(site)s OR b.site_id = %(site)s)
    ORDER BY a.starts_on, a.id"""
# The root causes a review shows: recorded in the period, on a ticket or point within its site if any.
CAUSES_FOR_REVIEW = """SELECT c.id FROM root_causes c LEFT JOIN tickets t ON t.id = c.ticket_id
        LEFT JOIN buildings b ON b.id = c.building_id
    WHERE c.created_at >= %(since)s AND c.created_at < %(until)s
      AND (%(site)s::text IS NULL OR t.site_id = %(site)s OR b.site_id = %(site)s)
    ORDER BY c.id"""
KNOWN = {"department": "SELECT 1 FROM departments WHERE id = %s", "site": "SELECT 1 FROM sites WHERE id = %s",
         "building": "SELECT 1 FROM buildings WHERE id = %s", "team": "SELECT 1 FROM teams WHERE id = %s"}


def _clean(text: str | None, what: str, limit: int = 2000) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"{what}: at most {limit} characters")
    if "\x00" in text:
        raise InvalidInput(f"{what}: must not contain a NUL character")
    return text


def _check_known(conn: psycopg.Connection, kind: str, value: str | None) -> None:
    if value is not None and conn.execute(KNOWN[kind], (value,)).fetchone() is None:
        lists = "forewarn team list" if kind == "team" else "forewarn estate"
        raise InvalidInput(f"unknown {kind} {value!r}: use the id of an existing {kind} ({lists} lists them)")


EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # days an action can plausibly start or fall due


def _check_day(day: date, what: str) -> None:
    if not EARLIEST <= day <= LATEST:
        raise InvalidInput(f"the {what} {day} is not plausible: give a day between {EARLIEST} and {LATEST}")


def check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise InvalidInput(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")


# --- root causes ----------------------------------------------------------------------------------------------

def add_cause(conn: psycopg.Connection, *, by: str, now: datetime, ticket_id: int | None = None,
              point: str | None = None, building_id: str | None = None, whys: list[str] | tuple[str, ...] = (),
              **five_w: str) -> Cause:
    """Record a root cause on a ticket or on a point (× building), with its 5W1H fields (`what=`, `where=`, …)
    and its chain of whys in order; one transaction."""
    point = _clean(point, "point", 100) or None
    if (ticket_id is None) == (point is None):
        raise InvalidInput("a root cause is on a ticket or on a high-frequency point: give exactly one of them")
    if building_id is not None and point is None:
        raise InvalidInput("a building narrows a point: give the point too")
    unknown = set(five_w) - set(FIVE_W_ONE_H)
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(sorted(unknown))}: the 5W1H are {', '.join(FIVE_W_ONE_H)}")
    if ticket_id is not None and conn.execute(TICKET_EXISTS, (ticket_id,)).fetchone() is None:
        raise NotFound(f"no ticket {ticket_id}")
    _check_known(conn, "building", building_id)
    fields = {k: _clean(five_w.get(k), k) for k in FIVE_W_ONE_H}
    chain = [_clean(w, f"why {i}") for i, w in enumerate(whys, start=1)]
    if any(not w for w in chain):
        raise InvalidInput("a why in the chain is empty: each why needs an answer")
    if not any(fields.values()) and not chain:
        raise InvalidInput("an empty root cause: fill in at least one of the 5W1H or a why")
    row = conn.execute(INSERT_CAUSE, fields | {"ticket_id": ticket_id, "point": point, "building_id": building_id,
                                               "by": by, "now": now}).fetchone()
    assert row is not None
    for position, answer in enumerate(chain, start=1):
        conn.execute(INSERT_WHY, (row[0], position, answer))
    conn.commit()
    return get_cause(conn, row[0])


def list_causes(conn: psycopg.Connection, *, ticket_id: int | None = None, point: str | None = None,
                limit: int = 200, cause_id: int | None = None) -> list[Cause]:
    """Root causes, newest first, with their chains of whys."""
    with conn.cursor(row_factory=class_row(Cause)) as cur:
        causes = cur.execute(SELECT_CAUSES, {"id": cause_id, "ticket_id": ticket_id, "point": point,
                                             "limit": limit}).fetchall()
    return [replace(c, whys=tuple(r[0] for r in conn.execute(SELECT_WHYS, (c.id,)).fetchall())) for c in causes]


def get_cause(conn: psycopg.Connection, cause_id: int) -> Cause:
    found = list_causes(conn, cause_id=cause_id, limit=1)
    if not found:
        raise NotFound(f"no root cause {cause_id}")
    return found[0]


# --- improvement actions --------------------------------------------------------------------------------------

def add_action(conn: psycopg.Connection, *, by: str, now: datetime, title: str, department_id: str, owner: str,
               deadline: date, metric: str, measures: str = "", starts_on: date | None = None,
               source: str = "complaint", where: Slice = Slice(), cause_id: int | None = None,
               survey_cell: tuple[int, str] | None = None) -> Action:
    """Plan an improvement action (status planned), with its first event; one transaction. Without a slice of its
    own, an action on a point's root cause watches that point (and building). `starts_on` defaults to today.
    `survey_cell` (wave, dimension) records the priority-matrix cell it was planned from
    (tickets/survey_actions.py checks it)."""
    check_metric(metric)
    if source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r}: use one of {', '.join(SOURCES)}")
    title, owner = _clean(title, "title", 200), _clean(owner, "owner", 200)
    if not title or not owner:
        raise InvalidInput("an action needs a title and an owner")
    starts_on = starts_on or now.date()
    _check_day(starts_on, "start")
    _check_day(deadline, "deadline")
    if deadline < starts_on:
        raise InvalidInput(f"the deadline {deadline} is before the start {starts_on}")
    _check_known(conn, "department", department_id)
    for kind, value in (("site", where.site), ("building", where.building), ("department", where.department),
                        ("team", where.team)):
        _check_known(conn, kind, value)
    if cause_id is not None:
        cause = get_cause(conn, cause_id)
        if where == Slice() and cause.point is not None:
            where = Slice(building=cause.building_id, point=cause.point)
    row = conn.execute(INSERT_ACTION, {
        "cause_id": cause_id, "title": title, "measures": _clean(measures, "measures"),
        "department_id": department_id, "owner": owner, "deadline": deadline, "starts_on": starts_on,
        "metric": metric, "source": source, "slice_site": where.site, "slice_building": where.building,
        "slice_department": where.department, "slice_point": where.point, "slice_team": where.team, "by": by,
        "now": now, "survey_wave_id": survey_cell[0] if survey_cell else None,
        "survey_dimension": survey_cell[1] if survey_cell else None}).fetchone()
    assert row is not None
    conn.execute(INSERT_EVENT, (row[0], now, by, "created", None, Status.PLANNED.value, Jsonb({})))
    conn.commit()
    return get_action(conn, row[0])


def list_actions(conn: psycopg.Connection, *, status: str | None = None, department_id: str | None = None,
                 limit: int = 500, action_id: int | None = None) -> list[Action]:
    """Actions by deadline."""
    if status is not None and status not in Status.__members__.values():
        raise InvalidInput(f"unknown status {status!r}: use one of {', '.join(Status)}")
    with conn.cursor(row_factory=class_row(Action)) as cur:
        return cur.execute(SELECT_ACTIONS, {"id": action_id, "status": status, "department": department_id,
                                            "limit": limit}).fetchall()


def get_action(conn: psycopg.Connection, action_id: int) -> Action:
    found = list_actions(conn, action_id=action_id, limit=1)
    if not found:
        raise NotFound(f"no improvement action {action_id}")
    return found[0]


def action_events(conn: psycopg.Connection, action_id: int) -> list[dict[str, Any]]:
    cur = conn.execute(SELECT_EVENTS, (action_id,))
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def update_action(conn: psycopg.Connection, action_id: int, *, by: str, now: datetime, status: str | None = None,
                  deadline: date | None = None, owner: str | None = None, measures: str | None = None,
                  note: str = "") -> Action:
    """Change an action's status (as `TRANSITIONS` allows), deadline, owner or measures, writing an event; one
    guarded statement, so a concurrent change is refused rather than overwritten."""
    action = get_action(conn, action_id)
    current = Status(action.status)
    wanted = current if status is None else next_status(current, status)
    new_owner = action.owner if owner is None else _clean(owner, "owner", 200)
    if not new_owner:
        raise InvalidInput("an action needs an owner")
    new_deadline = deadline or action.deadline
    _check_day(new_deadline, "deadline")
    if new_deadline < action.starts_on:
        raise InvalidInput(f"the deadline {new_deadline} is before the start {action.starts_on}")
    new_measures = action.measures if measures is None else _clean(measures, "measures")
    changed = {k: str(v) for k, v, old in (("deadline", new_deadline, action.deadline),
                                           ("owner", new_owner, action.owner),
                                           ("measures", new_measures, action.measures)) if v != old}
    note = _clean(note, "note")
    if wanted is current and not changed and not note:
        raise InvalidInput("nothing to change: give a status, deadline, owner, measures or a note")
    row = conn.execute(UPDATE_ACTION, {"id": action_id, "version": action.version, "status": wanted.value,
                                       "deadline": new_deadline, "owner": new_owner, "measures": new_measures,
                                       "now": now}).fetchone()
    if row is None:
        conn.rollback()
        raise InvalidInput(f"action {action_id} was changed meanwhile: reload it and try again")
    event = "status" if wanted is not current else "changed" if changed else "note"
    conn.execute(INSERT_EVENT, (action_id, now, by, event, current.value, wanted.value,
                                Jsonb(changed | ({"note": note} if note else {}))))
    conn.commit()
    return get_action(conn, action_id)


# --- the effect: the metric before and after ------------------------------------------------------------------

def _month(first: date, shift: int, tz: ZoneInfo) -> Period:
    index = first.year * 12 + first.month - 1 + shift
    start = date(index // 12, index % 12 + 1, 1)
    end_index = index + 1
    return Period(Kind.MONTH, start, date(end_index // 12, end_index % 12 + 1, 1) - timedelta(days=1), tz)


def effect(conn: psycopg.Connection, action: Action, *, as_of: datetime, tz: ZoneInfo,
           months: int = EFFECT_MONTHS) -> Effect:
    """The action's metric for the `months` months before its start and the first `months` whole months after
    (only those over by `as_of`), with the monthly means and the change."""
    start = action.starts_on.replace(day=1)
    first_after = 0 if action.starts_on.day == 1 else 1
    sides = [("before", _month(start, -i, tz)) for i in range(months, 0, -1)]
    sides += [("after", _month(start, first_after + i, tz)) for i in range(months)]
    shown, pending = [], 0
    for side, period in sides:
        if period.until > as_of:
            pending += 1
            continue
        value = figure_of(conn, action.metric, period, action.slice, source=action.source).value
        shown.append(MonthFigure(period.label, side, value))

    def mean(side: str) -> float | None:
        values = [m.value for m in shown if m.side == side and m.value is not None]
        return round(sum(values) / len(values), 2) if values else None

    before, after = mean("before"), mean("after")
    change = round(100 * (after - before) / before, 1) if before and after is not None else None
    improved = None
    if change is not None:
        improved = change > 0 if METRICS[action.metric].higher_is_better else change < 0
    return Effect(action.metric, action.slice.label, shown, before, after, change, improved, pending)


def view(conn: psycopg.Connection, action: Action, *, as_of: datetime, tz: ZoneInfo,
         with_events: bool = False) -> ActionView:
    return ActionView(action, effect(conn, action, as_of=as_of, tz=tz),
                      action_events(conn, action.id) if with_events else [])


def actions_for_review(conn: psycopg.Connection, period: Period, where: Slice = Slice()) -> list[ActionView]:
    """The actions the review of `period` shows (not cancelled, started by its end, within its site), each with
    its effect as of the period's end."""
    rows = conn.execute(ACTIONS_FOR_REVIEW, {"until": period.until.date(), "site": where.site}).fetchall()
    return [view(conn, get_action(conn, r[0]), as_of=period.until, tz=period.tz) for r in rows]


def attach_actions(conn: psycopg.Connection, review: Review, period: Period, where: Slice = Slice()) -> Review:
    """Put the period's actions with their effects (`actions`) and the root causes recorded in it (`causes`) into
    `review`, for every report format."""
    review.actions = [v.as_dict() for v in actions_for_review(conn, period, where)]
    rows = conn.execute(CAUSES_FOR_REVIEW, {"since": period.since, "until": period.until, "site": where.site})
    review.causes = [get_cause(conn, r[0]).as_dict() for r in rows.fetchall()]
    return review
