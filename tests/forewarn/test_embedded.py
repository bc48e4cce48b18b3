"""The embedded servers as a developer meets them: real PostgreSQL and real brokers on free loopback ports."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest

from forewarn.embedded import EmbeddedBroker, EmbeddedPostgres, EmbeddedServerError, free_port, port_is_free

IMPLEMENTATIONS = ["mosquitto", "amqtt"]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port that something else is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def embedded_broker(data_dir: Path, implementation: str, port: int | None = None) -> EmbeddedBroker:
    if implementation == "mosquitto" and not shutil.which("mosquitto"):
        pytest.fail("mosquitto is not installed: apt-get install -y mosquitto (scripts/test.sh does)")
    return EmbeddedBroker(data_dir, port or free_port(), implementation=implementation)


class Subscriber:
    """A paho client subscribed at QoS 1 to `topic` (in on_connect, so it comes back after a reconnect)."""

    def __init__(self, port: int, topic: str, *, client_id: str = "", persistent: bool = False) -> None:
        self.port = port
        self.payloads: list[bytes] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=not persistent, protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = lambda _client, _data, message: self.payloads.append(message.payload)

    def __enter__(self) -> Subscriber:
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        assert self.subscribed.wait(10), "no SUBACK within 10 s"
        return self

    def __exit__(self, *_: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(set(self.payloads)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return sorted(set(self.payloads))


def publish_qos1(port: int, topic: str, payloads: list[bytes]) -> None:
    """Publish each payload at QoS 1 and wait for the broker's PUBACK."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        for info in [client.publish(topic, payload, qos=1) for payload in payloads]:
            info.wait_for_publish(10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


# -- PostgreSQL -------------------------------------------------------------------------------------------


def test_postgres_keeps_its_rows_between_runs(tmp_path):
    # Auto-detect TimescaleDB as `forewarn run` does, except in the plain run.
    timescale = False if os.environ.get("FOREWARN_TEST_DB_MODE") == "plain" else None
    server = EmbeddedPostgres(tmp_path / "pg", free_port(), timescale=timescale, durable=False)
    url = server.start()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('written before the restart')")
        server.stop()
        assert port_is_free(server.port)
        server.stop()  # a second stop (Ctrl-C during shutdown) is harmless
        assert server.start() == url
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("written before the restart",)]
    finally:
        server.stop()
    assert port_is_free(server.port)


def test_postgres_on_a_port_in_use_says_which_port(tmp_path, busy_port):
    server = EmbeddedPostgres(tmp_path / "pg", busy_port, timescale=False, durable=False)
    with pytest.raises(EmbeddedServerError, match=f"port {busy_port} is in use.*FOREWARN_EMBEDDED_DB_PORT"):
        server.start()


# -- MQTT broker ------------------------------------------------------------------------------------------


def test_broker_is_mosquitto_when_it_is_installed(tmp_path):
    assert shutil.which("mosquitto"), "mosquitto is not installed: apt-get install -y mosquitto"
    assert EmbeddedBroker(tmp_path, free_port()).implementation == "mosquitto"


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_broker_on_a_port_in_use_says_which_port(tmp_path, busy_port, implementation):
    broker = embedded_broker(tmp_path, implementation, busy_port)
    with pytest.raises(EmbeddedServerError, match=f"port {busy_port} is in use.*FOREWARN_EMBEDDED_MQTT_PORT"):
        broker.start()


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_broker_delivers_qos1_and_stops_cleanly(tmp_path, implementation):
    broker = embedded_broker(tmp_path / "broker", implementation)
    assert broker.start() == f"mqtt://127.0.0.1:{broker.port}"
    topic = f"test/{uuid.uuid4().hex}/reading"
    sent = [f"reading {n}".encode() for n in range(20)]
    try:
        with Subscriber(broker.port, topic) as subscriber:
            publish_qos1(broker.port, topic, sent)
            assert subscriber.wait_for(len(sent)) == sorted(sent)
    finally:
        began = time.monotonic()
        broker.stop()
    assert time.monotonic() - began < 5, "stop() should not hang"
    assert port_is_free(broker.port)
    # Stopped means stopped: a new broker can take the same port straight away.
    again = embedded_broker(tmp_path / "broker", implementation, broker.port)
    again.start()
    again.stop()


def test_mosquitto_keeps_queued_messages_across_a_restart(tmp_path):
    """Data persists between runs: QoS 1 messages waiting for a persistent session survive a broker restart."""
    broker = embedded_broker(tmp_path / "broker", "mosquitto")
    broker.start()
    topic = f"test/{uuid.uuid4().hex}/reading"
    client_id = f"consumer-{uuid.uuid4().hex[:8]}"
    sent = [f"queued {n}".encode() for n in range(10)]
    try:
        with Subscriber(broker.port, topic, client_id=client_id, persistent=True):
            pass  # the broker now holds a session with a QoS 1 subscription for this client id
        publish_qos1(broker.port, topic, sent)
        broker.stop()
        broker.start()
        with Subscriber(broker.port, topic, client_id=client_id, persistent=True) as subscriber:
            assert subscriber.wait_for(len(sent)) == sorted(sent)
    finally:
        broker.stop()
