"""The threshold-only baseline is a competent fixed-limit rule set: a booster that stops is caught by its pressure
and a burst by its flow, without any learned baseline."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.anticipation import fixed_limits
from ingest.reading import DeviceKind, Reading

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _water(device: str, **values: float) -> Reading:
    return Reading(device, DeviceKind.WATER, T, 1, values)


def test_a_stopped_booster_is_below_its_fixed_pressure_floor():
    stopped = {o.fault: o.active for o in fixed_limits(_water("rs-b1-water-high", pressure_kpa=120.0, pump_on=0.0,
                                                              flow_lpm=40.0))}
    running = {o.fault: o.active for o in fixed_limits(_water("rs-b1-water-high", pressure_kpa=505.0, pump_on=1.0,
                                                              flow_lpm=90.0))}
    assert stopped == {"pump_failure": True, "pipe_burst": False}
    assert running == {"pump_failure": False, "pipe_burst": False}


def test_a_burst_is_above_the_zones_fixed_flow_limit_and_other_devices_get_nothing():
    burst = {o.fault: o.active for o in fixed_limits(_water("rs-b1-water-low", pressure_kpa=150.0, flow_lpm=600.0))}
    assert burst == {"pipe_burst": True}  # a street-pressure zone has no pump to fail
    lift = Reading("rs-b1-elev-a", DeviceKind.ELEVATOR, T, 1, {"pressure_kpa": 1.0, "flow_lpm": 9999.0})
    assert fixed_limits(lift) == []
