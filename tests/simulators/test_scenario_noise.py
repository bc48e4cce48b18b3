"""A scenario's `noise:` — a factor on each device's measurement noise: parsed, located when wrong, and felt in the
readings (wider spread at a higher factor, exactly the simulator's own stream at 1)."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime

import pytest

from simulators.generator import Simulation
from simulators.scenario import ScenarioError, load_scenario

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _readings(play, device: str, metric: str) -> list[float]:
    """The metric's telemetry values (a lift's only while it stands: moving or not is two levels, not noise)."""
    data = [json.loads(m.payload)["data"] for m in Simulation(play, START).messages()
            if f"/{device}/" in m.topic and m.topic.endswith("/telemetry")]
    return [d[metric] for d in data if not d.get("moving")]


def test_a_factor_of_one_is_the_simulators_own_stream_and_others_change_only_their_device(scenario):
    plain = scenario(duration="30m", devices="[rs-b1-water-low, rs-b1-elev-a]")
    one = scenario(duration="30m", devices="[rs-b1-water-low, rs-b1-elev-a]", extra="noise: 1\n")
    noisy = scenario(duration="30m", devices="[rs-b1-water-low, rs-b1-elev-a]",
                     extra="noise: {rs-b1-water-low: 3}\n")
    assert one.noise == {"rs-b1-water-low": 1.0, "rs-b1-elev-a": 1.0} and noisy.noise == {"rs-b1-water-low": 3.0}
    assert list(Simulation(one, START).messages()) == list(Simulation(plain, START).messages())
    assert _readings(noisy, "rs-b1-elev-a", "vibration_rms") == _readings(plain, "rs-b1-elev-a", "vibration_rms")
    assert _readings(noisy, "rs-b1-water-low", "pressure_kpa") != _readings(plain, "rs-b1-water-low", "pressure_kpa")


@pytest.mark.parametrize(("device", "metric"), [("rs-b1-water-low", "pressure_kpa"),
                                               ("rs-b1-elev-a", "motor_current_a")])
def test_a_higher_factor_spreads_the_readings_wider(scenario, device, metric):
    def spread(factor: float) -> float:
        values = _readings(scenario(duration="2h", devices=f"[{device}]", extra=f"noise: {factor}\n"), device, metric)
        steps = [b - a for a, b in zip(values, values[1:], strict=False)]  # reading to reading: noise, not demand
        return statistics.pstdev(steps)

    own, triple, none = spread(1), spread(3), spread(0)
    assert triple > 2.0 * own > 0 and none < own


@pytest.mark.parametrize(("body", "field", "says"), [
    ("noise: loud\n", "noise", "not a noise factor"),
    ("noise: -1\n", "noise", "not a noise factor"),
    ("noise: 11\n", "noise", "from 0 to 10"),
    ("noise: {rs-b1-water-low: true}\n", "noise.rs-b1-water-low", "not a noise factor"),
    ("noise: {rs-b9-water-low: 2}\n", "noise.rs-b9-water-low", "not a device of this scenario"),
])
def test_noise_mistakes_name_the_file_and_field(write_scenario, body, field, says):
    path = write_scenario("name: x\nestate: demo\nduration: 1h\ndevices: [rs-b1-*]\n" + body)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.field == field and says in caught.value.message
    assert str(caught.value).startswith(f"{path}")
