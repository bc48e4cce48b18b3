"""Property-based fuzzing of the decoder: no exception escapes, and every input is a valid reading, a presence
change, or a rejection with a reason — whatever a device (or an attacker) sends; a reading kept without some of
its values carries a dead letter for them."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.contract import EVENTS, MAX_PAYLOAD_BYTES, METRICS, SPEC_BY_NAME, topic_for
from ingest.decode import PartialReading, PresenceChange, Rejection, decode
from ingest.reading import Channel, DeviceKind, Reading

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
KNOWN = {"lift-1": DeviceKind.ELEVATOR, "door-1": DeviceKind.ACCESS_DOOR, "water-1": DeviceKind.WATER}
REASONS = {"bad_topic", "unknown_device", "wrong_kind", "too_large", "bad_json", "bad_version", "bad_timestamp",
           "clock_skew", "bad_sequence", "bad_status", "unknown_event", "bad_type", "unknown_metric",
           "out_of_range", "empty", "undecodable"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
known_topics = st.builds(lambda d, c: topic_for("site", KNOWN[d], d, c), st.sampled_from(sorted(KNOWN)),
                         st.sampled_from(Channel))
# Mostly registered devices, so that payload validation gets most of the examples.
topics = st.integers(0, 9).flatmap(lambda i: known_topics if i < 7 else st.one_of(
    st.builds(lambda d, k, c: topic_for("site", k, d, c), st.text(max_size=10), st.sampled_from(DeviceKind),
              st.sampled_from(Channel)),
    st.text(max_size=60),
))
valid_ts = st.builds(lambda s: (NOW - timedelta(seconds=s)).isoformat(), st.floats(0, 8e4))
timestamps = st.integers(0, 3).flatmap(lambda i: valid_ts if i < 3 else st.one_of(
    st.builds(lambda s: (NOW + timedelta(seconds=s)).isoformat(), st.floats(-2e5, 2e5, allow_nan=False)),
    st.text(max_size=30), st.integers(), st.none(),
))


@st.composite
def contract_like(draw, kind: DeviceKind | None = None) -> bytes:
    """Payloads near the contract: the right shape with arbitrary, often wrong, contents."""
    kind = kind or draw(st.sampled_from(DeviceKind))
    names = [s.name for s in METRICS[kind]] + ["bogus"]
    values = st.one_of(st.booleans(), st.integers(-10, 200), st.floats(-1e4, 1e4), json_values)
    data = draw(st.dictionaries(st.sampled_from(names), values, max_size=6))
    version = draw(st.integers(0, 9).map(lambda i: 1 if i < 8 else [2, "1"][i % 2]))
    body = {"v": version, "ts": draw(timestamps),
            "seq": draw(st.one_of(st.integers(0, 2**20), st.integers(-5, 2**64), st.booleans(), st.text(max_size=3))),
            "data": data}
    if draw(st.booleans()):
        body["event"] = draw(st.sampled_from([*EVENTS[kind], "boom", 3]))
    if draw(st.booleans()):
        body["state"] = draw(st.sampled_from(["online", "offline", "maybe", 1]))
    try:
        text = json.dumps(body, allow_nan=True)
    except ValueError:
        text = "{}"
    return text.encode()


payloads = st.integers(0, 9).flatmap(lambda i: contract_like() if i < 6 else st.one_of(st.binary(max_size=300),
                     st.builds(lambda v: json.dumps(v).encode(), json_values),
                     st.just(b"[" * 100_000), st.just(b"{" * (MAX_PAYLOAD_BYTES + 10))))


def check(topic: str, payload: bytes) -> None:
    result = decode(topic, payload, now=NOW, known_devices=KNOWN)
    assert isinstance(result, Reading | PartialReading | PresenceChange | Rejection)
    if isinstance(result, PartialReading):  # the kept part is checked as any reading below
        dropped = result.dropped
        assert dropped.reason in {"out_of_range", "bad_type", "unknown_metric"} and dropped.payload == payload
        assert dropped.topic == topic and dropped.device_id == result.reading.device_id
        data = json.loads(payload)["data"]
        assert dropped.detail.startswith(f"kept {len(result.reading.values)} of {len(data)} values")
        assert len(result.reading.values) < len(data)
        result = result.reading
    if isinstance(result, Rejection):
        assert result.reason in REASONS and result.detail and result.payload == payload and result.topic == topic
        return
    assert KNOWN[result.device_id] is result.kind
    assert result.ts <= NOW + timedelta(minutes=5)
    if isinstance(result, Reading):  # a last will may be old; readings may not
        assert result.ts >= NOW - timedelta(days=1)
        assert 0 <= result.seq < 2**63
        assert result.values or result.event in EVENTS[result.kind]
        for name, value in result.values.items():
            spec = SPEC_BY_NAME[result.kind][name]
            assert math.isfinite(value) and spec.minimum <= value <= spec.maximum


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topics, payloads)
def test_any_message_decodes_to_a_reading_or_a_rejection(topic, payload):
    check(topic, payload)


@settings(max_examples=700, deadline=None)
@given(st.sampled_from(sorted(KNOWN)), st.sampled_from(Channel), st.data())
def test_messages_near_the_contract_decode_to_a_valid_reading_or_a_rejection(device, channel, data):
    kind = KNOWN[device]
    check(topic_for("site", kind, device, channel), data.draw(contract_like(kind)))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(KNOWN)), st.integers(0, 2**63 - 1), st.data())
def test_a_valid_message_round_trips_exactly(device, seq, data):
    kind = KNOWN[device]
    values = {}
    for spec in METRICS[kind]:
        if data.draw(st.booleans()):
            if spec.boolean:
                values[spec.name] = data.draw(st.booleans())
            elif spec.integer:
                values[spec.name] = data.draw(st.integers(int(spec.minimum), int(spec.maximum)))
            else:
                values[spec.name] = data.draw(st.floats(spec.minimum, spec.maximum))
    if not values:
        values[METRICS[kind][0].name] = True if METRICS[kind][0].boolean else 0
    ts = NOW - timedelta(seconds=data.draw(st.integers(0, 3600)))
    payload = json.dumps({"v": 1, "ts": ts.isoformat(), "seq": seq, "data": values}).encode()
    result = decode(topic_for("site", kind, device, Channel.TELEMETRY), payload, now=NOW, known_devices=KNOWN)
    assert isinstance(result, Reading), result
    assert (result.device_id, result.ts, result.seq) == (device, ts, seq)
    assert dict(result.values) == {k: float(v) for k, v in values.items()}
