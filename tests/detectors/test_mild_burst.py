"""A burst too small to sag the pressure to three quarters of its usual still comes at once: flow and pressure jump
together and stay. Demand that climbs over an hour, a pump changeover and a large draw with the pressure held are
not bursts."""

from __future__ import annotations

from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from tests.detectors.test_engine import feed, water


def _raised(alarms) -> list[str]:
    return [a.fault for a in alarms if a.state is AlarmState.RAISED]


def _night(device: str, start: int, n: int) -> list:
    return [water(device, i, flow_lpm=8.0 + (i % 3), pressure_kpa=330.0 + (i % 4)) for i in range(start, start + n)]


def test_a_mild_burst_at_night_is_a_burst_a_minute_after_it_starts() -> None:
    engine = DetectorEngine()
    alarms = feed(engine, _night("w1", 0, 600))
    burst = [water("w1", i, flow_lpm=60.0 + (i % 5), pressure_kpa=280.0 + (i % 4)) for i in range(600, 900)]
    alarms += feed(engine, burst)
    raised = [a for a in alarms if a.state is AlarmState.RAISED]
    assert [a.fault for a in raised] == ["pipe_burst"]
    assert 60 <= raised[0].ts.timestamp() - burst[0].ts.timestamp() <= 75
    assert "at once" in raised[0].evidence.summary
    back = feed(engine, _night("w1", 900, 200))
    assert [a.state for a in back if a.fault == "pipe_burst"] == [AlarmState.CLEARED]


def test_a_burst_that_lasts_seconds_is_not_one() -> None:
    engine = DetectorEngine()
    alarms = feed(engine, _night("w1", 0, 600))
    alarms += feed(engine, [water("w1", i, flow_lpm=60.0, pressure_kpa=280.0) for i in range(600, 640)])
    alarms += feed(engine, _night("w1", 640, 300))
    assert _raised(alarms) == []


def test_demand_climbing_sevenfold_over_an_hour_is_not_a_burst() -> None:
    engine = DetectorEngine()
    alarms = feed(engine, _night("w1", 0, 600))
    ramp = []
    for k in range(3600):
        q = 9.0 + 55.0 * k / 3600
        ramp.append(water("w1", 600 + k, flow_lpm=q + (k % 3), pressure_kpa=332.0 - 50.0 * (q / 64.0) ** 2 + (k % 4)))
    alarms += feed(engine, ramp)
    assert _raised(alarms) == []


def test_a_pump_changeover_or_a_large_draw_with_the_pressure_held_is_not_a_burst() -> None:
    engine = DetectorEngine()
    alarms = feed(engine, _night("w1", 0, 600))
    pump = [water("w1", i, flow_lpm=9.0 + (i % 3), pressure_kpa=285.0 + (i % 4)) for i in range(600, 900)]
    draw = [water("w1", i, flow_lpm=60.0 + (i % 3), pressure_kpa=328.0 + (i % 4)) for i in range(1200, 1500)]
    alarms += feed(engine, pump)  # the pressure alone
    alarms += feed(engine, _night("w1", 900, 300))
    alarms += feed(engine, draw)  # the flow alone
    assert _raised(alarms) == []
