"""Choose the `t2` profile's values on SKAB's tuning split alone: `python -m bench.skab_sweep [--all]`.

Reads valve1 files 0-7 and the anomaly-free run's first half (`bench.public.load_tuning`: no held-out row is ever
read), scores every combination of `GRID` exactly as `forewarn detect replay --format skab` would with those values,
and prints, per combination: valve1 F1, FAR, MAR (pooled, rows ≥ 400 of each file) and the share of the
anomaly-free first half's rows alarmed when cut into 1150-row files as the bench cuts it.

Objective: the highest valve1 F1 among the combinations that alarm on at most `FREE_LIMIT` (5 %) of the
anomaly-free rows and on at most `FAR_LIMIT` (15 %) of valve1's normal rows (the issue's limits, applied to the
tuning split); ties go to the quieter one. The chosen line is marked, and the values
shipped in `detectors.params.T2Params` are compared with it. Held-out figures come from `bench.detectors` only.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.datasets import DATASETS, Series
from bench.public import FREE_CUT, FREE_HALF, Stream, alarm_share, cut, load_tuning, skab_figures
from detectors.base import unit_score
from detectors.models.mahalanobis import Mahalanobis
from detectors.params import PARAMS, T2Params

FREE_LIMIT = 0.05
FAR_LIMIT = 0.15
GRID: dict[str, tuple[float, ...]] = {
    "level_alpha": (1.0, 1 / 20, 1 / 40, 1 / 80),  # 1: T² of the reading alone (as before); < 1: MEWMA
    "smooth": (0.05, 1.0),  # EW smoothing of the score (1: none; the level already smooths)
    "follow": (0.0, 1 / 500, 1 / 250, 1 / 120, 1 / 60),
    "follow_alarmed": (0.0, 1 / 2000),
    "margin": (1.2, 1.5, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0),
    "quantile": (0.99,),
}


def t2_stream(values: T2Params) -> Stream:
    """`T2Scorer` driven by `values` instead of the shipped `PARAMS.t2` (the same steps: a test holds the two
    equal at the shipped values), run as `detectors.replay.score_stream` runs it."""

    def run(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
        model = Mahalanobis(fit_rows=warmup, level_alpha=values.level_alpha)
        smooth, limit = 0.0, None
        for x in series.rows:
            if limit is None:
                model.learn_one(x)
                if model.fitted:
                    s, smoothed = 0.0, []
                    for value in model.train_scores:
                        s += values.smooth * (value - s)
                        smoothed.append(s)
                    tail = sorted(smoothed[len(smoothed) // 8 :])
                    limit = values.margin * max(tail[int(values.quantile * (len(tail) - 1))], 1e-9)
                    smooth = smoothed[-1]
                yield 0.0, False
                continue
            smooth += values.smooth * (model.score_one(x) - smooth)
            score = unit_score(smooth, limit)
            alarm = score >= 0.5
            model.follow(x, values.follow_alarmed if alarm else values.follow)
            yield score, alarm

    return run


@dataclass(frozen=True, slots=True)
class Line:
    values: T2Params
    f1: float
    far: float
    mar: float
    free: float


def sweep(grid: dict[str, tuple[float, ...]] = GRID, root: Path = DATASETS) -> list[Line]:
    """Every combination of `grid` (fields of `T2Params`, the others as shipped) on the tuning split under `root`."""
    valve1, first_half = load_tuning(root)
    free_files = [c for s in first_half for c in cut(s, FREE_CUT)]
    lines = []
    for combo in itertools.product(*grid.values()):
        values = dataclasses.replace(PARAMS.t2, **dict(zip(grid, combo, strict=True)))  # type: ignore[arg-type]
        stream = t2_stream(values)
        figures = skab_figures(stream, valve1)
        lines.append(Line(values, figures["f1"], figures["far"], figures["mar"], alarm_share(stream, free_files)))
    return lines


def choose(lines: list[Line]) -> Line | None:
    """The objective: the best F1 within `FREE_LIMIT` and `FAR_LIMIT` (ties: the quieter)."""
    quiet = [line for line in lines if line.free <= FREE_LIMIT and line.far <= FAR_LIMIT]
    return max(quiet, key=lambda line: (round(line.f1, 6), -line.free)) if quiet else None


def _show(line: Line, grid: dict[str, tuple[float, ...]]) -> str:
    values = " ".join(f"{k}={getattr(line.values, k):.5g}" for k in grid)
    return f"{values:<70} F1 {line.f1:.3f}  FAR {line.far:6.1%}  MAR {line.mar:6.1%}  anomaly-free {line.free:6.1%}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="print every combination, not only the quiet ones")
    args = parser.parse_args(argv)
    lines = sweep()
    chosen = choose(lines)
    print(f"SKAB tuning split: valve1 files 0-7; the anomaly-free run's rows 0-{FREE_HALF - 1} in {FREE_CUT}-row files")
    print(f"{len(lines)} combinations; objective: best valve1 F1 with anomaly-free ≤ {FREE_LIMIT:.0%}"
          f" and FAR ≤ {FAR_LIMIT:.0%}")
    shown = lines if args.all else [line for line in lines if line.free <= FREE_LIMIT and line.far <= FAR_LIMIT]
    for line in sorted(shown, key=lambda line: -line.f1):
        print(("* " if line is chosen else "  ") + _show(line, GRID))
    if chosen is None:
        print("no combination meets the limits")
        return
    print("chosen:  " + _show(chosen, GRID))
    same = all(getattr(chosen.values, k) == getattr(PARAMS.t2, k) for k in GRID)
    print("shipped: " + ("the chosen values" if same else "differs from the chosen values: "
                         + " ".join(f"{k}={getattr(PARAMS.t2, k):.5g}" for k in GRID)))


if __name__ == "__main__":
    main()
