"""Ordinary life in the anticipation runs (#20 point 7): each acute seed has a planned maintenance visit and a
building power blip, placed clear of its faults without moving them, played as the simulator's physics and labelled
as no fault."""

from __future__ import annotations

from datetime import timedelta

from bench.anticipation_nuisance import CLEAR_S, DECLARED_MARGIN_S, WILL_AFTER_S, blips, visits
from bench.anticipation_plan import WARMUP_S, known_faults, plan_faults, scenario_for, seed_start
from simulators.generator import Simulation
from simulators.labels import LabelWriter


def test_each_seed_has_a_declared_visit_and_a_blip_clear_of_its_faults_which_stay_where_they_were():
    for seed in (1, 2, 7):
        scenario = scenario_for(seed, 9.6, repeats=2, start=seed_start(seed))
        faults, misbehaviour = plan_faults(scenario, seed, repeats=2, degradation=False)
        placed = [(f.device_id, f.name, f.offset_s, f.duration_s) for f in scenario.faults]
        assert placed == [(f.device_id, f.name, f.offset_s, f.duration_s) for f in faults]
        assert scenario.misbehaviour == misbehaviour
        [visit] = visits(scenario)
        [parked] = [e for e in scenario.nuisance if e.name == "out_of_service"]
        held = {e.device_id for e in scenario.nuisance if e.name == "door_holds" and e.offset_s == 0
                and e.duration_s == scenario.duration_s}
        assert held == {d for d in scenario.device_ids if "-elev-" in d}  # every lift, all run long
        assert "-elev-" in parked.device_id and 3600 <= parked.duration_s <= 7200 and parked.offset_s >= WARMUP_S
        assert (visit.start_s, visit.end_s) == (parked.offset_s - DECLARED_MARGIN_S,
                                               parked.offset_s + parked.duration_s + DECLARED_MARGIN_S)
        blipped = blips(scenario)
        buildings = {d.rsplit("-", 2)[0] for d, _, _ in blipped}
        assert len(buildings) == 1 and len({(a, b) for _, a, b in blipped}) == 1
        building = buildings.pop()
        assert {d for d, _, _ in blipped} == {d for d in scenario.device_ids if d.startswith(building + "-")}
        _, a, b = blipped[0]
        assert 30 <= b - a <= 120
        for device, start, end in [(parked.device_id, visit.start_s, visit.end_s), *blipped]:
            for fault in (*scenario.faults, *scenario.misbehaviour):
                if fault.device_id == device:
                    assert fault.offset_s + fault.duration_s + CLEAR_S <= start or fault.offset_s >= end + CLEAR_S
        # Silent at first; the broker fires the last will only after the keepalive grace.
        for entry in scenario.nuisance:
            if entry.name == "silent":
                assert entry.duration_s <= WILL_AFTER_S
            elif entry.name == "disconnected":
                assert entry.offset_s == a + WILL_AFTER_S


def test_nuisance_is_played_but_labelled_as_no_fault_and_draws_no_complaint(tmp_path):
    scenario = scenario_for(2, 9.6, repeats=2, start=seed_start(2))
    [parked] = [e for e in scenario.nuisance if e.name == "out_of_service"]
    scenario.device_ids = [parked.device_id]
    scenario.faults, scenario.misbehaviour = [], []
    scenario.nuisance = [parked]
    simulation = Simulation(scenario, scenario.start)
    path = tmp_path / "labels.jsonl"
    writer = LabelWriter(path)
    for record in simulation.labels():
        writer.write(record)
    writer.close()
    faults, _, _ = known_faults(path)
    assert faults == [] and simulation.complaints == []
    during = scenario.start + timedelta(seconds=parked.offset_s + 600)
    after = scenario.start + timedelta(seconds=parked.offset_s + parked.duration_s + 600)
    states = [(m.at, b'"in_service":false' in m.payload) for m in simulation.messages()
              if m.topic.endswith("/telemetry")]
    inside = [parked_now for at, parked_now in states if during <= at < during + timedelta(minutes=30)]
    later = [parked_now for at, parked_now in states if after <= at]
    assert len(inside) >= 50 and all(inside)  # the lift says so: not in service while parked
    assert len(later) >= 50 and not any(later)
