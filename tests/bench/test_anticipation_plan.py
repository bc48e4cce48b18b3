"""The anticipation bench's plan: the threshold-only baseline is a competent fixed-limit rule set (a stopped
booster is caught by its pressure, a burst by its flow), and an intermittent fault's episodes are one fault."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.anticipation_variants import fixed_limits
from ingest.reading import DeviceKind, Reading

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _water(device: str, **values: float) -> Reading:
    return Reading(device, DeviceKind.WATER, T, 1, values)


def test_a_stopped_booster_is_below_its_fixed_pressure_floor():
    stopped = {o.fault: o.active for o in fixed_limits(_water("rs-b1-water-high", pressure_kpa=120.0, pump_on=0.0,
                                                              flow_lpm=40.0))}
    running = {o.fault: o.active for o in fixed_limits(_water("rs-b1-water-high", pressure_kpa=505.0, pump_on=1.0,
                                                              flow_lpm=90.0))}
    assert stopped == {"pump_failure": True, "pipe_burst": False}
    assert running == {"pump_failure": False, "pipe_burst": False}


def test_a_burst_is_above_the_zones_fixed_flow_limit_and_other_devices_get_nothing():
    burst = {o.fault: o.active for o in fixed_limits(_water("rs-b1-water-low", pressure_kpa=150.0, flow_lpm=600.0))}
    assert burst == {"pipe_burst": True}  # a street-pressure zone has no pump to fail
    lift = Reading("rs-b1-elev-a", DeviceKind.ELEVATOR, T, 1, {"pressure_kpa": 1.0, "flow_lpm": 9999.0})
    assert fixed_limits(lift) == []


def test_an_intermittent_faults_episodes_are_judged_as_one_fault():
    import random
    from datetime import timedelta

    from bench.anticipation_plan import episodes, merge_episodes
    from tickets.anticipation import KnownFault

    spans = episodes(random.Random(3), 1000.0, 1800.0)
    assert len(spans) >= 2 and all(a < b for a, b in spans)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False))  # released between episodes
    assert spans[0][0] == 1000.0 and spans[-1][1] <= 2800.0
    at = [T + timedelta(seconds=a) for a, _ in spans]
    ends = [T + timedelta(seconds=b) for _, b in spans]
    known = [KnownFault("rs-b1-elev-a", "entrapment", a, b, None if i == 0 else a + timedelta(seconds=30))
             for i, (a, b) in enumerate(zip(at, ends, strict=True))]
    later = KnownFault("rs-b1-elev-a", "entrapment", ends[-1] + timedelta(hours=2), ends[-1] + timedelta(hours=3))
    merged = merge_episodes([*known, later])
    assert merged[0] == KnownFault("rs-b1-elev-a", "entrapment", at[0], ends[-1], at[1] + timedelta(seconds=30))
    assert merged[1] == later  # a fault two hours later is another fault


def test_the_degradation_runs_hold_twenty_faults_of_each_type_on_devices_drawn_per_seed():
    from collections import Counter

    from bench.anticipation_plan import (
        DAY,
        DEGRADATION_INTERVAL_S,
        DEGRADATION_SEEDS,
        DEGRADATION_START_S,
        DEGRADING,
        is_degradation,
        scenario_for,
        seed_start,
    )

    runs = [scenario_for(seed, 4.5 * 24, repeats=0, degradation=True, start=seed_start(seed))
            for seed in range(1, DEGRADATION_SEEDS + 1)]
    assert DEGRADATION_SEEDS >= 10 and all(is_degradation(run) for run in runs)
    counts = Counter(f.name for run in runs for f in run.faults)
    assert counts == {fault: 20 for fault in DEGRADING}  # issue #20: at least 20 per type over at least 10 seeds
    assert len({run.start for run in runs}) == len(runs)  # each seed starts at its own moment of the week
    assert len({tuple(sorted(f.device_id for f in run.faults)) for run in runs}) == len(runs)
    for run in runs:
        faulty = [f.device_id for f in run.faults]
        assert len(faulty) == len(set(faulty)) and sorted(run.device_ids) == sorted(faulty)  # one per device
        assert run.intervals[DeviceKind.ELEVATOR] == run.intervals[DeviceKind.WATER] == DEGRADATION_INTERVAL_S
        for f in run.faults:  # after a normal first day, and over before the run ends
            assert f.offset_s >= DEGRADATION_START_S and f.offset_s + f.duration_s <= 4.5 * DAY
    acute = scenario_for(1, 0.4 * 24, repeats=2, start=seed_start(1))
    assert not is_degradation(acute)
