"""The shipped parameters are one frozen object, and the replay profiles and models take their values from it."""

from __future__ import annotations

import dataclasses

import pytest

from detectors.models.discord import Discord
from detectors.models.mahalanobis import Mahalanobis
from detectors.params import PARAMS
from detectors.replay import DEFAULT_PROFILE
from detectors.scorer import T2Scorer


def test_parameters_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PARAMS.t2.margin = 2.0  # type: ignore[misc]


def test_replay_and_models_use_the_shipped_parameters() -> None:
    assert dict(PARAMS.replay.profile) == DEFAULT_PROFILE
    assert T2Scorer().fit_rows == PARAMS.t2.fit_rows
    discord = Discord()
    assert (discord.window, discord.history) == (PARAMS.surprise.shape_window, PARAMS.surprise.shape_history)


def test_a_followed_reference_moves_towards_new_readings_and_a_frozen_one_does_not() -> None:
    model = Mahalanobis(fit_rows=50)
    for i in range(50):
        model.learn_one({"a": float(i % 5), "b": float((i * 3) % 7)})
    assert model.mean is not None
    centre = model.mean.tolist()
    model.follow({"a": 10.0, "b": 3.0}, 0.0)
    assert model.mean.tolist() == centre  # rate 0: the reading enters the scored level, the centre stays
    for _ in range(1000):  # long enough for the scored MEWMA level (weight `level_alpha`) to arrive as well
        model.follow({"a": 10.0, "b": 3.0}, 0.05)
    assert model.mean.tolist() == pytest.approx([10.0, 3.0], abs=1e-3)
    assert model.score_one({"a": 10.0, "b": 3.0}) < 0.1  # ≈ 1 for a reading like the reference
