"""`ZScore`: the textbook 3-sigma detector, with running mean and variance per feature (Welford).

It is the baseline every other detector is measured against: score is the largest absolute z-score over
the features, so a threshold of 3 is the classic three-sigma rule.

>>> m = ZScore()
>>> for v in [10.0, 11.0, 9.0, 10.0, 10.5, 9.5]:
...     m.learn_one({"x": v})
>>> round(m.score_one({"x": 10.0}), 2), m.score_one({"x": 20.0}) > 3
(0.0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from river.base import AnomalyDetector

from detectors.base import Features


@dataclass(slots=True)
class ZScore(AnomalyDetector):
    """Running mean/variance per feature; score = max |x - mean| / std."""

    n: dict[str, int] = field(default_factory=dict)
    mean: dict[str, float] = field(default_factory=dict)
    m2: dict[str, float] = field(default_factory=dict)

    def learn_one(self, x: Features) -> None:  # type: ignore[override]  # river types x as dict[Hashable, Any]; ours are str -> float
        for k, v in x.items():
            n = self.n.get(k, 0) + 1
            mean = self.mean.get(k, 0.0)
            delta = v - mean
            mean += delta / n
            self.n[k], self.mean[k] = n, mean
            self.m2[k] = self.m2.get(k, 0.0) + delta * (v - mean)

    def score_one(self, x: Features) -> float:  # type: ignore[override]  # river types x as dict[Hashable, Any]; ours are str -> float
        worst = 0.0
        for k, v in x.items():
            n = self.n.get(k, 0)
            if n < 2:
                continue
            std = math.sqrt(self.m2[k] / (n - 1))
            if std > 0.0:
                worst = max(worst, abs(v - self.mean[k]) / std)
            elif v != self.mean[k]:
                return math.inf
        return worst
