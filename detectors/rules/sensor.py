"""Sensor faults, whatever the device: a stuck value, a metric that stops arriving, isolated spikes.

These say "the instrument is lying", not "the equipment is broken", so they are WARNINGs and the engineer
reads them as "check the sensor". Only metrics that naturally vary are watched for stuck values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alarm import Severity
from detectors.hysteresis import Observation, Policy
from detectors.models.ew_deviation import EWDeviation
from ingest.reading import DeviceKind, Reading

WATCHED: dict[DeviceKind, tuple[str, ...]] = {
    DeviceKind.WATER: ("pressure_kpa", "flow_lpm"),
    DeviceKind.ELEVATOR: ("motor_temp_c", "motor_current_a"),
    DeviceKind.ACCESS_DOOR: (),
}
STUCK_READINGS = 120  # identical readings of a noisy analogue sensor: two minutes at 1 Hz
DROPOUT_READINGS = 10  # consecutive readings without a metric the device used to send
SPIKE_Z = 10.0  # one reading ten robust sigmas out, the next back within three: a spike, not a change
SPIKE_BACK_Z = 3.0
SPIKES_TO_ALARM = 3
SPIKE_WINDOW_S = 900.0
WARMUP = 60


@dataclass(slots=True)
class SensorHealth:
    """Per-metric bookkeeping of one device's sensors."""

    name: ClassVar[str] = "sensor_health"
    policies: ClassVar[dict[str, Policy]] = {
        "sensor_stuck": Policy(raise_after_s=0.0, clear_after_s=30.0, cooldown_s=600.0),
        "sensor_dropout": Policy(raise_after_s=0.0, clear_after_s=30.0, cooldown_s=600.0),
        "sensor_spikes": Policy(raise_after_s=0.0, clear_after_s=600.0, cooldown_s=600.0),
    }

    base: EWDeviation = field(default_factory=lambda: EWDeviation(alpha=0.01))
    last: dict[str, float] = field(default_factory=dict)
    same: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    suspect: dict[str, float] = field(default_factory=dict)  # metric -> z of a reading that may be a spike
    spikes: list[float] = field(default_factory=list)

    def observe(self, reading: Reading, t: float, learning: bool) -> list[Observation]:
        watched = WATCHED.get(reading.kind, ())
        if not watched:
            return []
        v = reading.values
        stuck = dropped = None
        calm: dict[str, float] = {}
        for metric in watched:
            value = v.get(metric)
            if value is None:
                if metric in self.last:
                    self.missing[metric] = self.missing.get(metric, 0) + 1
                    if self.missing[metric] >= DROPOUT_READINGS:
                        dropped = metric
                continue
            self.missing[metric] = 0
            if self._stuck(metric, value):
                stuck = metric
            if self._spiky(metric, value, t) < SPIKE_Z / 2:
                calm[metric] = value
        if learning and calm:
            self.base.learn_one(calm)
        self.spikes = [s for s in self.spikes if t - s <= SPIKE_WINDOW_S]
        return [self._stuck_obs(stuck), self._dropout_obs(dropped), self._spikes_obs()]

    def _stuck(self, metric: str, value: float) -> bool:
        same = self.same.get(metric, 0) + 1 if self.last.get(metric) == value else 0
        self.same[metric], self.last[metric] = same, value
        varies = self.base.n >= WARMUP and self.base.mad.get(metric, 0.0) > 0.0
        return varies and value != 0.0 and same >= STUCK_READINGS

    def _spiky(self, metric: str, value: float, t: float) -> float:
        if self.base.n < WARMUP:
            return 0.0
        z = abs(self.base.deviation(metric, value))
        previous = self.suspect.pop(metric, None)
        if previous is not None and z < SPIKE_BACK_Z:
            self.spikes.append(t)
        if z > SPIKE_Z:
            self.suspect[metric] = z
        return z

    def _stuck_obs(self, metric: str | None) -> Observation:
        if metric is None:
            return Observation("sensor_stuck", False)
        return Observation(
            "sensor_stuck",
            True,
            Severity.WARNING,
            f"{metric} has read exactly {self.last[metric]:g} for {self.same[metric]} readings in a row",
            metric=metric,
            value=self.last[metric],
        )

    def _dropout_obs(self, metric: str | None) -> Observation:
        if metric is None:
            return Observation("sensor_dropout", False)
        return Observation(
            "sensor_dropout",
            True,
            Severity.WARNING,
            f"{metric} missing from the last {self.missing[metric]} readings"
            f" (last value {self.last[metric]:g})",
            metric=metric,
            value=self.last[metric],
        )

    def _spikes_obs(self) -> Observation:
        if len(self.spikes) < SPIKES_TO_ALARM:
            return Observation("sensor_spikes", False)
        return Observation(
            "sensor_spikes",
            True,
            Severity.WARNING,
            f"{len(self.spikes)} isolated spikes in the last {SPIKE_WINDOW_S / 60:.0f} minutes",
            metric="spikes",
            value=float(len(self.spikes)),
        )
