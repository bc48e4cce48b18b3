"""Presence: a device that stops reporting is a fault of its own (`device_offline`), whatever its kind.

The usual interval between a device's readings is learned as an exponentially weighted mean; silence
longer than `SILENCE_FACTOR` usual intervals (and at least `MIN_SILENCE_S`) raises the alarm at the next
`tick`, and the next reading clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from detectors.alarm import Severity
from detectors.hysteresis import Observation, Policy

# Ten missed reports is not jitter or one lost message; two minutes keeps fast reporters from flapping.
SILENCE_FACTOR = 10.0
MIN_SILENCE_S = 120.0
# How quickly the usual interval follows a device whose reporting rate changes.
GAP_ALPHA = 0.05


@dataclass(slots=True)
class Presence:
    """When a device last reported, and how often it usually does."""

    name: ClassVar[str] = "presence"
    policies: ClassVar[dict[str, Policy]] = {"device_offline": Policy(0.0, 0.0, cooldown_s=0.0)}

    last_t: float | None = None
    gap: float | None = None

    def seen(self, t: float) -> Observation:
        """A reading arrived at `t`: the device is present."""
        if self.last_t is not None and t > self.last_t:
            sample = t - self.last_t
            if self.gap is None:
                self.gap = sample
            else:
                # An outage's long gap must not teach us that silence is normal.
                sample = min(sample, 4 * self.gap)
                self.gap += GAP_ALPHA * (sample - self.gap)
        self.last_t = t
        return Observation("device_offline", False)

    def limit(self) -> float:
        return max(MIN_SILENCE_S, SILENCE_FACTOR * (self.gap or 0.0))

    def check(self, now: float) -> Observation:
        """Is the device silent at wall-clock `now`?"""
        if self.last_t is None or now - self.last_t <= self.limit():
            return Observation("device_offline", False)
        silent = now - self.last_t
        return Observation(
            "device_offline",
            True,
            Severity.WARNING,
            f"no reading for {silent:.0f} s; this device usually reports every {self.gap or 0:.0f} s",
            metric="silence_s",
            value=silent,
            baseline=self.gap,
            started=self.last_t,
        )
