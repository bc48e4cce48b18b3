"""Helpers for the simulator tests: scenario files written on the fly, and a real subscriber on the test broker."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from simulators.scenario import Scenario, load_scenario


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[str], Path]:
    """Write a scenario file (YAML text) and return its path."""

    def write(text: str, name: str = "test.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def scenario(write_scenario: Callable[[str], Path]) -> Callable[..., Scenario]:
    """A small scenario on the demo estate: building 1 of Riverside, `duration`, optional faults (YAML list)."""

    def make(duration: str = "20m", seed: int = 7, devices: str = "[rs-b1-*]", faults: str = "[]",
             speed: str = "max", extra: str = "") -> Scenario:
        text = (f"name: t\nestate: demo\nseed: {seed}\nspeed: {speed}\nduration: {duration}\n"
                f"devices: {devices}\nfaults: {faults}\n{extra}")
        return load_scenario(write_scenario(text, f"s-{uuid.uuid4().hex[:6]}.yaml"))

    return make


class Subscriber:
    """A paho client on the test broker that records every message of `forewarn/v1/#` it receives."""

    def __init__(self, port: int, topic: str = "forewarn/v1/#") -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}")
        self.client.max_inflight_messages_set(0)

        def on_connect(client: mqtt.Client, *_: object) -> None:
            client.subscribe(topic, qos=1)

        def on_subscribe(*_: object) -> None:
            subscribed.set()

        def on_message(_client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
            with self._changed:
                self.messages.append(message)
                self._changed.notify_all()

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10), "the subscriber did not get its SUBACK within 10 s"

    def wait_for(self, count: int, timeout: float = 30.0, *, retained: bool = False) -> list[mqtt.MQTTMessage]:
        """The messages delivered live (or, with `retained`, the retained copies a late subscriber gets) once
        `count` of them have arrived; fails the test after `timeout` seconds."""

        def chosen() -> list[mqtt.MQTTMessage]:
            return [m for m in self.messages if m.retain is retained]

        with self._changed:
            ok = self._changed.wait_for(lambda: len(chosen()) >= count, timeout)
            assert ok, f"received {len(chosen())} of {count} messages within {timeout} s"
            return chosen()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscribe(mosquitto) -> Iterator[Callable[..., Subscriber]]:  # noqa: ANN001 - the shared fixture's type
    made: list[Subscriber] = []

    def make(topic: str = "forewarn/v1/#") -> Subscriber:
        sub = Subscriber(mosquitto.port, topic)
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.close()
