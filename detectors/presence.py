"""Presence: a device that stops reporting is a fault of its own (`device_offline`), whatever its kind.

The usual interval between a device's readings is learned as an exponentially weighted mean; silence
longer than `SILENCE_FACTOR` usual intervals (and at least `MIN_SILENCE_S`; `UNKNOWN_GAP_SILENCE_S` while the
interval is not known) raises the alarm at the next
`tick`, and the next reading clears it. An explicit "offline" status from ingest (the device's MQTT last will,
or ingest's own heartbeat timeout) is the fastest evidence: the alarm is raised at the first `tick`
`RECONNECT_GRACE_S` after it, unless the device is back by then; "online" or any newer reading clears it.
Silence counts only while the platform itself listens: after a restart or a lost broker connection, a device has
its whole limit to be heard again before its silence is a fault (`check`'s `heard_from`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from detectors.alarm import DEVICE_OFFLINE as OFFLINE
from detectors.alarm import Severity
from detectors.hysteresis import Observation, Policy

# Ten missed reports is not jitter or one lost message; two minutes keeps fast reporters from flapping.
SILENCE_FACTOR = 10.0
MIN_SILENCE_S = 120.0
# Until a device's usual interval is known (one reading, or only a burst, heard), it is silent only after this long:
# fifteen minutes, three of ingest's heartbeat timeouts, as ingest waits. Two minutes called a flood sensor that
# reports every 6 minutes silent on its first gap after every start.
UNKNOWN_GAP_SILENCE_S = 900.0
# A device back within this long of its last will was a glitch — a router restart, a two-minute power blip in the
# tower, a mobile link handing over — not a fault: raising at once turned every blip into an offline ticket per
# device (a building's into one group ticket). Two minutes is also the hold before a silent building's residents
# are warned (tickets/config.py `silence_hold`, counted from the silence's start), so a real power cut warns them
# no later than it did.
RECONNECT_GRACE_S = 120.0
# How quickly the usual interval follows a device whose reporting rate changes.
GAP_ALPHA = 0.05
# Readings closer together than this are a burst (a backlog drained after a reconnect, a flurry of events), not the
# device's reporting interval: learning from them taught "this device usually reports every 0 s", and then the cap
# below (4 usual intervals) held the estimate near zero for dozens of readings.
BURST_S = 1.0
PRESENT = Observation(OFFLINE, False)  # shared: nothing changes an observation once made


@dataclass(slots=True)
class Presence:
    """When a device last reported, and how often it usually does."""

    name: ClassVar[str] = "presence"
    # Silence is judged against its own limit (≥ MIN_SILENCE_S, counted from the last reading, so it raises at
    # once); a last will waits out the reconnect grace, counted from the will.
    policies: ClassVar[dict[str, Policy]] = {OFFLINE: Policy(RECONNECT_GRACE_S, 0.0, cooldown_s=0.0)}

    last_t: float | None = None
    gap: float | None = None
    offline_at: float | None = None  # when ingest reported the device offline, until it is back

    def seen(self, t: float) -> Observation:
        """A reading arrived at `t`: the device is present — unless the reading is older than the device's offline
        report. Ingest hands readings over in batches and presence at once, so the last readings a device sent
        before its connection died often reach the detectors just after its last will; they say nothing about
        whether it is back, and clearing on them turned every power cut into offline alarms that cleared before
        anyone could be warned."""
        if self.offline_at is not None and t < self.offline_at:
            self._learn(t)
            return self._offline(t)
        self.offline_at = None
        self._learn(t)
        return PRESENT

    def _learn(self, t: float) -> None:
        if self.last_t is not None and t - self.last_t >= BURST_S:
            sample = t - self.last_t
            if self.gap is None:
                self.gap = sample
            else:
                # An outage's long gap must not teach us that silence is normal.
                sample = min(sample, 4 * self.gap)
                self.gap += GAP_ALPHA * (sample - self.gap)
        self.last_t = t if self.last_t is None else max(self.last_t, t)

    def reported(self, t: float, *, online: bool) -> Observation:
        """Ingest says the device went offline (last will, heartbeat timeout) or came back online at `t`."""
        if online:
            self.offline_at = None
            self.last_t = t if self.last_t is None else max(self.last_t, t)  # the silence clock restarts
            return Observation(OFFLINE, False, metric="online", value=1.0)
        if self.offline_at is None:
            self.offline_at = t
        return self._offline(t)

    def _offline(self, now: float) -> Observation:
        at = self.offline_at if self.offline_at is not None else now
        last = "" if self.last_t is None else f"; last reading {now - self.last_t:.0f} s earlier"
        return Observation(
            OFFLINE,
            True,
            Severity.WARNING,
            f"the device reported itself offline (connection lost){last}",
            metric="online",
            value=0.0,
            baseline=self.gap,
            started=at,
        )

    def _usual(self) -> str:
        if self.gap is None:
            return "its usual reporting interval is not known yet (too few readings a second or more apart)"
        return f"this device usually reports every {self.gap:.0f} s"

    def limit(self) -> float:
        if self.gap is None:
            return UNKNOWN_GAP_SILENCE_S
        return max(MIN_SILENCE_S, SILENCE_FACTOR * self.gap)

    def check(self, now: float, heard_from: float = -math.inf) -> Observation | None:
        """Is the device silent (or reported offline) at wall-clock `now`? The platform has been listening since
        `heard_from` (ingest connected to the broker): silence before it is the platform's, not the device's, so a
        device is silent only once `limit()` has passed with both the device quiet and the platform listening.
        Until then None: no evidence either way (an offline alarm raised before a restart stays as it is)."""
        if self.offline_at is not None:
            return self._offline(now)
        if self.last_t is None:
            return PRESENT
        if now - max(self.last_t, heard_from) <= self.limit():
            return PRESENT if now - self.last_t <= self.limit() else None
        silent = now - self.last_t
        return Observation(
            OFFLINE,
            True,
            Severity.WARNING,
            f"no reading for {silent:.0f} s; {self._usual()}",
            metric="silence_s",
            value=silent,
            baseline=self.gap,
            started=self.last_t,
        )
