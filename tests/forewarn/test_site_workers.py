"""Workers that scale by site, as separate `forewarn run --role ingest --worker-id` processes on a real broker and
database: they split the sites; when one is killed, its site moves to the other within 30 s, the readings published
meanwhile are stored once each, and an alarm it had raised is still cleared by its successor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from ingest.leases import holders
from tests.ingest.conftest import Publisher, status, telemetry

LIFT, OTHER_LIFT = "rs-b1-elev-a", "rs-b1-elev-b"
TAKEOVER_S = 30.0


def topic(device: str, channel: str) -> str:
    return f"forewarn/v1/riverside/elevator/{device}/{channel}"


@pytest.fixture
def start_worker(estate_db_url: str, mosquitto, tmp_path: Path) -> Iterator:
    started: list[subprocess.Popen[bytes]] = []

    def start(worker_id: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "FOREWARN_DATABASE_URL": estate_db_url, "FOREWARN_MQTT_URL": mosquitto.url,
               "FOREWARN_DATA_DIR": str(tmp_path / worker_id), "FOREWARN_LOG_LEVEL": "WARNING",
               "FOREWARN_DB_POOL_SIZE": "4", "FOREWARN_OFFLINE_GRACE_S": "0"}  # a will is an alarm at once
        proc = subprocess.Popen([sys.executable, "-m", "forewarn", "run", "--role", "ingest", "--worker-id",
                                 worker_id], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def query(url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def wait_for(predicate, timeout: float, what: str) -> float:
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > timeout:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - began


def stored(url: str, device: str) -> list[tuple]:
    return query(url, "SELECT seq, count(*) FROM readings WHERE device_id = %s AND metric = 'floor' "
                 "GROUP BY seq ORDER BY seq", device)


def test_a_killed_workers_site_moves_within_30_s_with_no_reading_lost_or_doubled_and_its_alarm_cleared(
        start_worker, estate_db_url, mosquitto):
    workers = {w: start_worker(w) for w in ("w1", "w2")}
    with psycopg.connect(estate_db_url) as conn:
        wait_for(lambda: sorted(holders(conn).values()) == ["w1", "w2"], 60, "the two workers to split two sites")
        victim = holders(conn)["riverside"]
    publisher = Publisher(mosquitto.port)
    try:
        start = datetime.now(UTC) - timedelta(minutes=2)
        publisher.publish([(topic(LIFT, "telemetry"), telemetry(seq, ts=start + timedelta(seconds=seq)))
                           for seq in range(50)])
        wait_for(lambda: len(stored(estate_db_url, LIFT)) == 50, 30, "the victim serving riverside")
        publisher.publish([(topic(OTHER_LIFT, "status"), status(False))])
        wait_for(lambda: query(estate_db_url, "SELECT 1 FROM incidents WHERE device_id = %s AND status = 'open'",
                               OTHER_LIFT), 30, "the offline alarm applied")

        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait(10)
        killed = time.monotonic()
        # Published while nobody serves riverside: the broker keeps them in the site's session.
        publisher.publish([(topic(LIFT, "telemetry"), telemetry(seq, ts=start + timedelta(seconds=seq)))
                           for seq in range(50, 300)])
        publisher.publish([(topic(OTHER_LIFT, "status"), status(True))])
        wait_for(lambda: len(stored(estate_db_url, LIFT)) == 300, TAKEOVER_S, "every reading stored")
        took = time.monotonic() - killed
        survivor = next(w for w in workers if w != victim)
        with psycopg.connect(estate_db_url) as conn:
            assert holders(conn) == {"riverside": survivor, "lakeview": survivor}
        assert stored(estate_db_url, LIFT) == [(seq, 1) for seq in range(300)]  # each once
        assert took < TAKEOVER_S
        # The successor resumed the device's state from the checkpoint taken with the alarm: it knows the alarm is
        # raised, so the device coming back clears it.
        wait_for(lambda: query(estate_db_url, "SELECT 1 FROM incidents WHERE device_id = %s AND "
                               "status = 'recovered'", OTHER_LIFT), 20, "the offline alarm cleared")
    finally:
        publisher.close()
