"""The engine over a device's life: presence news, severity changes, learning protection, restarts, verdicts."""

from __future__ import annotations

import re
from datetime import timedelta

import psycopg

from detectors.alarm import AlarmState, Severity
from detectors.checkpoint import load_checkpoints, save_checkpoints
from detectors.engine import DetectorEngine
from detectors.presence import RECONNECT_GRACE_S
from ingest.reading import DeviceKind, Reading
from tests.detectors.test_engine import T0, feed, water


def test_offline_status_raises_once_the_device_stayed_away_past_the_grace_and_online_clears_it() -> None:
    engine = DetectorEngine()
    feed(engine, [water("w1", i) for i in range(60)])
    offline_at = T0 + timedelta(seconds=61)
    assert engine.presence("w1", online=False, ts=offline_at) == []  # a reconnect may follow: not yet a fault
    assert engine.tick(offline_at + timedelta(seconds=RECONNECT_GRACE_S - 2)) == []
    raised = engine.tick(offline_at + timedelta(seconds=RECONNECT_GRACE_S))
    assert [(a.fault, a.state) for a in raised] == [("device_offline", AlarmState.RAISED)]
    assert raised[0].since == offline_at  # the incident starts when the device went, not when the grace ran out
    assert "offline" in raised[0].evidence.summary
    # still offline: neither a repeated last will nor the periodic tick makes a second alarm
    assert engine.presence("w1", online=False, ts=offline_at + timedelta(seconds=125)) == []
    assert engine.tick(offline_at + timedelta(minutes=30)) == []
    cleared = engine.presence("w1", online=True, ts=offline_at + timedelta(minutes=31))
    assert [(a.fault, a.state) for a in cleared] == [("device_offline", AlarmState.CLEARED)]
    # back online restarts the silence clock: a tick shortly after raises nothing
    assert engine.tick(offline_at + timedelta(minutes=32)) == []


def test_a_device_back_within_the_grace_of_its_last_will_raises_nothing() -> None:
    """A power blip: the broker fires the will, the device reconnects a minute later — no fault, no ticket."""
    engine = DetectorEngine()
    feed(engine, [water("w1", i) for i in range(60)])
    will = T0 + timedelta(seconds=150)
    assert engine.presence("w1", online=False, ts=will) == []
    assert engine.tick(will + timedelta(seconds=60)) == []
    assert engine.presence("w1", online=True, ts=will + timedelta(seconds=70)) == []
    assert engine.tick(will + timedelta(seconds=RECONNECT_GRACE_S + 30)) == []
    assert [a for a in engine.process(water("w1", 300)) if a.fault == "device_offline"] == []


def test_a_fresh_reading_clears_an_offline_report() -> None:
    engine = DetectorEngine()
    feed(engine, [water("w1", i) for i in range(10)])
    engine.presence("w1", online=False, ts=T0 + timedelta(seconds=11))
    engine.tick(T0 + timedelta(seconds=11 + RECONNECT_GRACE_S))
    alarms = engine.process(water("w1", 140))
    assert [(a.fault, a.state) for a in alarms] == [("device_offline", AlarmState.CLEARED)]


def test_presence_of_an_unknown_device_is_ignored() -> None:
    assert DetectorEngine().presence("nobody", online=False, ts=T0) == []


def test_outage_children_name_the_root_alarm() -> None:
    engine = DetectorEngine()
    for device in ("main", "w2"):
        engine.register_device(device, DeviceKind.WATER, "s1", None)
    readings = [water(d, i, pressure_kpa=5.0 if i >= 30 else 320.0) for i in range(80) for d in ("main", "w2")]
    raised = [a for a in feed(engine, readings) if a.state is AlarmState.RAISED]
    assert [(a.device_id, a.parent_device_id, a.parent_fault) for a in raised] == [
        ("main", None, None),
        ("w2", "main", "supply_outage"),
    ]
    # w2 going offline during the outage is explained by it too
    engine.presence("w2", online=False, ts=T0 + timedelta(seconds=81))
    offline = [a for a in engine.tick(T0 + timedelta(seconds=81 + RECONNECT_GRACE_S)) if a.device_id == "w2"]
    assert [(a.parent_device_id, a.parent_fault) for a in offline] == [("main", "supply_outage")]


def tank(i: int, level: float) -> Reading:
    values = {"pressure_kpa": 500.0 + (i % 7), "flow_lpm": 40.0 + (i % 5), "tank_level_pct": level}
    return Reading("w1", DeviceKind.WATER, T0 + timedelta(seconds=i), i, values, site_id="s1")


def test_severity_rises_and_falls_within_one_alarm() -> None:
    engine = DetectorEngine()
    levels = [60.0] * 60 + [15.0] * 120 + [5.0] * 60 + [15.0] * 60 + [60.0] * 120
    alarms = [a for a in feed(engine, [tank(i, v) for i, v in enumerate(levels)]) if a.fault == "tank_low"]
    assert [(a.state, a.severity) for a in alarms] == [
        (AlarmState.RAISED, Severity.WARNING),
        (AlarmState.UPDATED, Severity.CRITICAL),
        (AlarmState.UPDATED, Severity.WARNING),
        (AlarmState.CLEARED, Severity.WARNING),
    ]
    assert len({a.since for a in alarms}) == 1  # one episode throughout


def test_fault_returning_within_the_cool_down_is_not_a_new_alarm_at_once() -> None:
    engine = DetectorEngine()
    low = {"pressure_kpa": 5.0}
    readings = [water("w1", i) for i in range(60)] + [water("w1", i, **low) for i in range(60, 100)]
    readings += [water("w1", i) for i in range(100, 140)]  # cleared after 30 s of normal pressure (at ~130)
    readings += [water("w1", i, **low) for i in range(140, 260)]  # back 10 s later, for two minutes
    outage = [a for a in feed(engine, readings) if a.fault == "supply_outage"]
    assert [a.state for a in outage] == [AlarmState.RAISED, AlarmState.CLEARED, AlarmState.RAISED]
    assert outage[1].ts < T0 + timedelta(seconds=140)
    # the policy's 60 s cool-down after the clear, not the 10 s raise delay, decides the second raise
    assert outage[2].ts - outage[1].ts >= timedelta(seconds=60)


def test_baseline_does_not_learn_while_the_device_is_alarmed() -> None:
    engine = DetectorEngine()
    feed(engine, [water("w1", i) for i in range(600)])
    feed(engine, [water("w1", i, pressure_kpa=5.0, flow_lpm=0.0) for i in range(600, 4200)])  # an hour's outage
    feed(engine, [water("w1", i) for i in range(4200, 4320)])
    burst = [a for a in feed(engine, [water("w1", i, pressure_kpa=150.0, flow_lpm=400.0) for i in range(4320, 4340)])
             if a.fault == "pipe_burst"]
    assert [a.state for a in burst] == [AlarmState.RAISED]
    usual_pressure = float(re.search(r"against a usual (\d+)", burst[0].evidence.summary).group(1))  # type: ignore[union-attr]
    assert usual_pressure >= 300.0  # still ~320 kPa, not the outage's 5
    assert 40.0 <= (burst[0].evidence.baseline or 0.0) <= 45.0  # usual flow, also untouched by the outage


def test_checkpoint_round_trip_through_the_database(conn: psycopg.Connection) -> None:
    before = DetectorEngine()
    feed(before, [water("w1", i) for i in range(300)])
    feed(before, [water("w2", i) for i in range(300)])
    raised = feed(before, [water("w2", i, pressure_kpa=5.0) for i in range(300, 330)])
    assert [a.fault for a in raised] == ["supply_outage"]
    assert save_checkpoints(conn, [(d, before.snapshot(d)) for d in before.devices()]) == 2
    after = DetectorEngine()  # a restarted worker
    for device_id, blob in load_checkpoints(conn).items():
        after.restore(device_id, blob)
    assert sorted(after.devices()) == ["w1", "w2"]
    # w1 recognises a burst at once: its baseline came back with it, no warm-up
    burst = feed(after, [water("w1", i, pressure_kpa=150.0, flow_lpm=400.0) for i in range(300, 320)])
    assert [(a.fault, a.state) for a in burst] == [("pipe_burst", AlarmState.RAISED)]
    # w2's outage is still the same open alarm: recovery clears it, nothing is raised twice
    recovery = feed(after, [water("w2", i) for i in range(330, 400)])
    assert [(a.fault, a.state) for a in recovery] == [("supply_outage", AlarmState.CLEARED)]
    assert recovery[0].since == raised[0].since


def test_confirmed_verdict_undoes_a_false_alarm_slowdown() -> None:
    engine = DetectorEngine(now_fn=lambda: T0)
    feed(engine, [water("w1", i) for i in range(60)])
    engine.apply_verdict("w1", "supply_outage", false_alarm=True)
    engine.apply_verdict("w1", "supply_outage", false_alarm=True)  # raise delay now 4 × max(10 s, 30 s)
    engine.apply_verdict("w1", "supply_outage", false_alarm=False)  # halved: 60 s
    raised = [a for a in feed(engine, [water("w1", i, pressure_kpa=5.0) for i in range(60, 300)])
              if a.state is AlarmState.RAISED]
    assert raised[0].ts - raised[0].since == timedelta(seconds=60)


def door(i: int, *, forced: bool) -> Reading:
    values = {"door_open": 1.0 if forced else 0.0, "locked": 1.0, "reader_ok": 1.0}
    return Reading("d1", DeviceKind.ACCESS_DOOR, T0 + timedelta(seconds=i), i, values, site_id="s1")


def test_false_alarm_verdict_makes_an_instant_rule_wait() -> None:
    engine = DetectorEngine(now_fn=lambda: T0 + timedelta(seconds=2))
    first = feed(engine, [door(0, forced=False), door(1, forced=True)])
    assert [(a.fault, a.state) for a in first] == [("forced_open", AlarmState.RAISED)]
    engine.apply_verdict("d1", "forced_open", false_alarm=True)  # the engineer found a loose door contact
    feed(engine, [door(i, forced=False) for i in range(2, 400)])
    blip = feed(engine, [door(400, forced=True), door(401, forced=False)])
    assert blip == []  # one reading of "forced" no longer raises on this door
    held = feed(engine, [door(i, forced=True) for i in range(500, 600)])
    raised = [a for a in held if a.fault == "forced_open" and a.state is AlarmState.RAISED]
    assert raised and raised[0].ts - raised[0].since == timedelta(seconds=60)  # 2 × the 30 s floor


def test_the_site_main_becomes_the_root_even_when_a_building_meter_fails_first() -> None:
    engine = DetectorEngine()
    engine.register_device("main", DeviceKind.WATER, "s1", None)
    for device in ("w2", "w3"):
        engine.register_device(device, DeviceKind.WATER, "s1", "b1")
    cut = {"w2": 20, "main": 40, "w3": 60}  # the building meter notices first, the main a little later
    readings = [water(d, i, pressure_kpa=5.0 if i >= cut[d] else 320.0) for i in range(100) for d in cut]
    raised = [a for a in feed(engine, readings) if a.state is AlarmState.RAISED]
    assert [(a.device_id, a.parent_device_id) for a in raised] == [("w2", None), ("main", None), ("w3", "main")]
