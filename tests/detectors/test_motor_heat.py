"""A lift motor that only runs hot — 30 °C over its own usual temperature — is warned of long before the fixed
95 °C line, while the rush hour's warmer motor and a new motor with nothing learnt are not."""

from __future__ import annotations

import math
from datetime import timedelta

from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from ingest.reading import DeviceKind, Reading
from tests.detectors.test_engine import T0, feed


def car(i: int, temp: float) -> Reading:
    """A parked-and-riding car reporting every 10 s, in service, at its landing."""
    values = {"floor": 1.0, "moving": float(i % 3 == 0), "door_open": 0.0, "in_service": 1.0,
              "motor_temp_c": round(temp, 1), "vibration_rms": 0.3 if i % 3 == 0 else 0.03,
              "motor_current_a": 38.0 + (i % 7) if i % 3 == 0 else 2.5 + 0.1 * (i % 3), "levelling_error_mm": 2.0}
    return Reading("e1", DeviceKind.ELEVATOR, T0 + timedelta(seconds=10 * i), i, values, site_id="s1")


def _day(start: int, n: int) -> list[Reading]:
    """A motor that runs 30 °C at night and 55 °C in the busy hours (a day is 8,640 readings)."""
    return [car(i, 42.5 - 12.5 * math.cos(2 * math.pi * i / 8640) + (i % 5) * 0.2) for i in range(start, start + n)]


def _raised(alarms) -> list:
    return [a for a in alarms if a.state is AlarmState.RAISED and a.fault == "motor_overheat"]


def test_a_motor_heating_by_55_degrees_over_an_hour_is_warned_at_30_over_its_usual() -> None:
    engine = DetectorEngine()
    alarms = feed(engine, _day(0, 8640))
    start = 8640
    heat = [car(start + k, 30.0 + 55.0 * k / 360 + (k % 5) * 0.2) for k in range(360)]  # 30 → 85 °C in an hour
    raised = _raised(alarms + feed(engine, heat))
    assert len(raised) == 1
    at = raised[0].evidence.value
    assert 65.0 <= at < 85.0  # well before the fixed 95 °C line, which this motor never reaches
    assert "usual" in raised[0].evidence.summary


def test_a_busy_days_warm_motor_is_not_overheating() -> None:
    engine = DetectorEngine()
    assert _raised(feed(engine, _day(0, 3 * 8640))) == []


def test_a_new_motor_is_judged_only_by_the_fixed_line() -> None:
    engine = DetectorEngine()
    assert _raised(feed(engine, [car(i, 80.0 + (i % 5) * 0.2) for i in range(60)])) == []
    hot = _raised(feed(engine, [car(i, 97.0 + (i % 5) * 0.2) for i in range(60, 120)]))
    assert len(hot) == 1 and "alert at 95" in hot[0].evidence.summary
