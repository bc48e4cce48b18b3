"""Public labelled data for `bench.detectors`: the tuning and held-out splits, the streams scored on them, and
river's nearest equivalents of our offline models, measured in the same run.

Splits (the protocol of `detectors.params`):
- SKAB: tuning = valve1 files 0-7 and the first half of the anomaly-free run (rows 0-4701 by time), held-out =
  valve1 files 8-15 and its second half (rows 4702-9404). Each valve1 file learns rows < 400 and is scored on the
  rest (pooled F1, FAR, MAR). Each half of the anomaly-free run is cut into 1150-row files (valve1's length) scored
  the same way: the share of their rows ≥ 400 alarmed (a half's last 102-103 rows make too short a file and are not
  scored). The whole run is also scored as one 9405-row run, its alarm share reported apart for the rows of each
  half (rows 400-4701 are tuning rows; rows 4702-9404 held-out ones, scored with the state the first half left).
  `load_tuning` reads the tuning rows alone, never a held-out row (`bench.skab_sweep` chooses with it).
- NAB: tuning = artificialNoAnomaly, artificialWithAnomaly, realAdExchange; held-out = realTweets (NAB's published
  scoring, standard and reward-low-FP profiles, one threshold optimised per split as NAB does per corpus).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from river import anomaly, stats

from bench.datasets import DATASETS, SKAB_COLUMNS, Series, _ts, load_nab, load_skab
from bench.nab_score import nab_score
from detectors.models.zscore import ZScore
from detectors.params import PARAMS
from detectors.replay import score_stream

SKAB_SPLIT = PARAMS.t2.fit_rows
SKAB_TUNING_FILES = 8  # valve1 files 0..7 (sorted by number) tune; 8..15 are held out
NAB_TUNING = ("artificialNoAnomaly", "artificialWithAnomaly", "realAdExchange")
# HalfSpaceTrees' scores are coarse (valve1 tuning files: 0.445-0.462 on one file, normal and faulty rows alike): at
# our T² margin (1.2) it never alarms, at 1.02 its F1 is 0.12, at 1.0 it is 0.36 (tuning split), so it gets 1.0.
HST_MARGIN = 1.0
# ...with its score smoothed at 1/20 per row, the smoothing `t2` had when that margin was chosen. `t2` itself scores
# unsmoothed since its second tuning round (its MEWMA level smooths the readings); HalfSpaceTrees has no such level,
# and unsmoothed its tuning F1 falls from 0.36 to 0.07, so it keeps the smoothing it was measured best with.
HST_SMOOTH = 0.05
# A stream maps a series to one (score, alarm) pair per row, streaming; its int is the warm-up row count.
Stream = Callable[[Series, int], Iterator[tuple[float, bool]]]


FREE_CUT = 1150  # valve1 files are ~1150 rows: the anomaly-free run cut to that length is scored like them
FREE_ROWS = 9405  # rows of SKAB's anomaly-free run
FREE_HALF = FREE_ROWS // 2  # its rows before this one (by time) tune, the rest are held out
FREE_PATH = Path("skab") / "anomaly-free" / "anomaly-free.csv"


def cut(series: Series, rows: int) -> list[Series]:
    """`series` as consecutive files of `rows` rows (the last, shorter one only if it outlasts the warm-up)."""
    out = []
    for k, a in enumerate(range(0, len(series.rows), rows)):
        b = min(len(series.rows), a + rows)
        if b - a > SKAB_SPLIT:
            out.append(Series(f"{series.name}#{k}", series.timestamps[a:b], series.rows[a:b], series.labels[a:b], []))
    return out


def rows_of(series: Series, a: int, b: int) -> Series:
    """Rows a..b-1 of `series` as a series of their own (named by the row range)."""
    return Series(f"{series.name}[{a}:{b}]", series.timestamps[a:b], series.rows[a:b], series.labels[a:b], [])


@dataclass(frozen=True, slots=True)
class Splits:
    skab_tuning: list[Series]
    skab_heldout: list[Series]
    anomaly_free: list[Series]  # the whole run
    free_tuning: list[Series]  # its first half (rows < FREE_HALF)
    free_heldout: list[Series]  # its second half
    nab_tuning: list[Series]
    nab_heldout: list[Series]


def load_splits(quick: bool = False) -> Splits:
    """The splits; `quick` keeps a few files of each for a smoke run."""
    valve1 = load_skab("valve1")
    nab = load_nab()
    tuning = [s for s in nab if s.name.split("/")[0] in NAB_TUNING]
    heldout = [s for s in nab if s.name.split("/")[0] not in NAB_TUNING]
    free = load_skab("anomaly-free")
    if [len(s.rows) for s in free] != [FREE_ROWS]:
        raise ValueError(f"expected one anomaly-free run of {FREE_ROWS} rows in {DATASETS / FREE_PATH}")
    halves = [rows_of(free[0], 0, FREE_HALF)], [rows_of(free[0], FREE_HALF, FREE_ROWS)]
    splits = Splits(valve1[:SKAB_TUNING_FILES], valve1[SKAB_TUNING_FILES:], free, *halves, tuning, heldout)
    if not quick:
        return splits
    nab_tuning = [s for s in tuning if s.windows][:3] + [s for s in tuning if not s.windows][:1]
    return Splits(splits.skab_tuning[:2], splits.skab_heldout[:2], free, *halves, nab_tuning, heldout[:2])


def _read_skab(path: Path, name: str, limit: int | None = None) -> Series:
    """A SKAB file as `bench.datasets.load_skab` reads it, stopping after `limit` data rows: the rows after them
    are never read (not even parsed as CSV)."""
    stamps: list[datetime] = []
    rows: list[dict[str, float]] = []
    labels: list[int] = []
    with path.open(newline="") as fh:
        for r in csv.DictReader(fh, delimiter=";"):
            if limit is not None and len(rows) >= limit:
                break
            stamps.append(_ts(r["datetime"]))
            rows.append({c: float(r[c]) for c in SKAB_COLUMNS})
            labels.append(int(float(r.get("anomaly", 0) or 0)))
    return Series(name, stamps, rows, labels, [])


def load_tuning(root: Path = DATASETS) -> tuple[list[Series], list[Series]]:
    """SKAB's tuning split alone: (valve1 files 0-7, the anomaly-free run's first half as one series), read from
    `root` without opening valve1 files 8-15 or reading the anomaly-free run past its first half."""
    valve1 = [_read_skab(root / "skab" / "valve1" / f"{i}.csv", f"skab/valve1/{i}.csv")
              for i in range(SKAB_TUNING_FILES)]
    first = _read_skab(root / FREE_PATH, "skab/anomaly-free/anomaly-free.csv", limit=FREE_HALF)
    return valve1, [rows_of(first, 0, FREE_HALF)]


def ours(profile: str) -> Stream:
    def run(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
        rows = zip([t.isoformat() for t in series.timestamps], series.rows, strict=True)
        for row in score_stream(rows, profile, warmup):
            yield row.score, row.alarm

    return run


def null(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    return ((0.0, False) for _ in series.rows)


def always(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    return ((1.0, True) for _ in series.rows)


def zscore(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    """3-sigma rule on running mean/std; with a warm-up it learns only then (the reference is frozen)."""
    model = ZScore()
    for i, x in enumerate(series.rows):
        z = model.score_one(x)
        if warmup == 0 or i < warmup:
            model.learn_one(x)
        alarm = i >= max(warmup, 2) and z > 3.0
        yield (1.0 if alarm else 0.0), alarm


def river_hst(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    """river's `HalfSpaceTrees` — the nearest river model to our frozen multivariate reference (`t2`): features
    scaled by the warm-up rows' range, trees learnt on the warm-up rows only, score smoothed (`HST_SMOOTH`), alarm
    above the same quantile of the warm-up's smoothed scores as ours (`HST_MARGIN` times it)."""
    fit = max(warmup, SKAB_SPLIT)
    head = series.rows[:fit]
    keys = sorted(head[0]) if head else []
    ranges = {k: (min(r[k] for r in head), max(r[k] for r in head)) for k in keys}
    limits: dict[Hashable, tuple[float, float]] = {
        k: (lo - 0.1 * (hi - lo + 1e-9), hi + 0.1 * (hi - lo + 1e-9)) for k, (lo, hi) in ranges.items()
    }
    model = anomaly.HalfSpaceTrees(n_trees=10, height=8, window_size=min(250, fit // 2), limits=limits, seed=1)
    quantile = stats.Quantile(PARAMS.t2.quantile)
    smooth, limit = 0.0, 0.0
    for i, x in enumerate(series.rows):
        smooth += HST_SMOOTH * (model.score_one(x) - smooth)
        if i < fit:
            model.learn_one(x)
            if i >= fit // 8:
                quantile.update(smooth)
            limit = HST_MARGIN * max(quantile.get() or 0.0, 1e-9)
            yield 0.0, False
            continue
        yield smooth / (smooth + limit), smooth > limit


def river_gaussian(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    """river's `GaussianScorer` over a rolling window (the nearest river model to our `Surprise` likelihood), on
    each row's first feature; NAB optimises the threshold itself, so the score is what counts."""
    model = anomaly.GaussianScorer(window_size=PARAMS.surprise.level_memory // 5, grace_period=100)
    for x in series.rows:
        y = next(iter(x.values()))
        score = model.score_one(None, y)
        model.learn_one(None, y)
        yield score, score >= PARAMS.surprise.alarm


def skab_figures(stream: Stream, files: list[Series]) -> dict[str, float]:
    tp = fp = fn = tn = 0
    for series in files:
        for i, (_, alarm) in enumerate(stream(series, SKAB_SPLIT)):
            if i < SKAB_SPLIT:
                continue
            label = series.labels[i] == 1
            tp, fp = tp + (alarm and label), fp + (alarm and not label)
            fn, tn = fn + (not alarm and label), tn + (not alarm and not label)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"f1": f1, "far": fp / max(1, fp + tn), "mar": fn / max(1, fn + tp)}


def alarm_share(stream: Stream, files: list[Series]) -> float:
    """Share of rows after the warm-up alarmed (SKAB's anomaly-free run has no anomalous row: all are false)."""
    alarms = rows = 0
    for series in files:
        for i, (_, alarm) in enumerate(stream(series, SKAB_SPLIT)):
            if i >= SKAB_SPLIT:
                alarms, rows = alarms + alarm, rows + 1
    return alarms / max(1, rows)


def run_shares(stream: Stream, series: Series, cuts: tuple[int, ...]) -> list[float]:
    """One continuous run over `series`: the alarmed share of its rows after the warm-up in each range between
    consecutive `cuts` (rows cuts[k]..cuts[k+1]-1)."""
    alarms = [0] * (len(cuts) - 1)
    rows = [0] * (len(cuts) - 1)
    for i, (_, alarm) in enumerate(stream(series, SKAB_SPLIT)):
        for k in range(len(cuts) - 1):
            if max(cuts[k], SKAB_SPLIT) <= i < cuts[k + 1]:
                alarms[k], rows[k] = alarms[k] + alarm, rows[k] + 1
    return [a / max(1, n) for a, n in zip(alarms, rows, strict=True)]


def nab_figures(stream: Stream, files: list[Series]) -> dict[str, float]:
    scored = {s.name: ([score for score, _ in stream(s, 0)], s.windows) for s in files}
    return {"standard": nab_score(scored, "standard"), "low_fp": nab_score(scored, "reward_low_fp")}


def drift_table() -> None:
    """`python -m bench.public`: how far SKAB's anomaly-free run moves from a reference fitted on its first rows —
    mean |z| per feature the reference keeps, in units of its fitted spread, per 1000 rows."""
    from detectors.models.mahalanobis import Mahalanobis

    series = load_skab("anomaly-free")[0]
    model = Mahalanobis(fit_rows=SKAB_SPLIT)
    for x in series.rows[:SKAB_SPLIT]:
        model.learn_one(x)
    assert model.mean is not None and model.scale is not None
    print("rows".ljust(12) + "".join(k[:18].rjust(20) for k in model.keys))
    for a in range(0, len(series.rows), 1000):
        chunk = series.rows[a : a + 1000]
        cells = [sum(abs(x[k] - model.mean[j]) / model.scale[j] for x in chunk) / len(chunk)
                 for j, k in enumerate(model.keys)]
        print(f"{a}-{a + len(chunk) - 1}".ljust(12) + "".join(f"{c:20.1f}" for c in cells))


if __name__ == "__main__":
    drift_table()
