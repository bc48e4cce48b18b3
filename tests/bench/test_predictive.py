"""bench.predictive: river's PredictiveAnomalyDetection (SNARIMAX, daily season) + QuantileFilter as a detector.

A water feed with a daily demand shape (busy by day, quiet at night, some noise) for four days, then its flow
steps up by 30 L/min for good (a burst the shape does not explain): the detector alarms after the step, not
before it, and names no fault."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from bench.predictive import Predictive
from ingest.reading import DeviceKind, Reading

TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, tzinfo=TZ)
STEP = T0 + timedelta(days=4)


def _feed(minutes: int) -> list[Reading]:
    rng = random.Random(7)
    out = []
    for i in range(minutes):
        ts = T0 + timedelta(minutes=i)
        flow = (50.0 if 7 <= ts.hour < 23 else 5.0) + rng.gauss(0.0, 2.0) + (30.0 if ts >= STEP else 0.0)
        values = {"flow_lpm": flow, "pressure_kpa": 300.0 - 0.5 * flow + rng.gauss(0.0, 1.0),
                  "pump_current_a": 2.0 + 0.05 * flow + rng.gauss(0.0, 0.1)}
        out.append(Reading("feed", DeviceKind.WATER, ts, i, values))
    return out


def test_alarms_after_a_level_shift_on_a_daily_normal_and_not_before() -> None:
    detector = Predictive()
    raised = [alarm for reading in _feed(5 * 24 * 60) for alarm in detector.reading(reading)]
    before = [a for a in raised if a[2] < STEP.timestamp()]
    after = [a for a in raised if a[2] >= STEP.timestamp()]
    assert before == []  # two days learning, two days judged: the daily shape and the noise are normal
    assert after, "the step was never alarmed"
    assert after[0][2] - STEP.timestamp() <= 2 * 3600  # within two hours of the step
    assert {(device, fault) for device, fault, _ in after} == {("feed", None)}  # names no fault
    assert detector.names_faults is False


def test_watches_nothing_on_a_kind_the_learned_normal_does_not_watch() -> None:
    detector = Predictive()
    door = [Reading("door", DeviceKind.ACCESS_DOOR, T0 + timedelta(minutes=i), i, {"battery_pct": 90.0})
            for i in range(60)]
    assert [a for r in door for a in detector.reading(r)] == []
    assert detector.devices == {}
