"""Every fault of the library leaves the signature it promises in the data, and normal behaviour looks like a day."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ingest.decode import Reading, decode
from simulators.faults import FAULTS
from simulators.generator import Simulation

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 8, 0, tzinfo=SH)  # fault from 09:00 to 10:00 on a Monday


class Run:
    """One device's decoded readings split into before / during the fault window, and the events during it."""

    def __init__(self, sim: Simulation) -> None:
        self.before: list[dict] = []
        self.during: list[dict] = []
        self.events: Counter[str] = Counter()
        begin, end = START + timedelta(hours=1), START + timedelta(hours=2)
        for message in sim.messages():
            result = decode(message.topic, message.payload, now=message.at)
            if not isinstance(result, Reading):
                continue
            in_fault = begin <= result.ts < end
            if result.event:
                if in_fault:
                    self.events[result.event] += 1
            elif result.ts < begin:
                self.before.append(dict(result.values))
            elif in_fault:
                self.during.append(dict(result.values))

    def mean(self, when: str, metric: str) -> float:
        return statistics.fmean(r[metric] for r in getattr(self, when) if metric in r)

    def values(self, when: str, metric: str) -> list[float]:
        return [r[metric] for r in getattr(self, when) if metric in r]


E, D, W, B = "rs-b1-elev-a", "rs-b1-door-lobby", "rs-b1-water-low", "rs-b1-water-high"

# fault → (device, check of the signature the fault library describes)
SIGNATURES = {
    "entrapment": (E, lambda r: (
        set(r.values("during", "moving")) == {0.0} and set(r.values("during", "door_open")) == {0.0}
        and set(r.values("during", "in_service")) == {0.0}
        and all(150 <= abs(v) <= 290 for v in r.values("during", "levelling_error_mm"))
        and r.values("during", "alarm_button")[-1] == 1.0 and r.events["alarm_button"] == 1
        and r.events["fault_code"] == 1)),
    "door_fault": (E, lambda r: r.mean("during", "door_cycle_s") > 12 > 9 > r.mean("before", "door_cycle_s")),
    "bearing_wear": (E, lambda r: max(r.values("during", "vibration_rms")) > 3 * max(r.values("before",
                                                                                             "vibration_rms"))),
    "levelling_drift": (E, lambda r: abs(r.values("during", "levelling_error_mm")[-1]) > 20
                        and max(abs(v) for v in r.values("before", "levelling_error_mm")) < 10),
    "motor_overheat": (E, lambda r: max(r.values("during", "motor_temp_c")) > 120
                       and r.values("during", "in_service")[-1] == 0.0),
    "out_of_service": (E, lambda r: set(r.values("during", "in_service")) == {0.0}
                       and set(r.values("during", "moving")) == {0.0} and r.events["trip"] == 0),
    "forced_open": (D, lambda r: r.events["forced_open"] == 1 and set(r.values("during", "locked")) == {0.0}),
    "held_open": (D, lambda r: r.events["held_open"] >= 5 and max(r.values("during", "open_duration_s")) > 3000),
    "reader_offline": (D, lambda r: set(r.values("during", "reader_ok")) == {0.0} and r.events["swipe"] == 0),
    "lock_failure": (D, lambda r: set(r.values("during", "locked")) == {0.0}
                     and 0.0 in r.values("during", "door_open")),
    "battery_low": (D, lambda r: r.values("during", "battery_pct")[-1] < 10 < 60 < r.values("before",
                                                                                            "battery_pct")[-1]),
    "pipe_burst": (W, lambda r: r.mean("during", "flow_lpm") > 4 * r.mean("before", "flow_lpm")
                   and r.mean("during", "pressure_kpa") < 0.55 * r.mean("before", "pressure_kpa")),
    "slow_leak": (W, lambda r: r.values("during", "flow_lpm")[-1] > 0),  # shown at night: see the night test
    "pump_failure": (B, lambda r: set(r.values("during", "pump_on")) == {0.0}
                     and max(r.values("during", "pressure_kpa")) < 160 < 440 < min(r.values("before",
                                                                                             "pressure_kpa"))),
    "tank_low": (B, lambda r: min(r.values("during", "tank_level_pct")) < 5 and r.values("during", "pump_on")[-1]
                 == 0.0),
    "supply_outage": (W, lambda r: max(r.values("during", "pressure_kpa")) <= 20
                      and max(r.values("during", "flow_lpm")) <= 1),
    "sensor_stuck": (W, lambda r: len(set(r.values("during", "pressure_kpa"))) == 1
                     and len(set(r.values("before", "pressure_kpa"))) > 50),
    "sensor_dropout": (W, lambda r: len(r.during) < 0.2 * len(r.before)),
    "sensor_spikes": (W, lambda r: max(r.values("during", "pressure_kpa")) > 2.5 * r.mean("before",
                                                                                          "pressure_kpa")),
}


def _simulation(scenario, device: str, fault: str, start_offset: str = "1h") -> Simulation:
    faults = f"[{{device: {device}, fault: {fault}, start: {start_offset}, duration: 1h}}]"
    return Simulation(scenario(duration="2h", devices=f"[{device}]", faults=faults, seed=5), START)


def test_every_fault_has_a_signature_check():
    assert set(SIGNATURES) == set(FAULTS)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_leaves_its_signature(scenario, fault):
    device, check = SIGNATURES[fault]
    run = Run(_simulation(scenario, device, fault))
    assert run.before and run.during or fault == "sensor_dropout"
    assert check(run), f"{fault}: {FAULTS[fault].signature}"


@pytest.mark.parametrize("seed", range(6))
def test_a_lift_reports_only_door_cycles_it_has_completed(scenario, seed):
    """Telemetry's door_cycle_s is the last cycle completed by its time, never one still to come: a slow cycle of a
    door fault shows no reading before the fault begins (it did, when a trip planned before the onset reported its
    faulty cycle at once: a detector then alarmed up to a minute before the fault, a false alarm by any label)."""
    faults = f"[{{device: {E}, fault: door_fault, start: 1h, duration: 1h}}]"
    sim = Simulation(scenario(duration="2h", devices=f"[{E}]", faults=faults, seed=seed,
                              extra="intervals: {elevator: 30s}\n"), START)
    onset = START + timedelta(hours=1)
    last_cycle, checked = None, 0
    for message in sim.messages():
        result = decode(message.topic, message.payload, now=message.at)
        if not isinstance(result, Reading):
            continue
        if result.event == "door_cycle":
            last_cycle = result.values["door_cycle_s"]
        elif result.event is None and last_cycle is not None:
            assert result.values["door_cycle_s"] == last_cycle, result.ts
            checked += 1
            if result.ts < onset:
                assert result.values["door_cycle_s"] < 12, f"a faulty cycle reported at {result.ts}, before {onset}"
    assert checked > 100


def test_slow_leak_raises_the_night_minimum_flow(scenario):
    night = datetime(2026, 3, 2, 1, 0, tzinfo=SH)
    flows = {}
    for label, faults in (("normal", "[]"), ("leak", "[{device: rs-b1-water-low, fault: slow_leak, start: 0s, "
                                                    "duration: 4h}]")):
        sim = Simulation(scenario(duration="4h", devices="[rs-b1-water-low]", faults=faults), night)
        late = [json.loads(m.payload)["data"]["flow_lpm"] for m in sim.messages()
                if m.topic.endswith("telemetry") and night + timedelta(hours=1) <= m.at < night + timedelta(hours=3)]
        flows[label] = statistics.fmean(late)
    assert flows["normal"] < 10  # 02:00-04:00: the minimum night flow of a 48-unit zone, a few L/min
    assert flows["leak"] > flows["normal"] + 8


def test_normal_day_has_rush_hours_and_a_quiet_night(scenario):
    day = datetime(2026, 3, 2, 0, 0, tzinfo=SH)
    sim = Simulation(scenario(duration="24h", devices="[rs-b1-elev-a, rs-b1-door-lobby, rs-b1-water-low]"), day)
    trips, swipes, flow = Counter(), Counter(), {}
    for message in sim.messages():
        body = json.loads(message.payload)
        hour = message.at.astimezone(SH).hour
        if body.get("event") == "trip":
            trips[hour] += 1
        elif body.get("event") == "swipe":
            swipes[hour] += 1
        elif "/rs-b1-water-low/telemetry" in message.topic:
            flow.setdefault(hour, []).append(body["data"]["flow_lpm"])
    assert trips[8] > 4 * max(trips[2], 1) and trips[18] > 4 * max(trips[3], 1)
    assert swipes[7] + swipes[8] > 5 * (swipes[2] + swipes[3] + 1)
    assert statistics.fmean(flow[7]) > 5 * statistics.fmean(flow[3])


@pytest.mark.parametrize(("fault", "noticed_after_min"), [
    ("entrapment", 0), ("supply_outage", 2), ("pipe_burst", 3), ("bearing_wear", 45), ("lock_failure", None),
])
def test_labels_say_when_residents_notice(scenario, fault, noticed_after_min):
    device = SIGNATURES[fault][0]
    [label] = [r for r in _simulation(scenario, device, fault).labels() if r["record"] == "fault"]
    assert label["resident_visible"] is (noticed_after_min is not None)
    if noticed_after_min is None:
        assert label["visible_at"] is None
    else:
        begin = datetime.fromisoformat(label["start"])
        assert datetime.fromisoformat(label["visible_at"]) - begin == timedelta(minutes=noticed_after_min)
