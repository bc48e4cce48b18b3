"""A card reader that reads nothing while the site's other readers read (`detectors.peers`, `reader_silent`).

The site here is a few doors living the simulator's working day (`simulators.access_door.SWIPES`, Poisson arrivals,
interpolated within each hour), scaled as the simulator scales them by where they are, each reporting every minute.
"""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime, timedelta, timezone

from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from ingest.reading import DeviceKind, Reading
from simulators.access_door import SWIPES
from tickets.classify import warns_residents

TZ = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 3, 2, tzinfo=TZ)
OFFSET_S = 8 * 3600.0  # `Weekly.at` takes local POSIX seconds: UTC+8
DOORS = {"gate-north": 1.6, "gate-south": 1.6, "b1-lobby": 1.0, "b1-garage": 0.6, "b1-east": 0.3}
# A garage that drivers use in the rush hours and hardly otherwise: its share of the site's reads falls fivefold
# when the rush ends (not the simulator's doors, whose days all have one shape; an estate's need not).
COMMUTE = {7: 3.0, 8: 3.0, 17: 3.0, 18: 3.0}
Window = tuple[datetime, datetime]


def _door(rng: random.Random, door: str, start: datetime, hours: float, *, reads_none: Window | None = None,
          off: Window | None = None, self_test_fails: Window | None = None, commute: bool = False) -> list[Reading]:
    """One door from `start`: telemetry every minute, swipes as the simulator's day; in `reads_none` no card is read
    (the door still reports), in `off` it sends nothing, in `self_test_fails` it reads nothing and says so."""
    out: list[Reading] = []

    def within(at: datetime, window: Window | None) -> bool:
        return window is not None and window[0] <= at < window[1]

    for minute in range(int(hours * 60)):
        at = start + timedelta(minutes=minute)
        scale = COMMUTE.get(at.hour, 0.6) if commute and door == "b1-garage" else DOORS[door]
        per_second = SWIPES.at(at.timestamp() + OFFSET_S) * scale / 3600.0
        if within(at, off):
            continue
        ok = 0.0 if within(at, self_test_fails) else 1.0
        out.append(Reading(door, DeviceKind.ACCESS_DOOR, at, 0, {"door_open": 0.0, "locked": 1.0, "reader_ok": ok},
                           site_id="s1"))
        second = rng.expovariate(per_second)
        while second < 60.0:
            swipe = at + timedelta(seconds=second)
            if not (within(swipe, reads_none) or within(swipe, self_test_fails)):
                out.append(Reading(door, DeviceKind.ACCESS_DOOR, swipe, 0, {"granted": 1.0}, event="swipe",
                                   site_id="s1"))
            second += rng.expovariate(per_second)
    return out


def _site(seed: int, start: datetime, hours: float, commute: bool = False, **gate: Window | None) -> list[Reading]:
    """Every door of the site in time order; `gate` applies to gate-north only, `commute` to the garage."""
    rng = random.Random(seed)
    streams = [_door(rng, door, start, hours, commute=commute, **(gate if door == "gate-north" else {}))
               for door in DOORS]
    merged = list(heapq.merge(*streams, key=lambda r: r.ts))
    return [Reading(r.device_id, r.kind, r.ts, k, r.values, r.event, r.site_id) for k, r in enumerate(merged, 1)]


def _alarms(readings: list[Reading], engine: DetectorEngine | None = None) -> list[tuple[str, str, str, datetime]]:
    engine = engine or DetectorEngine()
    out = []
    for reading in readings:
        for alarm in engine.process(reading) + engine.tick(reading.ts.astimezone(UTC)):
            out.append((alarm.device_id, alarm.fault, alarm.state.value, alarm.ts.astimezone(TZ)))
    return out


def _silent(alarms: list[tuple[str, str, str, datetime]]) -> list[tuple[str, str, datetime]]:
    return [(device, state, ts) for device, fault, state, ts in alarms if fault == "reader_silent"]


TUESDAY = MONDAY + timedelta(days=1)


def test_a_gate_that_stops_reading_on_its_second_morning_is_found_while_the_other_doors_read_on() -> None:
    stop = TUESDAY + timedelta(hours=9)
    for seed in range(3):
        readings = _site(seed, MONDAY + timedelta(hours=6), 30, reads_none=(stop, stop + timedelta(hours=1)))
        found = _silent(_alarms(readings))
        assert [(d, s) for d, s, _ in found] == [("gate-north", "raised"), ("gate-north", "cleared")], (seed, found)
        raised, cleared = found[0][2], found[1][2]
        # Monday's 08:00-10:00 teach the gate its share at those hours (about one in three, judged by the largest
        # of the three hours' means). At 09:00 the other doors read about 77 an hour: the 40 or so that a healthy
        # gate misses once in a million times take half an hour to most of an hour in a site this small.
        assert stop + timedelta(minutes=15) <= raised <= stop + timedelta(minutes=60), (seed, raised)
        assert stop + timedelta(hours=1) <= cleared <= stop + timedelta(hours=1, minutes=15), (seed, cleared)


def test_a_reader_silent_on_its_first_day_is_left_to_the_residents_and_engineering() -> None:
    """Its share at each hour is not known yet: a door's day need not be shaped as its site's."""
    stop = MONDAY + timedelta(hours=9)
    readings = _site(0, MONDAY + timedelta(hours=6), 5, reads_none=(stop, stop + timedelta(hours=1)))
    assert _silent(_alarms(readings)) == []


def test_the_evidence_says_what_the_other_doors_read_and_residents_are_warned() -> None:
    stop = TUESDAY + timedelta(hours=9)
    engine = DetectorEngine()
    summary = None
    for reading in _site(0, MONDAY + timedelta(hours=6), 29, reads_none=(stop, stop + timedelta(hours=1))):
        for alarm in engine.process(reading):
            if alarm.fault == "reader_silent" and alarm.state is AlarmState.RAISED:
                summary = alarm.evidence.summary
    assert summary is not None and summary.startswith("no card read while the site's other doors read ")
    assert "at this hour this door usually reads one in" in summary
    assert warns_residents("reader_silent")  # nobody can swipe in: news for the residents of the door


def test_three_ordinary_days_of_a_site_raise_no_silent_reader() -> None:
    for seed in range(4):
        found = _silent(_alarms(_site(100 + seed, MONDAY, 72)))
        assert found == [], (seed, found)


def test_a_garage_whose_share_falls_fivefold_after_the_rush_is_not_a_silent_reader() -> None:
    """Its gaps lengthen at once; a share learnt over the rush alone would call the first long one a silence."""
    for seed in range(4):
        found = _silent(_alarms(_site(200 + seed, MONDAY, 72, commute=True)))
        assert found == [], (seed, found)


def test_a_door_that_is_off_is_the_presence_rules_not_a_silent_reader() -> None:
    """Unpowered for 40 minutes in the morning rush: it says nothing about its reader, and its return is no gap."""
    off = TUESDAY + timedelta(hours=8)
    for seed in range(3):
        alarms = _alarms(_site(seed, MONDAY + timedelta(hours=6), 30, off=(off, off + timedelta(minutes=40))))
        assert _silent(alarms) == [], seed


def test_a_reader_failing_its_self_test_is_one_fault_not_two() -> None:
    fails = TUESDAY + timedelta(hours=9)
    alarms = _alarms(_site(0, MONDAY + timedelta(hours=6), 30, self_test_fails=(fails, fails + timedelta(hours=1))))
    assert ("gate-north", "reader_offline", "raised") in [(d, f, s) for d, f, s, _ in alarms]
    assert _silent(alarms) == []


def test_a_restored_engine_learns_on_and_still_finds_the_silent_reader() -> None:
    """A restart mid-morning: each door keeps its share, and the site's count starts again from its next read."""
    stop = TUESDAY + timedelta(hours=9, minutes=30)
    readings = _site(1, MONDAY + timedelta(hours=6), 30, reads_none=(stop, stop + timedelta(hours=1)))
    split = next(k for k, r in enumerate(readings) if r.ts >= TUESDAY + timedelta(hours=9))
    first = DetectorEngine()
    assert _silent(_alarms(readings[:split], first)) == []
    second = DetectorEngine()
    for device in first.devices():
        second.restore(device, first.snapshot(device))
    found = _silent(_alarms(readings[split:], second))
    assert [(d, s) for d, s, _ in found][:1] == [("gate-north", "raised")]
    assert stop < found[0][2] <= stop + timedelta(minutes=60)
