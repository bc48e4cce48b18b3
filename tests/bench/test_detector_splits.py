"""bench.detectors' generalisation protocol: the tuning and held-out splits never share a file, and they are the
ones `detectors.params` states."""

from __future__ import annotations

from bench.detectors import HELDOUT, TUNING
from bench.public import NAB_TUNING, load_splits


def test_tuning_and_heldout_share_no_file_and_cover_every_labelled_file() -> None:
    splits = load_splits()
    skab_tuning = {s.name for s in splits.skab_tuning}
    skab_heldout = {s.name for s in splits.skab_heldout}
    assert skab_tuning == {f"skab/valve1/{i}.csv" for i in range(8)}
    assert skab_heldout == {f"skab/valve1/{i}.csv" for i in range(8, 16)}
    assert [s.name for s in splits.anomaly_free] == ["skab/anomaly-free/anomaly-free.csv"]
    assert sum(splits.anomaly_free[0].labels) == 0  # the anomaly-free run has no anomalous row
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
