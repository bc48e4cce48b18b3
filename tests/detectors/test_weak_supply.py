"""A supply that fails part-way — taps running weak, far above the outage floor — is an outage to residents: caught
well under the pressure the device usually has at the flow it carries, while a demand peak's sag (what that flow
always costs) and a stopped booster pump (its own fault) are not."""

from __future__ import annotations

import math
import random

from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from tests.detectors.test_engine import feed, water


def _raised(alarms) -> list[str]:
    return [a.fault for a in alarms if a.state is AlarmState.RAISED]


def test_a_supply_at_under_half_its_usual_pressure_is_an_outage_long_before_the_floor() -> None:
    engine = DetectorEngine()
    normal = [water("w1", i) for i in range(120)]  # ~323 kPa usual
    weak = [water("w1", i, pressure_kpa=140.0 + (i % 5)) for i in range(120, 180)]  # well above the 80 kPa floor
    alarms = feed(engine, normal) + feed(engine, weak)
    outage = [a for a in alarms if a.fault == "supply_outage" and a.state is AlarmState.RAISED]
    assert len(outage) == 1
    assert outage[0].ts.timestamp() - weak[0].ts.timestamp() <= 15  # within the rule's 10 s, not at the floor
    assert "usual" in outage[0].evidence.summary and "weak" in outage[0].evidence.summary
    back = feed(engine, [water("w1", i) for i in range(180, 300)])
    assert [a.state for a in back if a.fault == "supply_outage"] == [AlarmState.CLEARED]


def test_a_demand_peak_that_takes_a_quarter_off_the_pressure_is_not_an_outage() -> None:
    engine = DetectorEngine()
    alarms = feed(engine, [water("w1", i) for i in range(120)])
    peak = [water("w1", i, pressure_kpa=240.0 + (i % 7), flow_lpm=80.0 + (i % 5)) for i in range(120, 400)]
    alarms += feed(engine, peak)
    assert _raised(alarms) == []


def test_a_new_device_is_not_judged_against_a_usual_it_has_not_learnt() -> None:
    engine = DetectorEngine()
    assert _raised(feed(engine, [water("w1", i, pressure_kpa=150.0 if i % 2 else 320.0) for i in range(40)])) == []


def test_a_stopped_booster_pump_is_a_pump_failure_not_also_an_outage() -> None:
    engine = DetectorEngine()
    running = [water("b1", i, pressure_kpa=500.0 + (i % 7), pump_on=1.0) for i in range(120)]
    stopped = [water("b1", i, pressure_kpa=120.0 + (i % 7), pump_on=0.0) for i in range(120, 200)]
    assert _raised(feed(engine, running) + feed(engine, stopped)) == ["pump_failure"]


def test_a_burst_too_mild_to_be_called_one_does_not_teach_the_pump_its_usual_current() -> None:
    """Two hours of burst flow that never sagged the pressure: the pump ran hard meanwhile. Learnt as usual, that
    current made every ordinary one afterwards look like a broken pump."""
    engine = DetectorEngine()

    def booster(i: int, flow: float, current: float) -> object:
        return water("b1", i, pressure_kpa=500.0 + (i % 7), flow_lpm=flow + (i % 5), pump_on=1.0,
                     pump_current_a=current + (i % 3) * 0.1)

    normal = [booster(i, 60.0, 7.0) for i in range(200)]
    surge = [booster(i, 400.0, 24.0) for i in range(200, 600)]  # 6-7x the flow, pressure held: not a burst
    after = [booster(i, 40.0, 6.5) for i in range(600, 800)]  # a quiet hour: the usual low current
    alarms = feed(engine, normal) + feed(engine, surge) + feed(engine, after)
    assert "pump_failure" not in _raised(alarms)


def _day_of_demand(device: str, start: int, n: int, static: float = 400.0, loss: float = 150.0) -> list:
    """A supply whose pressure falls with the square of its flow: 20-100 L/min, `loss` kPa lost at 100."""
    out = []
    for i in range(start, start + n):
        q = 20.0 + 80.0 * ((i // 10) % 9) / 8
        out.append(water(device, i, flow_lpm=q, pressure_kpa=static - loss * (q / 100.0) ** 2 + (i % 5)))
    return out


def test_a_supply_at_sixty_percent_of_its_usual_pressure_at_ordinary_flow_is_an_outage() -> None:
    """Taps at 60 % pressure run weak upstairs; half the usual was too late a line for a supply that only weakens."""
    engine = DetectorEngine()
    normal = _day_of_demand("w1", 0, 600)
    weak = [water("w1", i, flow_lpm=40.0 + (i % 3), pressure_kpa=0.6 * (400.0 - 150.0 * 0.16)) for i in range(600, 660)]
    alarms = feed(engine, normal) + feed(engine, weak)
    raised = [a for a in alarms if a.state is AlarmState.RAISED]
    assert [a.fault for a in raised] == ["supply_outage"]
    assert raised[0].ts.timestamp() - weak[0].ts.timestamp() <= 15
    assert "L/min" in raised[0].evidence.summary  # says at what flow that pressure was expected


def test_a_busier_peak_than_any_learnt_loses_the_pressure_its_flow_costs_and_is_not_an_outage() -> None:
    """At 120 L/min this supply keeps only 46 % of its static head — what its own curve says that flow costs."""
    engine = DetectorEngine()
    alarms = feed(engine, _day_of_demand("w1", 0, 900))
    peak = [water("w1", i, flow_lpm=120.0 + (i % 4), pressure_kpa=400.0 - 150.0 * ((120.0 + (i % 4)) / 100.0) ** 2)
            for i in range(900, 1200)]
    alarms += feed(engine, peak)
    assert _raised(alarms) == []


def test_a_supply_failing_over_half_an_hour_is_caught_a_third_of_the_way_down() -> None:
    engine = DetectorEngine()
    alarms = feed(engine, _day_of_demand("w1", 0, 600))
    ramp = []
    for k in range(1800):  # 30 min from the usual ~376 kPa at 40 L/min down to 10 kPa, flow falling with it
        share = k / 1800
        ramp.append(water("w1", 600 + k, flow_lpm=40.0 * (1 - share) + 1.0, pressure_kpa=376.0 - 366.0 * share))
    alarms += feed(engine, ramp)
    raised = [a for a in alarms if a.state is AlarmState.RAISED]
    assert [a.fault for a in raised][:1] == ["supply_outage"]
    gone = (raised[0].ts.timestamp() - ramp[0].ts.timestamp()) / 1800
    assert gone < 0.4  # at 0.5x the usual pressure it would be past half the ramp


def test_a_booster_pump_stopped_part_way_is_a_pump_failure() -> None:
    """The pump stopped and its pressure vessel cannot hold: 62 % of the running pressure, far above street level."""
    engine = DetectorEngine()
    running = [water("b1", i, pressure_kpa=500.0 + (i % 7), pump_on=1.0) for i in range(120)]
    idle = [water("b1", i, pressure_kpa=450.0 + (i % 7), pump_on=0.0) for i in range(120, 200)]  # its vessel holds
    stopped = [water("b1", i, pressure_kpa=310.0 + (i % 7), pump_on=0.0) for i in range(200, 300)]
    alarms = feed(engine, running)
    assert _raised(feed(engine, idle)) == []
    assert _raised(alarms + feed(engine, stopped)) == ["pump_failure"]


def test_a_supply_failing_over_half_an_hour_is_warned_of_a_tenth_of_the_way_down() -> None:
    """Before any reading is weak, the slide itself: the pressure falls under its curve reading after reading, further
    than this supply's own noise ever takes it (`hydraulics.Slide`)."""
    engine = DetectorEngine()
    alarms = feed(engine, _day_of_demand("w1", 0, 600))
    ramp = [water("w1", 600 + k, flow_lpm=40.0 * (1 - k / 1800) + 1.0, pressure_kpa=376.0 - 366.0 * k / 1800)
            for k in range(1800)]
    alarms += feed(engine, ramp)
    raised = [a for a in alarms if a.state is AlarmState.RAISED]
    assert [a.fault for a in raised][:1] == ["supply_outage"]
    assert "gradually" in raised[0].evidence.summary
    k = round(raised[0].ts.timestamp() - ramp[0].ts.timestamp())
    assert ramp[k].values["pressure_kpa"] > 0.8 * 376.0  # the weak-taps line is 0.7 of the usual


def test_a_noisy_supply_through_days_of_demand_and_a_booster_idling_on_its_vessel_raise_nothing() -> None:
    """Noise of 2 % on the pressure, flow jitter, demand cycling all day; a booster whose pump runs 90 s in every 6 min
    at low demand, its vessel holding 85-89 % of the running pressure. None of it is a slide."""
    rng = random.Random(7)
    engine = DetectorEngine()
    supply, booster = [], []
    for i in range(0, 3 * 86400, 30):  # three days, a reading every 30 s
        q = 20.0 + 80.0 * abs(math.sin(math.pi * i / 86400 * 3)) * rng.uniform(0.9, 1.1)
        supply.append(water("w1", i, flow_lpm=q, pressure_kpa=(400.0 - 150.0 * (q / 100.0) ** 2) * rng.gauss(1, 0.02)))
        running = q > 40.0 or i % 360 < 90
        booster.append(water("b1", i, flow_lpm=q, pump_on=float(running),
                             pressure_kpa=(530.0 - 60.0 * (q / 120.0) ** 2 if running else rng.uniform(450, 470))
                             + rng.gauss(0, 3)))
    assert _raised(feed(engine, supply)) == []
    assert _raised(feed(engine, booster)) == []


def test_a_dip_of_under_a_minute_from_a_meter_reporting_every_second_is_not_a_failing_supply() -> None:
    """A changeover upstream takes an eighth off the pressure for 50 s: 50 readings far under the curve, but over in
    less than the slide's minute."""
    engine = DetectorEngine()
    alarms = feed(engine, _day_of_demand("w1", 0, 900))
    dip = [water("w1", i, flow_lpm=40.0 + (i % 3), pressure_kpa=0.875 * 376.0 + (i % 4)) for i in range(900, 950)]
    alarms += feed(engine, dip) + feed(engine, _day_of_demand("w1", 950, 300))
    assert _raised(alarms) == []
    longer = [water("w1", i, flow_lpm=40.0 + (i % 3), pressure_kpa=0.875 * 376.0 + (i % 4)) for i in range(1250, 1400)]
    assert _raised(feed(engine, longer)) == ["supply_outage"]  # the same sag that stays is one


def test_a_supply_first_seen_at_night_learns_its_day_and_its_mornings_are_not_bursts() -> None:
    """Switched on (or its detector state relearnt after an upgrade) at midnight: six hours of night flow, then the
    morning. Frozen at the night's usual flow, every morning peak would be "far above the usual" and, on a supply that
    loses 40 % of its pressure at peak flow, "sagging": a burst, every morning."""
    engine = DetectorEngine()
    readings = []
    for i in range(0, 2 * 86400, 30):  # two days from midnight, a reading every 30 s
        hour = (i % 86400) / 3600
        q = 8.0 + 92.0 * max(0.0, math.sin(math.pi * (hour - 5.0) / 18.0)) + (i // 30) % 3
        readings.append(water("w1", i, flow_lpm=q, pressure_kpa=400.0 - 150.0 * (q / 100.0) ** 2 + (i // 30) % 4))
    assert _raised(feed(engine, readings)) == []
