"""Real processes failing mid-stream: ingest killed with SIGKILL, the broker restarted, the database restarted.

Afterwards every reading published at QoS 1 is stored exactly once: the stored sequence numbers of each device are
exactly the published ones.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from forewarn.embedded import EmbeddedPostgres, free_port, timescaledb_installed
from forewarn.migrate import migrate
from forewarn.settings import DbMode
from ingest.estate_file import load_estate_file
from ingest.estate_store import save_estate
from ingest.reading import DeviceKind
from ingest.service import IngestService
from tests.conftest import DEMO_ESTATE
from tests.ingest.conftest import Publisher, ingest_config, telemetry, wait_until

ROOT = Path(__file__).resolve().parents[2]


def lifts(devices, n: int = 4):
    return [d for d in devices if d.kind is DeviceKind.ELEVATOR][:n]


def stream(devices, seqs: range) -> list[tuple[str, bytes]]:
    """Messages of several devices, interleaved the way a live estate sends them."""
    return [(d.topic(), telemetry(seq)) for seq in seqs for d in devices]


def stored(url: str, devices) -> dict[str, list[int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT device_id, seq FROM readings WHERE metric = 'floor' ORDER BY device_id, seq")
        result: dict[str, list[int]] = {d.id: [] for d in devices}
        for device_id, seq in rows:
            result.setdefault(device_id, []).append(seq)
    return result


def total(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM readings WHERE metric = 'floor'").fetchone()[0]


def assert_exactly_once(url: str, devices, seqs: range) -> None:
    assert stored(url, devices) == {d.id: list(seqs) for d in devices}
    with psycopg.connect(url) as conn:  # every metric row once, too (four metrics per message)
        assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 4 * len(devices) * len(seqs)


class IngestProcess:
    """`python -m ingest` as a child process: a real process that a test can kill with SIGKILL."""

    def __init__(self, port: int, url: str, client_id: str) -> None:
        self.args = [sys.executable, "-m", "ingest", "--database", url, "--broker-port", str(port),
                     "--client-id", client_id, "--batch-size", "50", "--flush-ms", "20", "--max-queue", "200"]
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=os.environ | {"PYTHONPATH": str(ROOT)})
        line = self.process.stdout.readline()  # "ready", or EOF when it failed
        assert line.strip() == "ready", self.process.stderr.read()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def ingest_process(mosquitto, estate_db_url):
    proc = IngestProcess(mosquitto.port, estate_db_url, f"ingest-proc-{uuid.uuid4().hex[:8]}")
    yield proc
    proc.stop()


def test_kill_9_of_ingest_mid_stream_loses_and_duplicates_nothing(ingest_process, mosquitto, devices,
                                                                   estate_db_url):
    subjects = lifts(devices)
    seqs = range(600)
    ingest_process.start()
    publisher = Publisher(mosquitto.port)
    try:
        sender = threading.Thread(target=publisher.publish, args=(stream(subjects, seqs), 60))
        sender.start()
        wait_until(lambda: total(estate_db_url) >= 300, 30, "ingest to store part of the stream")
        ingest_process.kill()
        killed_at = total(estate_db_url)
        sender.join(60)
        assert killed_at < len(subjects) * len(seqs), "the kill came too late to be mid-stream"
        ingest_process.start()  # same client id: the broker kept the session and the unacknowledged messages
        wait_until(lambda: total(estate_db_url) >= len(subjects) * len(seqs), 60, "every reading after the restart")
    finally:
        publisher.close()
    time.sleep(0.3)  # any late redelivery would show up as a duplicate row below
    assert_exactly_once(estate_db_url, subjects, seqs)


def test_broker_restart_mid_stream_loses_and_duplicates_nothing(start_ingest, mosquitto, devices, estate_db_url):
    subjects = lifts(devices)
    # A slow consumer, so that the broker holds queued and in-flight messages for ingest when it restarts.
    service = start_ingest(ingest_config(mosquitto.port, batch_size=20, flush_ms=10, max_queue=100),
                           on_readings=lambda batch: time.sleep(0.01))
    publisher = Publisher(mosquitto.port)
    publisher.publish(stream(subjects, range(400)))
    publisher.close()
    wait_until(lambda: total(estate_db_url) >= 100, 30, "part of the stream stored")
    mosquitto.restart()  # SIGTERM: Mosquitto saves its persistent sessions; the queued messages survive
    assert total(estate_db_url) < 4 * 400, "the restart came too late to be mid-stream"
    publisher = Publisher(mosquitto.port)
    publisher.publish(stream(subjects, range(400, 500)))
    publisher.close()
    wait_until(lambda: total(estate_db_url) >= 4 * 500, 60, "every reading after the broker restart")
    time.sleep(0.3)
    assert_exactly_once(estate_db_url, subjects, range(500))
    assert service.stats.connected


@pytest.fixture
def own_database(tmp_path, pg_server):
    """A PostgreSQL server of this test's own, so that it can be restarted: in the run's storage mode when the
    embedded server can have it (with TEST_DATABASE_URL naming a TimescaleDB server, the embedded PostgreSQL may
    have no TimescaleDB built; the restart is about ingest, not storage, so plain mode serves it)."""
    timescale = pg_server.mode.timescale and timescaledb_installed()
    server = EmbeddedPostgres(tmp_path / "pg", free_port(), timescale=timescale, durable=False)
    admin = server.start()
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE forewarn")
        url = admin.rsplit("/", 1)[0] + "/forewarn"
        migrate(url, DbMode.TIMESCALE if timescale else DbMode.PLAIN)
        with psycopg.connect(url) as conn:
            save_estate(conn, load_estate_file(DEMO_ESTATE))
        yield server, url
    finally:
        server.stop()


def test_database_restart_pauses_ingest_and_loses_nothing(own_database, mosquitto, devices):
    server, url = own_database
    subjects = lifts(devices)
    config = ingest_config(mosquitto.port, batch_size=50, flush_ms=20, max_queue=100)
    service = IngestService(config, url)
    service.start()
    publisher = Publisher(mosquitto.port)
    try:
        publisher.publish(stream(subjects, range(200)))
        wait_until(lambda: total(url) >= 4 * 200, 30, "the first part stored")
        server.stop()
        publisher.publish(stream(subjects, range(200, 600)))  # the broker accepts and holds them
        deepest = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # bounded memory: never more than the receive maximum in flight
            deepest = max(deepest, service.stats.queue_depth)
            time.sleep(0.05)
        assert 0 < deepest <= config.max_queue
        server.start()
        wait_until(lambda: total(url) >= 4 * 600, 60, "every reading after the database came back")
        time.sleep(0.3)
        assert_exactly_once(url, subjects, range(600))
        assert service.stats.db_retries > 0
    finally:
        publisher.close()
        service.stop()
