"""`Mahalanobis`: Hotelling's T² of a multivariate reading against a reference fitted on the first readings.

The reference is the mean and covariance of the first `fit_rows` readings (assumed normal, as SKAB's protocol and a
commissioning period both give), fitted once and then frozen, so a long fault is never absorbed and the scale never
rescales under a fault. Features whose variation over the fitting window is mostly slow movement rather than
reading-to-reading scatter (a temperature following the room or still warming up) are left out: a few minutes of
them cannot say how far they will wander, so their level after the window says nothing about faults. The features
kept are measured in units of their long-run spread (the batch-means estimate: how much means of 20 readings
wander, scaled to one reading, never less than the reading-to-reading spread), with the correlations between them
from the readings themselves: a feature that sways a little over a few minutes (a vibration level) is expected to
sway as much later, while a set point held with scatter (a flow) keeps its full sensitivity.

What is scored is the running level of the readings, not the reading alone: an EW mean of the kept features with
weight `level_alpha` per reading (MEWMA, Lowry et al. 1992), so a small lasting shift of one feature stands out of
the scatter of several noisy ones, which averages away. Score is the level's T² divided by the number of features
and by the variance an EW mean keeps of independent readings (alpha / (2 - alpha)), ≈ 1 for readings like the
reference; `level_alpha` 1 scores the reading alone. The fitting rows are scored the same way (`train_scores`).
After the fit, `follow` takes each reading into the level and may move the centre towards it (slow drift).

>>> import random
>>> rng = random.Random(1)
>>> m = Mahalanobis(fit_rows=200, level_alpha=1.0)  # each reading alone
>>> for _ in range(200):
...     a = rng.gauss(0, 1)
...     m.learn_one({"a": a, "b": a + rng.gauss(0, 0.1)})
>>> m.score_one({"a": 1.0, "b": 1.0}) < 3, m.score_one({"a": 1.0, "b": -1.0}) > 50
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from river.base import AnomalyDetector

from detectors.base import Features
from detectors.params import PARAMS

# Slow movement: the means of consecutive blocks of PERSIST_BLOCK readings carry more than PERSIST_SHARE of the
# feature's variance over the fitting window. Scatter around a set point leaves ~1/PERSIST_BLOCK of it in the block
# means; a wandering or trending level leaves nearly all of it. (A straight-line trend test used before also threw
# out noisy flow readings with a small tilt, and kept temperatures that wandered without a net trend.)
PERSIST_BLOCK = PARAMS.t2.persist_block
PERSIST_SHARE = PARAMS.t2.persist_share
# Ridge on the standardised covariance: keeps nearly collinear sensors (two accelerometers) from exploding T².
RIDGE = PARAMS.t2.ridge


@dataclass(slots=True)
class Mahalanobis(AnomalyDetector):
    """Frozen multivariate reference; `learn_one` only collects rows until the reference is fitted."""

    fit_rows: int = PARAMS.t2.fit_rows
    level_alpha: float = PARAMS.t2.level_alpha  # EW weight of a reading in `level` (1: the reading alone)
    rows: list[list[float]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    precision: np.ndarray | None = None
    level: np.ndarray | None = None  # EW mean of the kept features' readings since the fit (MEWMA)
    train_scores: list[float] = field(default_factory=list)  # the score of every fitting row, for calibration

    @property
    def fitted(self) -> bool:
        return self.precision is not None

    def learn_one(self, x: Features) -> None:  # type: ignore[override]  # river types x as dict[Hashable, Any]; ours are str -> float
        if self.fitted:
            return
        if not self.keys:
            self.keys = sorted(x)
        self.rows.append([x.get(k, np.nan) for k in self.keys])
        if len(self.rows) >= self.fit_rows:
            self._fit(np.array(self.rows, dtype=float))

    def _fit(self, data: np.ndarray) -> None:
        data = data[~np.isnan(data).any(axis=1)]
        keep = [j for j in range(data.shape[1]) if not _persistent(data[:, j])] or list(range(data.shape[1]))
        self.keys = [self.keys[j] for j in keep]
        data = data[:, keep]
        self.mean, spread = data.mean(axis=0), data.std(axis=0) + 1e-9
        z = (data - self.mean) / spread
        cov = np.atleast_2d(np.cov(z.T)) + RIDGE * np.eye(len(keep))
        self.precision = np.linalg.inv(cov)
        ratio = _long_run_ratio(z)
        self.scale = spread * np.sqrt(ratio)
        z = z / np.sqrt(ratio)
        level, scores = np.zeros(len(keep)), []  # the level starts at the centre
        for row in z:
            level += self.level_alpha * (row - level)
            scores.append(float(level @ self.precision @ level) / (self._shrink * len(keep)))
        self.train_scores = scores
        self.level = self.mean + level * self.scale
        self.rows = []  # fitted: the raw rows are no longer needed

    @property
    def _shrink(self) -> float:
        """Variance of an EW mean of independent readings relative to one reading's: alpha / (2 - alpha)."""
        return self.level_alpha / (2.0 - self.level_alpha)

    def _next_level(self, x: Features) -> np.ndarray:
        assert self.level is not None
        v = np.array([x.get(k, np.nan) for k in self.keys], dtype=float)
        seen = ~np.isnan(v)  # a missing feature leaves its level where it was
        level = self.level.copy()
        level[seen] += self.level_alpha * (v[seen] - level[seen])
        return level

    def follow(self, x: Features, rate: float) -> None:
        """Take `x` into the running level, and move the fitted reference's centre a fraction `rate` towards it
        (slow, harmless drift); the scale and correlations stay as fitted. Does nothing before the fit."""
        if self.mean is None or self.level is None:
            return
        self.level = self._next_level(x)
        if rate > 0.0:
            v = np.array([x.get(k, np.nan) for k in self.keys], dtype=float)
            seen = ~np.isnan(v)
            self.mean[seen] += rate * (v[seen] - self.mean[seen])

    def score_one(self, x: Features) -> float:  # type: ignore[override]  # river types x as dict[Hashable, Any]; ours are str -> float
        if self.precision is None or self.mean is None or self.scale is None or self.level is None:
            return 0.0
        z = (self._next_level(x) - self.mean) / self.scale
        return float(z @ self.precision @ z) / (self._shrink * len(self.keys))


def _long_run_ratio(z: np.ndarray) -> np.ndarray:
    """Per column of standardised `z`: how much more its block means wander than independent readings would (≥ 1)."""
    block = min(PERSIST_BLOCK, len(z) // 10)
    if block < 2:
        return np.ones(z.shape[1])
    blocks = z[: len(z) // block * block].reshape(-1, block, z.shape[1]).mean(axis=1)
    ratio: np.ndarray = np.maximum(block * blocks.var(axis=0), 1.0)
    return ratio


def _persistent(y: np.ndarray) -> bool:
    """Is most of `y`'s variance slow movement (block means) rather than scatter between readings?"""
    block = min(PERSIST_BLOCK, len(y) // 10)  # at least ten blocks, or no verdict
    if block < 2:
        return False
    blocks = y[: len(y) // block * block].reshape(-1, block).mean(axis=1)
    return float(blocks.var()) > PERSIST_SHARE * (float(y.var()) + 1e-12)
