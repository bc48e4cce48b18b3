"""Absence of usual activity: a car with no trips, a door with no swipes, in an hour of the day that always has them.

Per device, the usual count of activity events (`ACTIVITY`) per slot of 24 hours × weekday/weekend is learnt as an
exponentially weighted mean of whole hours. When an hour ends with no event at all while its slot is learnt (seen on
`min_days` days) and usually holds at least `min_usual` events, `usual_activity_missing` is active until an event
arrives: the device may report itself healthy while the use it always sees has stopped. An hour with no event is not
learnt while the absence stands, so a long stop never becomes the usual. Sooner than the hour's end on a busy device:
while the device keeps reporting, the events its learnt slots expect since the last one are added up message by
message, and once `gap_expected` of them were due and none came, the absence stands too (a gate reading 60 swipes
an hour is missing them after 12 minutes, not at the end of a silent hour). Time the device itself was silent counts
for at most `gap_cap_s` per message: a device that is off says nothing about its use. Mid-hour, a slot seen on one
day already counts (a new device's second day), with the pace due also held under `recent_share` of the fewer events
of its own last two whole hours (a gate that read 60 and 48 swipes in the last two hours, and as many yesterday, is
missing them after 30 minutes without one); the end-of-hour judgement waits for `min_days`. Engineering only, like
every learned alarm. Values in `detectors.params.AbsenceParams`.

>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))
>>> state = AbsenceState()
>>> seen = []
>>> for day in range(4):  # Monday to Thursday, 20 trips between 09:00 and 10:00
...     for k in range(20):
...         _ = event(state, "trip", t0 + timedelta(days=day, minutes=3 * k), DeviceKind.ELEVATOR)
...     seen.append(check(state, t0 + timedelta(days=day, hours=2)).active)
>>> seen
[False, False, False, False]
>>> check(state, t0 + timedelta(days=4, hours=1, minutes=1)).active  # Friday 09:00-10:00 without a trip
True
>>> event(state, "trip", t0 + timedelta(days=4, hours=1, minutes=2), DeviceKind.ELEVATOR).active
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from detectors.hysteresis import Observation, Policy
from detectors.learned import SLOTS, slot
from detectors.params import PARAMS
from ingest.reading import DeviceKind

FAULT = "usual_activity_missing"
P = PARAMS.absence
POLICIES = {FAULT: Policy(0.0, 0.0, P.cooldown_s)}  # decided per whole hour already
ACTIVITY: dict[DeviceKind, frozenset[str]] = {
    DeviceKind.ELEVATOR: frozenset({"trip"}),
    DeviceKind.ACCESS_DOOR: frozenset({"swipe"}),
    DeviceKind.WATER: frozenset(),
}
HOUR = 3600.0
ONE_HOUR = timedelta(hours=1)
INACTIVE = Observation(FAULT, False)  # shared: nothing changes an observation once made


@dataclass(slots=True)
class AbsenceState:
    usual: list[float] = field(default_factory=lambda: [0.0] * SLOTS)
    days: list[int] = field(default_factory=lambda: [0] * SLOTS)  # whole hours learnt per slot
    hour: float | None = None  # start of the hour being counted (epoch seconds)
    hour_slot: int = 0
    count: int = 0
    missing: str = ""  # the evidence while an absence stands, "" otherwise
    tz: tzinfo | None = None  # the readings' own clock: hours of the day are theirs, whatever clock ticks use
    due: float = 0.0  # events the learnt slots expected since the last one (or since the device was first seen)
    due_since: float | None = None  # when that count began: the last activity event
    heard: float | None = None  # the last message's time (epoch seconds), up to which `due` is added up
    rate: float = 0.0  # `_rate` for the hour that starts at `rate_hour`: slots change only when an hour closes
    rate_hour: float | None = None
    recent: list[int] = field(default_factory=list)  # events in the last two whole hours learnt, oldest first


def event(state: AbsenceState, name: str | None, ts: datetime, kind: DeviceKind,
          t: float | None = None) -> Observation | None:
    """Count one message; an activity event ends a standing absence. None when nothing changed. `t` is
    `ts.timestamp()` when the caller has it already."""
    if state.tz is None:
        state.tz = ts.tzinfo
    if t is None:
        t = ts.timestamp()
    was = check(state, ts, t)
    if name is None or name not in ACTIVITY.get(kind, frozenset()):
        if not ACTIVITY.get(kind):
            return None
        if _overdue(state, ts, t) and not was.active:
            return _standing(state)
        return was if was.active else None
    state.count += 1
    state.due, state.due_since, state.heard = 0.0, t, t
    if state.missing:
        state.missing = ""
        return INACTIVE
    return None


def _overdue(state: AbsenceState, ts: datetime, t: float) -> bool:
    """Add up the events due since the last message; True when an absence starts now (`gap_expected` were due)."""
    heard, state.heard = state.heard, t
    if heard is None or t <= heard:
        return False
    if state.due_since is None:
        state.due_since = heard
    if state.rate_hour != state.hour:  # `check` has just closed the hours up to this message's
        state.rate, state.rate_hour = _rate(state, _local(state, ts)), state.hour
    state.due += state.rate * min(t - heard, P.gap_cap_s) / HOUR
    if state.missing or state.due < P.gap_expected:
        return False
    minutes = (t - state.due_since) / 60.0
    basis = ("at these hours" if _slots_learnt(state, _local(state, ts))
             else "at these hours the day before and at the pace of its last two hours")
    state.missing = (f"no activity for {minutes:.0f} min while the device kept reporting; {state.due:.0f} events"
                     f" are usual in that time {basis}")
    return True


def _rate(state: AbsenceState, local: datetime) -> float:
    """Events per hour due now: the least of this hour's slot and its two neighbours', 0 unless all three were seen.
    A slot holds its hour's average, and use ramps within the hour (a gate reads 19 swipes an hour at 06:00 and 70 at
    07:00, 45 on average between): at 06:10 the average would expect twice what comes. The least of the three never
    expects more than the ramp delivers, and a flat busy period keeps its full rate. While any of the three was seen
    on fewer than `min_days` days, one day's count is a rough usual: the pace is also held under `recent_share` of
    the fewer events of the device's own last two whole hours."""
    moments = (local - ONE_HOUR, local, local + ONE_HOUR)
    days = min(state.days[slot(moment)] for moment in moments)
    if days == 0:
        return 0.0
    rate = min(state.usual[slot(moment)] for moment in moments)
    if days >= P.min_days:
        return rate
    return min(rate, P.recent_share * min(state.recent)) if len(state.recent) == 2 else 0.0


def _slots_learnt(state: AbsenceState, local: datetime) -> bool:
    return all(state.days[slot(moment)] >= P.min_days for moment in (local - ONE_HOUR, local, local + ONE_HOUR))


def check(state: AbsenceState, now: datetime, t: float | None = None, heard_from: float = -math.inf) -> Observation:
    """Close every whole hour up to `now` (learning or judging it) and say whether an absence stands. `t` is
    `now.timestamp()` when the caller has it already (a change of time zone keeps the instant). An hour that began
    before `heard_from` (the platform listening since: a restart, a lost broker connection) is neither learnt nor
    judged: its missing events may be the platform's deafness, not the device's use."""
    if t is None:
        t = now.timestamp()
    if state.hour is not None and state.hour + HOUR > t:
        return _standing(state)  # no hour ends yet: what nearly every call finds (the engine's tick, every device)
    now = _local(state, now)
    start = t - (t % HOUR)
    if state.hour is None:
        state.hour, state.hour_slot = start, slot(now)
    while state.hour is not None and state.hour + HOUR <= t:
        if state.hour >= heard_from:
            _close(state, now)
        state.hour += HOUR
        state.hour_slot = slot(datetime.fromtimestamp(state.hour, now.tzinfo))
        state.count = 0
    return _standing(state)


def _local(state: AbsenceState, ts: datetime) -> datetime:
    """`ts` on the readings' own clock. Each decoded reading carries its own tzinfo object; an equal one is the
    same clock (hours, weekdays, the "%H:00" of the evidence), so only another zone is converted."""
    if state.tz is None or ts.tzinfo is state.tz or ts.tzinfo == state.tz:
        return ts
    return ts.astimezone(state.tz)


def _standing(state: AbsenceState) -> Observation:
    """The absence as it stands now."""
    if state.missing:
        return Observation(FAULT, True, summary=state.missing, learned=True)
    return INACTIVE


def _close(state: AbsenceState, now: datetime) -> None:
    s, n = state.hour_slot, state.count
    usual = state.usual[s]
    if n == 0 and state.days[s] >= P.min_days and usual >= P.min_usual:
        when = datetime.fromtimestamp(state.hour or 0.0, now.tzinfo).strftime("%H:00")
        state.missing = f"no activity in the hour from {when}; this device usually has {usual:.0f} in that hour"
        return  # not learnt: a stop never becomes the usual
    if n == 0 and state.missing:
        return
    state.recent = [*state.recent[-1:], n]
    state.days[s] += 1
    state.usual[s] += max(P.alpha, 1.0 / state.days[s]) * (n - usual)
