"""`Surprise`: how unlikely the recent deviation from a per-series baseline is, as a probability in [0, 1].

Three layers, after the "anomaly likelihood" idea of Numenta's NAB detectors:
1. a raw deviation: the robust z-score of the reading against an `EWDeviation` baseline;
2. a short exponential average of that raw deviation (one odd reading is noise, several are a pattern);
3. the normal CDF of where that average stands in its own long-run distribution (running mean/variance).
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

from detectors.base import Features
from detectors.models.ew_deviation import EWDeviation

# Deviations beyond 50 robust sigmas are all "enormous"; capping keeps one outlier from inflating the
# long-run variance and blinding the detector afterwards.
RAW_CAP = 50.0
PEAK = 0.9999


@dataclass(slots=True)
class Surprise:
    """Anomaly likelihood of a smoothed robust deviation."""

    # Baseline memory ~1000 readings and ~10-reading smoothing of the deviation: chosen on NAB (standard score 44 →
    # 60 going from 100/2 to 1000/10); a scan showed a broad plateau around these, not a sharp optimum.
    alpha: float = 0.001
    short: float = 0.1
    refractory: int = 100  # readings to damp after a peak
    baseline: EWDeviation = field(default_factory=lambda: EWDeviation(alpha=0.001))
    smooth: float = 0.0
    n: int = 0
    run_mean: float = 0.0
    run_m2: float = 0.0
    cool: int = 0

    def __post_init__(self) -> None:
        self.baseline.alpha = self.alpha

    def _raw(self, x: Features) -> float:
        if self.baseline.n == 0:
            return 0.0
        return min(RAW_CAP, math.sqrt(self.baseline.score_one(x)))

    def _likelihood(self, smooth: float) -> float:
        if self.n < 3:
            return 0.5
        std = math.sqrt(self.run_m2 / (self.n - 1))
        if std <= 0.0:
            return 0.5 if smooth <= self.run_mean else 1.0
        return 0.5 * math.erfc(-(smooth - self.run_mean) / (std * math.sqrt(2.0)))

    def score_one(self, x: Features) -> float:
        smooth = self.smooth + self.short * (self._raw(x) - self.smooth)
        p = self._likelihood(smooth)
        return p * 0.9 if self.cool > 0 else p

    def learn_one(self, x: Features) -> None:
        p = self.score_one(x)
        self.smooth += self.short * (self._raw(x) - self.smooth)
        self.baseline.learn_one(x)
        self.n += 1
        delta = self.smooth - self.run_mean
        self.run_mean += delta / self.n
        self.run_m2 += delta * (self.smooth - self.run_mean)
        if self.cool > 0:
            self.cool -= 1
        elif p > PEAK:
            self.cool = self.refractory
