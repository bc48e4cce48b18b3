"""One contract test run over every streaming model and scorer (river-style `learn_one`/`score_one`)."""

from __future__ import annotations

import copy
import math
import pickle
import random

import pytest
from river import anomaly, base

from detectors.base import AnomalyModel, unit_score
from detectors.models import Discord, EWDeviation, Mahalanobis, Surprise, ZScore
from detectors.params import PARAMS
from detectors.scorer import PROFILES


def Mahalanobis200() -> Mahalanobis:  # noqa: N802 - reads as the model's name in test ids
    """A T² reference fitted on the first 200 rows, so the contract's streams reach it fitted."""
    return Mahalanobis(fit_rows=200)


MODELS = [ZScore, EWDeviation, Surprise, Mahalanobis200, Discord]


def _normal_stream(n: int, seed: int = 3) -> list[dict[str, float]]:
    rng = random.Random(seed)
    return [{"a": 100.0 + rng.gauss(0, 2), "b": 5.0 + rng.gauss(0, 0.5)} for _ in range(n)]


@pytest.mark.parametrize("factory", MODELS, ids=lambda f: f.__name__)
def test_model_follows_the_protocol(factory: type) -> None:
    assert isinstance(factory(), AnomalyModel)


@pytest.mark.parametrize("factory", MODELS, ids=lambda f: f.__name__)
def test_score_does_not_learn(factory: type) -> None:
    model = factory()
    for x in _normal_stream(300):
        model.learn_one(x)
    before = pickle.dumps(model)
    model.score_one({"a": 500.0, "b": 50.0})
    assert pickle.dumps(model) == before


@pytest.mark.parametrize("factory", MODELS, ids=lambda f: f.__name__)
def test_outlier_scores_higher_than_typical(factory: type) -> None:
    model = factory()
    for x in _normal_stream(500):
        model.learn_one(x)
    typical = model.score_one({"a": 100.5, "b": 5.1})
    outlier = model.score_one({"a": 160.0, "b": 5.1})
    assert outlier > typical
    assert typical >= 0.0


@pytest.mark.parametrize("factory", MODELS, ids=lambda f: f.__name__)
def test_same_stream_same_scores(factory: type) -> None:
    a, b = factory(), factory()
    scores = []
    for m in (a, b):
        out = []
        for x in _normal_stream(200, seed=9):
            out.append(m.score_one(x))
            m.learn_one(x)
        scores.append(out)
    assert scores[0] == scores[1]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_scorers_stay_in_unit_interval_and_alarm_on_a_fault(profile: str) -> None:
    scorer = PROFILES[profile]()
    for x in _normal_stream(400):
        scorer.learn(x)
    alarms = []
    for x in _normal_stream(50, seed=4):
        score, alarm = scorer.step(x, learn=True)
        assert 0.0 <= score <= 1.0
        alarms.append(alarm)
    assert sum(alarms) <= 2
    fault = []
    for x in _normal_stream(30, seed=5):
        score, alarm = scorer.step({"a": x["a"] + 80.0, "b": x["b"]}, learn=True)
        assert 0.0 <= score <= 1.0
        fault.append(alarm)
    assert any(fault)


def test_t2_reference_follows_a_fault_only_slowly_once_fitted() -> None:
    scorer = PROFILES["t2"](fit_rows=200)
    for x in _normal_stream(200):
        scorer.learn(x)
    assert scorer.model.mean is not None
    before = scorer.model.mean.copy()
    alarms = [scorer.step({"a": 180.0, "b": 5.0}, learn=True)[1] for _ in range(500)]  # a long fault
    assert all(alarms[50:])  # still alarmed at the end: the fault did not become the reference
    # while alarmed the centre follows at `follow_alarmed` only: of the fault's 80 units it took at most what 500
    # steps at that rate take, plus 1 % before the alarm was raised (the centre's position, not a score: the scored
    # level rightly sits at the fault by now)
    allowed = 1.0 - (1.0 - PARAMS.t2.follow_alarmed) ** 500 + 0.01
    assert abs(scorer.model.mean[0] - before[0]) < allowed * 80.0 < 0.5 * 80.0


def test_protected_learning_keeps_the_reference() -> None:
    scorer = PROFILES["level"]()
    for x in _normal_stream(400):
        scorer.learn(x)
    reference = copy.deepcopy(scorer.reference.mean)
    for _ in range(500):
        scorer.step({"a": 180.0, "b": 5.0}, learn=True)  # a long fault: alarmed, so never learnt
    assert scorer.reference.mean["a"] == pytest.approx(reference["a"])


def test_unit_score() -> None:
    assert unit_score(0.0, 3.0) == 0.0
    assert unit_score(3.0, 3.0) == 0.5
    assert 0.99 < unit_score(1e6, 3.0) < 1.0


def test_t2_leaves_out_a_wandering_feature_but_keeps_a_noisy_one() -> None:
    """A temperature following the room must not alarm when it keeps wandering; a flow drop must still alarm."""
    rng = random.Random(7)
    rows = []
    for i in range(1200):
        # The temperature swings slowly up and back over the fitting window (no net trend); flow is scatter around
        # its set point with a slight tilt.
        temp = 80.0 + 3.0 * math.cos(2 * math.pi * i / 400) + rng.gauss(0, 0.1)
        rows.append({"temp": temp, "flow": 32.0 + i * 0.0005 + rng.gauss(0, 0.5), "current": 2.0 + rng.gauss(0, 0.05)})
    scorer = PROFILES["t2"](fit_rows=400)
    for x in rows[:400]:
        scorer.learn(x)
    assert "temp" not in scorer.model.keys and {"flow", "current"} <= set(scorer.model.keys)
    wander = [scorer.step({**x, "temp": x["temp"] + 10.0}, learn=True)[1] for x in rows[400:800]]
    assert sum(wander) <= 4  # far from anything seen while fitting, and still quiet
    drop = [scorer.step({**x, "flow": x["flow"] - 2.0}, learn=True)[1] for x in rows[800:]]
    assert sum(drop[40:]) >= 0.9 * len(drop[40:])  # a 4-sigma flow drop is caught within 40 readings and held


def test_surprise_catches_a_broken_daily_pattern_that_no_single_reading_shows() -> None:
    """A 'day' whose usual rise never comes: every reading is in the usual range, only the shape is wrong."""
    rng = random.Random(11)
    day = 48  # readings per period: 24 low, 24 high
    missing = range(40 * day, 41 * day)
    values = [(80.0 if i % day >= day // 2 and i not in missing else 20.0) + rng.gauss(0, 2) for i in range(45 * day)]
    scorer, level_only = PROFILES["surprise"](), Surprise()
    alarms, level_scores = [], []
    for v in values:
        alarms.append(scorer.step({"v": v}, learn=True)[1])
        level_scores.append(level_only.score_one({"v": v}))
        level_only.learn_one({"v": v})
    assert max(level_scores[missing.start : missing.stop]) < 0.9999  # a per-reading baseline sees nothing odd
    assert any(alarms[missing.start : missing.stop])  # the shape is caught
    assert not any(alarms[10 * day : missing.start]) and not any(alarms[missing.stop + day :])  # ordinary days are not


@pytest.mark.parametrize("factory", MODELS, ids=lambda f: f.__name__)
def test_model_composes_with_rivers_thresholding_filter(factory: type) -> None:
    """Each model is a river `AnomalyDetector`: river's `QuantileFilter` turns its scores into yes/no, learning only
    from what it does not flag, and flags a reading far outside everything seen."""
    model = factory()
    assert isinstance(model, base.AnomalyDetector)
    flagged = anomaly.QuantileFilter(model, q=0.95)
    for x in _normal_stream(400):
        flagged.learn_one(x)
    assert flagged.classify(flagged.score_one({"a": 400.0, "b": -20.0})) is True
