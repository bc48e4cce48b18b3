"""Silence the platform itself caused — down for the night, or its broker connection lost — is not the devices'.
The engine's tick is told since when a site has been heard (`heard_from`); before the limit has passed since then,
a quiet device is not judged, and while nothing is heard at all nothing is judged, so an alarm raised before stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from detectors import absence
from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from detectors.presence import MIN_SILENCE_S
from ingest.reading import DeviceKind
from tests.detectors.test_engine import T0, feed, water


def test_a_device_last_heard_before_a_night_down_has_its_limit_from_the_restart() -> None:
    engine = DetectorEngine()
    feed(engine, [water("w1", i) for i in range(60)])
    back = T0 + timedelta(hours=16)
    heard = back.timestamp()
    assert engine.tick(back + timedelta(seconds=5), lambda site: heard) == []
    assert engine.tick(back + timedelta(seconds=MIN_SILENCE_S - 1), lambda site: heard) == []
    raised = engine.tick(back + timedelta(seconds=MIN_SILENCE_S + 1), lambda site: heard)
    assert [(a.fault, a.state) for a in raised] == [("device_offline", AlarmState.RAISED)]
    assert raised[0].since == T0 + timedelta(seconds=59)  # silent since its last reading, as the evidence says
    assert "no reading for 57" in raised[0].evidence.summary  # 16 h: the whole silence is reported


def test_while_the_platform_hears_nothing_a_raised_silence_stays_and_no_new_one_is_raised() -> None:
    engine = DetectorEngine()
    feed(engine, [water("w1", i) for i in range(60)])
    feed(engine, [water("w2", i) for i in range(60, 600)])
    raised = engine.tick(T0 + timedelta(seconds=59 + MIN_SILENCE_S + 1))
    assert [(a.device_id, a.state) for a in raised] == [("w1", AlarmState.RAISED)]
    deaf = T0 + timedelta(hours=2)  # ingest lost the broker: w2 is quiet too, but nobody can tell
    assert engine.tick(deaf, lambda site: None) == []
    assert engine.tick(deaf + timedelta(seconds=1), lambda site: deaf.timestamp()) == []  # w1 not cleared either


def test_hours_the_platform_did_not_hear_are_neither_judged_nor_learnt() -> None:
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    state = absence.AbsenceState()
    for day in range(4):  # 20 trips between 09:00 and 10:00, Monday to Thursday
        for k in range(20):
            absence.event(state, "trip", t0 + timedelta(days=day, minutes=3 * k), DeviceKind.ELEVATOR)
        absence.check(state, t0 + timedelta(days=day, hours=2))
    learnt = list(state.usual)
    friday = t0 + timedelta(days=4)
    back = friday + timedelta(hours=1, minutes=20)  # the platform was down over Friday's 09:00-10:00
    assert not absence.check(state, back, heard_from=back.timestamp()).active
    assert state.usual == learnt
    # Judged as before once heard: a Friday with no trips and the platform listening is an absence.
    state2 = absence.AbsenceState()
    for day in range(4):
        for k in range(20):
            absence.event(state2, "trip", t0 + timedelta(days=day, minutes=3 * k), DeviceKind.ELEVATOR)
        absence.check(state2, t0 + timedelta(days=day, hours=2))
    assert absence.check(state2, back, heard_from=friday.timestamp()).active
