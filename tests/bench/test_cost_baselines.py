"""The cost benches' own baselines measure what they say: the learned normal alone keeps one state per device, as the
engine does, and learns from every reading into it (it once built a fresh state per timed reading and threw it away,
which nearly doubled the learned normal's cost in `bench.engine_cost` and `bench.predictive`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bench import engine_cost
from bench.predictive import LearnedNormal
from detectors import learned
from ingest.reading import DeviceKind, Reading

TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, tzinfo=TZ)


def _readings(devices: int, each: int) -> list[Reading]:
    return [Reading(f"feed-{d}", DeviceKind.WATER, T0 + timedelta(minutes=i), i, {"flow_lpm": 40.0 + d,
                                                                                 "pressure_kpa": 300.0})
            for i in range(each) for d in range(devices)]


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[DeviceKind]:
    """Every learned state built, by kind."""
    made: list[DeviceKind] = []
    real = learned.new_state

    def counting(kind: DeviceKind) -> learned.LearnedState:
        made.append(kind)
        return real(kind)

    monkeypatch.setattr(learned, "new_state", counting)
    return made


def test_engine_cost_learned_alone_keeps_one_state_per_device(built: list[DeviceKind]) -> None:
    readings = _readings(devices=3, each=50)
    timings: list[int] = []
    engine_cost._learned_alone([("r", r) for r in readings], timings)
    assert len(timings) == len(readings)  # every reading timed
    assert len(built) == 3


def test_predictive_learned_normal_keeps_one_state_per_device_and_learns_into_it(built: list[DeviceKind]) -> None:
    detector = LearnedNormal()
    for reading in _readings(devices=2, each=40):
        detector.reading(reading)
    assert len(built) == 2
    state, _track = detector.states["feed-1"]
    # all 40 readings fall in one hour slot of a weekday: the state that was kept learnt every one of them
    assert sum(state.metrics["flow_lpm"].seen) == 40
