"""`python -m bench.fault_trace`: what one device sent around one fault of an anticipation seed."""

from __future__ import annotations

from datetime import datetime

import pytest

from bench.anticipation_plan import scenario_for, seed_start
from bench.device_uses import car_trips
from bench.fault_trace import ACTIVITY, find_fault, main, trace
from ingest.decode import decode
from ingest.reading import Reading
from simulators.generator import Simulation


def test_the_trace_shows_what_the_device_sent_in_the_whole_estates_run() -> None:
    """The device played alone sends what it sent beside the whole estate (its random stream is its own), so a miss
    of the full run can be looked at in seconds; an intermittent fault is traced to its last episode."""
    scenario = scenario_for(2, 0.4 * 24, repeats=2, start=seed_start(2))
    entry = find_fault(scenario, "lv-b1-elev-b", "door_fault")
    episodes = [f for f in scenario.faults if (f.device_id, f.name) == (entry.device_id, entry.name)]
    assert len(episodes) >= 2 and scenario.start is not None
    onset = scenario.start.timestamp() + entry.offset_s
    end = scenario.start.timestamp() + max(f.offset_s + f.duration_s for f in episodes)

    lines = trace(scenario, entry, before_s=600.0)

    whole = []
    for t, device, topic, payload in Simulation(scenario, scenario.start).timed():
        if t > end:
            break
        at = datetime.fromtimestamp(t, scenario.start.tzinfo)
        message = decode(topic, payload, now=at) if device == entry.device_id else None
        if isinstance(message, Reading) and message.event in ACTIVITY and t >= onset - 600.0:
            whole.append((f"{t - onset:+9.0f} s", message.event, message.values.get("door_cycle_s")))
    shown = [line.split()[:3] for line in lines if line.split()[2:3] and line.split()[2] in ACTIVITY]
    assert [(f"{a:>9} s", event) for a, _, event in shown] == [(when, event) for when, event, _ in whole]
    cycles = [v for when, event, v in whole if event == "door_cycle" and float(when[:-2]) >= 0]
    assert cycles and all(f"door_cycle_s {v:g}" in "\n".join(lines) for v in cycles)
    during = sum(1 for when, _, _ in whole if float(when[:-2]) >= 0)
    assert lines[-1] == f"RESULT activity_events_during_fault={during} count"
    assert "door_fault on lv-b1-elev-b" in lines[0] and "the door cycle's excess" in lines[0]


def test_a_device_without_that_fault_is_an_error_naming_what_the_run_has(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["2", "lv-b1-elev-b", "--fault", "pipe_burst"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: no pipe_burst on lv-b1-elev-b in anticipation-acute-2; the run has:")
    assert "lv-b1-elev-b door_fault" in error


def test_the_cars_trips_for_the_uses_experiment_are_those_of_the_whole_estates_run() -> None:
    """`bench.device_uses.car_trips` plays the cars with a slow door, a rough or out-of-level ride alone; their trips
    are the ones they made beside the whole estate (here over the run's first four hours)."""
    scenario = scenario_for(2, 0.4 * 24, repeats=2, start=seed_start(2))
    assert scenario.start is not None
    trips = car_trips(scenario)
    assert "lv-b1-elev-b" in trips and set(trips) == {f.device_id for f in scenario.faults if f.name == "door_fault"}
    until = scenario.start.timestamp() + 4 * 3600.0
    whole: dict[str, list[float]] = {car: [] for car in trips}
    for t, device, topic, payload in Simulation(scenario, scenario.start).timed():
        if t > until:
            break
        if device in whole:
            message = decode(topic, payload, now=datetime.fromtimestamp(t, scenario.start.tzinfo))
            if isinstance(message, Reading) and message.event == "trip":
                whole[device].append(t)
    assert sum(map(len, whole.values())) > 0
    assert {car: [t for t in times if t <= until] for car, times in trips.items()} == whole
