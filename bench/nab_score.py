"""The NAB score, computed by NAB's published method (numenta/NAB `nab/sweeper.py`, v1.1).

Each record above the threshold counts: inside a labelled window it earns the window's scaled-sigmoid
reward (only the best, i.e. earliest, detection per window counts), outside it costs `fp_weight` times a
sigmoid of its distance past the previous window. Missed windows cost `fn_weight`. The first 15% of each
file (at most 750 rows) is probation and not scored. One threshold is optimised over the whole corpus, and
the raw score is normalised so the null detector scores 0 and the perfect one 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_fp": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_fn": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}
PROBATION = 0.15


@dataclass(frozen=True, slots=True)
class Point:
    score: float  # the detector's anomaly score
    weight: float  # NAB's sweep score if this point were a detection
    window: str | None  # "file|window start" inside a window, None outside


def scaled_sigmoid(position: float) -> float:
    """NAB's reward/penalty by relative position (-1 window start, 0 window end, >0 past it)."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def sweep(name: str, scores: list[float], windows: list[tuple[int, int]], tp: float, fp: float) -> list[Point]:
    """Per-row points of one file; `windows` are (first row, last row) index pairs, sorted."""
    max_tp = scaled_sigmoid(-1.0)
    probation = min(math.floor(PROBATION * len(scores)), PROBATION * 5000)
    starts = {start: end for start, end in windows}
    points: list[Point] = []
    cur: tuple[int, int] | None = None
    prev: tuple[int, float] | None = None  # (right index, width) of the last window left
    for i, score in enumerate(scores):
        if cur is None and i in starts:
            cur = (i, starts[i])
        if cur is not None:
            width = float(cur[1] - cur[0] + 1)
            weight = scaled_sigmoid(-(cur[1] - i + 1) / width) * tp / max_tp
            window: str | None = f"{name}|{cur[0]}"
        else:
            position = 3.0 if prev is None else abs(prev[0] - i) / (prev[1] - 1)
            weight = scaled_sigmoid(position) * fp
            window = None
        points.append(Point(score, weight, window if i >= probation else "probationary"))
        if cur is not None and i == cur[1]:
            prev, cur = (i, float(cur[1] - cur[0] + 1)), None
    return points


def best_raw_score(points: list[Point], fn: float) -> tuple[float, float]:
    """(best raw score, its threshold) over all thresholds, as NAB's `calcScoreByThreshold` sweeps them."""
    scorable = sorted((p for p in points if p.window != "probationary"), key=lambda p: p.score, reverse=True)
    parts: dict[str, float] = {p.window: -fn for p in scorable if p.window is not None}
    fp_sum = 0.0
    best, best_threshold = fp_sum + sum(parts.values()), 1.1
    i = 0
    while i < len(scorable):
        threshold = scorable[i].score
        while i < len(scorable) and scorable[i].score == threshold:
            p = scorable[i]
            if p.window is None:
                fp_sum += p.weight
            else:
                parts[p.window] = max(parts[p.window], p.weight)
            i += 1
        total = fp_sum + sum(parts.values())
        if total > best:
            best, best_threshold = total, threshold
    return best, best_threshold


def nab_score(files: dict[str, tuple[list[float], list[tuple[int, int]]]], profile: str = "standard") -> float:
    """Normalised NAB score (null 0, perfect 100) of per-file scores with per-file windows."""
    w = PROFILES[profile]
    points = [p for name, (s, win) in files.items() for p in sweep(name, s, win, w["tp"], w["fp"])]
    n_windows = sum(len(win) for _, win in files.values())
    raw, _ = best_raw_score(points, w["fn"])
    null, perfect = -w["fn"] * n_windows, w["tp"] * n_windows
    return 100.0 * (raw - null) / (perfect - null)
