"""Turn one MQTT message into a `Reading`, a presence change, or a `Rejection` that says exactly what was wrong.

Decoding never raises for bad input: every message becomes exactly one of the four results, so a bad device can
never stop the stream. Validation follows `ingest.contract` (version 1).

The rule for bad values lives here (`_values`, `decode`): a metric of a telemetry or event message that is unknown,
of the wrong type or out of range is dropped, and the message's other values and its event are kept — a
`PartialReading`, whose `dropped` is the dead letter naming every dropped value. Only when nothing valid is left
(no value and no event) is the message rejected whole. Problems of the whole message (topic, JSON, version,
timestamp, sequence, event name, size, `data` not an object) always reject it whole.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.contract import (
    CONTRACT_VERSION,
    EVENTS,
    MAX_FUTURE_SECONDS,
    MAX_PAST_SECONDS,
    MAX_PAYLOAD_BYTES,
    SPEC_BY_NAME,
    TOPIC_ROOT,
    MetricSpec,
)
from ingest.reading import Channel, DeviceKind, Reading

_ROOT_PARTS = TOPIC_ROOT.split("/")
# A dead letter's detail names at most this many bad values (the payload, kept beside it, has them all).
_NAMED_AT_MOST = 10


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message that failed validation: what to record in the dead-letter table."""

    topic: str
    reason: str  # a short machine-readable code, e.g. "bad_json", "out_of_range"
    detail: str  # a sentence an operator understands
    payload: bytes
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """A status message: the device says (or its last will says) it is online or offline."""

    device_id: str
    site_id: str
    kind: DeviceKind
    online: bool
    ts: datetime
    # why: "status" (the device's status message or last will), "heartbeat" (ingest heard nothing for too
    # long) or "telemetry" (a device believed offline sent data again)
    reason: str = "status"


@dataclass(frozen=True, slots=True)
class PartialReading:
    """A telemetry or event message stored without the values that broke the contract.

    `reading` holds the values that were valid and the event (it is stored and reaches the detectors like any
    other); `dropped` is the dead letter for the rest, its reason that of the first dropped value (`out_of_range`,
    `bad_type` or `unknown_metric`) and its detail naming every dropped metric with its value."""

    reading: Reading
    dropped: Rejection


Decoded = Reading | PartialReading | PresenceChange | Rejection


class _Bad(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_topic(topic: str) -> tuple[str, DeviceKind, str, Channel]:
    """Split a v1 topic into (site, kind, device, channel); raises `ValueError` naming the bad part."""
    parts = topic.split("/")
    if len(parts) != len(_ROOT_PARTS) + 4 or parts[: len(_ROOT_PARTS)] != _ROOT_PARTS:
        raise ValueError(f"topic {topic!r} is not {TOPIC_ROOT}/<site>/<kind>/<device>/<channel>")
    site, kind, device, channel = parts[len(_ROOT_PARTS):]
    try:
        return site, DeviceKind(kind), device, Channel(channel)
    except ValueError as exc:
        raise ValueError(f"topic {topic!r}: {exc}") from None


def decode(
    topic: str,
    payload: bytes,
    *,
    now: datetime,
    known_devices: dict[str, DeviceKind] | None = None,
    known_sites: dict[str, str] | None = None,
    max_past_s: float = MAX_PAST_SECONDS,
    max_future_s: float = MAX_FUTURE_SECONDS,
) -> Decoded:
    """Decode one message. `now` bounds the timestamp (no more than `max_past_s` behind it nor `max_future_s`
    ahead; accelerated simulations relax these); `known_devices` (id → kind) rejects strangers, and `known_sites`
    (id → site) a device publishing under another site's topic."""
    device_id: str | None = None
    try:
        try:
            site, kind, device_id, channel = parse_topic(topic)
        except ValueError as exc:
            raise _Bad("bad_topic", str(exc)) from None
        if known_devices is not None:
            registered = known_devices.get(device_id)
            if registered is None:
                raise _Bad("unknown_device", f"device {device_id!r} is not in the estate registry")
            if registered != kind:
                raise _Bad("wrong_kind", f"device {device_id!r} is a {registered}, not a {kind}")
        if known_sites is not None:
            home = known_sites.get(device_id)
            if home is not None and home != site:
                raise _Bad("wrong_site", f"device {device_id!r} belongs to site {home!r}, not {site[:40]!r}")
        body = _parse_json(payload)
        # A last will is composed when the device connects and sent by the broker whenever the device drops, so a
        # status message may be days old: only telemetry and events are held to the past limit.
        ts = _timestamp(body, now, None if channel is Channel.STATUS else max_past_s, max_future_s)
        if channel is Channel.STATUS:
            return PresenceChange(device_id, site, kind, _state(body), ts)
        seq = _sequence(body)
        values, bad = _values(kind, body.get("data"))
        event = _event(kind, body) if channel is Channel.EVENT else None
        if not values and event is None:
            if bad:  # nothing understood: the whole message is the dead letter, as for any other problem
                raise _Bad(bad[0].reason, _named(bad))
            raise _Bad("empty", "telemetry carries no measurements in 'data'")
        reading = Reading(device_id, kind, ts, seq, values, event, site)
        if not bad:
            return reading
        return PartialReading(reading, Rejection(topic, bad[0].reason, _partial_detail(reading, bad), payload,
                                                 device_id))
    except _Bad as bad:
        return Rejection(topic, bad.reason, bad.detail, payload, device_id)
    except Exception as exc:  # noqa: BLE001 - the promise is "never raises"; a gap here must not stop the stream
        return Rejection(topic, "undecodable", f"payload could not be decoded: {type(exc).__name__}", payload,
                         device_id)


def _parse_json(payload: bytes) -> dict[str, object]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise _Bad("too_large", f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Bad("bad_json", f"payload is not JSON: {exc}") from None
    except RecursionError:  # "[[[[…" nested deeper than the interpreter's stack
        raise _Bad("bad_json", "payload is nested too deeply") from None
    if not isinstance(body, dict):
        raise _Bad("bad_json", "payload must be a JSON object")
    version = body.get("v")
    # JSON true and 1.0 compare equal to 1 in Python: the contract's version is the integer 1, nothing else.
    if isinstance(version, bool) or not isinstance(version, int) or version != CONTRACT_VERSION:
        raise _Bad("bad_version", f"contract version {version!r} is not supported (expected {CONTRACT_VERSION})")
    return body


def _timestamp(body: dict[str, object], now: datetime, max_past_s: float | None, max_future_s: float) -> datetime:
    raw = body.get("ts")
    if not isinstance(raw, str):
        raise _Bad("bad_timestamp", "'ts' must be an RFC 3339 string with an offset")
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        raise _Bad("bad_timestamp", f"'ts' {raw[:40]!r} is not RFC 3339") from None
    if ts.tzinfo is None:
        raise _Bad("bad_timestamp", f"'ts' {raw[:40]!r} has no UTC offset")
    if ts > now + timedelta(seconds=max_future_s):
        raise _Bad("clock_skew", f"'ts' {raw[:40]} is more than {max_future_s:g} s in the future")
    if max_past_s is not None and ts < now - timedelta(seconds=max_past_s):
        raise _Bad("clock_skew", f"'ts' {raw[:40]} is more than {max_past_s:g} s in the past")
    return ts


def _sequence(body: dict[str, object]) -> int:
    seq = body.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63:
        raise _Bad("bad_sequence", "'seq' must be a non-negative integer")
    return seq


def _state(body: dict[str, object]) -> bool:
    state = body.get("state")
    if state not in ("online", "offline"):
        raise _Bad("bad_status", "'state' must be 'online' or 'offline'")
    return state == "online"


def _event(kind: DeviceKind, body: dict[str, object]) -> str:
    event = body.get("event")
    if not isinstance(event, str) or event not in EVENTS[kind]:
        raise _Bad("unknown_event", f"'event' {str(event)[:40]!r} is not one of {', '.join(EVENTS[kind])}")
    return event


def _partial_detail(reading: Reading, bad: list[_Bad]) -> str:
    """What an operator reads for a partly kept message: what was kept, then each dropped value and why."""
    kept = f"kept {len(reading.values)} of {len(reading.values) + len(bad)} values"
    if reading.event is not None:
        kept += f" and the {reading.event} event"
    return f"{kept}; dropped: {_named(bad)}"


def _named(bad: list[_Bad]) -> str:
    """Each bad value's sentence, the first `_NAMED_AT_MOST` of them: a payload of 4 KB can hold hundreds."""
    named = "; ".join(b.detail for b in bad[:_NAMED_AT_MOST])
    return named if len(bad) <= _NAMED_AT_MOST else f"{named}; and {len(bad) - _NAMED_AT_MOST} more"


def _values(kind: DeviceKind, data: object) -> tuple[dict[str, float], list[_Bad]]:
    """The valid values of `data`, and what is wrong with each of the others (in the message's order)."""
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        raise _Bad("bad_type", "'data' must be a JSON object of metric: number")
    specs = SPEC_BY_NAME[kind]
    values: dict[str, float] = {}
    bad: list[_Bad] = []
    for name, raw in data.items():
        try:
            values[name] = _value(kind, specs, name, raw)
        except _Bad as problem:
            bad.append(problem)
    return values, bad


def _value(kind: DeviceKind, specs: dict[str, MetricSpec], name: str, raw: object) -> float:
    """One metric's value as a float (booleans 0.0/1.0); raises `_Bad` naming the metric and the value sent."""
    spec = specs.get(name)
    if spec is None:
        raise _Bad("unknown_metric", f"{kind} has no metric {str(name)[:40]!r} (sent {str(raw)[:40]!r})")
    if spec.boolean:
        if not isinstance(raw, bool):
            raise _Bad("bad_type", f"{name} must be true or false, got {str(raw)[:40]!r}")
        return 1.0 if raw else 0.0
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _Bad("bad_type", f"{name} must be a number in {spec.unit}, got {str(raw)[:40]!r}")
    try:
        value = float(raw)
    except OverflowError:  # an integer too large for a float, e.g. 10**400
        value = math.inf
    if spec.integer and math.isfinite(value) and not value.is_integer():
        raise _Bad("bad_type", f"{name} must be a whole number of {spec.unit}, got {str(raw)[:40]!r}")
    if not math.isfinite(value) or not spec.minimum <= value <= spec.maximum:
        raise _Bad("out_of_range",
                   f"{name}={str(raw)[:40]} is outside {spec.minimum:g}..{spec.maximum:g} {spec.unit}")
    return value
