"""Sensor faults: spikes, stuck values and lost telemetry are told apart from equipment behaving normally."""

from __future__ import annotations

import random
from datetime import timedelta

from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from ingest.reading import DeviceKind, Reading
from tests.detectors.test_engine import T0, feed


def booster(t: float, seq: int, pressure: float, rng: random.Random) -> Reading:
    running = (t % 360) < 90  # the pump's idle cycle: 90 s on in every 6 minutes
    values = {"pressure_kpa": pressure if pressure else (525.0 if running else 455.0) + rng.gauss(0, 3),
              "flow_lpm": 20.0 + rng.gauss(0, 1), "pump_on": float(running), "pump_current_a": 9.0 if running else 0.0}
    return Reading("b1", DeviceKind.WATER, T0 + timedelta(seconds=t), seq, values, site_id="s1")


def test_pump_cycling_raises_nothing_but_isolated_spikes_do() -> None:
    rng = random.Random(4)
    engine = DetectorEngine()
    quiet = feed(engine, [booster(5.0 * i, i, 0.0, rng) for i in range(4 * 720)])  # four hours, every 5 s
    assert quiet == []
    spikes = {4 * 720 + k for k in (30, 170, 310, 450)}  # four single-reading spikes within the next hour
    readings = [booster(5.0 * i, i, 1900.0 if i in spikes else 0.0, rng) for i in range(4 * 720, 5 * 720)]
    raised = [a for a in feed(engine, readings) if a.state is AlarmState.RAISED]
    assert [a.fault for a in raised] == ["sensor_spikes"]
    assert "spikes" in raised[0].evidence.summary


def test_lost_telemetry_is_a_dropout_not_silence() -> None:
    engine = DetectorEngine()
    meter = [Reading("w1", DeviceKind.WATER, T0 + timedelta(seconds=5 * i), i,
                     {"pressure_kpa": 320.0 + i % 7, "flow_lpm": 40.0 + i % 5}, site_id="s1") for i in range(720)]
    assert feed(engine, meter) == []
    # nine in ten messages lost for half an hour: one reading a minute
    sparse = [Reading("w1", DeviceKind.WATER, T0 + timedelta(seconds=3600 + 60 * k), 720 + k,
                      {"pressure_kpa": 320.0 + k % 7, "flow_lpm": 40.0 + k % 5}, site_id="s1") for k in range(30)]
    alarms = feed(engine, sparse) + engine.tick(T0 + timedelta(seconds=3600 + 60 * 29 + 30))
    assert [(a.fault, a.state) for a in alarms] == [("sensor_dropout", AlarmState.RAISED)]
    assert "usual 5 s" in alarms[0].evidence.summary


def test_a_frozen_pressure_reading_is_stuck() -> None:
    engine = DetectorEngine()
    meter = [Reading("w1", DeviceKind.WATER, T0 + timedelta(seconds=5 * i), i,
                     {"pressure_kpa": 320.0 + i % 7 if i < 600 else 323.0, "flow_lpm": 40.0 + i % 5}, site_id="s1")
             for i in range(800)]
    raised = [a for a in feed(engine, meter) if a.state is AlarmState.RAISED]
    assert [(a.fault, a.evidence.metric) for a in raised] == [("sensor_stuck", "pressure_kpa")]
    assert raised[0].ts - (T0 + timedelta(seconds=5 * 600)) <= timedelta(minutes=11)


def test_a_device_back_from_an_hour_offline_is_not_a_dropout() -> None:
    engine = DetectorEngine()

    def meter(t: float, seq: int) -> Reading:
        values = {"pressure_kpa": 320.0 + seq % 7, "flow_lpm": 40.0 + seq % 5}
        return Reading("w1", DeviceKind.WATER, T0 + timedelta(seconds=t), seq, values, site_id="s1")

    feed(engine, [meter(5.0 * i, i) for i in range(720)])
    back = feed(engine, [meter(7200.0 + 5.0 * k, 720 + k) for k in range(360)])  # an hour's gap, then normal
    assert [a.fault for a in back if a.state is AlarmState.RAISED] == []


def test_a_battery_gauge_that_stops_moving_for_days_is_stuck_but_its_slow_normal_steps_are_not() -> None:
    """A reader battery loses 0.1 point every ~8 hours. Over three normal days nothing is raised; when the gauge
    freezes (a dead fuel gauge would hide the cell running flat) it is reported after about four of its usual
    steps, not within the first hours."""

    def door(i: int, battery: float) -> Reading:
        values = {"door_open": 0.0, "locked": 1.0, "open_duration_s": 0.0, "battery_pct": battery, "reader_ok": 1.0}
        return Reading("d1", DeviceKind.ACCESS_DOOR, T0 + timedelta(seconds=30 * i), i, values, site_id="s1")

    step = 960  # readings between two 0.1-point steps at one reading every 30 s
    engine = DetectorEngine()
    normal = [door(i, round(80.0 - 0.1 * (i // step), 1)) for i in range(3 * 2880)]  # three days
    assert feed(engine, normal) == []
    frozen_at = len(normal)
    frozen = [door(i, normal[-1].values["battery_pct"]) for i in range(frozen_at, frozen_at + 2 * 2880)]
    raised = [a for a in feed(engine, frozen) if a.state is AlarmState.RAISED]
    assert [(a.fault, a.evidence.metric) for a in raised] == [("sensor_stuck", "battery_pct")]
    waited_h = (raised[0].ts - frozen[0].ts).total_seconds() / 3600
    assert 16 <= waited_h <= 36, waited_h  # after the usual step and the part-run already under way, within ~4
