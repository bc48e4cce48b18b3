"""bench.skab_sweep chooses the `t2` values on SKAB's tuning split alone, scoring them as replay would."""

from __future__ import annotations

from pathlib import Path

from bench.datasets import DATASETS
from bench.public import FREE_HALF, FREE_PATH, load_splits, load_tuning, ours
from bench.skab_sweep import choose, sweep, t2_stream
from detectors.params import PARAMS


def _tuning_only_copy(root: Path) -> Path:
    """A datasets folder holding SKAB's tuning rows and nothing readable after them: valve1 files 8-15 are
    absent and every anomaly-free row after the first half is replaced by text no parser accepts."""
    (root / "skab" / "valve1").mkdir(parents=True)
    for i in range(8):
        (root / "skab" / "valve1" / f"{i}.csv").write_bytes((DATASETS / "skab" / "valve1" / f"{i}.csv").read_bytes())
    lines = (DATASETS / FREE_PATH).read_text().splitlines(keepends=True)
    held_out = len(lines) - 1 - FREE_HALF
    (root / FREE_PATH).parent.mkdir(parents=True)
    (root / FREE_PATH).write_text("".join(lines[: 1 + FREE_HALF]) + "held-out row: not to be read\n" * held_out)
    return root


def test_the_sweep_never_reads_a_held_out_row(tmp_path: Path) -> None:
    root = _tuning_only_copy(tmp_path)
    valve1, (first,) = load_tuning(root)
    splits = load_splits()
    assert [s.name for s in valve1] == [s.name for s in splits.skab_tuning]
    assert [s.rows for s in valve1] == [s.rows for s in splits.skab_tuning]
    assert first.rows == splits.free_tuning[0].rows and first.timestamps == splits.free_tuning[0].timestamps
    grid = {"margin": (PARAMS.t2.margin, 1.5)}
    # the same figures whether the held-out rows exist or not: the sweep cannot have looked at them
    assert sweep(grid, root) == sweep(grid, DATASETS)


def test_the_sweep_scores_the_shipped_values_exactly_as_replay_does() -> None:
    valve1, (first,) = load_tuning()
    for series in (valve1[0], valve1[5], first):
        assert list(t2_stream(PARAMS.t2)(series, 400)) == list(ours("t2")(series, 400))


def test_the_objective_takes_the_best_f1_among_the_quiet_combinations(tmp_path: Path) -> None:
    lines = sweep({"margin": (PARAMS.t2.margin / 10, PARAMS.t2.margin, 1e6)}, _tuning_only_copy(tmp_path))
    loud, shipped, deaf = lines
    assert loud.free > shipped.free >= deaf.free == 0.0 and deaf.f1 == 0.0  # a margin no reading reaches
    chosen = choose(lines)
    assert chosen is not None and chosen.free <= 0.05 and chosen.run <= 0.05 and chosen.far <= 0.15
    assert all(line.f1 <= chosen.f1 for line in lines if line.free <= 0.05 and line.run <= 0.05 and line.far <= 0.15)
    assert loud.run > deaf.run == 0.0


def test_the_sweep_gives_the_same_lines_in_several_processes(tmp_path: Path) -> None:
    grid = {"margin": (PARAMS.t2.margin, 1.5), "follow_alarmed": (0.0, 1 / 250)}
    root = _tuning_only_copy(tmp_path)
    assert sweep(grid, root, jobs=2) == sweep(grid, root)
