"""Stream scorers for recorded data: one model, a score squashed to [0, 1], and a yes/no alarm decision.

Two profiles cover the two shapes of anomaly in public benchmarks and in our devices:
- `level` — sustained departures of a multivariate state from its reference (a valve stuck, a pump
  degraded): the smoothed `EWDeviation` energy, alarm while it is over 3× the usual variability;
- `surprise` — rare events in a single noisy series: the `Surprise` likelihood, alarm at one in ten thousand.
Both learn only from readings they do not alarm on, so a long fault never becomes the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detectors.base import Features, unit_score
from detectors.models.ew_deviation import EWDeviation
from detectors.models.likelihood import Surprise

# Mean squared robust z-score is ~1 for ordinary data; 3× that is well outside it without being extreme.
LEVEL_HALF = 3.0
SURPRISE_ALARM = 0.9999


@dataclass(slots=True)
class LevelScorer:
    """Smoothed multivariate deviation from a slowly learnt reference."""

    alpha: float = 0.001  # reference memory ~1000 readings: follows drift over hours, not a fault's minutes
    smooth_alpha: float = 0.1
    reference: EWDeviation = field(default_factory=EWDeviation)
    smooth: float = 0.0

    def __post_init__(self) -> None:
        self.reference.alpha = self.alpha

    def step(self, x: Features, learn: bool) -> tuple[float, bool]:
        """Score `x` (no look-ahead), then learn it if allowed and not alarming."""
        energy = self.reference.score_one(x) if self.reference.n > 1 else 0.0
        self.smooth += self.smooth_alpha * (energy - self.smooth)
        score = unit_score(self.smooth, LEVEL_HALF)
        alarm = score >= 0.5
        if learn and not alarm:
            self.reference.learn_one(x)
        return score, alarm

    def learn(self, x: Features) -> None:
        """Warm-up: learn without deciding."""
        self.reference.learn_one(x)


@dataclass(slots=True)
class SurpriseScorer:
    """Anomaly likelihood of a single series (or the mean of several)."""

    model: Surprise = field(default_factory=Surprise)

    def step(self, x: Features, learn: bool) -> tuple[float, bool]:
        score = self.model.score_one(x)
        alarm = score >= SURPRISE_ALARM
        # The likelihood layer needs to see every reading (its refractory damping relies on it); only the
        # baseline inside is shielded, by the cap on raw deviations.
        if learn:
            self.model.learn_one(x)
        return score, alarm

    def learn(self, x: Features) -> None:
        self.model.learn_one(x)


PROFILES = {"level": LevelScorer, "surprise": SurpriseScorer}
