"""The absence of use on a device's second day: one day of hours seen, held under the pace of its last two hours.

The gate here lives the simulator's working day of a lobby scaled as a site gate (`simulators.access_door.SWIPES`
× 1.6, interpolated within each hour, Poisson arrivals), reporting every minute: a morning and an evening rush, a
quiet night, use falling by a third to a half from one evening hour to the next.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from ingest.reading import DeviceKind, Reading
from simulators.access_door import SWIPES

TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, tzinfo=TZ)  # a Monday
GATE = 1.6
OFFSET_S = 8 * 3600.0  # `Weekly.at` takes local POSIX seconds: UTC+8


def _gate(rng: random.Random, days: int, silent: tuple[datetime, datetime] | None = None) -> list[Reading]:
    """`days` days of a gate from Monday 00:00; no swipe is read in `silent` while the telemetry carries on."""
    out: list[Reading] = []
    for minute in range(days * 1440):
        at = T0 + timedelta(minutes=minute)
        out.append(Reading("g1", DeviceKind.ACCESS_DOOR, at, len(out) + 1,
                           {"door_open": 0.0, "locked": 1.0, "reader_ok": 1.0}, site_id="s1"))
        per_second = SWIPES.at(at.timestamp() + OFFSET_S) * GATE / 3600.0
        second = rng.expovariate(per_second)
        while second < 60.0:
            swipe = at + timedelta(seconds=second)
            if silent is None or not silent[0] <= swipe < silent[1]:
                out.append(Reading("g1", DeviceKind.ACCESS_DOOR, swipe, len(out) + 1, {"granted": 1.0},
                                   event="swipe", site_id="s1"))
            second += rng.expovariate(per_second)
    return out


def _raised(readings: list[Reading]) -> list[datetime]:
    engine, raised = DetectorEngine(), []
    for reading in readings:
        alarms = engine.process(reading) + engine.tick(reading.ts.astimezone(UTC))
        raised += [a.ts.astimezone(TZ) for a in alarms
                   if a.fault == "usual_activity_missing" and a.state is AlarmState.RAISED]
    return raised


def test_a_reader_that_stops_reading_on_the_second_morning_is_found_within_forty_minutes() -> None:
    """Before, nothing was judged until each hour had been seen on two days: not before the third day."""
    start = datetime(2026, 3, 3, 9, tzinfo=TZ)  # Tuesday 09:00: 09:00 and 10:00 seen once, 07:00-09:00 read ~150
    for seed in range(3):
        raised = _raised(_gate(random.Random(seed), 2, silent=(start, start + timedelta(hours=3))))
        assert len(raised) == 1, seed
        assert start + timedelta(minutes=10) <= raised[0] <= start + timedelta(minutes=40), (seed, raised)
        evidence_day = raised[0]
        assert evidence_day.date() == start.date()


def test_two_days_of_ordinary_life_at_a_gate_raise_no_absence() -> None:
    """Ten gates' first two days: the evening's fall and the night are not missing use (the second day is judged
    on one day of hours and the last two hours' pace; the first, on nothing)."""
    for seed in range(10):
        assert _raised(_gate(random.Random(100 + seed), 2)) == [], seed
