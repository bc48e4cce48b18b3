"""Learned normal: each device learns its own usual values by hour of day and day type, and behaviour no rule names
that strays far from it for long is an `unusual_behaviour` alarm (engineering only: no resident is warned).

Per watched metric of a device (`WATCHED`): the usual value per slot (24 hours × weekday/weekend, an exponentially
weighted mean per slot, so the morning rush of this door or the evening peak of this feed is its own normal); the
spread of single residuals (reading − usual value of its slot) as river's `stats.EWVar`, which caps what one reading
can count and keeps odd readings out of the learning; the residual smoothed with river's `stats.EWMean`, so one odd
reading is noise and a lasting departure is a pattern, judged in units of how far that smoothed residual usually
wanders in the same slot (a ramp hour wanders more than a quiet one); and river's `drift.PageHinkley` on that
standardised residual, for a slow drift (a feed's flow creeping up, a motor drawing more
current week by week), named in the evidence when it fired.

Learning is frozen per metric, not per device: an alarm freezes only the metrics its fault would corrupt
(`CORRUPTS`; an alarm of a fault not listed freezes them all), so an unrelated alarm left open for a day does not
stop the usual flow from following the season. Values in `detectors.params.LearnedParams`.

>>> from datetime import datetime, timedelta, timezone
>>> tz = timezone(timedelta(hours=8))
>>> state = new_state(DeviceKind.WATER)
>>> t0 = datetime(2026, 3, 2, tzinfo=tz)
>>> for i in range(3 * 24 * 60):  # three days, one reading a minute: 50 L/min by day, 5 by night
...     t = t0 + timedelta(minutes=i)
...     _ = observe(state, {"flow_lpm": 50.0 if 7 <= t.hour < 23 else 5.0}, t, frozenset())
>>> observe(state, {"flow_lpm": 50.0}, t0 + timedelta(days=3, hours=12), frozenset()).active
False
>>> [observe(state, {"flow_lpm": 50.0}, t0 + timedelta(days=3, hours=3, minutes=m), frozenset()).active
...  for m in range(60)][-1]
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from math import isfinite, sqrt

from river import drift, stats

from detectors.alarm import Severity
from detectors.hysteresis import Observation, Policy
from detectors.params import PARAMS
from ingest.reading import DeviceKind

FAULT = "unusual_behaviour"
NAME = "learned-normal"
P = PARAMS.learned
POLICIES = {FAULT: Policy(P.raise_after_s, P.clear_after_s, P.cooldown_s)}
SLOTS = 48  # 24 hours × (weekday, weekend)
# The metrics a device's learned normal watches: quantities whose usual level differs per device and per hour.
WATCHED: dict[DeviceKind, tuple[str, ...]] = {
    DeviceKind.WATER: ("flow_lpm", "pressure_kpa", "pump_current_a"),
    DeviceKind.ELEVATOR: ("motor_current_a", "motor_temp_c", "door_cycle_s"),
    DeviceKind.ACCESS_DOOR: (),
}
# Metrics a device repeats in every report until the next instance of what they measure: a lift reports its last door
# cycle's duration in each telemetry message until the next cycle, an hour later at night. Each instance counts once
# (a new value is a new one; a repeat is judged as the last one left it, and neither moves nor teaches anything), so
# one door a passenger held for a minute at 02:00 is one odd cycle, not an hour of odd readings.
HELD_VALUES = frozenset({"door_cycle_s"})
# Which metrics each fault would corrupt if they were learnt during it; other metrics keep learning.
CORRUPTS: dict[str, frozenset[str]] = {
    "pipe_burst": frozenset({"flow_lpm", "pressure_kpa", "pump_current_a"}),
    "supply_outage": frozenset({"flow_lpm", "pressure_kpa", "pump_current_a"}),
    "pump_failure": frozenset({"pressure_kpa", "pump_current_a"}),
    "tank_low": frozenset({"pump_current_a"}),
    "slow_leak": frozenset({"flow_lpm"}),
    "motor_overheat": frozenset({"motor_temp_c", "motor_current_a"}),
    "door_fault": frozenset({"door_cycle_s"}),
    "bearing_wear": frozenset({"vibration_rms"}),
    "levelling_drift": frozenset({"levelling_error_mm"}),
    "sensor_stuck": frozenset(),  # the sensor rule guards its own metric; see `frozen_metrics`
    "sensor_spikes": frozenset(),
    "battery_low": frozenset({"battery_pct"}),
    "held_open": frozenset({"open_duration_s"}),
    "forced_open": frozenset(),
    "lock_failure": frozenset(),
    "reader_offline": frozenset(),
    "reader_silent": frozenset(),  # `detectors.peers`: no reading value is wrong, only reads missing
    FAULT: frozenset(),  # an unusual-behaviour alarm freezes the metric it is about (`observe`)
    "usual_activity_missing": frozenset(),  # `detectors.absence`: no reading value is wrong, only missing
}
# The parameters the hot path reads per metric, as module constants (an attribute lookup each is measurable).
Z_LIMIT, Z_CAP, MIN_SLOT_READINGS, WARMUP_S = P.z_limit, P.z_cap, P.min_slot_readings, P.warmup_s
USUAL_ALPHA, SPREAD_FLOOR, WANDER_FLOOR = P.usual_alpha, P.spread_floor, P.wander_floor
ALL = frozenset({"*"})
NOTHING: frozenset[str] = frozenset()
# The verdict of nearly every reading; shared, as nothing changes an observation once made.
INACTIVE = Observation(FAULT, False)


@dataclass(slots=True)
class MetricNormal:
    """One metric's learned normal: usual value per slot, residual spread, smoothed residual, drift detector."""

    usual: list[float] = field(default_factory=lambda: [0.0] * SLOTS)
    seen: list[int] = field(default_factory=lambda: [0] * SLOTS)
    spread: stats.EWVar = field(default_factory=lambda: stats.EWVar(P.spread_alpha))  # of single residuals
    level: stats.EWMean = field(default_factory=lambda: stats.EWMean(P.smooth_alpha))  # smoothed residual
    wander: list[float] = field(default_factory=lambda: [0.0] * SLOTS)  # per slot: mean square of `level`
    drift: drift.PageHinkley = field(default_factory=lambda: drift.PageHinkley(
        min_instances=P.drift_min_instances, delta=P.drift_delta, threshold=P.drift_threshold))
    drift_at: float | None = None  # when Page-Hinkley last fired
    last: float | None = None  # the last value seen (for `HELD_VALUES`: a repeat is no new instance)
    z: float = 0.0  # the smoothed residual in spreads after the last new instance (`HELD_VALUES`)


@dataclass(slots=True)
class LearnedState:
    metrics: dict[str, MetricNormal] = field(default_factory=dict)
    unusual: str | None = None  # the metric the last active observation was about
    first_t: float | None = None  # the first reading learnt: nothing is judged before `warmup_s` after it


def new_state(kind: DeviceKind) -> LearnedState:
    return LearnedState({m: MetricNormal() for m in WATCHED.get(kind, ())})


def frozen_metrics(raised_faults: list[str]) -> frozenset[str]:
    """The metrics whose learning the raised alarms freeze (`ALL` if one of them is a fault not in `CORRUPTS`)."""
    out: set[str] = set()
    for fault in raised_faults:
        if fault not in CORRUPTS:
            return ALL
        out |= CORRUPTS[fault]
    return frozenset(out)


def slot(ts: datetime) -> int:
    """Hour of day (the reading's own clock) and weekday/weekend, as 0..47."""
    return ts.hour + (24 if ts.weekday() >= 5 else 0)


def _clock(ts: datetime) -> tuple[int, int, float]:
    """(slot, the neighbouring slot `expected` interpolates towards, its weight): once per reading, for every
    metric (the clock fields of an aware datetime are cheap, but not free when read per metric and twice)."""
    hour = ts.hour
    s = hour + (24 if ts.weekday() >= 5 else 0)
    frac = (ts.minute + ts.second / 60.0) / 60.0 - 0.5
    other = s - hour + (hour + (1 if frac > 0 else -1)) % 24
    return s, other, abs(frac)


def observe(state: LearnedState, values: Mapping[str, float], ts: datetime, frozen: frozenset[str],
            t: float | None = None) -> Observation:
    """Judge one reading against the device's learned normal, then learn it (metrics not in `frozen`). `t` is
    `ts.timestamp()` when the caller has it already."""
    s, other, w = _clock(ts)
    if t is None:
        t = ts.timestamp()
    if state.first_t is None:
        state.first_t = t
    judging = t - state.first_t >= WARMUP_S
    frozen_all = frozen is ALL
    unusual = state.unusual
    worst: tuple[float, str, float, MetricNormal] | None = None  # (|z|, metric, value, its normal)
    for metric, normal in state.metrics.items():
        value = values.get(metric)
        if value is None or value.__class__ is bool or not isfinite(value):
            continue
        if metric in HELD_VALUES:
            if value == normal.last:  # the same instance reported again: judged as it was, learnt once already
                z, odd = normal.z, True
            else:
                z, odd = _step(normal, value, s, other, w, t)
                normal.last, normal.z = value, z
        else:
            z, odd = _step(normal, value, s, other, w, t)
        az = abs(z)
        seen = normal.seen
        if not (odd or frozen_all or metric in frozen or (unusual == metric and az > Z_LIMIT)):
            # learn: the slot's usual value (a mean of its first readings, then exponentially weighted) and the
            # spread of single residuals
            n = seen[s] = seen[s] + 1
            usuals = normal.usual
            residual = value - usuals[s]
            usuals[s] += max(USUAL_ALPHA, 1.0 / n) * residual
            if n > 1:
                normal.spread.update(residual)
        if judging and seen[s] >= MIN_SLOT_READINGS and (worst is None or az > worst[0]):
            worst = (az, metric, value, normal)
    if worst is None or worst[0] <= Z_LIMIT:
        state.unusual = None
        return INACTIVE
    # Nothing touches a metric's normal after its own turn in the loop: its usual value and drift are as they were
    # when it became the worst, and are worked out only now that an observation will carry them.
    z, metric, value, normal = worst
    usual = _expected(normal, s, other, w)
    drifted = normal.drift_at is not None and t - normal.drift_at <= P.drift_hold_s
    state.unusual = metric
    how = "; Page-Hinkley saw it drift" if drifted else ""
    summary = (f"{metric} {value:g}, this device usually reads {usual:.3g} at this hour"
               f" ({z:.1f} spreads off for a while{how}): no rule names it")
    return Observation(FAULT, True, Severity.INFO, summary, metric, value, usual, z, learned=True)


def expected(normal: MetricNormal, ts: datetime) -> float:
    """The usual value at this minute: each slot's mean stands for the middle of its hour, and between middles the
    usual value is interpolated from the neighbouring hour of the same day type (a morning ramp is a slope, not a
    step at the hour). A neighbour not yet learnt is not used."""
    return _expected(normal, *_clock(ts))


def _expected(normal: MetricNormal, s: int, other: int, w: float) -> float:
    if normal.seen[other] < MIN_SLOT_READINGS:
        return normal.usual[s]
    return (1.0 - w) * normal.usual[s] + w * normal.usual[other]


def _step(normal: MetricNormal, value: float, s: int, other: int, w: float, t: float) -> tuple[float, bool]:
    """The smoothed residual in spreads after this reading (0 while the slot is new), and whether this reading alone
    is beyond `z_limit` (then it is not learnt: a fault's readings never become the usual); feeds the drift
    detector. The hot path: `_expected` is written out here, and the parameters are module constants."""
    seen_ = normal.seen
    seen = seen_[s]
    if seen < MIN_SLOT_READINGS:
        return 0.0, False
    usual_ = normal.usual
    usual = usual_[s] if seen_[other] < MIN_SLOT_READINGS else (1.0 - w) * usual_[s] + w * usual_[other]
    residual = value - usual
    floor = SPREAD_FLOOR * (abs(usual) + 1.0)
    var = normal.spread.get()
    spread = (sqrt(var) if var > 0.0 else 0.0) + floor
    cap = Z_CAP * spread
    one = -cap if residual < -cap else (cap if residual > cap else residual)  # one reading counts ≤ `z_cap` spreads
    level_ = normal.level
    level_.update(one)
    level = float(level_.get())
    # The smoothed residual in units of how far it usually wanders: a quiet morning or a busy evening moves it for
    # hours at a time, which the scatter of single readings would call many spreads.
    wander = normal.wander
    z = level / (sqrt(wander[s]) + WANDER_FLOOR * spread + floor)
    drift_ = normal.drift
    drift_.update(z)  # type: ignore[no-untyped-call]  # river's drift detectors carry no annotations
    if drift_.drift_detected:
        normal.drift_at = t
    odd = abs(residual) > Z_LIMIT * spread
    if not odd and abs(z) <= Z_LIMIT:
        wander[s] += max(USUAL_ALPHA, 1.0 / seen) * (level * level - wander[s])
    return z, odd


def relearn(state: LearnedState) -> None:
    """An engineer said the unusual behaviour is normal: the metric it was about forgets its usual values."""
    if state.unusual in state.metrics:
        state.metrics[state.unusual] = MetricNormal()
    state.unusual, state.first_t = None, None
