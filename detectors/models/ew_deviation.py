"""`EWDeviation`: per-feature exponentially weighted baseline (mean and mean absolute deviation).

Score is the mean over features of the squared robust z-score ``((x - mean) / (1.25 * mad))**2`` — about 1
for ordinary data, so a threshold reads as "n times the usual variability". The baseline forgets with
`alpha`, which makes it follow slow, harmless change (seasons, a new pump setting) while a caller that
stops calling `learn_one` during an alarm keeps the fault out of it.

>>> m = EWDeviation(alpha=0.1)
>>> for i in range(200):
...     m.learn_one({"p": 300.0 + (i % 5)})
>>> m.score_one({"p": 302.0}) < 1.0, m.score_one({"p": 150.0}) > 100
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from river.base import AnomalyDetector

from detectors.base import Features

# 1.25 × mean absolute deviation ≈ one standard deviation for normal data.
MAD_TO_STD = 1.25


@dataclass(slots=True)
class EWDeviation(AnomalyDetector):
    """Exponentially weighted mean and mean absolute deviation per feature."""

    alpha: float = 0.01
    mean: dict[str, float] = field(default_factory=dict)
    mad: dict[str, float] = field(default_factory=dict)
    n: int = 0

    def learn_one(self, x: Features) -> None:  # type: ignore[override]  # river types x as dict[Hashable, Any]; ours are str -> float
        # Early on, average plainly (1/n) so the first readings do not dominate for 1/alpha readings.
        self.n += 1
        a = max(self.alpha, 1.0 / self.n)
        for k, v in x.items():
            mean = self.mean.get(k)
            if mean is None:
                self.mean[k], self.mad[k] = v, 0.0
                continue
            self.mad[k] += a * (abs(v - mean) - self.mad[k])
            self.mean[k] = mean + a * (v - mean)

    def deviation(self, key: str, value: float) -> float:
        """Robust z-score of one feature (0 before anything was learnt about it)."""
        mean = self.mean.get(key)
        if mean is None:
            return 0.0
        spread = MAD_TO_STD * self.mad[key] + 1e-9 * (abs(mean) + 1.0)
        return (value - mean) / spread

    def score_one(self, x: Features) -> float:  # type: ignore[override]  # river types x as dict[Hashable, Any]; ours are str -> float
        if not x:
            return 0.0
        total = 0.0
        for k, v in x.items():
            z = self.deviation(k, v)
            total += z * z
        return total / len(x)
