"""The load side of `bench.ingest`: the telemetry it publishes, the publisher processes (a backlog at QoS 1, or
paced and stamped for the latency phase) and the bare paho subscriber that ingest's rate is compared with.

Each runs in its own process (`multiprocessing`, forked), so that on 2 cores the load's own CPU and GIL are not the
ingest process's.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
import time
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.contract import subscription, topic_for
from ingest.reading import Channel, DeviceKind
from simulators.publisher import Publisher

HOST = "127.0.0.1"
PUBLISHERS = 3  # publisher processes; with the broker and consumer that keeps 2 cores busy
# Realistic telemetry: 4–6 metrics per message (a row each in `readings`).
DATA = {
    DeviceKind.ELEVATOR: {"floor": 7, "direction": 1, "moving": True, "door_open": False, "vibration_rms": 0.21,
                          "motor_current_a": 42.5},
    DeviceKind.ACCESS_DOOR: {"door_open": False, "locked": True, "battery_pct": 81.0, "reader_ok": True},
    DeviceKind.WATER: {"pressure_kpa": 318.5, "flow_lpm": 14.2, "tank_level_pct": 71.0, "pump_on": True,
                       "pump_current_a": 8.4},
}


def messages(devices: list[tuple[str, DeviceKind, str]], count: int, first_seq: int) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC).isoformat()
    out = []
    for i in range(count):
        device, kind, site = devices[i % len(devices)]
        seq = first_seq + i // len(devices)
        body = {"v": 1, "ts": now, "seq": seq, "data": DATA[kind]}
        out.append((topic_for(site, kind, device, Channel.TELEMETRY), json.dumps(body).encode()))
    return out


# ---- publisher processes ------------------------------------------------------------------------------------------

def _publish_share(port: int, share: list[tuple[str, bytes]], done: mp.Queue) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(HOST, port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in share]
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    done.put(sum(1 for info in infos if info.is_published()))


def publish_all(port: int, batch: list[tuple[str, bytes]], processes: int = PUBLISHERS) -> tuple[float, int]:
    """Publish `batch` at QoS 1 from several processes; return (messages/s acknowledged by the broker, count)."""
    done: mp.Queue = mp.Queue()
    workers = [mp.Process(target=_publish_share, args=(port, batch[i::processes], done), daemon=True)
               for i in range(processes)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    acked = sum(done.get(timeout=300) for _ in workers)
    elapsed = time.perf_counter() - started
    for w in workers:
        w.join(10)
    return acked / elapsed, acked


def publish_paced(port: int, devices: list, rate: float, seconds: float, first_seq: int, done: mp.Queue) -> None:
    """Publish at `rate` messages/s, each stamped with the time it is sent (the latency's start).

    Also reports how late each message was against its schedule (a starved publisher sends in bursts) and how long
    the broker took to acknowledge it (stamp → PUBACK: queueing inside the publisher or the broker shows here).
    The load is the simulators' lean publisher (`simulators.publisher`): paho costs ~100 µs of CPU per QoS 1
    message, and on 2 cores the three paho publishers of earlier runs took the CPU that ingest's latency was being
    measured on (their own lateness, p99 85-178 ms, was a third of the latency tail)."""
    publisher = Publisher(HOST, port, client_id=f"bench-paced-{uuid.uuid4().hex[:8]}", window=60000)
    stamped: dict[int, float] = {}
    acked_ms: list[float] = []

    def on_ack(mid: int) -> None:
        at = stamped.pop(mid, None)
        if at is not None:
            acked_ms.append((time.time() - at) * 1000)

    publisher.on_ack = on_ack
    publisher.connect()
    sent = 0
    late_ms: list[float] = []
    started = time.perf_counter()
    total = int(rate * seconds)
    while sent < total:
        due = started + sent / rate
        delay = due - time.perf_counter()
        if delay > 0:
            publisher.wait(delay)  # reads acknowledgements while it waits
        late_ms.append((time.perf_counter() - due) * 1000)
        device, kind, site = devices[sent % len(devices)]
        now = datetime.now(UTC)
        body = {"v": 1, "ts": now.isoformat(), "seq": first_seq + sent // len(devices), "data": DATA[kind]}
        mid = publisher.publish(topic_for(site, kind, device, Channel.TELEMETRY), json.dumps(body).encode())
        stamped[mid] = now.timestamp()
        publisher.flush()
        sent += 1
    publisher.drain(60)
    publisher.close()
    done.put((publisher.acked, late_ms, acked_ms))


# ---- the bare subscriber -----------------------------------------------------------------------------------------

def _session_props(expiry: int, receive_maximum: int | None = None) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = expiry
    if receive_maximum is not None:
        props.ReceiveMaximum = receive_maximum
    return props


def bare_session(port: int, client_id: str, *, remove: bool = False) -> None:
    """Create (subscribe, disconnect) or remove the bare subscriber's persistent session."""
    ready = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, *_: ready.set() if remove else c.subscribe(subscription(), qos=1)
    client.on_subscribe = lambda *_: ready.set()
    client.connect(HOST, port, clean_start=remove, properties=_session_props(0 if remove else 3600))
    client.loop_start()
    ready.wait(10)
    client.disconnect()
    client.loop_stop()


def _bare(port: int, client_id: str, expected: int, receive_maximum: int, result: mp.Queue) -> None:
    count = 0
    finished = threading.Event()
    last = [0.0]

    def on_message(_c, _u, msg) -> None:
        nonlocal count
        json.loads(msg.payload)
        count += 1
        if count >= expected:
            last[0] = time.perf_counter()
            finished.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_message = on_message
    started = time.perf_counter()
    client.connect(HOST, port, clean_start=False, properties=_session_props(3600, receive_maximum))
    client.loop_start()
    finished.wait(300)
    client.disconnect()
    client.loop_stop()
    result.put((count, (last[0] or time.perf_counter()) - started))


def bare_round(port: int, devices: list, n: int, first_seq: int, receive_maximum: int) -> tuple[float, float]:
    """Publish a backlog of `n` for the bare subscriber's session and drain it; (publish rate, drain rate)."""
    bare_id = "bench-bare"
    bare_session(port, bare_id)
    publish_rate, _ = publish_all(port, messages(devices, n, first_seq))
    result: mp.Queue = mp.Queue()
    bare = mp.Process(target=_bare, args=(port, bare_id, n, receive_maximum, result), daemon=True)
    bare.start()
    count, elapsed = result.get(timeout=330)
    bare.join(10)
    bare_session(port, bare_id, remove=True)  # so that it queues nothing during the ingest round
    return publish_rate, count / elapsed

