"""The bundled scenarios are valid and do what their descriptions say; a scenario's mistakes are located exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulators.faults import FAULTS
from simulators.generator import Simulation
from simulators.runner import effective_speed, simulated_start
from simulators.scenario import ScenarioError, load_scenario

BUNDLED = Path(__file__).resolve().parents[2] / "simulators" / "scenarios"
NOW = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 13:00 in Shanghai


@pytest.mark.parametrize("path", sorted(BUNDLED.glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_scenarios_load_and_their_faults_fit_the_run(path):
    play = load_scenario(path)
    assert play.device_ids and play.duration_s > 0
    for entry in play.faults:
        assert entry.offset_s + entry.duration_s <= play.duration_s, entry


def test_the_demo_shows_a_resident_visible_water_fault_within_seconds():
    play = load_scenario(BUNDLED / "demo.yaml")
    assert play.device_ids == [d.id for d in play.estate.devices]  # the whole estate
    assert effective_speed(play, None) == 1.0  # real time: what a newcomer watches
    start = simulated_start(play, 1.0, NOW)
    assert abs(start - NOW) < timedelta(seconds=1)  # the simulated clock is the wall clock
    sim = Simulation(play, start)
    [fault] = sim.faults
    device = play.estate.device(fault.device_id)
    assert device.kind.value == "water" and len(device.serves) >= 40  # residents to notify
    assert fault.start - start <= timedelta(seconds=30)
    assert FAULTS[fault.fault].resident_visible
    assert fault.visible_at - fault.start <= timedelta(minutes=2)
    first_complaint = sim.complaints[0].reported_at
    # room for a proactive ticket and notice: the first complaint comes minutes after residents notice
    assert timedelta(minutes=5) <= first_complaint - fault.visible_at <= timedelta(minutes=30)


def test_default_start_keeps_a_day_long_run_inside_ingests_window():
    play = load_scenario(BUNDLED / "quiet-day.yaml")
    start = simulated_start(play, None, NOW)
    assert NOW - start == timedelta(seconds=play.duration_s) < timedelta(hours=24)


HEAD = "name: x\nestate: demo\nduration: 1h\n"


@pytest.mark.parametrize(("body", "line", "field"), [
    ("colour: blue\n", 4, "colour"),
    ("seed: seven\n", 4, "seed"),
    ("speed: -3\n", 4, "speed"),
    ("start: tomorrow\n", 4, "start"),
    ("devices: [rs-b7-*]\n", 4, "devices[0]"),
    ("intervals: {elevator: 5s,\n  lift: 5s}\n", 5, "intervals.lift"),
    ("faults:\n  - {device: rs-b1-door-east, fault: entrapment, start: 1m, duration: 5m}\n", 5, "faults[0].fault"),
    ("faults:\n  - {device: rs-b1-water-low, fault: pump_failure, start: 1m, duration: 5m}\n", 5,
     "faults[0].fault"),
    ("faults:\n  - {device: rs-b1-elev-a, fault: entrapment, start: 2h, duration: 5m}\n", 5, "faults[0].start"),
    ("faults:\n  - {device: rs-b1-elev-a, fault: entrapment, start: 1m, duration: soon}\n", 5,
     "faults[0].duration"),
    ("misbehaviour:\n  - {device: rs-b1-elev-a, mode: shouting, start: 1m, duration: 5m}\n", 5,
     "misbehaviour[0].mode"),
    ("nuisance:\n  - {device: rs-b1-elev-a, mode: shouting, start: 1m, duration: 5m}\n", 5, "nuisance[0].mode"),
    ("nuisance:\n  - {device: rs-b1-elev-a, fault: flooding, start: 1m, duration: 5m}\n", 5, "nuisance[0].fault"),
    ("nuisance:\n  - {device: rs-b1-door-east, fault: door_holds, start: 1m, duration: 5m}\n", 5,
     "nuisance[0].fault"),
    ("faults:\n  - {device: rs-b1-elev-a, fault: door_holds, start: 1m, duration: 5m}\n", 5, "faults[0].fault"),
    ("residents: {enabled: maybe}\n", 4, "residents.enabled"),
    ("residents: {delay_scale: .inf}\n", 4, "residents.delay_scale"),
    ("speed: .nan\n", 4, "speed"),
    ("start: '9999-12-31T23:00:00+00:00'\n", 4, "start"),
    ("faults:\n  - {device: rs-b1-elev-a, fault: entrapment, start: 1m, duration: .inf}\n", 5,
     "faults[0].duration"),
    ("faults:\n  - {device: rs-b1-elev-a, fault: entrapment, start: .nan, duration: 5m}\n", 5, "faults[0].start"),
    ("faults:\n  - {device: rs-b1-elev-a, fault: entrapment, start: 1m, duration: 1000000d}\n", 5,
     "faults[0].duration"),
])
def test_mistakes_name_file_line_and_field(write_scenario, body, line, field):
    path = write_scenario(HEAD + body)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), line, field)
    assert str(caught.value).startswith(f"{path}, line {line}: {field}: ")


def test_broken_yaml_and_missing_files_are_located(write_scenario, tmp_path):
    path = write_scenario("name: x\nestate: demo\nfaults: [\n")
    with pytest.raises(ScenarioError, match=rf"{path}, line \d+: \(file\): not valid YAML"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="cannot be read"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match=r"line 2: estate: .*cannot be read"):
        load_scenario(write_scenario("name: x\nestate: nowhere.yaml\nduration: 1h\n", "e.yaml"))


def test_same_seed_same_stream_and_labels_with_faults_misbehaviour_and_complaints(scenario):
    faults = ("[{device: rs-b1-elev-a, fault: entrapment, start: 5m, duration: 20m},"
              " {device: rs-b1-water-high, fault: supply_outage, start: 1m, duration: 25m},"
              " {device: rs-b1-door-east, fault: sensor_spikes, start: 0s, duration: 30m}]")
    extra = ("misbehaviour:\n  - {device: rs-b1-door-west, mode: out_of_order_seq, start: 2m, duration: 10m}\n"
             "  - {device: rs-b1-water-low, mode: burst, start: 3m, duration: 5m}\n")
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def run(seed: int) -> tuple[list, list]:
        sim = Simulation(scenario(duration="30m", seed=seed, faults=faults, extra=extra), start)
        return list(sim.messages()), sim.labels()

    first, again, other = run(4), run(4), run(5)
    assert first == again
    assert any(r["record"] == "complaint" for r in first[1])
    assert first[0] != other[0] and first[1] != other[1]


def test_passengers_holding_the_door_lengthen_some_cycles_and_leave_the_rest_of_the_run_alone(scenario):
    start = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    plain = scenario(duration="12h", seed=3, faults="[]")
    held = scenario(duration="12h", seed=3, faults="[]",
                    extra="nuisance:\n  - {device: rs-b1-elev-a, fault: door_holds, start: 0s, duration: 12h}\n")

    def cycles(play) -> tuple[list[float], list[bytes]]:
        out, others = [], []
        for m in Simulation(play, start).messages():
            if "/rs-b1-elev-a/" not in m.topic:
                others.append(m.payload)
            elif m.topic.endswith("/event") and json.loads(m.payload)["event"] == "door_cycle":
                out.append(json.loads(m.payload)["data"]["door_cycle_s"])
        return out, others

    normal, others_plain = cycles(plain)
    with_holds, others_held = cycles(held)
    assert len(normal) > 250 and max(normal) < 10  # a normal cycle is 5-9 s
    long = [c for c in with_holds if c >= 20]
    assert 0.005 <= len(long) / len(with_holds) <= 0.05 and max(long) <= 70  # ~2 % held 15-60 s longer
    assert others_held == others_plain  # the other devices' traffic does not change
    labels = Simulation(held, start).labels()
    assert [r for r in labels if r["record"] != "nuisance"] == Simulation(plain, start).labels()  # no fault label
    assert [(r["device"], r["what"]) for r in labels if r["record"] == "nuisance"] == [("rs-b1-elev-a", "door_holds")]
