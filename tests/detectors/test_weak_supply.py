"""A supply that fails part-way — taps running weak, far above the outage floor — is an outage to residents: caught
at half the device's usual pressure, while a demand peak's sag and a stopped booster pump (its own fault) are not."""

from __future__ import annotations

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
