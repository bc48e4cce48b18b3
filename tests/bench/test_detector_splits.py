"""bench.detectors' generalisation protocol: the tuning and held-out splits never share a file, they are the ones
`detectors.params` states, and the simulator's held-out faults are drawn from wider ranges than the tuning split's."""

from __future__ import annotations

import dataclasses

from bench.detector_play import Label, merge_episodes
from bench.detector_splits import HELDOUT, TUNING, plan_runs
from bench.fault_shapes import RANGES
from bench.public import FREE_CUT, FREE_HALF, FREE_ROWS, NAB_TUNING, cut, load_splits
from simulators.faults import FaultShape


def test_tuning_and_heldout_share_no_file_and_cover_every_labelled_file() -> None:
    splits = load_splits()
    skab_tuning = {s.name for s in splits.skab_tuning}
    skab_heldout = {s.name for s in splits.skab_heldout}
    assert skab_tuning == {f"skab/valve1/{i}.csv" for i in range(8)}
    assert skab_heldout == {f"skab/valve1/{i}.csv" for i in range(8, 16)}
    assert [s.name for s in splits.anomaly_free] == ["skab/anomaly-free/anomaly-free.csv"]
    assert sum(splits.anomaly_free[0].labels) == 0  # the anomaly-free run has no anomalous row
    whole = splits.anomaly_free[0]
    (first,), (second,) = splits.free_tuning, splits.free_heldout
    assert first.timestamps + second.timestamps == whole.timestamps  # the halves in time order, every row once
    assert len(first.rows) == FREE_HALF == 4702 and len(second.rows) == FREE_ROWS - FREE_HALF
    assert max(first.timestamps) < min(second.timestamps)


def test_the_anomaly_free_halves_are_scored_as_1150_row_files_that_never_straddle_the_halves() -> None:
    splits = load_splits()
    tuning = [c for s in splits.free_tuning for c in cut(s, FREE_CUT)]
    heldout = [c for s in splits.free_heldout for c in cut(s, FREE_CUT)]
    assert [len(c.rows) for c in tuning] == [FREE_CUT] * 4  # rows 0-4599; 4600-4701 are too short to score
    assert [len(c.rows) for c in heldout] == [FREE_CUT] * 4  # rows 4702-9301; 9302-9404 too short
    tuning_times = {t for c in tuning for t in c.timestamps}
    assert not tuning_times & {t for c in heldout for t in c.timestamps}
    assert max(tuning_times) < splits.free_heldout[0].timestamps[0]
    nab_tuning = {s.name for s in splits.nab_tuning}
    nab_heldout = {s.name for s in splits.nab_heldout}
    assert not nab_tuning & nab_heldout
    assert {n.split("/")[0] for n in nab_tuning} == set(NAB_TUNING)
    assert {n.split("/")[0] for n in nab_heldout} == {"realTweets"}
    assert sum(len(s.windows) for s in splits.nab_heldout) > 0  # held-out NAB has windows to find


def test_the_simulator_heldout_split_uses_other_seeds_and_wider_fault_ranges() -> None:
    assert not set(TUNING.seeds) & set(HELDOUT.seeds)
    low, high = HELDOUT.acute_scale
    assert (high - low) >= 2.0 * (TUNING.acute_scale[1] - TUNING.acute_scale[0]) and high / low >= 2.0
    assert HELDOUT.ramp_days is not None and HELDOUT.ramp_days[1] / HELDOUT.ramp_days[0] >= 2.0


def test_the_heldout_split_draws_shapes_and_episodes_the_tuning_split_never_has() -> None:
    tuning = [e for seed in TUNING.seeds for r in plan_runs(TUNING, seed) for e in r.entries]
    assert tuning and all(e.shape == FaultShape() for e in tuning)  # the library's defaults, in one piece
    assert all(len({(e.device_id, e.name) for e in r.entries}) == len(r.entries)
               for seed in TUNING.seeds for r in plan_runs(TUNING, seed))
    runs = [r for seed in HELDOUT.seeds for r in plan_runs(HELDOUT, seed)]
    heldout = [e for r in runs for e in r.entries]
    amplitudes = [e.shape.amplitude for e in heldout if e.name in RANGES and RANGES[e.name].amplitude != (1.0, 1.0)]
    assert min(amplitudes) < 0.6 and max(amplitudes) > 1.2  # milder and harsher than the library's 1
    assert any(e.shape.ramp_s > 0 for e in heldout)  # some start gradually
    assert {e.shape.variant for e in heldout} >= {"silent_reader", "no_code"}  # another metric moves first
    # Intermittent faults come as episodes, which the score counts as one fault each.
    for r in runs:
        labels = [Label(e.device_id, e.name, e.offset_s, e.offset_s + e.duration_s, None) for e in r.entries]
        merged = merge_episodes(labels)
        assert len(merged) == len({(e.device_id, e.name) for e in r.entries})
    assert sum(len(r.entries) for r in runs) > sum(len({(e.device_id, e.name) for e in r.entries}) for r in runs)


def test_the_heldout_split_plays_each_device_with_its_own_measurement_noise() -> None:
    assert all(not r.noise for seed in TUNING.seeds for r in plan_runs(TUNING, seed))  # the simulator's own
    assert HELDOUT.noise is not None
    low, high = HELDOUT.noise
    assert low < 1.0 and high / low >= 3.0  # quieter and noisier than the simulator the detectors were built on
    runs = [r for seed in HELDOUT.seeds for r in plan_runs(HELDOUT, seed)]
    factors = [f for r in runs for f in r.noise.values()]
    assert all(set(r.noise) == set(r.devices) for r in runs)
    assert all(low <= f <= high for f in factors) and min(factors) < 0.8 and max(factors) > 2.0
    again = [r.noise for seed in HELDOUT.seeds for r in plan_runs(HELDOUT, seed)]
    assert again == [r.noise for r in runs]  # drawn from the seed: every run of the bench plays the same
    plain = dataclasses.replace(HELDOUT, noise=None)
    assert [r.entries for seed in HELDOUT.seeds for r in plan_runs(plain, seed)] == [r.entries for r in runs]
