"""Net promoter score, the one home of its definition (handbook 001 §2.3): % promoters (9–10) − % detractors
(0–6) of the 0–10 "would you recommend" answers, as a number from −100 to +100 (e.g. +30); ≥ 50 is excellent.

The 95 % interval treats each answer as +1 (promoter), 0 (passive) or −1 (detractor): NPS is the mean of that
score, whose variance per answer is p + d − (p − d)², with p and d the promoter and detractor shares. The standard
error is sqrt(that / n), shrunk by the finite-population correction sqrt((N − n) / (N − 1)) when the surveyed
population N is known (a wave samples without replacement, often 10 % of a site), and the interval is
NPS ± 1.96 · SE, clipped to [−100, +100]. This is the usual normal (Wald) interval for a difference of two
multinomial shares."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

EXCELLENT = 50.0  # 001: "NPS ≥ 50 is excellent"
Z_95 = 1.959964  # the two-sided 95 % normal quantile


def nps(recommend: Sequence[int]) -> float | None:
    """Net promoter score as a number from −100 to +100 (one decimal); None without answers."""
    if not recommend:
        return None
    promoters = sum(1 for r in recommend if r >= 9)
    detractors = sum(1 for r in recommend if r <= 6)
    return round(100 * (promoters - detractors) / len(recommend), 1)


@dataclass(frozen=True, slots=True)
class NpsEstimate:
    score: float
    low: float
    high: float
    promoters: float  # shares in %, one decimal
    detractors: float
    responses: int

    @property
    def excellent(self) -> bool:
        return self.score >= EXCELLENT


def nps_interval(recommend: Sequence[int], *, population: int | None = None) -> NpsEstimate | None:
    """NPS with its 95 % interval (see the module docstring); None without answers.

    >>> e = nps_interval([10] * 50 + [8] * 30 + [3] * 20)
    >>> e.score, e.low, e.high
    (30.0, 14.7, 45.3)
    """
    n = len(recommend)
    if n == 0:
        return None
    p = sum(1 for r in recommend if r >= 9) / n
    d = sum(1 for r in recommend if r <= 6) / n
    score = p - d
    se = math.sqrt(max(p + d - score * score, 0.0) / n)
    if population is not None and population > 1 and n <= population:
        se *= math.sqrt((population - n) / (population - 1))
    half = Z_95 * se
    return NpsEstimate(score=round(100 * score, 1), low=round(max(-100.0, 100 * (score - half)), 1),
                       high=round(min(100.0, 100 * (score + half)), 1), promoters=round(100 * p, 1),
                       detractors=round(100 * d, 1), responses=n)
