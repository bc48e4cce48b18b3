"""The live path's learned normal: a water feed learns its own day and night, raises an engineering-only
`unusual_behaviour` alarm with evidence for a lasting departure no rule names, and an unrelated alarm freezes only
the learning its own fault would corrupt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from detectors import learned
from detectors.alarm import AlarmState, Severity
from detectors.engine import DetectorEngine
from ingest.reading import DeviceKind, Reading
from tickets.classify import warns_residents

TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, tzinfo=TZ)  # a Monday
STEP = timedelta(minutes=2)


def _flow(t: datetime) -> float:
    """This feed's day: about 4 L/min at night, rising from 05:00 to 40 by 08:00, falling from 21:00 to 4 by 24:00
    (a little wobble so nothing is exactly flat)."""
    h = t.hour + t.minute / 60.0
    day = min(1.0, max(0.0, (h - 5.0) / 3.0)) * min(1.0, max(0.0, (24.0 - h) / 3.0))
    return 4.0 + 36.0 * day + (t.minute % 3) * 0.5


def _reading(i: int, flow: float) -> Reading:
    return Reading("w1", DeviceKind.WATER, T0 + i * STEP, i,
                   {"flow_lpm": flow, "pressure_kpa": 330.0 + (i % 5), "pump_on": 0.0}, site_id="s1")


def _days(engine: DetectorEngine, days: int, start: int = 0) -> list[str]:
    raised = []
    for i in range(start, start + days * 24 * 30):
        for alarm in engine.process(_reading(i, _flow(T0 + i * STEP))):
            if alarm.state is AlarmState.RAISED:
                raised.append(alarm.fault)
    return raised


def test_a_feed_running_at_night_as_by_day_is_unusual_behaviour_for_engineers_only() -> None:
    engine = DetectorEngine()
    assert _days(engine, 4) == []  # four ordinary days and nights: nothing
    night = 4 * 24 * 30 + 1 * 30  # 01:00 on day five
    raised = []
    for i in range(night, night + 90):  # three hours of daytime flow in the middle of the night
        raised += [a for a in engine.process(_reading(i, 40.0)) if a.state is AlarmState.RAISED]
    assert [a.fault for a in raised] == [learned.FAULT]
    alarm = raised[0]
    assert alarm.severity is Severity.INFO
    assert alarm.evidence.metric == "flow_lpm" and alarm.evidence.value == 40.0
    assert alarm.evidence.baseline is not None and alarm.evidence.baseline < 10.0
    assert "usually reads" in alarm.evidence.summary
    assert not warns_residents(alarm.fault)  # a ticket and a work order, never a resident notice


def test_an_unrelated_alarm_freezes_only_what_its_fault_would_corrupt() -> None:
    assert learned.frozen_metrics(["door_fault"]) == frozenset({"door_cycle_s"})
    assert "flow_lpm" not in learned.frozen_metrics(["pump_failure"])
    assert learned.frozen_metrics(["pipe_burst"]) >= {"flow_lpm", "pressure_kpa"}
    assert learned.frozen_metrics(["a_fault_nobody_listed"]) is learned.ALL
    state = learned.new_state(DeviceKind.WATER)
    for i in range(600):
        learned.observe(state, {"flow_lpm": 10.0, "pressure_kpa": 300.0}, T0 + i * STEP, frozenset({"pressure_kpa"}))
    assert state.metrics["flow_lpm"].seen[0] > 0  # still learning while a pump failure is open
    assert sum(state.metrics["pressure_kpa"].seen) == 0


def test_the_learned_normal_survives_a_checkpoint_and_stays_small() -> None:
    engine = DetectorEngine()
    _days(engine, 2)
    blob = engine.snapshot("w1")
    assert len(blob) <= 16 * 1024
    again = DetectorEngine()
    again.restore("w1", blob)
    assert again.snapshot("w1") == blob


def test_a_car_that_stops_getting_trips_in_a_busy_hour_is_usual_activity_missing() -> None:
    engine = DetectorEngine()
    start = datetime(2026, 3, 2, 8, tzinfo=TZ)  # Monday 08:00; the car has 30 trips 08:00-09:00 every weekday

    def telemetry(at: datetime, seq: int) -> Reading:
        return Reading("e1", DeviceKind.ELEVATOR, at, seq, {"moving": 0.0, "in_service": 1.0}, site_id="s1")

    raised: list[str] = []
    seq = 0
    for day in range(5):  # Monday to Friday; Friday 08:00-09:00 has telemetry but no trip
        for minute in range(0, 120, 2):
            at = start + timedelta(days=day, minutes=minute)
            seq += 1
            alarms = engine.process(telemetry(at, seq))
            if day < 4 and minute < 60:
                seq += 1
                alarms += engine.process(Reading("e1", DeviceKind.ELEVATOR, at + timedelta(seconds=30), seq,
                                                 {"floor": 3.0}, event="trip", site_id="s1"))
            alarms += engine.tick(at.astimezone(UTC))  # the runtime ticks on a UTC clock
            raised += [a.fault for a in alarms if a.state is AlarmState.RAISED]
    assert raised == ["usual_activity_missing"]
    assert not warns_residents("usual_activity_missing")
