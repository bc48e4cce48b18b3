"""The anticipation bench's fault shapes: drawn per seed, the same for the same seed, never moving a fault, inside
their ranges, one shape for the episodes of one intermittent fault."""

from __future__ import annotations

from collections import Counter

from bench import anticipation_plan as anticipation
from bench.fault_shapes import EPISODE_GAP_S, RAMP_S, RANGES, draw_shapes
from simulators.faults import FAULTS, RAMPED, VARIANTS, FaultShape
from simulators.scenario import FaultEntry


def _placement(faults: list[FaultEntry]) -> list[tuple[str, str, float, float]]:
    return [(f.device_id, f.name, f.offset_s, f.duration_s) for f in faults]


def test_the_benchs_faults_get_shapes_without_moving(monkeypatch):
    scenario = anticipation.scenario_for(2, 6, repeats=1, start=anticipation.seed_start(2))
    planned, _ = anticipation.plan_faults(scenario, 2, repeats=1, degradation=False)
    assert _placement(scenario.faults) == _placement(planned)  # same devices, onsets, durations as unshaped
    assert any(f.shape != FaultShape() for f in scenario.faults)
    again = anticipation.scenario_for(2, 6, repeats=1, start=anticipation.seed_start(2))
    assert [f.shape for f in again.faults] == [f.shape for f in scenario.faults]
    other = draw_shapes(planned, 3)
    assert [f.shape for f in other] != [f.shape for f in scenario.faults]


def test_shapes_stay_in_their_ranges_and_vary():
    faults = [FaultEntry("d", name, i * 10_000.0, 600.0) for i, name in enumerate(sorted(FAULTS) * 100)]
    shaped = draw_shapes(faults, 1)
    ramps, variants, amplitudes = Counter(), Counter(), {}
    for f in shaped:
        spec, shape = RANGES.get(f.name), f.shape
        if spec is None:
            assert shape == FaultShape(), f.name
            continue
        low, high = spec.amplitude
        assert low <= shape.amplitude <= high, f
        amplitudes.setdefault(f.name, []).append(shape.amplitude)
        assert shape.ramp_s == 0 or (f.name in RAMPED and RAMP_S[0] <= shape.ramp_s <= RAMP_S[1]), f
        ramps[f.name] += shape.ramp_s > 0
        assert shape.variant == "" or shape.variant in VARIANTS[f.name], f
        variants[f.name] += shape.variant != ""
        alarm = spec.alarm_after_s
        assert (shape.alarm_after_s is None) if alarm is None else alarm[0] <= shape.alarm_after_s <= alarm[1]
    for name in RAMPED:
        assert 25 <= ramps[name] <= 55, name  # 40 % of 100
    for name in VARIANTS:
        assert 12 <= variants[name] <= 40, name  # 25 % of 100
    for name in ("door_fault", "pipe_burst", "entrapment"):  # wider than the simulator's own (amplitude 1)
        assert min(amplitudes[name]) < 0.4 and max(amplitudes[name]) > 1.4, name


def test_the_episodes_of_one_intermittent_fault_share_a_shape():
    assert EPISODE_GAP_S == anticipation.EPISODE_GAP_S
    episodes = [FaultEntry("rs-b1-elev-a", "door_fault", 1000.0, 200.0),
                FaultEntry("rs-b1-elev-b", "door_fault", 1100.0, 3600.0),
                FaultEntry("rs-b1-elev-a", "door_fault", 1400.0, 250.0),
                FaultEntry("rs-b1-elev-a", "door_fault", 1800.0, 150.0),
                FaultEntry("rs-b1-elev-a", "door_fault", 9000.0, 3600.0)]  # another fault, hours later
    shapes = [f.shape for f in draw_shapes(episodes, 4)]
    assert shapes[0] == shapes[2] == shapes[3]
    assert shapes[1] != shapes[0] and shapes[4] != shapes[0]
