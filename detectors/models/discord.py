"""`Discord`: how unlike anything seen recently the latest stretch of readings is (a streaming subsequence discord).

The score of a reading is the distance from the window of the last `window` readings (ending with it) to its nearest
neighbour among the earlier windows of the last `history` readings, as in matrix-profile discord discovery: a shape
that has happened before (the daily rise of a periodic series, a burst that recurs) scores low whatever its level,
and a shape never seen (a missing daily rise, a flat stretch in a noisy series, a level the series visits at the
wrong time) scores high even when every single reading is within the usual range — the contextual anomalies that a
per-reading baseline cannot see. Windows overlapping the latest one are excluded (no trivial self-match). Each
feature's distance is in units of its spread over the first `3 × window` readings, so columns of different units
weigh alike; the score is the root mean square distance per reading and feature.

The nearest neighbour is found with one sliding dot product per feature (O(history × window) numpy work per
reading, ~0.1 ms at the defaults).

>>> m = Discord(window=8, history=400)
>>> for i in range(300):
...     m.learn_one({"v": float(i % 20 < 10)})  # a square wave
>>> m.score_one({"v": 0.0}) < 0.01, m.score_one({"v": 5.0}) > 1.0
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from river.base import AnomalyDetector

from detectors.base import Features
from detectors.params import PARAMS


@dataclass(slots=True)
class Discord(AnomalyDetector):
    """Nearest-neighbour distance of the latest window to the earlier windows of the recent history."""

    window: int = PARAMS.surprise.shape_window
    history: int = PARAMS.surprise.shape_history
    keys: list[str] = field(default_factory=list)
    buffer: np.ndarray | None = None  # rows of readings, oldest first; compacted to the last `history` rows
    size: int = 0
    center: np.ndarray | None = None  # per feature, fixed once the first windows are in (see `learn_one`)
    scale: np.ndarray | None = None

    def learn_one(self, x: Features) -> None:  # type: ignore[override]  # river types x as dict[Hashable, Any]; ours are str -> float
        if not self.keys:
            self.keys = sorted(x)
        if self.buffer is None:
            self.buffer = np.zeros((2 * (self.history + self.window), len(self.keys)))
        if self.size == len(self.buffer):  # keep the newest history + window rows, amortised O(1) per reading
            keep = self.history + self.window
            self.buffer[:keep] = self.buffer[self.size - keep : self.size]
            self.size = keep
        self.buffer[self.size] = self._row(x)
        self.size += 1
        if self.scale is None and self.size >= 3 * self.window:
            # Units per feature, fixed from the first readings: a scale that moved with the series would change
            # what a distance means from one reading to the next (and measured worse on NAB).
            seen = self.buffer[: self.size]
            self.center = seen.mean(axis=0)
            self.scale = seen.std(axis=0) + 1e-9 * (np.abs(self.center) + 1.0)

    def _row(self, x: Features) -> np.ndarray:
        # A missing feature repeats its last value: it says nothing new about the shape.
        last = self.buffer[self.size - 1] if self.buffer is not None and self.size else np.zeros(len(self.keys))
        return np.array([x.get(k, last[j]) for j, k in enumerate(self.keys)], dtype=float)

    def score_one(self, x: Features) -> float:  # type: ignore[override]  # river types x as dict[Hashable, Any]; ours are str -> float
        w = self.window
        if self.buffer is None or self.scale is None or self.center is None:  # not yet 3 windows to compare
            return 0.0
        # Candidate windows end at least `w` readings before the latest, so none overlaps it.
        start = max(0, self.size - self.history)
        past = self.buffer[start : self.size - w + 1]  # readings of every candidate window
        latest = np.vstack([self.buffer[self.size - w + 1 : self.size], self._row(x)])
        total = np.zeros(len(past) - w + 1)
        for j in range(len(self.keys)):
            series, query = past[:, j], latest[:, j]
            mean = self.center[j]
            series, query = series - mean, query - mean  # centred, for numerical accuracy of the dot products
            energy = np.convolve(series * series, np.ones(w), mode="valid")
            d2 = energy + float(query @ query) - 2.0 * np.correlate(series, query, mode="valid")
            total += np.maximum(d2, 0.0) / (self.scale[j] * self.scale[j])
        return math.sqrt(float(total.min()) / (w * len(self.keys)))
