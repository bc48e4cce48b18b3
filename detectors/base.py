"""The one small contract every anomaly model follows, river-style.

`learn_one(x)` updates the model with one observation (a mapping of feature name to float); `score_one(x)`
says how anomalous `x` is without learning from it (higher is more anomalous). Scoring and deciding are
separate: callers turn scores into yes/no with a threshold, and call `learn_one` only for observations they
consider normal, so a long fault is never absorbed into the baseline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

Features = Mapping[str, float]


@runtime_checkable
class AnomalyModel(Protocol):
    """A streaming anomaly model: learn one observation, score one observation."""

    def learn_one(self, x: Features) -> None: ...

    def score_one(self, x: Features) -> float: ...


def unit_score(value: float, half: float) -> float:
    """Squash a non-negative score into [0, 1): `half` maps to 0.5, so a threshold of 0.5 means `half`."""
    if value <= 0.0:
        return 0.0
    return value / (value + half)
