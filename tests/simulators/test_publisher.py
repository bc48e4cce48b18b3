"""The simulators' publisher against the real broker: every QoS 1 message acknowledged, packet ids reused safely."""

from __future__ import annotations

import pytest

from simulators.publisher import Publisher, PublisherError, parse_broker_url


def test_more_messages_than_packet_ids_are_all_acknowledged(mosquitto, subscribe):
    sub = subscribe("bench/last")
    total = 66_000  # past the 65,535 packet ids, with a window small enough to force reuse many times over
    with Publisher("127.0.0.1", mosquitto.port, client_id="pub-wrap", window=50) as publisher:
        for i in range(total - 1):
            publisher.publish(f"bench/{i % 7}", b"x" * (i % 300), qos=1)
        publisher.publish("bench/last", b"done", qos=1, retain=False)
        publisher.drain(timeout_s=30)
        assert publisher.acked == publisher.published == total
        assert publisher.unacknowledged == 0
    [last] = sub.wait_for(1, timeout=10)
    assert last.payload == b"done" and last.qos == 1


def test_large_payloads_and_qos_0(mosquitto, subscribe):
    sub = subscribe("big/#")
    with Publisher("127.0.0.1", mosquitto.port, client_id="pub-big") as publisher:
        publisher.publish("big/a", b"a" * 20_000, qos=1)  # a three-byte remaining length
        publisher.publish("big/b", b"b" * 100, qos=0)
        publisher.drain()
    received = {m.topic: m.payload for m in sub.wait_for(2, timeout=10)}
    assert received == {"big/a": b"a" * 20_000, "big/b": b"b" * 100}


@pytest.mark.parametrize(("url", "expected"), [
    ("mqtt://127.0.0.1:1884", ("127.0.0.1", 1884, False)),
    ("mqtts://broker.example", ("broker.example", 8883, True)),
    ("localhost", ("localhost", 1883, False)),
])
def test_broker_urls(url, expected):
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize("url", ["http://x:1883", "mqtt://:1883", "mqtt://host:99999"])
def test_bad_broker_urls_say_how_to_fix_them(url):
    with pytest.raises(ValueError, match="mqtt"):
        parse_broker_url(url)


def test_publishing_without_a_connection_is_an_error():
    with pytest.raises(PublisherError, match="not connected"):
        Publisher("127.0.0.1", 1, client_id="x").publish("a", b"b")
