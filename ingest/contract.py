"""The MQTT contract, version 1: topics, payloads, units and valid ranges — the one source of truth.

`docs/mqtt-contract.md` describes the same contract for people; `tests/simulators/test_contract_doc.py` checks that
the doc's tables and examples agree with the specs below. Topic layout::

    forewarn/v1/{site_id}/{kind}/{device_id}/{channel}      channel: telemetry | event | status

Payloads are JSON objects: ``{"v": 1, "ts": "<RFC 3339 with offset>", "seq": <int>, "data": {...}}`` for
telemetry, with an extra ``"event": "<name>"`` on the event channel, and
``{"v": 1, "ts": ..., "state": "online" | "offline"}`` (retained; ``offline`` is the last will) on status.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.reading import Channel, DeviceKind

CONTRACT_VERSION = 1
TOPIC_ROOT = "forewarn/v1"
# Where the platform pushes notices to residents' apps: {NOTICE_TOPIC_ROOT}/{resident_id} (QoS 1).
NOTICE_TOPIC_ROOT = "forewarn/notices"
# A telemetry message is a few hundred bytes; anything past this is a misbehaving device, not data.
MAX_PAYLOAD_BYTES = 4096
# Clocks drift and messages queue in the broker, but a reading from more than a day ago or more than five
# minutes ahead is a device with a broken clock; it is dead-lettered rather than stored at the wrong time.
MAX_PAST_SECONDS = 24 * 3600
MAX_FUTURE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One measurement a device kind may report, with its unit and the physically valid range."""

    name: str
    unit: str
    minimum: float
    maximum: float
    description: str
    integer: bool = False
    boolean: bool = False


def _m(name: str, unit: str, lo: float, hi: float, text: str, *, integer: bool = False) -> MetricSpec:
    return MetricSpec(name, unit, lo, hi, text, integer=integer)


def _b(name: str, text: str) -> MetricSpec:
    return MetricSpec(name, "bool", 0, 1, text, boolean=True)


METRICS: dict[DeviceKind, tuple[MetricSpec, ...]] = {
    DeviceKind.ELEVATOR: (
        _m("floor", "floor", -5, 120, "floor the car is at or passing", integer=True),
        _m("direction", "-1/0/1", -1, 1, "travel direction: -1 down, 0 idle, 1 up", integer=True),
        _b("moving", "car is travelling"),
        _b("door_open", "car door is open"),
        _m("door_cycle_s", "s", 0, 600, "duration of the last door open-close cycle"),
        _m("vibration_rms", "m/s²", 0, 50, "RMS vibration of the car over the last interval"),
        _m("motor_current_a", "A", 0, 400, "traction motor current"),
        _m("motor_temp_c", "°C", -30, 180, "traction motor winding temperature"),
        _m("levelling_error_mm", "mm", -300, 300, "car sill minus landing sill at the last stop"),
        _b("alarm_button", "the in-car alarm button is pressed"),
        _b("in_service", "the controller reports the car in normal service"),
    ),
    DeviceKind.ACCESS_DOOR: (
        _b("door_open", "door contact reports open"),
        _b("locked", "lock is engaged"),
        _m("open_duration_s", "s", 0, 86400, "how long the door has been open"),
        _m("battery_pct", "%", 0, 100, "battery charge of the reader"),
        _b("reader_ok", "card reader self-test passed"),
        _b("granted", "event swipe: access granted"),
    ),
    DeviceKind.WATER: (
        _m("pressure_kpa", "kPa", 0, 1600, "supply pressure at the sensor"),
        _m("flow_lpm", "L/min", 0, 5000, "flow through the meter"),
        _m("tank_level_pct", "%", 0, 100, "roof or basement tank level"),
        _b("pump_on", "booster pump is running"),
        _m("pump_current_a", "A", 0, 200, "booster pump motor current"),
        _b("leak", "flood sensor is wet"),
    ),
}

EVENTS: dict[DeviceKind, tuple[str, ...]] = {
    DeviceKind.ELEVATOR: ("trip", "door_cycle", "alarm_button", "fault_code"),
    DeviceKind.ACCESS_DOOR: ("swipe", "forced_open", "held_open", "tamper"),
    DeviceKind.WATER: ("pump_start", "pump_stop", "leak_detected"),
}

SPEC_BY_NAME: dict[DeviceKind, dict[str, MetricSpec]] = {
    kind: {spec.name: spec for spec in specs} for kind, specs in METRICS.items()
}


def topic_for(site_id: str, kind: DeviceKind, device_id: str, channel: Channel) -> str:
    """The topic a device publishes `channel` messages on."""
    return f"{TOPIC_ROOT}/{site_id}/{kind.value}/{device_id}/{channel.value}"


def subscription(site_id: str = "+") -> str:
    """The wildcard ingest subscribes to for every device of `site_id` (all sites by default).

    A multi-level `#`, not `+/+/+`: a topic with too few or too many levels must reach ingest to be dead-lettered
    (the contract promises it), not vanish at the broker because no filter matched it."""
    return f"{TOPIC_ROOT}/#" if site_id == "+" else f"{TOPIC_ROOT}/{site_id}/#"
