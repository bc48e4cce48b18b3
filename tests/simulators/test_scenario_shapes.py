"""A fault entry's `shape:` in a scenario file: parsed, carried into the label file, and every mistake located."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from simulators.cli import app
from simulators.faults import VARIANTS, FaultShape
from simulators.generator import Simulation
from simulators.scenario import ScenarioError, load_scenario

HEAD = "name: x\nestate: demo\nduration: 1h\nfaults:\n"


def test_a_shape_is_parsed_and_carried_into_the_labels(write_scenario):
    path = write_scenario(HEAD + (
        "  - {device: rs-b1-water-low, fault: supply_outage, start: 5m, duration: 30m,\n"
        "     shape: {amplitude: 0.7, ramp: 10m}}\n"
        "  - {device: rs-b1-elev-a, fault: entrapment, start: 5m, duration: 10m, shape: {alarm_after: 4m}}\n"
        "  - {device: rs-b1-door-lobby, fault: reader_offline, start: 5m, duration: 10m,\n"
        "     shape: {variant: silent_reader}}\n"
        "  - {device: rs-b1-elev-b, fault: door_fault, start: 5m, duration: 10m}\n"))
    scenario = load_scenario(path)
    assert [f.shape for f in scenario.faults] == [FaultShape(0.7, 600.0), FaultShape(alarm_after_s=240.0),
                                                  FaultShape(variant="silent_reader"), FaultShape()]
    start = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    labels = [r for r in Simulation(scenario, start).labels() if r["record"] == "fault"]
    assert labels[0]["shape"] == {"amplitude": 0.7, "ramp_s": 600.0, "variant": "", "alarm_after_s": None}
    assert labels[1]["shape"]["alarm_after_s"] == 240.0
    assert labels[2]["shape"]["variant"] == "silent_reader"
    assert labels[3]["shape"] == {"amplitude": 1.0, "ramp_s": 0.0, "variant": "", "alarm_after_s": None}


def _entry(fault: str, shape: str, device: str = "rs-b1-elev-a") -> str:
    return f"  - device: {device}\n    fault: {fault}\n    start: 1m\n    duration: 5m\n    shape: {shape}\n"


@pytest.mark.parametrize(("body", "field", "says"), [
    (_entry("door_fault", "{colour: red}"), "faults[0].shape.colour", "unknown field"),
    (_entry("door_fault", "{amplitude: 0}"), "faults[0].shape.amplitude", "above 0"),
    (_entry("door_fault", "{amplitude: -1.5}"), "faults[0].shape.amplitude", "above 0"),
    (_entry("door_fault", "{amplitude: loud}"), "faults[0].shape.amplitude", "above 0"),
    (_entry("out_of_service", "{amplitude: 0.5}"), "faults[0].shape.amplitude", "no effect on out_of_service"),
    (_entry("entrapment", "{ramp: 5m}"), "faults[0].shape.ramp", "cannot start gradually"),
    (_entry("door_fault", "{ramp: soon}"), "faults[0].shape.ramp", "not a duration"),
    (_entry("door_fault", "{ramp: -5m}"), "faults[0].shape.ramp", ">= 0"),
    (_entry("reader_offline", "{variant: no_delivery}", "rs-b1-door-lobby"), "faults[0].shape.variant",
     "not a variant of reader_offline (its variants: silent_reader)"),
    (_entry("door_fault", "{variant: sticky}"), "faults[0].shape.variant", "its variants: none"),
    (_entry("door_fault", "{alarm_after: 1m}"), "faults[0].shape.alarm_after", "entrapment only"),
    (_entry("door_fault", "gentle"), "faults[0].shape", "must be a mapping"),
])
def test_shape_mistakes_name_file_line_and_field(write_scenario, body, field, says):
    path = write_scenario(HEAD + body)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert (caught.value.field, caught.value.line) == (field, 9)
    assert str(caught.value).startswith(f"{path}, line 9: {field}: ") and says in caught.value.message


def test_simulate_faults_lists_what_a_shape_can_set():
    result = CliRunner().invoke(app, ["faults"])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("fault shapes")]
    for fault, variants in VARIANTS.items():
        assert f"{fault}: {', '.join(variants)}" in line
    assert "ramp on door_fault, pipe_burst, pump_failure, supply_outage" in line
