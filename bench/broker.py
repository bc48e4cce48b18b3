"""The embedded MQTT brokers compared: QoS 1 throughput, and what happens to QoS 1 messages queued for a
persistent session while its subscriber is away (reconnect, and broker restart).

Run: `python -m bench.broker` (about 40 s). Each broker runs on a free loopback port in a temporary directory,
started through `forewarn.embedded.EmbeddedBroker` as `forewarn run` starts it, with the implementation forced.
The extra row "amqtt, named clients" runs amqtt with anonymous access off and clients that send a user name:
amqtt keeps no queue for anonymous sessions, and that row shows what a changed embedded configuration would give.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from forewarn.embedded import EmbeddedBroker, free_port, port_is_free, wait_for_port

HOST = "127.0.0.1"
# Enough messages for a steady rate; amqtt runs about 1,000/s, so it gets fewer to keep the run near a minute.
RATE_MESSAGES = {"mosquitto": 20_000, "amqtt": 5_000, "amqtt, named clients": 5_000}
QUEUED_MESSAGES = 500
# Queued messages arrive right after CONNACK; this long without a new one means no more are coming.
QUIET_SECONDS = 2.0
WAIT_SECONDS = 60.0
USERNAME = "forewarn-bench"
NOTES = """\
QoS 1 msg/s: one paho publisher to one paho subscriber on loopback, MQTT 3.1.1, paho's default window of
  20 in-flight messages; from the first publish to the last message received.
queued: a subscriber (fixed client id, clean_session=False, QoS 1) subscribes and disconnects; {queued} QoS 1
  messages are published and acknowledged; it reconnects and counts distinct messages delivered (waiting until
  {quiet:.0f} s pass without one). 'broker restart': the same with the broker stopped and started in between.
queued marked retained: queued messages arrived with the RETAIN flag set (MQTT says they should not).
MQTT 5 client: a clean_start=False MQTT 5 CONNECT with session expiry and Receive Maximum, as ingest sends,
  answered with a successful CONNACK within 5 s."""


@dataclass(frozen=True, slots=True)
class Outcome:
    broker: str
    rate: float  # QoS 1 messages/s, one publisher to one subscriber
    rate_messages: int
    rate_received: int
    queued: int  # QoS 1 messages published while the persistent subscriber was disconnected
    after_reconnect: int  # of those, delivered when it reconnected
    after_restart: int  # the same, with a broker stop/start in between
    retain_flag_on_queued: bool  # whether queued messages came back marked as retained (they should not)
    mqtt5: bool  # whether an MQTT 5 client (as ingest is: Receive Maximum, session expiry) gets a CONNACK


class Counter:
    """A paho subscriber on `topic/#` at QoS 1 that counts distinct payloads; subscribes in on_connect."""

    def __init__(self, port: int, topic: str, *, client_id: str = "", persistent: bool = False,
                 username: str | None = None) -> None:
        self.port = port
        self.topic = topic
        self.seen: set[bytes] = set()
        self.retained = 0
        self.last_message = time.monotonic()
        self.subscribed = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=not persistent, protocol=mqtt.MQTTv311)
        if username:
            self.client.username_pw_set(username)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, _data: object, _flags: object, reason: ReasonCode, _p: object) -> None:
        if not reason.is_failure:
            client.subscribe(f"{self.topic}/#", qos=1)

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.seen.add(bytes(message.payload))  # typed bytes | bytearray; received as bytes (no copy)
            self.retained += bool(message.retain)
            self.last_message = time.monotonic()

    def connect(self) -> None:
        self.subscribed.clear()
        self.client.connect(HOST, self.port, keepalive=30)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise RuntimeError(f"no SUBACK from the broker on port {self.port} within 10 s")

    def disconnect(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def wait_for(self, count: int, timeout: float = WAIT_SECONDS) -> int:
        """Wait until `count` distinct messages arrived, or none arrived for QUIET_SECONDS; return how many did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                got, idle = len(self.seen), time.monotonic() - self.last_message
            if got >= count or idle > QUIET_SECONDS:
                return got
            time.sleep(0.05)
        return len(self.seen)


def publish(port: int, topic: str, count: int, *, username: str | None = None) -> float:
    """Publish `count` QoS 1 messages and wait for every PUBACK; return when publishing started (monotonic)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if username:
        client.username_pw_set(username)
    client.connect(HOST, port, keepalive=30)
    client.loop_start()
    try:
        started = time.monotonic()
        infos = [client.publish(f"{topic}/reading", str(n).encode(), qos=1) for n in range(count)]
        deadline = time.monotonic() + WAIT_SECONDS
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        return started
    finally:
        client.disconnect()
        client.loop_stop()


def measure_rate(port: int, count: int, username: str | None) -> tuple[float, int]:
    topic = f"bench/rate/{time.monotonic_ns()}"
    counter = Counter(port, topic, username=username)
    counter.connect()
    try:
        started = publish(port, topic, count, username=username)
        received = counter.wait_for(count)
        return received / max(counter.last_message - started, 1e-9), received
    finally:
        counter.disconnect()


def measure_queued(port: int, username: str | None, restart: Callable[[], None] | None) -> tuple[int, int]:
    """(delivered, retained-flagged) of QUEUED_MESSAGES published while a persistent subscriber was away."""
    topic = f"bench/queued/{time.monotonic_ns()}"
    client_id = f"bench-persistent-{time.monotonic_ns()}"
    first = Counter(port, topic, client_id=client_id, persistent=True, username=username)
    first.connect()
    first.disconnect()
    publish(port, topic, QUEUED_MESSAGES, username=username)
    if restart is not None:
        restart()
    again = Counter(port, topic, client_id=client_id, persistent=True, username=username)
    again.connect()
    try:
        return again.wait_for(QUEUED_MESSAGES), again.retained
    finally:
        again.disconnect()


def accepts_mqtt5(port: int, username: str | None, timeout: float = 5.0) -> bool:
    """Whether a persistent MQTT 5 client gets a successful CONNACK within `timeout`."""
    accepted = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-v5-{time.monotonic_ns()}",
                         protocol=mqtt.MQTTv5)
    if username:
        client.username_pw_set(username)
    client.on_connect = lambda _c, _d, _f, reason, _p: None if reason.is_failure else accepted.set()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    properties.ReceiveMaximum = 100
    client.connect(HOST, port, keepalive=30, clean_start=False, properties=properties)
    client.loop_start()
    try:
        return accepted.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()


class NamedClientsAmqtt:
    """amqtt with anonymous access off, so clients that send any user name get real persistent sessions."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{HOST}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}},
        }
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            # Built inside the thread: amqtt creates futures on the current event loop in its constructor.
            asyncio.set_event_loop(loop)
            broker = Broker(config, loop=loop)
            loop.run_until_complete(broker.start())
            loop.run_forever()
            loop.run_until_complete(broker.shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="amqtt-bench", daemon=True)
        self._thread.start()
        if not wait_for_port(self.port, 10):
            raise RuntimeError(f"amqtt did not listen on port {self.port}")

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None


@contextmanager
def running(name: str, data_dir: Path) -> Iterator[tuple[int, Callable[[], None]]]:
    """A started broker: (port, restart)."""
    port = free_port()
    if name == "amqtt, named clients":
        server: EmbeddedBroker | NamedClientsAmqtt = NamedClientsAmqtt(port)
    else:
        server = EmbeddedBroker(data_dir, port, implementation=name)
    server.start()

    def restart() -> None:
        server.stop()
        if not port_is_free(port):
            raise RuntimeError(f"{name} still holds port {port} after stop()")
        server.start()

    try:
        yield port, restart
    finally:
        server.stop()


def bench(name: str, data_dir: Path) -> Outcome:
    username = USERNAME if name == "amqtt, named clients" else None
    with running(name, data_dir) as (port, restart):
        rate, received = measure_rate(port, RATE_MESSAGES[name], username)
        after_reconnect, flagged = measure_queued(port, username, None)
        after_restart, _ = measure_queued(port, username, restart)
        mqtt5 = accepts_mqtt5(port, username)
    return Outcome(name, rate, RATE_MESSAGES[name], received, QUEUED_MESSAGES, after_reconnect, after_restart,
                   flagged > 0, mqtt5)


def table(outcomes: list[Outcome]) -> str:
    header = ("broker", "QoS 1 msg/s", "received/sent", "queued, reconnect", "queued, broker restart",
              "queued marked retained", "MQTT 5 client")
    rows = [header] + [
        (o.broker, f"{o.rate:,.0f}", f"{o.rate_received}/{o.rate_messages}", f"{o.after_reconnect}/{o.queued}",
         f"{o.after_restart}/{o.queued}", "yes" if o.retain_flag_on_queued else "no",
         "accepted" if o.mqtt5 else "no CONNACK")
        for o in outcomes
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main() -> None:
    # amqtt logs an error for every connection that closes before CONNECT (wait_for_port's probe), and its
    # connection handler raises into asyncio when the MQTT 5 probe gives up; the table says what that means.
    for noisy in ("amqtt", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="fw-bench-broker-") as workdir:
        for name in RATE_MESSAGES:
            began = time.monotonic()
            outcomes.append(bench(name, Path(workdir) / name.replace(", ", "-").replace(" ", "-")))
            print(f"{name}: done in {time.monotonic() - began:.1f} s", flush=True)
    print()
    print(table(outcomes))
    print()
    print(NOTES.format(queued=QUEUED_MESSAGES, quiet=QUIET_SECONDS))
    print()
    by_name = {o.broker: o for o in outcomes}
    for name in ("mosquitto", "amqtt"):
        print(f"RESULT {name}_qos1_rate={by_name[name].rate:.0f} msg/s")
    for name in ("mosquitto", "amqtt"):
        o = by_name[name]
        print(f"RESULT {name}_queued_delivered={o.after_reconnect / o.queued:.2f} share")


if __name__ == "__main__":
    main()
