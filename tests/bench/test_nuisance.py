"""bench.nuisance: a short normal-running run with every nuisance once, scored as `python -m bench.detectors` scores
the full one — a declared maintenance window hides its device's alarms but not what comes after it, a building's
power blip is one event, an alarm left open is explained on its own device only, device-days are devices × days."""

from __future__ import annotations

import math

import pytest

from bench.detector_play import DAY, Engine
from bench.nuisance import (
    DAYS,
    QUICK_START,
    Plan,
    make_plan,
    play_plan,
    poisson_upper,
    score,
)

HOURS = 3.0


@pytest.fixture(scope="module")
def played() -> tuple[Plan, list[tuple[str, str | None, float]]]:
    plan = make_plan(HOURS, start=QUICK_START)
    raised, messages = play_plan(plan, {"forewarn": Engine()})
    assert messages > 10_000
    return plan, raised["forewarn"]


def _event(plan: Plan, kind: str, device: str | None = None):
    return next(e for e in plan.events if e.kind == kind and (device is None or device in e.devices))


def test_device_days_are_devices_times_simulated_days(played) -> None:
    plan, raised = played
    assert len(plan.devices) == 30 and "lv-b1-elev-a" in plan.devices
    assert score(raised, plan).device_days == pytest.approx(30 * HOURS / 24)
    full = make_plan(DAYS * 24)
    assert full.device_days == pytest.approx(30 * DAYS) and full.device_days >= 300
    days = {int((e.start - full.start.timestamp()) // DAY) for e in full.events}
    assert {e.kind for e in full.events} == {"maintenance", "blip", "open alarm"}
    assert max(days) >= 6  # the run reaches past Saturday and Sunday (it starts on a Monday)


def test_the_declared_maintenance_window_counts_nothing_but_an_alarm_after_it_does(played) -> None:
    plan, raised = played
    visit = _event(plan, "maintenance")
    car = visit.devices[0]
    assert visit.declared is not None
    inside = [a for a in raised if a[0] == car and visit.declared[0] <= a[2] <= visit.declared[1]]
    assert inside, "the parked car raised nothing: the maintenance visit did not exercise the window"
    base = score(raised, plan)
    assert base.suppressed >= len(inside)
    assert not [fa for fa in base.false_alarms if fa.device == car and fa.t <= visit.declared[1]]
    after = (car, "out_of_service", visit.declared[1] + 60.0)
    with_after = score([*raised, after], plan)
    assert len(with_after.false_alarms) == len(base.false_alarms) + 1
    added = next(fa for fa in with_after.false_alarms if fa.t == after[2])
    assert added.nearby.startswith(f"maintenance: {car} parked")


def test_a_power_blip_on_one_building_counts_at_most_once(played) -> None:
    plan, raised = played
    blip = _event(plan, "blip")
    assert len(blip.devices) >= 8 and blip.end - blip.start == pytest.approx(90.0)
    base = score(raised, plan)
    in_blip = [fa for fa in base.false_alarms if fa.device in blip.devices and blip.start <= fa.t <= blip.end + 600]
    assert len(in_blip) <= 1
    # Every device of the building reported silent just after the blip: one building event, not one per device.
    offline = [(d, "device_offline", blip.end + 30.0) for d in blip.devices]
    grouped = score([*raised, *offline], plan)
    assert len(grouped.false_alarms) == len(base.false_alarms) + (0 if in_blip else 1)
    assert grouped.grouped >= len(blip.devices) - 1
    # The same alarms on another building's devices are each a false alarm.
    others = [(d, "device_offline", blip.end + 30.0) for d in plan.devices
              if d not in blip.devices and plan.buildings[d] is not None][:3]
    assert len(score([*raised, *others], plan).false_alarms) == len(base.false_alarms) + 3


def test_an_alarm_left_open_is_explained_on_its_device_only(played) -> None:
    plan, raised = played
    door = _event(plan, "open alarm", "rs-b2-door-garage")
    held = [a for a in raised if a[0] == "rs-b2-door-garage" and a[1] == "held_open"]
    assert held and all(door.start <= t <= door.end for _, _, t in held)
    base = score(raised, plan)
    assert base.explained >= len(held)
    elsewhere = ("rs-b2-door-lobby", "held_open", held[0][2] + 60.0)
    assert len(score([*raised, elsewhere], plan).false_alarms) == len(base.false_alarms) + 1


def test_the_upper_bound_is_the_exact_poisson_one() -> None:
    assert poisson_upper(0) == pytest.approx(-math.log(0.05), rel=1e-6)  # 3.0: nothing seen in D device-days
    assert poisson_upper(1) == pytest.approx(4.744, abs=1e-3)
    assert poisson_upper(10) == pytest.approx(16.962, abs=1e-3)


def test_the_nuisance_run_alone_prints_its_table_and_results(capsys) -> None:
    from bench.nuisance import main

    main(["--quick"])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if line.split() and line.split()[0] in ("forewarn", "null", "always-alarm") and len(line.split()) == 4}
    assert int(rows["always-alarm"][0]) > int(rows["forewarn"][0])  # one standing alarm per device at least
    assert "RESULT false_alarms_per_100_device_days=" in out
    assert "RESULT device_days_normal=7.5 days" in out
