"""Levelling is judged per stop: a car whose stops scatter widely, parked after an unlucky one, is not drifting; a
car whose stops drift off the landing is called while the drift is still small.

The car here is not the simulator's: stops at random (about 30 an hour by day, 2 an hour from midnight to 06:00),
each off the landing by a normal error of `scatter` mm plus any drift, reported in a `trip` event and then, like the
simulator and a gateway without events, in every 5 s telemetry message until the car moves again.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from ingest.reading import DeviceKind, Reading

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
REPORT_S = 5.0


def car(stops: list[tuple[float, float]], hours: float, *, events: bool = True) -> list[Reading]:
    """Readings of a car that stopped at `stops` (seconds after T0, error in mm), reporting every 5 s."""
    readings: list[tuple[float, str | None, dict[str, float]]] = []
    if events:
        readings += [(at, "trip", {"floor": 3.0, "levelling_error_mm": e}) for at, e in stops]
    at, last, i = 0.0, 0.0, 0
    while at < hours * 3600.0:
        while i < len(stops) and stops[i][0] <= at:
            last = stops[i][1]
            i += 1
        readings.append((at, None, {"moving": 0.0, "door_open": 0.0, "in_service": 1.0, "floor": 3.0,
                                    "levelling_error_mm": last}))
        at += REPORT_S
    readings.sort(key=lambda r: r[0])
    return [Reading("car", DeviceKind.ELEVATOR, T0 + timedelta(seconds=at), n, values, event=event, site_id="s1")
            for n, (at, event, values) in enumerate(readings)]


def random_stops(rng: random.Random, hours: float, scatter: float, drift_from_h: float | None = None,
                 drift_mm_per_h: float = 0.0) -> list[tuple[float, float]]:
    stops, t = [], 0.0
    while t < hours * 3600.0:
        t += rng.expovariate((2.0 if (t / 3600.0) % 24 < 6 else 30.0) / 3600.0)
        drift = max(0.0, t / 3600.0 - drift_from_h) * drift_mm_per_h if drift_from_h is not None else 0.0
        stops.append((t, round(rng.gauss(0.0, scatter) + drift, 1)))
    return stops


def levelling_alarms(readings: list[Reading]) -> list:
    engine = DetectorEngine()
    return [a for r in readings for a in engine.process(r)
            if a.state is AlarmState.RAISED and a.fault == "levelling_drift"]


@pytest.mark.parametrize("events", [True, False])
def test_one_stop_off_the_landing_then_an_hour_parked_is_not_a_drift(events):
    stops = [(60.0 * k, (-1) ** k * 3.0) for k in range(1, 30)] + [(1800.0, 17.0)]  # then parked, 17 mm off
    assert levelling_alarms(car(stops, 3.0, events=events)) == []


@pytest.mark.parametrize("events", [True, False])
def test_a_week_of_stops_scattering_six_mm_raises_nothing(events):
    rng = random.Random(5)
    stops = random_stops(rng, 7 * 24.0, scatter=6.0)
    assert len(stops) > 3000 and sum(abs(e) >= 12.0 for _, e in stops) > 100  # many single stops well off
    assert levelling_alarms(car(stops, 7 * 24.0, events=events)) == []


@pytest.mark.parametrize("events", [True, False])
def test_stops_drifting_off_the_landing_are_called_before_they_are_15_mm_off(events):
    rng = random.Random(9)
    stops = random_stops(rng, 48.0, scatter=2.5, drift_from_h=8.0, drift_mm_per_h=0.5)  # 0 mm at 08:00, 20 mm by 48 h
    [alarm, *_] = levelling_alarms(car(stops, 48.0, events=events))
    drift_at_alarm = ((alarm.ts - T0).total_seconds() / 3600.0 - 8.0) * 0.5
    assert 9.0 <= drift_at_alarm <= 15.0
