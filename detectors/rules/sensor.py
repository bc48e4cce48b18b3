"""Sensor faults, whatever the device: a stuck value, telemetry that stops arriving, isolated spikes.

These say "the instrument is lying", not "the equipment is broken", so they are WARNINGs and the engineer
reads them as "check the sensor". Metrics that vary with every reading (a noisy analogue pressure, flow or
vibration) are stuck after `STUCK_READINGS` identical readings. A slow gauge (a reader's battery charge, which
legitimately repeats its value for hours) is stuck only when it has not moved for `SLOW_STUCK_RUNS` times its own
usual time between two changes, and for `SLOW_STUCK_MIN_S` at least: a dead fuel gauge would otherwise hide a
battery running flat until the reader stops and residents cannot get in. Spikes are watched only on quantities
that cannot physically jump and fall back within one reporting interval (pressure, flow, vibration while
travelling, battery charge); a motor's current legitimately does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alarm import Severity
from detectors.hysteresis import Observation, Policy
from detectors.models.ew_deviation import MAD_TO_STD, EWDeviation
from ingest.reading import DeviceKind, Reading

STUCK_WATCHED: dict[DeviceKind, tuple[str, ...]] = {
    DeviceKind.WATER: ("pressure_kpa", "flow_lpm"),
    DeviceKind.ELEVATOR: ("vibration_rms",),
    DeviceKind.ACCESS_DOOR: (),
}
SLOW_GAUGES: dict[DeviceKind, tuple[str, ...]] = {DeviceKind.ACCESS_DOOR: ("battery_pct",)}
SLOW_STUCK_RUNS = 4.0  # a gauge that moves every ~8 h is stuck after ~32 h without moving
SLOW_STUCK_MIN_S = 36 * 3600.0  # and never before a day and a half without moving
SLOW_RUNS_KEPT = 5  # the usual time between changes is the median of the last few
SLOW_RUNS_WARMUP = 2  # complete runs (change to change) seen before the gauge is judged
SPIKE_WATCHED: dict[DeviceKind, tuple[str, ...]] = {
    DeviceKind.WATER: ("pressure_kpa", "flow_lpm"),
    DeviceKind.ELEVATOR: ("vibration_rms",),
    DeviceKind.ACCESS_DOOR: ("battery_pct",),
}
STUCK_READINGS = 120  # identical readings of a noisy analogue sensor: two minutes at 1 Hz, ten at 5 s
DROPOUT_READINGS = 10  # consecutive readings without a metric the device used to send
# A spike is one reading ten robust sigmas *and* a quarter of the usual level away, the next back within three
# sigmas: a pump starting moves pressure ~15 %, stays there for minutes, and is neither.
SPIKE_Z = 10.0
SPIKE_JUMP_RATIO = 0.25
# Quantities that only creep have an absolute jump instead: a reader battery loses ~0.3 points a day, so two points
# up and back within one report is the gauge, not the cell.
SPIKE_MIN_JUMP = {"battery_pct": 2.0}
SPIKE_BACK_Z = 3.0
SPREAD_FLOOR = 0.01
SPIKES_TO_ALARM = 3
SPIKE_WINDOW_S = 3600.0  # three in an hour: a 30 s reporter with a bad sensor shows it within the hour
WARMUP = 60
# Telemetry arriving at under a quarter of its usual rate (short-run mean gap over 4× the long-run one) is a
# device losing its messages; an hour's alpha-0.1 smoothing needs ~10 gaps, so one late message is not it.
DROPOUT_GAP_RATIO = 4.0
GAP_SHORT_ALPHA = 0.1
GAP_LONG_ALPHA = 0.01
GAP_WARMUP = 30
SILENCE_CAP = 10.0
# The verdicts of nearly every reading; shared, as nothing changes an observation once made.
NOT_STUCK = Observation("sensor_stuck", False)
NO_DROPOUT = Observation("sensor_dropout", False)
NO_SPIKES = Observation("sensor_spikes", False)


@dataclass(slots=True)
class SensorHealth:
    """Per-metric bookkeeping of one device's sensors."""

    name: ClassVar[str] = "sensor_health"
    policies: ClassVar[dict[str, Policy]] = {
        "sensor_stuck": Policy(raise_after_s=0.0, clear_after_s=30.0, cooldown_s=600.0),
        "sensor_dropout": Policy(raise_after_s=120.0, clear_after_s=300.0, cooldown_s=600.0),
        "sensor_spikes": Policy(raise_after_s=0.0, clear_after_s=SPIKE_WINDOW_S, cooldown_s=SPIKE_WINDOW_S),
    }

    base: EWDeviation = field(default_factory=lambda: EWDeviation(alpha=0.01))
    last: dict[str, float] = field(default_factory=dict)
    same: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)  # how often each metric changed between readings
    runs: dict[str, list[float]] = field(default_factory=dict)  # slow gauges: seconds between recent changes
    moved_at: dict[str, float] = field(default_factory=dict)  # slow gauges: when the value last changed
    suspect: dict[str, float] = field(default_factory=dict)  # metric -> z of a reading that may be a spike
    spikes: list[float] = field(default_factory=list)
    tel_t: float | None = None  # time of the last telemetry reading (events come on their own schedule)
    gap_long: float | None = None
    gap_short: float | None = None
    gaps: int = 0

    def observe(self, reading: Reading, t: float, learning: bool) -> list[Observation]:
        if reading.event is not None:
            return []  # events are bursty and partial: judge the sensors on periodic telemetry only
        slow = self._rate(t, learning)
        kind, v = reading.kind, reading.values
        stuck = dropped = None
        calm: dict[str, float] = {}
        stuck_watched = STUCK_WATCHED.get(kind, ())
        for metric in SPIKE_WATCHED.get(kind, ()):
            value = v.get(metric)
            if value is None:
                if metric in self.last:
                    self.missing[metric] = self.missing.get(metric, 0) + 1
                    if self.missing[metric] >= DROPOUT_READINGS:
                        dropped = metric
                continue
            self.missing[metric] = 0
            if metric in stuck_watched:
                frozen = self._stuck(metric, value)
            else:
                frozen = metric in SLOW_GAUGES.get(kind, ()) and self._frozen(metric, value, t, learning)
            if frozen:
                stuck = metric
            if metric == "vibration_rms" and v.get("moving", 1.0) < 0.5:
                continue  # a one-reading trip after a quiet night is a jump and back too, but a real one
            if self._spiky(metric, value, t) < SPIKE_Z / 2:
                calm[metric] = value
        if learning and calm:
            self.base.learn_one(calm)
        if self.spikes:
            self.spikes = [s for s in self.spikes if t - s <= SPIKE_WINDOW_S]
        return [self._stuck_obs(stuck), self._dropout_obs(dropped, slow), self._spikes_obs()]

    def _rate(self, t: float, learning: bool) -> bool:
        """Track the telemetry interval; True when telemetry now arrives far more rarely than it used to."""
        last, self.tel_t = self.tel_t, t
        if last is None or t <= last:
            return False
        gap, usual = t - last, self.gap_long
        if usual is not None:
            # One long silence (a device back from being offline) is presence's business, not a lossy link: cap it
            # so that it alone cannot lift the short-run mean over the dropout ratio.
            gap = min(gap, SILENCE_CAP * usual)
        self.gap_short = gap if self.gap_short is None else self.gap_short + GAP_SHORT_ALPHA * (gap - self.gap_short)
        slow = usual is not None and self.gaps >= GAP_WARMUP and self.gap_short > DROPOUT_GAP_RATIO * usual
        if not slow and learning:
            self.gaps += 1
            a = max(GAP_LONG_ALPHA, 1.0 / self.gaps)
            if self.gap_long is None:
                self.gap_long = gap
            else:  # a late message is not a new normal: learn at most twice the usual gap from it
                self.gap_long += a * (min(gap, 2.0 * self.gap_long) - self.gap_long)
        return slow

    def _stuck(self, metric: str, value: float) -> bool:
        same = self.same.get(metric, 0) + 1 if self.last.get(metric) == value else 0
        self.same[metric], self.last[metric] = same, value
        if same == 0:
            self.changes[metric] = self.changes.get(metric, 0) + 1
        varies = self.changes.get(metric, 0) >= WARMUP  # it has been seen to change reading after reading
        return varies and value != 0.0 and same >= STUCK_READINGS

    def _frozen(self, metric: str, value: float, t: float, learning: bool) -> bool:
        """A slow gauge that has not moved for several of its own usual times between changes, and for a day and a
        half at least (a spell of fast steps, a battery running down, must not make its usual pace look slow)."""
        known = metric in self.last
        moved = not known or self.last[metric] != value
        self.last[metric] = value
        since = self.moved_at.get(metric)
        runs = self.runs.setdefault(metric, [])
        usual = sorted(runs)[len(runs) // 2] if len(runs) >= SLOW_RUNS_WARMUP else None
        if moved:
            self.moved_at[metric] = t
            self.changes[metric] = self.changes.get(metric, 0) + known
            # The run before the first change began before we listened; a stuck episode is not a usual run.
            if since is not None and self.changes[metric] >= 2 and learning and (
                    usual is None or t - since < SLOW_STUCK_RUNS * usual):
                runs.append(t - since)
                del runs[:-SLOW_RUNS_KEPT]
            self.same[metric] = 0
            return False
        self.same[metric] = self.same.get(metric, 0) + 1
        return usual is not None and since is not None and t - since >= max(SLOW_STUCK_MIN_S,
                                                                             SLOW_STUCK_RUNS * usual)

    def _spiky(self, metric: str, value: float, t: float) -> float:
        if self.base.n < WARMUP:
            return 0.0
        usual = self.base.mean.get(metric)
        if usual is None:
            return 0.0
        # A quantised, nearly constant metric (a battery gauge in 0.1 steps) has a mean absolute deviation of ~0;
        # one step must not count as ten sigmas, so the spread is at least 1 % of the level.
        spread = max(MAD_TO_STD * self.base.mad[metric], SPREAD_FLOOR * abs(usual), 1e-9)
        z = abs(value - usual) / spread
        previous = self.suspect.pop(metric, None)
        if previous is not None and z < SPIKE_BACK_Z:
            self.spikes.append(t)
        # The jump is worked out only for a reading already far off: nearly every reading is not.
        if z > SPIKE_Z and abs(value - usual) > SPIKE_MIN_JUMP.get(metric, SPIKE_JUMP_RATIO * max(abs(usual), 1e-9)):
            self.suspect[metric] = z
        return z

    def _stuck_obs(self, metric: str | None) -> Observation:
        if metric is None:
            return NOT_STUCK
        runs = self.runs.get(metric)
        usual = f", against a usual {sorted(runs)[len(runs) // 2] / 3600:.0f} h between changes" if runs else ""
        return Observation(
            "sensor_stuck",
            True,
            Severity.WARNING,
            f"{metric} has read exactly {self.last[metric]:g} for {self.same[metric]} readings in a row{usual}",
            metric=metric,
            value=self.last[metric],
        )

    def _dropout_obs(self, metric: str | None, slow: bool) -> Observation:
        if slow and self.gap_short is not None and self.gap_long is not None:
            return Observation(
                "sensor_dropout",
                True,
                Severity.WARNING,
                f"telemetry arrives every {self.gap_short:.0f} s on average, against a usual {self.gap_long:.0f} s:"
                " most messages are being lost",
                metric="telemetry_gap_s",
                value=self.gap_short,
                baseline=self.gap_long,
            )
        if metric is None:
            return NO_DROPOUT
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
            return NO_SPIKES
        return Observation(
            "sensor_spikes",
            True,
            Severity.WARNING,
            f"{len(self.spikes)} isolated spikes (one reading far off, the next back) in the last"
            f" {SPIKE_WINDOW_S / 60:.0f} minutes",
            metric="spikes",
            value=float(len(self.spikes)),
        )
