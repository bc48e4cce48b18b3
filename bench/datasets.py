"""Loaders for the public labelled data sets in `../shared/datasets` (read in place, never copied)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


def _datasets() -> Path:
    """`shared/datasets` beside the checkout, or beside a folder above it (a git worktree lives one level deeper)."""
    repo = Path(__file__).resolve().parents[1]
    for folder in repo.parents:
        if (folder / "shared" / "datasets").is_dir():
            return folder / "shared" / "datasets"
    return repo.parent / "shared" / "datasets"


DATASETS = _datasets()
SKAB_COLUMNS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)


@dataclass(frozen=True, slots=True)
class Series:
    """One labelled file: row timestamps, feature rows, per-row labels, and NAB windows as row ranges."""

    name: str
    timestamps: list[datetime]
    rows: list[dict[str, float]]
    labels: list[int]
    windows: list[tuple[int, int]]


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())


def load_skab(folder: str = "valve1") -> list[Series]:
    """SKAB files of `folder` (`;`-separated, per-row `anomaly` label)."""
    out = []
    paths = sorted((DATASETS / "skab" / folder).glob("*.csv"), key=lambda p: (len(p.stem), p.stem))  # 2 before 10
    for path in paths:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter=";"))
        out.append(
            Series(
                name=f"skab/{folder}/{path.name}",
                timestamps=[_ts(r["datetime"]) for r in rows],
                rows=[{c: float(r[c]) for c in SKAB_COLUMNS} for r in rows],
                labels=[int(float(r.get("anomaly", 0) or 0)) for r in rows],
                windows=[],
            )
        )
    return out


def load_nab() -> list[Series]:
    """Every NAB file that has an entry in `combined_windows.json`, with its windows as row ranges."""
    labels = json.loads((DATASETS / "nab" / "labels" / "combined_windows.json").read_text())
    out = []
    for key in sorted(labels):
        path = DATASETS / "nab" / "data" / key
        if not path.exists():
            continue
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        stamps = [_ts(r["timestamp"]) for r in rows]
        index = {t: i for i, t in enumerate(stamps)}
        windows = sorted((index[_ts(a)], index[_ts(b)]) for a, b in labels[key])
        flags = [0] * len(rows)
        for a, b in windows:
            flags[a : b + 1] = [1] * (b - a + 1)
        out.append(Series(key, stamps, [{"value": float(r["value"])} for r in rows], flags, windows))
    return out
