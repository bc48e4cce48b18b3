"""Drawing a wave's sample (handbook 001 §2.2): at least 10 % of a site's households, drawn systematically by unit
("every 10th unit by number") from a seeded random start, and split over the three ways of collecting in 001's
proportions. Pure functions: the same households and seed always give the same sample."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from enum import StrEnum

from tickets.errors import InvalidInput
from tickets.surveys import SAMPLE_TARGET


class Mode(StrEnum):
    """How an answer is collected. Staff enter in-person (paper at the gate or lift lobby, door-to-door) and phone
    answers, so those are marked assisted."""

    ONLINE = "online"
    IN_PERSON = "in_person"
    PHONE = "phone"


# 001 §2.2: online ≈ 60 % (younger owners, app push), paper questionnaires filled with staff ≈ 30 % (older
# owners, at the gate, in lift lobbies, door to door), phone ≈ 10 % (those who answered neither).
MODE_SHARES: tuple[tuple[Mode, float], ...] = ((Mode.ONLINE, 0.6), (Mode.IN_PERSON, 0.3), (Mode.PHONE, 0.1))


class SampleRefused(InvalidInput):
    """A sample the population cannot take: too small (`minimum` > `size`), or larger than it. Carries the numbers
    so that a page can say it in the reader's language; `population` is "a site" or "incident 7"."""

    def __init__(self, message: str, *, population: str, households: int, size: int, minimum: int) -> None:
        super().__init__(message)
        self.population, self.households, self.size, self.minimum = population, households, size, minimum

    @property
    def too_small(self) -> bool:
        return self.size < self.minimum


def sample_size(households: int, sample: float, *, population: str = "a site") -> int:
    """The number of households to survey: `sample` is a share (0.10) or, above 1, a count (150). Refuses a
    sample below 10 % of the households. `population` names them in the message ("a site", "incident 7")."""
    if households <= 0:
        raise InvalidInput("the site has no households (units) in the estate registry: load the estate file first")
    if not math.isfinite(sample) or sample <= 0:
        raise InvalidInput(f"the sample must be a share such as 0.10 or a number of households, not {sample!r}")
    # round() first: 0.1 × 1000 is 100.00000000000001 in binary floating point, which must not become 101.
    size = math.ceil(round(sample * households, 6)) if sample <= 1 else int(sample)
    minimum = math.ceil(round(SAMPLE_TARGET * households, 6))
    if size < minimum:
        raise SampleRefused(f"{population} of {households:,} households cannot open a wave of {size:,}: the sample "
                            f"must be at least {SAMPLE_TARGET:.0%} of the households ({minimum:,})",
                            population=population, households=households, size=size, minimum=minimum)
    if size > households:
        raise SampleRefused(f"{population} of {households:,} households cannot open a wave of {size:,}",
                            population=population, households=households, size=size, minimum=minimum)
    return size


def systematic_draw(units: Sequence[str], size: int, *, seed: int) -> list[str]:
    """Every (N/size)-th unit from a random start in [0, N/size), the interval kept fractional so that exactly
    `size` units are drawn whatever N is. `units` must come in a stable order (building, floor, number)."""
    if not 0 < size <= len(units):
        raise InvalidInput(f"cannot draw {size} of {len(units)} households")
    step = len(units) / size
    start = random.Random(seed).uniform(0, step)
    return [units[min(int(start + i * step), len(units) - 1)] for i in range(size)]


def mode_plan(size: int) -> dict[Mode, int]:
    """How many of `size` households each mode gets: 001's shares, rounded by largest remainder so that the parts
    add up (200 → 120 online, 60 in person, 20 by phone)."""
    exact = [share * size for _, share in MODE_SHARES]
    counts = [math.floor(round(x, 6)) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))  # largest remainder first
    for i in by_remainder[: size - sum(counts)]:
        counts[i] += 1
    plan = {mode: count for (mode, _), count in zip(MODE_SHARES, counts, strict=True)}
    return plan


def assign_modes(units: Sequence[str], *, seed: int) -> dict[str, Mode]:
    """Each sampled unit's planned mode, in mode_plan's numbers, shuffled with the seed so that every building gets
    each mode. (Until the estate file carries residents' age band and channel, the mode cannot follow them.)"""
    plan = mode_plan(len(units))
    shuffled = list(units)
    random.Random(seed + 1).shuffle(shuffled)  # a different stream from the start, so the two do not correlate
    modes: dict[str, Mode] = {}
    position = 0
    for mode, _ in MODE_SHARES:
        for unit in shuffled[position: position + plan[mode]]:
            modes[unit] = mode
        position += plan[mode]
    return modes
