"""`Surprise`: how unlikely the recent deviation from a per-series baseline is, as a probability in [0, 1].

Three layers, after the "anomaly likelihood" idea of Numenta's NAB detectors:
1. a raw deviation: the robust z-score of the reading against an `EWDeviation` baseline;
2. a short exponential average of that raw deviation (one odd reading is noise, several are a pattern);
3. the normal CDF of where that average stands in its own long-run distribution (`Likelihood`: an exponentially
   forgetting mean and variance, so the start-up transients of a series are forgotten instead of widening the
   distribution for ever, as a sliding window does in Numenta's version).
Score 0.5 is ordinary, 0.9999 is a one-in-ten-thousand deviation. After such a peak the score is damped for
`refractory` readings, so one event gives one peak rather than a plateau of alarms.

>>> m = Surprise()
>>> for i in range(500):
...     m.learn_one({"v": 10.0 + (i % 7) * 0.1})
>>> m.score_one({"v": 10.3}) < 0.9, m.score_one({"v": 30.0}) > 0.99
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from river.base import AnomalyDetector

from detectors.base import Features
from detectors.models.ew_deviation import EWDeviation
from detectors.params import PARAMS

# Deviations beyond 50 robust sigmas are all "enormous"; capping keeps one outlier from inflating the
# long-run variance and blinding the detector afterwards.
RAW_CAP = PARAMS.surprise.raw_cap
PEAK = PARAMS.surprise.peak
DAMP = PARAMS.surprise.damp  # during the refractory period: 0.9 × a probability is far below any alarm level


@dataclass(slots=True)
class Likelihood:
    """Normal-CDF likelihood of a short average of a raw score against that average's long-run distribution."""

    short: float = PARAMS.surprise.level_short  # ~10-reading average: one odd reading is noise, several are a pattern
    memory: int = PARAMS.surprise.level_memory  # readings the long-run mean and variance remember
    smooth: float = 0.0
    n: int = 0
    mean: float = 0.0
    var: float = 0.0

    def peek(self, raw: float) -> float:
        """The likelihood `raw` would get now, without learning it."""
        return self._cdf(self.smooth + self.short * (raw - self.smooth))

    def update(self, raw: float) -> float:
        """The likelihood of `raw` (as `peek`), then learn it."""
        self.smooth += self.short * (raw - self.smooth)
        p = self._cdf(self.smooth)
        self.n += 1
        a = max(1.0 / self.memory, 1.0 / self.n)  # plain average until `memory` readings, then forgetting
        delta = self.smooth - self.mean
        self.mean += a * delta
        self.var = (1.0 - a) * (self.var + a * delta * delta)
        return p

    def _cdf(self, smooth: float) -> float:
        if self.n < 3:
            return 0.5
        std = math.sqrt(self.var)
        if std <= 0.0:
            return 0.5 if smooth <= self.mean else 1.0
        return 0.5 * math.erfc(-(smooth - self.mean) / (std * math.sqrt(2.0)))


@dataclass(slots=True)
class Surprise(AnomalyDetector):
    """Anomaly likelihood of a smoothed robust deviation."""

    # Baseline memory ~1000 readings and ~10-reading smoothing of the deviation (`detectors.params`).
    alpha: float = PARAMS.surprise.level_alpha
    refractory: int = PARAMS.surprise.refractory  # readings to damp after a peak
    baseline: EWDeviation = field(default_factory=lambda: EWDeviation(alpha=PARAMS.surprise.level_alpha))
    likelihood: Likelihood = field(default_factory=Likelihood)
    cool: int = 0

    def __post_init__(self) -> None:
        self.baseline.alpha = self.alpha

    def raw(self, x: Features) -> float:
        """Robust deviation of `x` from the baseline, capped."""
        if self.baseline.n == 0:
            return 0.0
        return min(RAW_CAP, math.sqrt(self.baseline.score_one(x)))

    def score_one(self, x: Features) -> float:  # type: ignore[override]  # river types x as dict[Hashable, Any]; ours are str -> float
        p = self.likelihood.peek(self.raw(x))
        return p * DAMP if self.cool > 0 else p

    def learn_one(self, x: Features) -> None:  # type: ignore[override]  # river types x as dict[Hashable, Any]; ours are str -> float
        p = self.likelihood.update(self.raw(x))
        self.baseline.learn_one(x)
        if self.cool > 0:
            self.cool -= 1
        elif p > PEAK:
            self.cool = self.refractory
