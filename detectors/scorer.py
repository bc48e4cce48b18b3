"""Stream scorers for recorded data: one model, a score squashed to [0, 1], and a yes/no alarm decision.

Three profiles cover the shapes of anomaly in public benchmarks and in our devices:
- `t2` — sustained departures of a multivariate state from a reference fitted on its first rows (a commissioning
  period; SKAB's rows before 400): Hotelling T² (`Mahalanobis`) of an EW mean of the readings (MEWMA), smoothed by
  `T2Params.smooth`, alarm above `T2Params.margin` (12) times the 99th percentile of the same score over the fitting
  rows, so the threshold comes from the data seen, never from labels; the reference's centre then follows slow
  drift (`T2Params.follow`), and much more slowly while alarmed (`T2Params.follow_alarmed`), so a change that stays
  becomes the reference in the end and its alarm ends;
- `level` — the same idea with a slowly learnt per-feature reference (`EWDeviation`), for data with no clean
  fitting period: alarm while the smoothed energy is over 3× the usual variability;
- `surprise` — rare events in a single noisy series: the likelihood of an odd level (`Surprise`) or an odd shape
  (`Discord`), alarm at one in ten thousand.
`level` learns only from readings it does not alarm on, so a long fault never becomes its reference; `t2` takes an
alarmed reading in at 1/2000 (hours of rows), so a fault of minutes does not become its reference either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detectors.base import Features, unit_score
from detectors.models.discord import Discord
from detectors.models.ew_deviation import EWDeviation
from detectors.models.likelihood import DAMP, PEAK, Likelihood, Surprise
from detectors.models.mahalanobis import Mahalanobis
from detectors.params import PARAMS

# Tunable values live in `detectors.params` (chosen on the tuning splits only; see that module).
LEVEL_HALF = PARAMS.level.half
SURPRISE_ALARM = PARAMS.surprise.alarm
SHAPE_SHORT = PARAMS.surprise.shape_short
SHAPE_MEMORY = PARAMS.surprise.shape_memory
# T² calibration: the `quantile` of the smoothed fitting-row scores is "as odd as normal gets"; `margin` times it is
# outside normal (the fitting rows are minutes, a level's normal wander later is many times theirs: see T2Params).
T2_QUANTILE = PARAMS.t2.quantile
T2_MARGIN = PARAMS.t2.margin
T2_SMOOTH = PARAMS.t2.smooth


@dataclass(slots=True)
class T2Scorer:
    """Smoothed T² against a reference fitted on the first `fit_rows` rows, whose centre then follows slow drift."""

    fit_rows: int = PARAMS.t2.fit_rows
    model: Mahalanobis = field(default_factory=Mahalanobis)
    smooth: float = 0.0
    limit: float | None = None

    def __post_init__(self) -> None:
        self.model.fit_rows = self.fit_rows

    def step(self, x: Features, learn: bool) -> tuple[float, bool]:
        if self.limit is None:
            if learn:
                self.learn(x)
            return 0.0, False
        self.smooth += T2_SMOOTH * (self.model.score_one(x) - self.smooth)
        score = unit_score(self.smooth, self.limit)
        alarm = score >= 0.5
        if learn:  # the centre follows slow drift; far more slowly while alarmed (see `T2Params.follow`)
            self.model.follow(x, PARAMS.t2.follow_alarmed if alarm else PARAMS.t2.follow)
        return score, alarm

    def learn(self, x: Features) -> None:
        self.model.learn_one(x)
        if self.model.fitted and self.limit is None:
            smoothed, s = [], 0.0
            for value in self.model.train_scores:
                s += T2_SMOOTH * (value - s)
                smoothed.append(s)
            tail = sorted(smoothed[len(smoothed) // 8 :])  # skip the smoother's own warm-up
            self.limit = T2_MARGIN * max(tail[int(T2_QUANTILE * (len(tail) - 1))], 1e-9)
            self.smooth = smoothed[-1]


@dataclass(slots=True)
class LevelScorer:
    """Smoothed multivariate deviation from a slowly learnt reference."""

    alpha: float = PARAMS.level.alpha  # reference memory ~1000 readings: follows drift over hours, not minutes
    smooth_alpha: float = PARAMS.level.smooth_alpha
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
    """Anomaly likelihood of a single series (or several): the more surprising of an odd level and an odd shape.

    Two raw scores, each turned into a likelihood against its own long-run distribution: the robust deviation from
    a slowly learnt baseline (`Surprise`: spikes, level shifts) and the distance of the latest stretch of readings
    from anything in the recent history (`Discord`: a periodic pattern broken, a flat stretch, a shape never seen).
    One refractory period after either peaks, so one event is one alarm.
    """

    level: Surprise = field(default_factory=Surprise)
    shape: Discord = field(default_factory=Discord)
    # The shape distances' distribution shifts as the history fills and the series changes: a shorter memory than
    # the level's (values in `detectors.params.SurpriseParams`).
    shape_likelihood: Likelihood = field(default_factory=lambda: Likelihood(short=SHAPE_SHORT, memory=SHAPE_MEMORY))
    cool: int = 0

    def step(self, x: Features, learn: bool) -> tuple[float, bool]:
        """Score `x`; with `learn`, also learn it. Everything learns every reading it is given (the refractory damping
        relies on it); the level baseline is shielded from outliers by the cap on raw deviations."""
        if not learn:
            shape = self.shape_likelihood.peek(self.shape.score_one(x))
            p = max(self.level.likelihood.peek(self.level.raw(x)), shape)
            score = p * DAMP if self.cool > 0 else p
            return score, score >= SURPRISE_ALARM
        p = max(self.level.likelihood.update(self.level.raw(x)), self.shape_likelihood.update(self.shape.score_one(x)))
        score = p * DAMP if self.cool > 0 else p
        if self.cool > 0:
            self.cool -= 1
        elif p > PEAK:
            self.cool = self.level.refractory
        self.shape.learn_one(x)
        self.level.baseline.learn_one(x)
        return score, score >= SURPRISE_ALARM

    def learn(self, x: Features) -> None:
        """Warm-up: learn without deciding."""
        self.step(x, learn=True)


PROFILES = {"t2": T2Scorer, "level": LevelScorer, "surprise": SurpriseScorer}
