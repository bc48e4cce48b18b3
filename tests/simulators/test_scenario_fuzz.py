"""Property tests for the scenario parser: any file gives a scenario or a located `ScenarioError`, never a crash."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.generator import Simulation
from simulators.scenario import Scenario, ScenarioError, load_scenario, parse_duration

START = datetime(2026, 3, 2, tzinfo=UTC)
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "": 1.0}
KEYS = ["name", "estate", "seed", "speed", "start", "duration", "devices", "intervals", "faults", "misbehaviour",
        "residents", "description"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.sampled_from(["demo", "max", "auto", "07:00", "1h", "-5m", "rs-b1-elev-a", "rs-b1-*",
                                     "entrapment", "burst", "elevator", "water", "2026-03-02T07:00:00+08:00"]),
                    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["device", "fault", "mode", "start", "duration", "elevator", "enabled",
                                     "delay_scale"]), inner, max_size=4)), max_leaves=8)


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False), st.sampled_from(sorted(UNITS)))
def test_durations_parse_to_seconds(number, unit):
    text = f"{number:.3f}{unit}"
    assert parse_duration(text) == float(f"{number:.3f}") * UNITS[unit]


@given(st.text(max_size=12))
def test_a_duration_is_a_number_or_a_clear_error(text):
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        assert "duration" in str(exc)
    else:
        assert isinstance(seconds, float)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS + ["colour"]), values, max_size=8))
def test_any_scenario_file_loads_or_fails_with_file_line_and_field(doc):
    doc.setdefault("estate", "demo")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        try:
            result = load_scenario(path)
        except ScenarioError as exc:
            assert str(exc).startswith(str(path)) and exc.field
        else:
            assert isinstance(result, Scenario)
            sim = Simulation(result, START)  # a scenario that loads can be run
            assert sim.labels()[0]["record"] == "run"
