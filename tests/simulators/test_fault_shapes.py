"""A fault's shape changes what a user would see — milder or worse, gradual, or another metric first — and the
default shape changes nothing at all: the same bytes as before shapes existed (bench.detectors' tuning split and
the signature tests depend on it)."""

from __future__ import annotations

import dataclasses
import hashlib
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ingest.decode import Reading, decode
from simulators.faults import FaultShape
from simulators.generator import Simulation

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 8, 0, tzinfo=SH)
ONSET, END = START + timedelta(hours=1), START + timedelta(hours=2)
E, D, W, B = "rs-b1-elev-a", "rs-b1-door-lobby", "rs-b1-water-low", "rs-b1-water-high"

EVERY_SHAPED_FAULT = """
  - {device: rs-b1-elev-a, fault: entrapment, start: 10m, duration: 20m}
  - {device: rs-b1-elev-a, fault: door_fault, start: 40m, duration: 30m}
  - {device: rs-b1-elev-a, fault: motor_overheat, start: 80m, duration: 30m}
  - {device: rs-b1-elev-b, fault: out_of_service, start: 10m, duration: 20m}
  - {device: rs-b1-elev-b, fault: bearing_wear, start: 40m, duration: 60m}
  - {device: rs-b1-elev-b, fault: levelling_drift, start: 40m, duration: 60m}
  - {device: rs-b1-door-lobby, fault: reader_offline, start: 20m, duration: 30m}
  - {device: rs-b1-water-low, fault: pipe_burst, start: 10m, duration: 20m}
  - {device: rs-b1-water-low, fault: supply_outage, start: 40m, duration: 20m}
  - {device: rs-b1-water-low, fault: slow_leak, start: 70m, duration: 40m}
  - {device: rs-b1-water-high, fault: pump_failure, start: 10m, duration: 30m}
  - {device: rs-b1-water-high, fault: tank_low, start: 50m, duration: 30m}
  - {device: rs-b1-water-high, fault: supply_outage, start: 90m, duration: 20m}
"""
# The stream of that scenario (seed 5, building 1, 2 h from START) computed before fault shapes existed.
BEFORE_SHAPES = (7135, "656ac28ac65abdfc433f0474db1c5eaa9daa07c9beb50e892a19f9ff6f7ddf18")


def _digest(sim: Simulation) -> tuple[int, str]:
    h, n = hashlib.sha256(), 0
    for m in sim.messages():
        h.update(m.topic.encode())
        h.update(m.payload)
        h.update(m.at.isoformat().encode())
        n += 1
    return n, h.hexdigest()


def test_default_shapes_give_the_same_bytes_as_before_shapes_existed(scenario):
    plain = scenario(duration="2h", devices="[rs-b1-*]", faults=EVERY_SHAPED_FAULT, seed=5)
    assert _digest(Simulation(plain, START)) == BEFORE_SHAPES
    explicit = dataclasses.replace(plain, faults=[dataclasses.replace(f, shape=FaultShape(1.0, 0.0, "", None))
                                                  for f in plain.faults])
    assert _digest(Simulation(explicit, START)) == BEFORE_SHAPES


class Run:
    """One device's readings during a 1-hour fault from 09:00 and before it, and its events by name."""

    def __init__(self, scenario, device: str, fault: str, shape: str = "{}", seed: int = 5) -> None:
        faults = f"[{{device: {device}, fault: {fault}, start: 1h, duration: 1h, shape: {shape}}}]"
        sim = Simulation(scenario(duration="2h", devices=f"[{device}]", faults=faults, seed=seed), START)
        self.before: list[dict] = []
        self.during: list[tuple[float, dict]] = []  # (minutes into the fault, values)
        self.events: dict[str, list[tuple[float, dict]]] = defaultdict(list)
        for message in sim.messages():
            result = decode(message.topic, message.payload, now=message.at)
            if not isinstance(result, Reading):
                continue
            minute = (result.ts - ONSET).total_seconds() / 60
            if result.event and ONSET <= result.ts < END:
                self.events[result.event].append((minute, dict(result.values)))
            elif result.event is None and result.ts < ONSET:
                self.before.append(dict(result.values))
            elif result.event is None and result.ts < END:
                self.during.append((minute, dict(result.values)))

    def values(self, metric: str, lo: float = 0, hi: float = 60) -> list[float]:
        return [v[metric] for m, v in self.during if lo <= m < hi and metric in v]

    def event_values(self, event: str, metric: str, lo: float = 0) -> list[float]:
        return [v[metric] for m, v in self.events[event] if m >= lo]


def test_a_mild_door_fault_has_shorter_cycles_than_a_severe_one(scenario):
    # From the second minute: a cycle that began before the onset is a normal one
    mild = Run(scenario, E, "door_fault", "{amplitude: 0.4}").event_values("door_cycle", "door_cycle_s", 1)
    severe = Run(scenario, E, "door_fault", "{amplitude: 1.5}").event_values("door_cycle", "door_cycle_s", 1)
    assert len(mild) > 20 and len(severe) > 20
    assert min(mild) >= 7.8 and max(mild) <= 21.4  # 12-40 s at amplitude 1
    assert statistics.fmean(severe) > 2 * statistics.fmean(mild) and min(severe) >= 15.5


def test_a_door_fault_that_starts_gradually_is_slow_only_later(scenario):
    run = Run(scenario, E, "door_fault", "{ramp: 30m}")
    early = [v["door_cycle_s"] for m, v in run.events["door_cycle"] if m < 5]
    late = [v["door_cycle_s"] for m, v in run.events["door_cycle"] if m >= 30]
    assert early and late and max(early) < 15 < 20 < statistics.fmean(late)


def test_a_ramped_supply_outage_weakens_the_taps_first_and_ends_at_its_floor(scenario):
    run = Run(scenario, W, "supply_outage", "{ramp: 20m}")
    normal = statistics.fmean(r["pressure_kpa"] for r in run.before)
    assert min(run.values("pressure_kpa", 0, 5)) > 0.6 * normal  # weaker, still running
    quarters = [statistics.fmean(run.values("pressure_kpa", lo, lo + 5)) for lo in (0, 5, 10, 15)]
    assert quarters == sorted(quarters, reverse=True)
    assert max(run.values("pressure_kpa", 20)) <= 20 and max(run.values("flow_lpm", 20)) <= 1


def test_a_shallow_supply_outage_leaves_some_pressure(scenario):
    run = Run(scenario, W, "supply_outage", "{amplitude: 0.5}")
    normal = statistics.fmean(r["pressure_kpa"] for r in run.before)
    assert 0.3 * normal < statistics.fmean(run.values("pressure_kpa")) < 0.7 * normal


def test_burst_and_pump_failure_amplitudes_scale_flow_and_pressure_lost(scenario):
    small, large = (Run(scenario, W, "pipe_burst", f"{{amplitude: {a}}}") for a in (0.3, 1.5))
    assert statistics.fmean(large.values("flow_lpm")) > 3 * statistics.fmean(small.values("flow_lpm"))
    assert statistics.fmean(large.values("pressure_kpa")) < statistics.fmean(small.values("pressure_kpa")) - 80
    half = Run(scenario, B, "pump_failure", "{amplitude: 0.5}")
    assert min(half.values("pressure_kpa")) > 250 > 160 > max(Run(scenario, B, "pump_failure").values(
        "pressure_kpa"))


def test_entrapment_level_and_alarm_press_follow_the_shape(scenario):
    run = Run(scenario, E, "entrapment", "{amplitude: 0.5, alarm_after: 5m}")
    assert all(75 <= abs(v) <= 145 for v in run.values("levelling_error_mm"))
    [(pressed, _)] = run.events["alarm_button"]
    assert abs(pressed - 5.0) < 0.1
    assert set(run.values("alarm_button", 0, 4.9)) == {0.0} and set(run.values("alarm_button", 5.1)) == {1.0}


def test_motor_overheat_and_degradation_amplitudes_scale_the_drift(scenario):
    cool, hot = (max(Run(scenario, E, "motor_overheat", f"{{amplitude: {a}}}").values("motor_temp_c"))
                 for a in (0.5, 1.5))
    assert hot > cool + 60
    drift = Run(scenario, E, "levelling_drift", "{amplitude: 2}").event_values("trip", "levelling_error_mm")
    assert abs(drift[-1]) > 55  # ±35 mm at the end at amplitude 1


def test_a_silent_reader_looks_healthy_but_reads_no_swipe(scenario):
    run = Run(scenario, D, "reader_offline", "{variant: silent_reader}")
    assert set(run.values("reader_ok")) == {1.0} and not run.events["swipe"]
    default = Run(scenario, D, "reader_offline")
    assert set(default.values("reader_ok")) == {0.0} and not default.events["swipe"]


def test_a_pump_that_runs_without_delivering(scenario):
    run = Run(scenario, B, "pump_failure", "{variant: no_delivery}")
    before = [r["pump_current_a"] for r in run.before if r["pump_on"]]
    assert set(run.values("pump_on")) == {1.0} and not run.events["pump_stop"]
    assert max(run.values("pressure_kpa")) < 160 < 440 < min(r["pressure_kpa"] for r in run.before)
    assert 0.6 * statistics.fmean(before) < statistics.fmean(run.values("pump_current_a")) < statistics.fmean(before)


def test_a_car_out_of_service_without_a_fault_code(scenario):
    run = Run(scenario, E, "out_of_service", "{variant: no_code}")
    assert set(run.values("in_service")) == {0.0} and not run.events["trip"] and not run.events["fault_code"]
    assert len(Run(scenario, E, "out_of_service").events["fault_code"]) == 1


def test_a_car_stuck_further_off_than_the_sensor_reads_stays_within_the_contract(scenario):
    """At amplitude 1.5 a trapped car is up to 435 mm off its landing, beyond the levelling sensor's ±300 mm: it
    reads the end of its range. (A reading past it was rejected whole, alarm button included, when ingest still
    refused a whole message for one bad value; now it would only lose the levelling error, so nothing is dropped.)"""
    from ingest.decode import PartialReading, Rejection

    levels = []
    for seed in range(1, 7):
        faults = f"[{{device: {E}, fault: entrapment, start: 1h, duration: 1h, shape: {{amplitude: 1.5}}}}]"
        sim = Simulation(scenario(duration="2h", devices=f"[{E}]", faults=faults, seed=seed), START)
        for message in sim.messages():
            result = decode(message.topic, message.payload, now=message.at)
            assert not isinstance(result, Rejection | PartialReading), result
            if isinstance(result, Reading) and result.event is None and ONSET < result.ts < END:
                levels.append(abs(result.values["levelling_error_mm"]))
    assert min(levels) >= 225 and max(levels) == 300  # some cars were further off than the sensor reads
