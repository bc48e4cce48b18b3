"""The fault library: every fault a scenario can inject, its signature in the data, and whether residents notice.

The names are shared with the detectors (same snake_case strings), so a label file can be scored against alarms
without a mapping table. `FaultSpec.visible_at` answers "when would residents notice?": acute faults are noticed
within minutes of their start, degradation faults (bearing wear, slow leak, ...) only late in the fault, when the
slow change finally becomes a noise, a damp ceiling or a stopped car.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ingest.reading import DeviceKind

E, A, W = DeviceKind.ELEVATOR, DeviceKind.ACCESS_DOOR, DeviceKind.WATER
ALL_KINDS = frozenset(DeviceKind)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One injectable fault.

    `visible_after_s` and `visible_fraction` give the moment residents notice: the later of
    ``start + visible_after_s`` and ``start + visible_fraction × duration``. `complaint_delay_s` is the range
    (low, high) of how long after that moment an affected resident actually complains, and `complainants` the
    range of how many of the affected residents do. `roles` restricts water faults to devices that physically
    have the part (a pump, a tank); empty means any device of the kinds.
    """

    name: str
    kinds: frozenset[DeviceKind]
    summary: str
    signature: str
    resident_visible: bool
    visible_after_s: float = 0.0
    visible_fraction: float = 0.0
    complaint_delay_s: tuple[float, float] = (300.0, 1800.0)
    complainants: tuple[int, int] = (1, 3)
    roles: frozenset[str] = frozenset()

    def visible_at(self, start: datetime, end: datetime) -> datetime | None:
        """When residents would notice this fault running from `start` to `end`, or None if they never would."""
        if not self.resident_visible:
            return None
        after = max(self.visible_after_s, self.visible_fraction * (end - start).total_seconds())
        moment = start + timedelta(seconds=after)
        return moment if moment < end else None


def _f(name: str, kinds: frozenset[DeviceKind] | set[DeviceKind], summary: str, signature: str, visible: bool,
       **kw: object) -> FaultSpec:
    return FaultSpec(name, frozenset(kinds), summary, signature, visible, **kw)  # type: ignore[arg-type]


MIN, HOUR = 60.0, 3600.0

FAULTS: dict[str, FaultSpec] = {
    spec.name: spec
    for spec in (
        _f("entrapment", {E}, "car stops between floors with passengers inside",
           "moving=false, door_open=false, in_service=false, |levelling_error_mm| 150-290, alarm_button=true "
           "(alarm_button and fault_code events)", True,
           visible_after_s=0, complaint_delay_s=(1 * MIN, 8 * MIN), complainants=(1, 2)),
        _f("door_fault", {E}, "car door closes slowly and reopens in storms",
           "door_cycle_s 12-40 s instead of 5-9 s, bursts of door_cycle events at one stop", True,
           visible_after_s=20 * MIN, complaint_delay_s=(30 * MIN, 3 * HOUR), complainants=(1, 3)),
        _f("bearing_wear", {E}, "a worn sheave/motor bearing makes the ride rough, worse day by day",
           "vibration_rms while moving drifts up from ~0.35 to ~2 m/s² (quadratic in fault progress)", True,
           visible_fraction=0.75, complaint_delay_s=(2 * HOUR, 12 * HOUR), complainants=(1, 3)),
        _f("levelling_drift", {E}, "the car stops further and further from the landing sill",
           "levelling_error_mm mean drifts from 0 to ±35 mm over the fault", True,
           visible_fraction=0.6, complaint_delay_s=(1 * HOUR, 8 * HOUR), complainants=(1, 2)),
        _f("motor_overheat", {E}, "the traction motor runs hot until the controller takes the car out",
           "motor_temp_c climbs towards 140 °C, current +20 %; in_service=false for the last 30 %", True,
           visible_fraction=0.7, complaint_delay_s=(10 * MIN, 1 * HOUR), complainants=(1, 3)),
        _f("out_of_service", {E}, "the car is parked out of service",
           "in_service=false, no trips, parked at floor 1 with doors closed, fault_code event", True,
           visible_after_s=5 * MIN, complaint_delay_s=(15 * MIN, 2 * HOUR), complainants=(1, 4)),
        _f("forced_open", {A}, "the door is opened without a valid swipe",
           "forced_open event, door_open=true, locked=false, no preceding granted swipe", False),
        _f("held_open", {A}, "the door is propped open after a valid swipe",
           "door_open=true, open_duration_s keeps growing, held_open events every 10 min", False),
        _f("reader_offline", {A}, "the card reader stops reading: residents cannot swipe in",
           "reader_ok=false, no swipe events", True,
           visible_after_s=2 * MIN, complaint_delay_s=(5 * MIN, 40 * MIN), complainants=(1, 4)),
        _f("lock_failure", {A}, "the lock does not engage after the door closes",
           "locked=false while door_open=false", False),
        _f("battery_low", {A}, "the reader battery runs down",
           "battery_pct falls steadily to about 5 %", False),
        _f("pipe_burst", {W}, "a pipe bursts: water everywhere and pressure collapses",
           "flow_lpm jumps 4-8x, pressure_kpa drops to 35-50 %, pump at full current, leak=true on flood sensors",
           True, visible_after_s=3 * MIN, complaint_delay_s=(3 * MIN, 25 * MIN), complainants=(2, 6)),
        _f("slow_leak", {W}, "a hidden leak grows: the night-time minimum flow creeps up",
           "flow_lpm gains 0 → 25 L/min over the fault (most visible at 01:00-05:00); leak=true late on flood "
           "sensors", True, visible_fraction=0.85, complaint_delay_s=(3 * HOUR, 24 * HOUR), complainants=(1, 2)),
        _f("pump_failure", {W}, "the booster pump stops: upper floors get low pressure",
           "pump_on=false, pump_current_a=0, pressure_kpa 90-140 instead of 450-550", True,
           visible_after_s=10 * MIN, complaint_delay_s=(1 * HOUR, 4 * HOUR), complainants=(2, 5),
           roles=frozenset({"booster"})),
        _f("tank_low", {W}, "the break tank is not refilled and runs down",
           "tank_level_pct falls to about 3 %; pump trips on dry-run protection for the last 20 %", True,
           visible_fraction=0.8, complaint_delay_s=(20 * MIN, 2 * HOUR), complainants=(2, 5),
           roles=frozenset({"booster"})),
        _f("supply_outage", {W}, "no water: the supply is cut",
           "pressure_kpa 0-20, flow_lpm ~0, pump off", True,
           visible_after_s=2 * MIN, complaint_delay_s=(5 * MIN, 30 * MIN), complainants=(3, 8)),
        _f("sensor_stuck", ALL_KINDS, "one sensor freezes at its last value",
           "one metric (vibration_rms, battery_pct or pressure_kpa) repeats exactly the same value", False),
        _f("sensor_dropout", ALL_KINDS, "the device loses most of its telemetry",
           "about 90 % of telemetry messages missing; status stays online", False),
        _f("sensor_spikes", ALL_KINDS, "a sensor emits short, implausible spikes",
           "about 5 % of telemetry has one metric multiplied 3-8x (kept inside the valid range)", False),
    )
}

# Ordinary life a scenario can play under `nuisance:` (never under `faults:`): no fault, no label, no complaint,
# only what a device does when people use it. Each is (the kinds it applies to, what it does).
LIFE: dict[str, tuple[frozenset[DeviceKind], str]] = {
    "door_holds": (frozenset({E}), "passengers hold the car door at some stops (a delivery, a pram, waiting for a "
                   "neighbour): 2 % of door cycles last 15-60 s longer"),
}

# The metric each kind's sensor faults act on: the one a detector watches most closely.
SENSOR_METRIC: dict[DeviceKind, str] = {E: "vibration_rms", A: "battery_pct", W: "pressure_kpa"}
SENSOR_FAULTS = frozenset({"sensor_stuck", "sensor_dropout", "sensor_spikes"})


def water_role(device_id: str) -> str:
    """The role of a water device, from the demo estate's naming: leak sensor, booster, site main or zone supply."""
    if "leak" in device_id:
        return "leak"
    if device_id.endswith("-high") or "booster" in device_id:
        return "booster"
    if device_id.endswith("-main") or "inlet" in device_id:
        return "main"
    return "supply"


# "Which metric moves first": the variants a fault can take, each with what it changes in the data.
VARIANTS: dict[str, dict[str, str]] = {
    "reader_offline": {"silent_reader": "reader_ok stays true, but no swipe is read (a reader that looks healthy)"},
    "pump_failure": {"no_delivery": "the pump runs (pump_on=true, current a little low) but pressure collapses"},
    "out_of_service": {"no_code": "no fault_code event: only in_service=false and no trips"},
}

# The faults a shape's amplitude acts on (what it scales), and those that can start gradually (`ramp_s`); on the
# others (a parked car, a dead reader, a propped door, a sensor fault) only the variant, if any, changes anything.
AMPLITUDE: dict[str, str] = {
    "entrapment": "the levelling error", "door_fault": "the door cycle's excess over 5-9 s",
    "motor_overheat": "the temperature rise", "pipe_burst": "the extra flow and the pressure lost",
    "pump_failure": "the pressure lost", "supply_outage": "how deep the pressure falls (1 = to 0-20 kPa)",
    "bearing_wear": "the vibration growth", "levelling_drift": "the drift at the end",
    "slow_leak": "the leak flow at the end",
}
RAMPED = frozenset({"door_fault", "pipe_burst", "pump_failure", "supply_outage"})


@dataclass(frozen=True, slots=True)
class FaultShape:
    """How hard and how suddenly one fault occurrence strikes; the default is the simulator's own fault.

    `amplitude` scales the fault's departure from normal (1 = the library's signature; 0.4 a mild door fault,
    1.5 a severe one; for degradation faults it scales the end-of-fault drift). `ramp_s` is how long the fault
    takes to reach its full amplitude (0 = at once: a supply failing over 20 minutes has `ramp_s` 1200).
    `variant` is one of `VARIANTS[fault]` or "" (the library's signature). `alarm_after_s` is, for an entrapment,
    when the passengers press the alarm button (None: the simulator draws 20-90 s).
    """

    amplitude: float = 1.0
    ramp_s: float = 0.0
    variant: str = ""
    alarm_after_s: float | None = None

    def record(self) -> dict[str, Any]:
        """The shape as a label file's `shape` field."""
        return {"amplitude": self.amplitude, "ramp_s": self.ramp_s, "variant": self.variant,
                "alarm_after_s": self.alarm_after_s}


DEFAULT_SHAPE = FaultShape()


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """One fault injected into one device for [start, end), with its shape."""

    device_id: str
    fault: str
    start: datetime
    end: datetime
    shape: FaultShape = field(default=DEFAULT_SHAPE)

    @property
    def spec(self) -> FaultSpec:
        return FAULTS[self.fault]

    @property
    def visible_at(self) -> datetime | None:
        return self.spec.visible_at(self.start, self.end)
