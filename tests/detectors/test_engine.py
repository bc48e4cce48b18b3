"""DetectorEngine: hysteresis (one fault, one alarm), evidence, correlation, verdicts, checkpoints, ticks."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from detectors.alarm import Alarm, AlarmState, Severity
from detectors.engine import DetectorEngine
from ingest.reading import DeviceKind, Reading

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def water(device: str, i: int, site: str = "s1", **values: float) -> Reading:
    base = {"pressure_kpa": 320.0 + (i % 7), "flow_lpm": 40.0 + (i % 5)}  # a zone supply meter: no pump
    base.update(values)
    return Reading(device, DeviceKind.WATER, T0 + timedelta(seconds=i), i, base, site_id=site)


def feed(engine: DetectorEngine, readings: Iterator[Reading] | list[Reading]) -> list[Alarm]:
    out: list[Alarm] = []
    for r in readings:
        out.extend(engine.process(r))
    return out


def test_outage_is_one_alarm_despite_flapping_and_clears_once() -> None:
    engine = DetectorEngine()
    rng = random.Random(1)
    readings = [water("w1", i) for i in range(100)]
    # 60 s of outage whose pressure hovers around the 80 kPa floor, then recovery
    readings += [water("w1", i, pressure_kpa=80.0 + rng.uniform(-15, 15)) for i in range(100, 160)]
    readings += [water("w1", i, pressure_kpa=20.0) for i in range(160, 200)]
    readings += [water("w1", i) for i in range(200, 300)]
    alarms = [a for a in feed(engine, readings) if a.fault == "supply_outage"]
    assert [a.state for a in alarms] == [AlarmState.RAISED, AlarmState.CLEARED]
    raised = alarms[0]
    assert raised.severity is Severity.CRITICAL
    assert raised.ts - raised.since >= timedelta(seconds=10)
    assert raised.ts <= T0 + timedelta(seconds=200)


def test_every_alarm_carries_evidence() -> None:
    engine = DetectorEngine()
    readings = [water("w1", i) for i in range(100)] + [water("w1", i, pressure_kpa=5.0) for i in range(100, 140)]
    alarms = feed(engine, readings) + engine.tick(T0 + timedelta(hours=2))
    assert {a.fault for a in alarms} >= {"supply_outage", "device_offline"}
    for alarm in alarms:
        assert alarm.evidence.summary
        assert alarm.evidence.readings, alarm.fault
        assert alarm.evidence.metric
    outage = next(a for a in alarms if a.fault == "supply_outage")
    assert "5 kPa" in outage.evidence.summary and outage.evidence.value == 5.0
    assert outage.evidence.summary.endswith("since 10:01 UTC")  # when the episode began (first low reading)


def test_an_alarms_words_name_the_time_in_the_estates_zone() -> None:
    # An engineer in Shanghai reads when the episode began on the estate's clock, the offset said.
    engine = DetectorEngine(tz=ZoneInfo("Asia/Shanghai"))
    readings = [water("w1", i) for i in range(100)] + [water("w1", i, pressure_kpa=5.0) for i in range(100, 140)]
    outage = next(a for a in feed(engine, readings) if a.fault == "supply_outage")
    assert outage.evidence.summary.endswith("since 18:01 UTC+08:00")


def test_short_dip_raises_nothing() -> None:
    engine = DetectorEngine()
    readings = [water("w1", i) for i in range(50)] + [water("w1", i, pressure_kpa=10.0) for i in range(50, 55)]
    readings += [water("w1", i) for i in range(55, 100)]
    assert feed(engine, readings) == []


def test_site_outage_links_children_to_the_root() -> None:
    engine = DetectorEngine()
    for device in ("w1", "w2", "w3"):
        engine.register_device(device, DeviceKind.WATER, "s1", "b1")
    readings = []
    for i in range(60):
        low = i >= 20
        for device in ("w1", "w2", "w3"):
            readings.append(water(device, i, pressure_kpa=10.0 if low else 320.0))
    raised = [a for a in feed(engine, readings) if a.state is AlarmState.RAISED]
    assert [a.device_id for a in raised] == ["w1", "w2", "w3"]
    assert raised[0].parent_device_id is None
    assert [a.parent_device_id for a in raised[1:]] == ["w1", "w1"]


def burst_readings(start: int, n: int) -> list[Reading]:
    return [water("w1", i, pressure_kpa=150.0, flow_lpm=400.0) for i in range(start, start + n)]


def test_snapshot_restore_resumes_without_warm_up() -> None:
    warm = DetectorEngine()
    feed(warm, [water("w1", i) for i in range(300)])
    blob = warm.snapshot("w1")
    assert len(blob) <= 16 * 1024
    restored = DetectorEngine()
    restored.restore("w1", blob)
    alarms = feed(restored, burst_readings(300, 20))
    assert [a.fault for a in alarms if a.state is AlarmState.RAISED] == ["pipe_burst"]
    cold = DetectorEngine()  # no baseline: the same readings are not recognisable as a burst
    assert not [a for a in feed(cold, burst_readings(300, 20)) if a.fault == "pipe_burst"]


def test_restore_rejects_another_devices_state() -> None:
    engine = DetectorEngine()
    engine.process(water("w1", 0))
    with pytest.raises(ValueError):
        engine.restore("w2", engine.snapshot("w1"))


def test_false_alarm_verdict_clears_and_slows_the_next_raise() -> None:
    engine = DetectorEngine(now_fn=lambda: T0 + timedelta(seconds=130))
    first = feed(
        engine, [water("w1", i) for i in range(100)] + [water("w1", i, pressure_kpa=5.0) for i in range(100, 130)]
    )
    assert first[0].ts - first[0].since == timedelta(seconds=10)
    cleared = engine.apply_verdict("w1", "supply_outage", false_alarm=True)
    assert [a.state for a in cleared] == [AlarmState.CLEARED]
    feed(engine, [water("w1", i) for i in range(130, 300)])
    again = feed(engine, [water("w1", i, pressure_kpa=5.0) for i in range(300, 400)])
    raised = [a for a in again if a.state is AlarmState.RAISED]
    assert raised and raised[0].ts - raised[0].since == timedelta(seconds=60)  # doubled, from the 30 s floor


def test_redelivered_reading_is_ignored() -> None:
    engine = DetectorEngine()
    feed(engine, [water("w1", i) for i in range(10)])
    assert engine.process(water("w1", 5, pressure_kpa=0.0)) == []


def lift(i: int, **values: float) -> Reading:
    base = {"moving": 0.0, "door_open": 0.0, "alarm_button": 0.0, "in_service": 1.0, "floor": 7.0}
    base.update(values)
    return Reading("e1", DeviceKind.ELEVATOR, T0 + timedelta(seconds=i), i, base, site_id="s1")


def test_entrapment_raised_within_a_minute_and_once() -> None:
    engine = DetectorEngine()
    readings = [lift(i) for i in range(30)] + [lift(i, alarm_button=1.0) for i in range(30, 120)]
    alarms = feed(engine, readings)
    assert [(a.fault, a.state) for a in alarms] == [("entrapment", AlarmState.RAISED)]
    assert alarms[0].ts - T0 <= timedelta(seconds=30 + 60)
    assert "floor 7" in alarms[0].evidence.summary


def test_a_car_stuck_between_floors_is_an_entrapment_at_its_first_report() -> None:
    """On a gateway that reports every 30 s, the rescue is dispatched at the report that shows the car stuck, not
    half a minute later; a car standing out of service at a landing is no entrapment."""
    engine = DetectorEngine()
    def every_30s(k: int, **values: float) -> Reading:
        return dataclasses.replace(lift(30 * k, **values), seq=k)
    feed(engine, [every_30s(k) for k in range(10)])
    at_landing = engine.process(every_30s(10, in_service=0.0, levelling_error_mm=4.0))
    assert at_landing == []
    feed(engine, [every_30s(k) for k in range(11, 20)])
    stuck = engine.process(every_30s(20, in_service=0.0, levelling_error_mm=850.0))
    assert [(a.fault, a.state, a.ts - T0) for a in stuck] == [
        ("entrapment", AlarmState.RAISED, timedelta(seconds=600))]
    assert "between floors" in stuck[0].evidence.summary


def test_door_held_open_is_caught_by_tick_without_readings() -> None:
    """A door last reported open for 35 s that then goes quiet is held open once the minute is up; a door sampled
    during an ordinary passage (open 3 s) is not assumed to stand open until its next report."""
    engine = DetectorEngine()
    door = Reading("d1", DeviceKind.ACCESS_DOOR, T0, 1, {"door_open": 1.0, "locked": 0.0, "open_duration_s": 35.0},
                   site_id="s1")
    passage = Reading("d2", DeviceKind.ACCESS_DOOR, T0, 1, {"door_open": 1.0, "locked": 0.0, "open_duration_s": 3.0},
                      site_id="s1")
    assert engine.process(door) == [] and engine.process(passage) == []
    assert engine.tick(T0 + timedelta(seconds=20)) == []
    alarms = engine.tick(T0 + timedelta(seconds=30))
    assert [(a.device_id, a.fault, a.state) for a in alarms] == [("d1", "held_open", AlarmState.RAISED)]
    assert alarms[0].since == T0 - timedelta(seconds=35)
    assert [a for a in engine.tick(T0 + timedelta(seconds=90)) if a.device_id == "d2"] == []


def test_outages_in_two_buildings_without_the_main_are_two_faults() -> None:
    engine = DetectorEngine()
    for device, building in (("a1", "b1"), ("a2", "b1"), ("c1", "b2")):
        engine.register_device(device, DeviceKind.WATER, "s1", building)
    cut = {"a1": 20, "c1": 25, "a2": 40}
    readings = [water(d, i, pressure_kpa=5.0 if i >= cut[d] else 320.0) for i in range(80) for d in cut]
    raised = [a for a in feed(engine, readings) if a.state is AlarmState.RAISED]
    assert [(a.device_id, a.parent_device_id) for a in raised] == [("a1", None), ("c1", None), ("a2", "a1")]


def test_a_child_still_failing_when_its_root_outage_ends_becomes_a_fault_of_its_own() -> None:
    """The site main's outage ends but building b1's supply stays cut: b1's alarm is re-homed (UPDATED, no parent)
    before the main's clear, and roots b1's later alarms; b2, which came back with the main, keeps its root."""
    engine = DetectorEngine()
    engine.register_device("main", DeviceKind.WATER, "s1", None)
    for device, building in (("a1", "b1"), ("a2", "b1"), ("c1", "b2")):
        engine.register_device(device, DeviceKind.WATER, "s1", building)
    low = {"main": range(20, 100), "a1": range(20, 300), "c1": range(20, 100), "a2": range(150, 300)}
    readings = [water(d, i, pressure_kpa=5.0 if i in low[d] else 320.0) for i in range(400) for d in low]
    alarms = [a for a in feed(engine, readings) if a.fault == "supply_outage"]
    seen = [(a.device_id, a.state, a.parent_device_id) for a in alarms]
    assert seen[:3] == [("main", AlarmState.RAISED, None), ("a1", AlarmState.RAISED, "main"),
                        ("c1", AlarmState.RAISED, "main")]
    rehomed = seen.index(("a1", AlarmState.UPDATED, None))
    assert seen[rehomed + 1] == ("main", AlarmState.CLEARED, None)  # told what is still wrong, then the clear
    assert "still so after main's supply outage ended" in alarms[rehomed].evidence.summary
    assert alarms[rehomed].since == alarms[1].since  # the same episode, not a new alarm
    assert ("c1", AlarmState.CLEARED, "main") in seen
    assert ("a2", AlarmState.RAISED, "a1") in seen  # a1 is now the root of its building
    assert seen.count(("a1", AlarmState.CLEARED, None)) == 1


def test_a_break_tank_not_being_refilled_is_reported_well_before_it_is_nearly_empty() -> None:
    """A tank cycling between its refill mark (60%) and full raises nothing over a day; one that stops being refilled
    is reported while it is still about a third full, not only at the fixed 20% floor."""
    engine = DetectorEngine()

    def tank(i: int, level: float) -> Reading:
        return water("t1", i, tank_level_pct=level)

    cycle = [60.0 + 35.0 * abs((i % 240) - 120) / 120 for i in range(2880)]  # 60 → 95 → 60 every 240 readings
    assert feed(engine, [tank(i, level) for i, level in enumerate(cycle)]) == []
    draining = [tank(2880 + i, 75.0 - 0.1 * i) for i in range(700)]  # 75% down to 5%
    raised = [a for a in feed(engine, draining) if a.fault == "tank_low" and a.state is AlarmState.RAISED]
    assert len(raised) == 1
    level = raised[0].evidence.value
    assert 30.0 <= level <= 50.0, level
    assert "usual" in raised[0].evidence.summary and raised[0].severity is Severity.WARNING


def test_a_false_alarm_verdict_on_a_root_outage_leaves_what_it_explained_standing_alone() -> None:
    """An engineer calls the site main's outage a false alarm (its sensor lied) while building b1 really has no
    water: b1's alarm, attached to the main, is re-homed as its own fault before the main's clear."""
    engine = DetectorEngine()
    engine.register_device("main", DeviceKind.WATER, "s1", None)
    engine.register_device("a1", DeviceKind.WATER, "s1", "b1")
    feed(engine, [water(d, i, pressure_kpa=5.0 if i >= 20 else 320.0) for i in range(80) for d in ("main", "a1")])
    cleared = engine.apply_verdict("main", "supply_outage", false_alarm=True)
    assert [(a.device_id, a.state, a.parent_device_id) for a in cleared] == [
        ("a1", AlarmState.UPDATED, None), ("main", AlarmState.CLEARED, None)]
