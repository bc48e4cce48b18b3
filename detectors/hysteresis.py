"""Alarm hysteresis: turns a stream of per-reading observations into few alarm transitions.

A rule says, reading by reading, whether a fault condition holds (`Observation`). A `Track` per
(device, fault) decides when that becomes an alarm: the condition must hold for `raise_after_s` of
reading time before the alarm is raised, normality must hold for `clear_after_s` before it clears, and
after a clear the same fault is not raised again for `cooldown_s`. One fault is one alarm; while it is
raised, a change of severity is an UPDATED transition, never a new alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detectors.alarm import AlarmState, Severity


@dataclass(frozen=True, slots=True)
class Policy:
    """How long a condition must hold to raise, how long normality must hold to clear, and the cool-down."""

    raise_after_s: float
    clear_after_s: float
    cooldown_s: float = 300.0


# An engineer's false-alarm verdict must change even a rule that raises at once (forced door, low battery): its
# raise delay is stretched from at least this, so a one-reading blip no longer raises on that device.
VERDICT_MIN_DELAY_S = 30.0


def raise_delay(policy: Policy, slowdown: float) -> float:
    """How long a condition must hold before it raises, after false-alarm verdicts stretched it `slowdown`×."""
    if slowdown <= 1.0:
        return policy.raise_after_s
    return max(policy.raise_after_s, VERDICT_MIN_DELAY_S) * slowdown


@dataclass(slots=True)
class Observation:
    """One rule's verdict on one reading: does `fault` hold now, how bad is it, and why (when active)."""

    fault: str
    active: bool
    severity: Severity = Severity.WARNING
    summary: str = ""
    metric: str | None = None
    value: float | None = None
    baseline: float | None = None
    score: float | None = None
    started: float | None = None  # when the condition began, if earlier than this reading (e.g. silence)
    learned: bool = False  # the verdict rests on a baseline learnt from this device, not on a fixed limit


def quiet(fault: str, metric: str | None, value: float | None = None, baseline: float | None = None) -> Observation:
    """The verdict "`fault` does not hold", with what `metric` reads now (a clear's evidence says it). The verdict of
    nearly every reading, so built with positional arguments: keywords cost a dataclass a third more."""
    return Observation(fault, False, Severity.WARNING, "", metric, value, baseline)


@dataclass(slots=True)
class Transition:
    """What a `Track` decided: the new alarm state, when the episode began, and the observation behind it."""

    state: AlarmState
    since: float
    severity: Severity
    observation: Observation
    raised_summary: str = ""


@dataclass(slots=True)
class Track:
    """Hysteresis state of one fault on one device. Times are POSIX seconds of reading time."""

    pending_since: float | None = None
    raised: bool = False
    since: float = 0.0
    normal_since: float | None = None
    cleared_at: float | None = None
    severity: Severity = Severity.WARNING
    summary: str = ""  # the evidence sentence the alarm was raised with, repeated on the clear
    extra: dict[str, Any] = field(default_factory=dict)

    def update(self, obs: Observation, t: float, policy: Policy, slowdown: float = 1.0) -> Transition | None:
        """Feed one observation at reading time `t`; `slowdown` stretches the raise delay (false alarms)."""
        if obs.active:
            return self._abnormal(obs, t, policy, slowdown)
        return self._normal(obs, t, policy)

    def _abnormal(self, obs: Observation, t: float, policy: Policy, slowdown: float) -> Transition | None:
        self.normal_since = None
        if self.raised:
            if obs.severity != self.severity:
                self.severity = obs.severity
                return Transition(AlarmState.UPDATED, self.since, obs.severity, obs, self.summary)
            return None
        if self.pending_since is None:
            self.pending_since = t if obs.started is None else min(t, obs.started)
        if t - self.pending_since < raise_delay(policy, slowdown):
            return None
        if self.cleared_at is not None and t - self.cleared_at < policy.cooldown_s:
            return None
        self.raised, self.since, self.severity = True, self.pending_since, obs.severity
        self.summary = obs.summary
        return Transition(AlarmState.RAISED, self.since, obs.severity, obs, obs.summary)

    def _normal(self, obs: Observation, t: float, policy: Policy) -> Transition | None:
        self.pending_since = None
        if not self.raised:
            return None
        if self.normal_since is None:
            self.normal_since = t
        if t - self.normal_since < policy.clear_after_s:
            return None
        return self.reset(t, obs)

    def reset(self, t: float, obs: Observation) -> Transition | None:
        """End a raised episode now (normality held, or an engineer called it a false alarm)."""
        if not self.raised:
            self.pending_since = None
            return None
        self.raised, self.cleared_at, self.normal_since, self.pending_since = False, t, None, None
        return Transition(AlarmState.CLEARED, self.since, self.severity, obs, self.summary)
