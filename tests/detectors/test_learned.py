"""The live path's learned normal: a water feed learns its own day and night, raises an engineering-only
`unusual_behaviour` alarm with evidence for a lasting departure no rule names, and an unrelated alarm freezes only
the learning its own fault would corrupt."""

from __future__ import annotations

from collections.abc import Callable
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


def _gate_week(swipes_at: Callable[[datetime], bool], fault: str = "", last: int = 4) -> list[tuple[datetime, str]]:
    """A gate from Monday 00:00 to 09:00 of weekday `last` (Friday unless told): telemetry every minute, and a swipe
    in each minute `swipes_at` says, on that last morning as `fault` says ("silent": the reader reads nothing from
    08:00 while its telemetry carries on; "power": nothing at all 08:10-08:40)."""
    out: list[tuple[datetime, str]] = []
    for minute in range(last * 1440 + 9 * 60):
        at = T0 + timedelta(minutes=minute)
        last_8 = at.weekday() == last and at.hour == 8
        if last_8 and fault == "power" and 10 <= at.minute < 40:
            continue
        out.append((at, "telemetry"))
        if swipes_at(at) and not (last_8 and fault == "silent"):
            out.append((at + timedelta(seconds=30), "swipe"))
    return out


def _absence_raised(stream: list[tuple[datetime, str]]) -> list[datetime]:
    engine, raised = DetectorEngine(), []
    for seq, (at, kind) in enumerate(stream, start=1):
        values = {"door_open": 0.0, "locked": 1.0, "reader_ok": 1.0} if kind == "telemetry" else {"granted": 1.0}
        alarms = engine.process(Reading("g1", DeviceKind.ACCESS_DOOR, at, seq, values, site_id="s1",
                                        event=None if kind == "telemetry" else "swipe"))
        alarms += engine.tick(at.astimezone(UTC))
        raised += [a.ts.astimezone(TZ) for a in alarms
                   if a.fault == "usual_activity_missing" and a.state is AlarmState.RAISED]
    return raised


def _busy_7_to_10(at: datetime) -> bool:
    return 7 <= at.hour < 10  # a swipe a minute from 07:00 to 10:00


def test_a_busy_gate_whose_reader_reads_nothing_is_missed_within_a_quarter_hour_not_at_the_hours_end() -> None:
    raised = _absence_raised(_gate_week(_busy_7_to_10, "silent"))
    assert len(raised) == 1
    assert datetime(2026, 3, 6, 8, 10, tzinfo=TZ) <= raised[0] <= datetime(2026, 3, 6, 8, 15, tzinfo=TZ)


def test_a_silent_reader_is_found_on_the_third_day_of_a_gates_life() -> None:
    # Two days of use teach the hours that always have it: a platform three days into a new estate (the independent
    # emulator's runs are three days long) already finds the reader that stopped reading on the third morning.
    raised = _absence_raised(_gate_week(_busy_7_to_10, "silent", last=2))
    assert len(raised) == 1
    assert datetime(2026, 3, 4, 8, 10, tzinfo=TZ) <= raised[0] <= datetime(2026, 3, 4, 8, 15, tzinfo=TZ)


def test_a_gate_off_its_power_for_half_an_hour_is_not_missing_its_use() -> None:
    # Its silence is the presence rule's to judge, not a stop of its use.
    assert _absence_raised(_gate_week(_busy_7_to_10, "power")) == []


def test_a_gate_quiet_in_the_first_minutes_of_its_morning_rush_is_not_missing_its_use() -> None:
    # 05:00-06:00 a swipe every 10 minutes, the rush from 06:30: the 06:00 hour's average (30) expects 15 swipes by
    # 06:30 where the ramp brings none, every day.
    def ramp(at: datetime) -> bool:
        return (at.hour == 5 and at.minute % 10 == 0) or (at.hour == 6 and at.minute >= 30) or at.hour == 7
    assert _absence_raised(_gate_week(ramp)) == []


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
