"""Handbook 001's survey examples as tests, on the pure functions: sample size and its refusal, the mode split,
systematic seeded draws, NPS and its interval, impact weights and the priority matrix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.errors import InvalidInput
from tickets.nps import EXCELLENT, nps, nps_interval
from tickets.survey_analysis import Quadrant, impact_weights, priority_matrix, quadrant
from tickets.survey_sampling import Mode, assign_modes, mode_plan, sample_size, systematic_draw


def test_2000_households_give_a_sample_of_200_planned_120_60_20():
    size = sample_size(2000, 0.10)
    assert size == 200
    assert mode_plan(size) == {Mode.ONLINE: 120, Mode.IN_PERSON: 60, Mode.PHONE: 20}
    modes = assign_modes([f"u{i}" for i in range(200)], seed=5)
    assert sorted(modes.values()).count(Mode.PHONE) == 20 and len(modes) == 200


def test_the_mode_split_always_adds_up():
    for size in range(1, 400):
        assert sum(mode_plan(size).values()) == size


def test_a_site_of_1000_households_cannot_open_a_wave_of_99():
    with pytest.raises(InvalidInput, match="a site of 1,000 households cannot open a wave of 99"):
        sample_size(1000, 99)
    with pytest.raises(InvalidInput, match="at least 10%"):
        sample_size(1000, 0.099)
    assert sample_size(1000, 100) == sample_size(1000, 0.10) == 100  # 0.1 × 1000 must not round up to 101


def test_systematic_draw_is_deterministic_for_a_seed_and_evenly_spaced():
    units = [f"u{i:04d}" for i in range(2000)]
    first = systematic_draw(units, 200, seed=42)
    assert first == systematic_draw(units, 200, seed=42)
    assert first != systematic_draw(units, 200, seed=43)
    positions = [units.index(u) for u in first]
    assert positions[0] < 10 and {b - a for a, b in zip(positions, positions[1:], strict=False)} == {10}
    odd = systematic_draw(units[:1234], 124, seed=1)  # a fractional interval still draws exactly the size
    assert len(set(odd)) == 124


def test_50_percent_promoters_and_20_percent_detractors_is_nps_plus_30_below_excellent():
    answers = [10] * 25 + [9] * 25 + [8] * 15 + [7] * 15 + [6] * 10 + [0] * 10
    assert nps(answers) == 30.0
    estimate = nps_interval(answers)
    assert estimate is not None
    assert estimate.score == 30.0 and not estimate.excellent and EXCELLENT == 50
    # Variance per answer p + d − (p − d)² = 0.7 − 0.09 = 0.61; SE = sqrt(0.61 / 100) = 0.0781; ± 1.96 SE = 15.3.
    assert (estimate.low, estimate.high) == (14.7, 45.3)
    smaller = nps_interval(answers, population=1000)  # a 10 % sample of 1,000 households: a narrower interval
    assert smaller is not None and smaller.low > estimate.low and smaller.high < estimate.high


def test_001s_priority_examples_land_in_fix_first_next_and_keep_the_lead():
    matrix = priority_matrix({"facility_maintenance": (3.0, 0.20), "activities": (3.5, 0.10),
                              "customer_service": (4.5, 0.15)})
    assert matrix == {"facility_maintenance": Quadrant.FIX_FIRST, "activities": Quadrant.NEXT,
                      "customer_service": Quadrant.KEEP_THE_LEAD}
    assert quadrant(4.2, 0.05, weight_cut=0.15) is Quadrant.MAINTAIN


def test_impact_weights_are_correlations_normalised_to_one():
    overall = [2, 4, 6, 8, 10]
    weights = impact_weights({"tracks": [1, 2, 3, 4, 5], "against": [5, 4, 3, 2, 1], "flat": [3] * 5}, overall)
    assert weights == {"tracks": 1.0, "against": 0.0, "flat": None}


def test_the_docstring_examples_run():
    import doctest

    import tickets.nps
    import tickets.survey_analysis
    import tickets.survey_groups

    for module in (tickets.nps, tickets.survey_analysis, tickets.survey_groups):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


@given(households=st.integers(min_value=1, max_value=5000), share=st.floats(min_value=0.10, max_value=1.0),
       seed=st.integers(min_value=0, max_value=2**31))
@settings(max_examples=300, deadline=None)
def test_any_draw_is_the_asked_size_distinct_and_repeatable(households, share, seed):
    units = [f"u{i}" for i in range(households)]
    size = sample_size(households, share)
    drawn = systematic_draw(units, size, seed=seed)
    assert len(drawn) == len(set(drawn)) == size >= households / 10
    assert drawn == systematic_draw(units, size, seed=seed)
    assert sum(mode_plan(size).values()) == size
