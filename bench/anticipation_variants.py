"""The anticipation bench's variants: the shipped platform and the baselines it is compared with in the same run,
each a switch on the shipped engine (`BenchEngine`), with what each watches (`WATCHES`) and the fixed limits of the
threshold-only rule set (`fixed_limits`). The variants themselves are described in `bench/anticipation.py`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bench.anticipation_lockstep import LOCKSTEP_TICK_S, SimClock
from detectors.alarm import Severity
from detectors.engine import DetectorEngine
from detectors.hysteresis import Observation
from ingest.reading import DeviceKind, Reading
from simulators.faults import water_role

VARIANTS = ("forewarn", "threshold-only", "complaint-only", "alarm-button")
# The RESULT prefix of each variant (the shipped platform has none).
PREFIX = {"forewarn": "", "threshold-only": "threshold_", "complaint-only": "complaint_",
          "alarm-button": "alarm_button_"}
# The device kinds a variant watches, where it does not watch them all: only their traffic is played to it, since
# the rest would be stored and never judged (in a full run, 1.4 million messages a variant, a fifth of the time each).
# A property company without monitoring (complaint-only) watches none: its complaints still reach the platform's API
# at their own times, the clock following them (`play`). "Complaints plus the lift alarm button" hears the lifts.
WATCHES = {"complaint-only": frozenset[str](), "alarm-button": frozenset({DeviceKind.ELEVATOR.value})}
# Faults whose rule compares against something the device learned (a baseline, a reference, a usual rate): the
# threshold-only baseline does without them.
LEARNED_FAULTS = frozenset({"pipe_burst", "pump_failure", "slow_leak", "bearing_wear", "sensor_spikes",
                            "sensor_dropout"})


class BenchEngine(DetectorEngine):
    """The shipped engine, advancing the simulated clock; `variant` switches learned rules or all detection off."""

    def __init__(self, clock: SimClock, variant: str) -> None:
        super().__init__(now_fn=clock.now)
        self.clock, self.variant = clock, variant
        # threshold-only: the fixed limits' verdicts on the reading being judged, with its device
        self.fixed: tuple[str, list[Observation]] = ("", [])
        self.ticked = 0.0  # the simulated time of the last lockstep tick

    def process(self, reading: Reading) -> list:
        t = reading.ts.timestamp()
        self.clock.seen += 1
        if t > self.clock.t:
            self.clock.t = t
        if self.variant == "threshold-only":
            self.fixed = (reading.device_id, fixed_limits(reading))
        alarms = [] if self.variant == "complaint-only" else super().process(reading)
        if self.clock.t - self.ticked >= LOCKSTEP_TICK_S:
            # The detectors' tick (silence, a last will's reconnect grace, doors held open, missing use) at the
            # simulated time, every `LOCKSTEP_TICK_S` of it: the platform's own tick job runs every 2 wall seconds,
            # which at full speed is minutes of simulated time — a last will was judged up to 7 minutes late.
            self.ticked = self.clock.t
            alarms = [*alarms, *self.tick(datetime.fromtimestamp(self.clock.t, UTC))]
        return alarms

    def tick(self, now: datetime, heard_from: Callable[[str], float | None] | None = None) -> list:
        return [] if self.variant == "complaint-only" else super().tick(now, heard_from)

    def presence(self, device_id: str, *, online: bool, ts: datetime) -> list:
        return [] if self.variant == "complaint-only" else super().presence(device_id, online=online, ts=ts)

    def _decide(self, state, observations: list[Observation], t: float, rules) -> list:
        if self.variant == "alarm-button":
            # Complaints plus the lift alarm button: the only alarm that reaches the duty room is a trapped
            # passenger's press (the entrapment rule); nothing else is watched.
            observations = [o for o in observations if o.fault == "entrapment"]
        if self.variant == "threshold-only":
            # A fault judged against a learnt baseline is never raised; one judged by a fixed limit or a baseline
            # (the tank: its fixed floor, or its usual level) keeps its fixed part only.
            observations = [Observation(o.fault, False, metric=o.metric, value=o.value) if o.learned else o
                            for o in observations if o.fault not in LEARNED_FAULTS]
            device, fixed = self.fixed
            if device == state.device_id:  # this reading's own verdicts, not a tick's or a skipped reading's
                observations += fixed
            self.fixed = ("", [])
        return super()._decide(state, observations, t, rules)


# The competent fixed-threshold rule set's limits for the faults whose shipped rule is learned: a booster zone's
# pressure below 300 kPa (normally 450-550 kPa at the upper floors; street level is about 330 kPa without the pump),
# and a flow above 2.5 × the zone's design peak (simulators/water.py HYDRAULICS: 110, 120, 700 L/min).
BOOSTER_FLOOR_KPA = 300.0
BURST_FLOW_LPM = {"supply": 275.0, "booster": 300.0, "main": 1750.0}


def fixed_limits(reading: Reading) -> list[Observation]:
    """The fixed-limit verdicts on one water reading (the threshold-only baseline), none for other devices."""
    if reading.kind is not DeviceKind.WATER:
        return []
    values, role = reading.values, water_role(reading.device_id)
    out = []
    if role == "booster" and "pressure_kpa" in values:
        low = values["pressure_kpa"] < BOOSTER_FLOOR_KPA and values.get("pump_on", 1.0) < 0.5
        out.append(Observation("pump_failure", low, Severity.CRITICAL,
                               f"booster pressure {values['pressure_kpa']:.0f} kPa under {BOOSTER_FLOOR_KPA:.0f} kPa",
                               metric="pressure_kpa", value=values["pressure_kpa"]))
    if role in BURST_FLOW_LPM and "flow_lpm" in values:
        high = values["flow_lpm"] > BURST_FLOW_LPM[role]
        out.append(Observation("pipe_burst", high, Severity.CRITICAL,
                               f"flow {values['flow_lpm']:.0f} L/min over {BURST_FLOW_LPM[role]:.0f} L/min",
                               metric="flow_lpm", value=values["flow_lpm"]))
    return out
