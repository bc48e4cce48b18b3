"""Fixtures for the ingest tests: a QoS 1 publisher, contract payloads, and an IngestService on the real broker."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest.config import IngestConfig
from ingest.contract import topic_for
from ingest.reading import Channel, DeviceKind
from ingest.service import IngestService


@dataclass(frozen=True)
class Device:
    id: str
    kind: DeviceKind
    site: str

    def topic(self, channel: Channel = Channel.TELEMETRY) -> str:
        return topic_for(self.site, self.kind, self.id, channel)


# One valid measurement set per kind, inside the contract's ranges.
SAMPLE_DATA = {
    DeviceKind.ELEVATOR: {"floor": 3, "moving": True, "vibration_rms": 0.2, "motor_current_a": 40.5},
    DeviceKind.ACCESS_DOOR: {"door_open": False, "locked": True, "battery_pct": 87.0},
    DeviceKind.WATER: {"pressure_kpa": 320.0, "flow_lpm": 12.5, "pump_on": True},
}


def telemetry(seq: int, kind: DeviceKind = DeviceKind.ELEVATOR, ts: datetime | None = None, **data) -> bytes:
    body = {"v": 1, "ts": (ts or datetime.now(UTC)).isoformat(), "seq": seq, "data": data or SAMPLE_DATA[kind]}
    return json.dumps(body).encode()


def status(online: bool, ts: datetime | None = None) -> bytes:
    return json.dumps({"v": 1, "ts": (ts or datetime.now(UTC)).isoformat(),
                       "state": "online" if online else "offline"}).encode()


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


class Publisher:
    """A device-side paho client publishing at QoS 1 and waiting for the broker's acknowledgements."""

    def __init__(self, port: int, client_id: str | None = None, username: str | None = None,
                 password: str | None = None) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"pub-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)
        if username:
            self.client.username_pw_set(username, password)
        self.client.max_inflight_messages_set(500)
        self.client.max_queued_messages_set(0)
        self.connected = False
        self.refused: str | None = None
        self.client.on_connect = self._on_connect
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_until(lambda: self.connected or self.refused, 10, "the publisher to connect")
        if self.refused:
            self.close()
            raise ConnectionRefusedError(f"the broker refused {client_id}: {self.refused}")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
            client.disconnect()
        else:
            self.connected = True

    def publish(self, messages: list[tuple[str, bytes]], timeout: float = 30.0, retain: bool = False) -> None:
        infos = [self.client.publish(topic, payload, qos=1, retain=retain) for topic, payload in messages]
        deadline = time.monotonic() + timeout
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            assert info.is_published(), "the broker did not acknowledge a QoS 1 publish in time"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def devices(estate_db_url: str) -> list[Device]:
    with psycopg.connect(estate_db_url) as conn:
        rows = conn.execute("SELECT id, kind, site_id FROM devices WHERE active ORDER BY id").fetchall()
    return [Device(i, DeviceKind(k), s) for i, k, s in rows]


@pytest.fixture
def publisher(mosquitto) -> Iterator[Publisher]:
    pub = Publisher(mosquitto.port)
    yield pub
    pub.close()


def ingest_config(port: int, **overrides) -> IngestConfig:
    values = {"broker_port": port, "client_id": f"ingest-test-{uuid.uuid4().hex[:8]}", "flush_ms": 50,
              "batch_size": 500, "max_queue": 1000, "connect_timeout_s": 5.0, "reconnect_min_s": 0.1,
              "reconnect_max_s": 1.0}
    values.update(overrides)
    return IngestConfig(**values)


@pytest.fixture
def start_ingest(mosquitto, estate_db_url) -> Iterator[Callable[..., IngestService]]:
    """Start an IngestService on the test broker and database; every one started is stopped afterwards."""
    started: list[IngestService] = []

    def start(config: IngestConfig | None = None, **kwargs) -> IngestService:
        service = IngestService(config or ingest_config(mosquitto.port), estate_db_url, **kwargs)
        service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def stored_seqs(url: str, device_id: str) -> list[int]:
    """Sequence numbers stored for a device, one per message (messages have several metric rows)."""
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT seq FROM readings WHERE device_id = %s AND metric = 'floor' ORDER BY seq", (device_id,))]


def count_rows(url: str, sql: str, *params) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def seq_counter(start: int = 0) -> Iterator[int]:
    return itertools.count(start)


def recent(seconds: float = 0) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
