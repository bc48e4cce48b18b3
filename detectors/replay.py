"""Replay: score any recorded CSV one row at a time, with no look-ahead, into a score/alarm CSV.

Input layouts: `generic` (comma-separated, a timestamp column named timestamp/time/datetime/ts or else the
first column, every other numeric column a feature), `skab` (`;`-separated, `datetime`, eight sensors; the
label columns are ignored) and `nab` (`timestamp,value`). Output: one row per input row, in order:
``timestamp,score,alarm`` with score in [0, 1].
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from detectors.params import PARAMS
from detectors.scorer import PROFILES

TIME_COLUMNS = ("timestamp", "time", "datetime", "ts")
LABEL_COLUMNS = frozenset({"anomaly", "changepoint", "label", "is_anomaly"})
DEFAULT_PROFILE = dict(PARAMS.replay.profile)
DELIMITER = {"generic": ",", "nab": ",", "skab": ";"}


class ReplayError(Exception):
    """A problem with the input the user can fix (missing file, unknown column, bad number)."""


@dataclass(frozen=True, slots=True)
class ScoredRow:
    timestamp: str
    score: float
    alarm: bool


def read_rows(stream: TextIO, fmt: str, columns: Sequence[str] | None = None) -> Iterator[tuple[str, dict[str, float]]]:
    """Check the header now, then yield (timestamp, features) for each data row, lazily."""
    if fmt not in DELIMITER:
        raise ReplayError(f"unknown format {fmt!r}; use one of: {', '.join(DELIMITER)}")
    reader = csv.reader(stream, delimiter=DELIMITER[fmt])
    header = next(reader, None)
    if not header:
        raise ReplayError("the file is empty: expected a header row")
    header = [h.strip() for h in header]
    time_col = next((i for i, h in enumerate(header) if h.lower() in TIME_COLUMNS), 0)
    wanted = list(columns) if columns else [h for i, h in enumerate(header) if i != time_col]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ReplayError(f"no column(s) {', '.join(map(repr, missing))} in the header; found: {', '.join(header)}")
    picks = [(c, header.index(c)) for c in wanted if c.lower() not in LABEL_COLUMNS]
    if not picks:
        raise ReplayError("no feature columns to score; pass --columns")
    return _data_rows(reader, time_col, picks)


def _data_rows(
    reader: Iterator[list[str]], time_col: int, picks: list[tuple[str, int]]
) -> Iterator[tuple[str, dict[str, float]]]:
    for line_no, row in enumerate(reader, start=2):
        if row:
            yield row[time_col], _features(row, picks, line_no)


def _features(row: list[str], picks: list[tuple[str, int]], line_no: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, i in picks:
        try:
            value = float(row[i])
        except (IndexError, ValueError):
            raise ReplayError(f"line {line_no}: column {name!r} is not a number: {row[i : i + 1]}") from None
        if math.isfinite(value):
            out[name] = value  # a blank-ish NaN is a missing reading, not a zero
    return out


def score_stream(
    rows: Iterable[tuple[str, dict[str, float]]], profile: str = "surprise", warmup: int = 0
) -> Iterator[ScoredRow]:
    """Score rows in order; the first `warmup` rows are learnt from (and scored) before any protection."""
    if profile not in PROFILES:
        raise ReplayError(f"unknown model {profile!r}; use one of: {', '.join(PROFILES)}")
    scorer = PROFILES[profile](fit_rows=warmup) if profile == "t2" and warmup > 0 else PROFILES[profile]()
    for i, (ts, x) in enumerate(rows):
        if i < warmup:
            score, _ = scorer.step(x, learn=False)
            scorer.learn(x)
            yield ScoredRow(ts, score, False)
        else:
            score, alarm = scorer.step(x, learn=True)
            yield ScoredRow(ts, score, alarm)


def replay_file(
    path: Path,
    out: TextIO,
    fmt: str = "generic",
    columns: Sequence[str] | None = None,
    profile: str | None = None,
    warmup: int = 0,
) -> int:
    """Score `path` into `out` as CSV; return the number of rows written."""
    if not path.is_file():
        raise ReplayError(f"no such file: {path}")
    n = 0
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = read_rows(fh, fmt, columns)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["timestamp", "score", "alarm"])
        for row in score_stream(rows, profile or DEFAULT_PROFILE[fmt], warmup):
            writer.writerow([row.timestamp, f"{row.score:.6f}", int(row.alarm)])
            n += 1
    return n
