"""The private paho-mqtt names ingest relies on are still there, with the signatures it calls them with.

`ingest.client.BufferedClient` overrides `Client._sock_recv` and reads `Client._sock`; `IngestService` queues the
PUBACKs of a batch in one write through `Client._packet_queue` and reads `MQTTMessage._topic` when a topic is not
UTF-8. paho makes no promise about these: an upgrade that renames one would silently bypass the read buffer (paho
calling its own `_sock_recv`) or break the acknowledgements. These tests fail first.
"""

from __future__ import annotations

import inspect
import struct
import threading
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.client import BufferedClient
from tests.ingest.conftest import Publisher, wait_until


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_private_names_exist_with_the_signatures_ingest_uses() -> None:
    assert _parameters(mqtt.Client._sock_recv) == ["self", "bufsize"]
    assert _parameters(mqtt.Client._packet_queue)[:5] == ["self", "command", "packet", "mid", "qos"]
    assert _parameters(mqtt.Client.loop_read) == ["self", "max_packets"]
    assert mqtt.PUBACK == 0x40
    # paho reads every packet through `_sock_recv`: that is where the buffer is slipped in.
    assert "self._sock_recv(" in inspect.getsource(mqtt.Client._packet_read)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    assert client._sock is None  # unconnected; BufferedClient compares it to tell a new connection
    assert mqtt.MQTTMessage(topic=b"forewarn/\xff")._topic == b"forewarn/\xff"


class _CountingClient(BufferedClient):
    reads = 0
    gone: threading.Event

    def _sock_recv(self, bufsize: int) -> bytes:
        self.reads += 1
        return super()._sock_recv(bufsize)


def _session(port: int, client_id: str, topic: str, received: list[mqtt.MQTTMessage]) -> _CountingClient:
    """A persistent MQTT 5 session subscribed at QoS 1, acknowledging by hand, as ingest's."""
    subscribed = threading.Event()
    client = _CountingClient(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5,
                             manual_ack=True)
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, msg: received.append(msg)
    client.gone = threading.Event()
    client.on_disconnect = lambda *_: client.gone.set()
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 300
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    assert subscribed.wait(10), "no SUBACK"
    return client


def test_buffered_reads_and_one_write_acknowledgements_work_on_a_real_broker(mosquitto) -> None:
    """Messages arrive through BufferedClient's `_sock_recv`; PUBACKs queued with `_packet_queue` as ingest queues
    them are taken by the broker: after a reconnect of the same session nothing is delivered again."""
    topic, client_id = f"test/{uuid.uuid4().hex}", f"private-{uuid.uuid4().hex[:8]}"
    received: list[mqtt.MQTTMessage] = []
    client = _session(mosquitto.port, client_id, topic, received)
    publisher = Publisher(mosquitto.port)
    try:
        publisher.publish([(topic, f"m{i}".encode()) for i in range(20)])
        wait_until(lambda: len(received) == 20, 10, "20 messages through BufferedClient")
        assert client.reads > 0, "paho no longer reads through _sock_recv: BufferedClient's buffer is bypassed"
        pubacks = b"".join(struct.pack("!BBH", mqtt.PUBACK, 2, m.mid) for m in received)
        client._packet_queue(mqtt.PUBACK, pubacks, 0, 1)
        # A broker works through one connection's packets in order: once it acknowledges a publish sent after the
        # PUBACKs, it has taken them. (Disconnecting straight away raced the close of the socket on a busy machine.)
        client.publish(f"{topic}/after-acks", b"", qos=1).wait_for_publish(10)
        client.disconnect()
        assert client.gone.wait(10), "no disconnect"
        client.loop_stop()

        again: list[mqtt.MQTTMessage] = []
        client = _session(mosquitto.port, client_id, topic, again)
        publisher.publish([(topic, b"marker")])  # a resumed session gets its unacknowledged messages first
        wait_until(lambda: any(m.payload == b"marker" for m in again), 10, "the marker after the reconnect")
        assert [m.payload for m in again] == [b"marker"], "unacknowledged messages were delivered again"
    finally:
        publisher.close()
        client.disconnect()
        client.loop_stop()
