"""Complaints driven by use: residents notice a fault at their next use of the service, which follows the hour of
day; the first report is the earliest over everyone the device serves."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from simulators.faults import FAULTS, FaultWindow
from simulators.usage import plan_use_complaints, uses_per_hour

SH = ZoneInfo("Asia/Shanghai")
LIFT, WATER, DOOR = "rs-b1-elev-a", "rs-b1-water-high", "rs-b1-door-lobby"


def _at(hour: int, minutes: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minutes, tzinfo=SH)


def _noticed(estate, device: str, fault: str, start: datetime, seeds: range) -> list[float]:
    """Seconds from onset to the first use that found the fault, over seeds (faults nobody met left out)."""
    out = []
    for seed in seeds:
        window = FaultWindow(device, fault, start, start + timedelta(hours=2))
        first = plan_use_complaints([window], estate, seed).noticed[(device, fault, start)]
        if first is not None:
            out.append((first - start).total_seconds())
    return out


def test_a_lift_fault_at_three_in_the_morning_is_found_much_later_than_one_at_eight(demo_estate):
    night = _noticed(demo_estate, LIFT, "out_of_service", _at(3), range(20))
    rush = _noticed(demo_estate, LIFT, "out_of_service", _at(8), range(20))
    assert len(rush) == 20  # someone always takes the lift in the morning rush within two hours
    assert statistics.median(night) > 5 * statistics.median(rush)
    # In the rush the next rider comes within minutes of the car being noticeably out (the fault's visible moment).
    assert statistics.median(rush) < FAULTS["out_of_service"].visible_after_s + 180


def _local(at: datetime) -> float:
    """`at` as `uses_per_hour` takes it: POSIX seconds on the site's clock."""
    return at.timestamp() + (at.utcoffset() or timedelta()).total_seconds()


def test_use_rates_follow_the_simulators_hour_of_day_and_day_of_week(demo_estate):
    lift, door = demo_estate.device(LIFT), demo_estate.device(DOOR)
    water = demo_estate.device(WATER)
    for device in (lift, door, water):
        assert uses_per_hour(device, _local(_at(8)), 100) > 10 * uses_per_hour(device, _local(_at(3)), 100)
        # Saturday 7 March: no rush before work at 07:00, and a busier late morning than Monday's.
        assert uses_per_hour(device, _local(_at(7, day=7)), 100) < 0.6 * uses_per_hour(device, _local(_at(7)), 100)
        assert uses_per_hour(device, _local(_at(10, day=7)), 100) > 1.4 * uses_per_hour(device, _local(_at(10)), 100)
    # A car shared by more residents is ridden less often by each of them.
    assert uses_per_hour(lift, _local(_at(8)), 200) == uses_per_hour(lift, _local(_at(8)), 100) / 2


def test_complaints_come_from_the_served_residents_after_they_noticed(demo_estate):
    served = {r.id for r in demo_estate.residents_served_by(WATER)}
    start = _at(7, 30)
    window = FaultWindow(WATER, "supply_outage", start, start + timedelta(hours=1))
    plan = plan_use_complaints([window], demo_estate, seed=4)
    noticed = plan.noticed[(WATER, "supply_outage", start)]
    assert plan.complaints and noticed is not None
    assert {c.resident_id for c in plan.complaints} <= served
    assert all(noticed < c.reported_at < window.end for c in plan.complaints)
    assert plan.complaints == sorted(plan.complaints, key=lambda c: (c.reported_at, c.resident_id))
    assert plan_use_complaints([window], demo_estate, seed=4) == plan  # seeded
    assert plan_use_complaints([window], demo_estate, seed=5) != plan


def test_a_short_fault_nobody_meets_bothers_nobody(demo_estate):
    # A side door's reader failing for 10 minutes at 03:00: nobody swipes, nobody notices, nobody complains.
    side = next(d.id for d in demo_estate.devices if d.kind.value == "access_door"
                and not any(w in d.id for w in ("gate", "lobby", "garage")))
    start = _at(3)
    window = FaultWindow(side, "reader_offline", start, start + timedelta(minutes=10))
    found = [plan_use_complaints([window], demo_estate, seed) for seed in range(10)]
    assert sum(p.noticed[(side, "reader_offline", start)] is None for p in found) >= 8
    assert sum(len(p.complaints) for p in found) <= 1


def test_with_the_cars_trips_given_a_slow_door_is_found_at_a_trip_and_nowhere_else(demo_estate):
    """The experiment of `--uses-from-trips`: the uses of a car running through its fault are its own trips."""
    start = _at(23)
    door = FaultWindow(LIFT, "door_fault", start, start + timedelta(hours=3))
    out = FaultWindow(LIFT, "out_of_service", start, start + timedelta(hours=3))
    trips = [(start + timedelta(minutes=m)).timestamp() for m in (-5, 47, 130)]
    for seed in range(10):
        plan = plan_use_complaints([door], demo_estate, seed, trips={LIFT: trips})
        assert plan.noticed[(LIFT, "door_fault", start)] == start + timedelta(minutes=47)  # the first trip in it
        assert all(c.reported_at > start + timedelta(minutes=47) for c in plan.complaints)
        silent = plan_use_complaints([door], demo_estate, seed, trips={LIFT: []})
        assert silent.noticed[(LIFT, "door_fault", start)] is None and not silent.complaints  # nobody rode it
        # A car out of service makes no trips to ride: its uses stay the residents' drawn attempts.
        assert plan_use_complaints([out], demo_estate, seed, trips={LIFT: []}) == plan_use_complaints(
            [out], demo_estate, seed)
