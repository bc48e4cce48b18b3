"""The simulators' day follows the day of the week: a working day's morning rush before work, a weekend's late and
broad morning, as residents live them (`simulators.device.Weekly`)."""

from __future__ import annotations

import doctest
import random
import statistics
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import simulators.device
from simulators.access_door import AccessDoorSim
from simulators.elevator import ElevatorSim
from simulators.water import WaterSim

SH = ZoneInfo("Asia/Shanghai")
MONDAY, SATURDAY = 2, 7  # March 2026
HOUR = 3600.0


def test_the_weekly_profile_examples_hold():
    result = doctest.testmod(simulators.device)
    assert result.attempted > 0 and result.failed == 0


def test_a_profile_needs_a_whole_day_of_hours():
    with pytest.raises(ValueError, match="24 hourly values"):
        simulators.device.Weekly(weekday=(1.0,) * 24, weekend=(1.0,) * 23)


def _emissions(sim_class, device, day: int, seed: int):
    """One device's emissions from 06:00 to 12:00 local on 2026-03-`day`, with hours as local floats."""
    start = datetime(2026, 3, day, 6, tzinfo=SH).timestamp()
    sim = sim_class(device, random.Random(seed), start, start + 6 * HOUR, 5.0, [], 8 * HOUR)
    return [(6 + (e.t - start) / HOUR, e) for e in sim.run()]


def _count(emissions, event: str, since: float, until: float) -> int:
    return sum(1 for hour, e in emissions if e.event == event and since <= hour < until)


def test_a_car_has_its_rush_before_work_on_monday_and_its_busy_morning_late_on_saturday(demo_estate):
    car = demo_estate.device("rs-b1-elev-a")
    monday = _emissions(ElevatorSim, car, MONDAY, seed=1)
    saturday = _emissions(ElevatorSim, car, SATURDAY, seed=1)
    assert _count(monday, "trip", 6, 8) > 2 * _count(saturday, "trip", 6, 8)
    assert _count(saturday, "trip", 10, 12) > 1.4 * _count(monday, "trip", 10, 12)


def test_a_gate_reads_fewer_cards_early_on_saturday_and_more_late_in_the_morning(demo_estate):
    gate = next(d for d in demo_estate.devices if "gate" in d.id)
    monday = _emissions(AccessDoorSim, gate, MONDAY, seed=2)
    saturday = _emissions(AccessDoorSim, gate, SATURDAY, seed=2)
    assert _count(monday, "swipe", 6, 8) > 2 * _count(saturday, "swipe", 6, 8)
    assert _count(saturday, "swipe", 9, 12) > 1.5 * _count(monday, "swipe", 9, 12)


def test_water_demand_rises_at_six_on_monday_and_peaks_at_nine_on_saturday(demo_estate):
    supply = demo_estate.device("rs-b1-water-low")

    def flow(emissions, hour: int) -> float:
        return statistics.mean(e.data["flow_lpm"] for h, e in emissions if int(h) == hour and "flow_lpm" in e.data)

    monday = _emissions(WaterSim, supply, MONDAY, seed=3)
    saturday = _emissions(WaterSim, supply, SATURDAY, seed=3)
    assert flow(monday, 6) > 1.5 * flow(saturday, 6)
    assert flow(saturday, 9) > 1.5 * flow(monday, 9)
