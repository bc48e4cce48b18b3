"""The hand-off from the detectors to tickets in the running pipeline: a flapping device loses no alarm, and a
failing ticket side neither loses the alarm nor slows ingest."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg

from forewarn.pipeline import DetectionPipeline
from ingest.decode import PresenceChange
from ingest.estate_store import load_registry
from ingest.reading import DeviceKind
from ingest.service import IngestService
from tests.ingest.conftest import Publisher, ingest_config, status, telemetry, wait_until
from tests.tickets.test_alarm_queue import FAIL_TICKETS
from tickets.alarm_queue import AlarmConsumer

LIFT = "rs-b1-elev-a"
FLAPS = 40


def rows(url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def test_a_device_flapping_offline_and_online_loses_no_alarm(pool, estate_db_url):
    with pool.connection() as conn:
        estate = load_registry(conn)
    consumers = [AlarmConsumer(pool, now=lambda: datetime.now(UTC), poll_s=0.05) for _ in range(2)]
    # No reconnect grace: each offline report is an alarm at once, so that 40 flaps race the consumers.
    pipeline = DetectionPipeline(pool, estate, on_queued=lambda: [c.wake() for c in consumers], offline_grace_s=0)
    for consumer in consumers:  # two consumers, as two workers would run: they race for every alarm
        consumer.start()
    stop_ticks = threading.Event()

    def ticking() -> None:  # the engine's clock tick runs beside ingest, as in the runtime
        while not stop_ticks.is_set():
            pipeline.tick()

    ticker = threading.Thread(target=ticking, daemon=True)
    ticker.start()
    start = datetime.now(UTC) - timedelta(seconds=2 * FLAPS)  # the last report is now: not yet silent
    try:
        for i in range(FLAPS):
            for online, offset in ((False, 2 * i), (True, 2 * i + 1)):
                pipeline.on_presence(PresenceChange(LIFT, "riverside", DeviceKind.ELEVATOR, online,
                                                    start + timedelta(seconds=offset)))
        wait_until(lambda: not rows(estate_db_url, "SELECT 1 FROM alarm_queue WHERE done_at IS NULL"), 60,
                   "every alarm applied")
    finally:
        stop_ticks.set()
        ticker.join(5)
        for consumer in consumers:
            consumer.stop()

    assert pipeline.queue_failures == 0
    queued = rows(estate_db_url, "SELECT state, count(*), count(failed_at) FROM alarm_queue "
                  "WHERE device_id = %s AND fault = 'device_offline' GROUP BY state ORDER BY state", LIFT)
    assert queued == [("cleared", FLAPS, 0), ("raised", FLAPS, 0)]
    incidents = rows(estate_db_url, "SELECT status, count(*) FROM incidents WHERE device_id = %s "
                     "AND fault = 'device_offline' GROUP BY status", LIFT)
    assert incidents == [("recovered", FLAPS)]


def test_a_failing_ticket_side_loses_no_alarm_and_does_not_hold_up_ingest(pool, estate_db_url, mosquitto):
    with pool.connection() as conn:
        estate = load_registry(conn)
    consumer = AlarmConsumer(pool, now=lambda: datetime.now(UTC), poll_s=0.1)
    pipeline = DetectionPipeline(pool, estate, on_queued=consumer.wake, offline_grace_s=0)  # the will: an alarm now

    service = IngestService(ingest_config(mosquitto.port), estate_db_url, on_readings=pipeline.on_readings,
                            on_presence=pipeline.on_presence)
    service.start()
    consumer.start()
    publisher = Publisher(mosquitto.port)
    try:
        with psycopg.connect(estate_db_url) as conn:
            conn.execute(FAIL_TICKETS)
        lift, other = f"forewarn/v1/riverside/elevator/{LIFT}", "forewarn/v1/riverside/elevator/rs-b1-elev-b"
        publisher.publish([(f"{lift}/status", status(False))])
        wait_until(lambda: rows(estate_db_url, "SELECT 1 FROM alarm_queue WHERE device_id = %s AND attempts >= 1",
                                LIFT), 20, "the offline alarm queued and tried")

        # The ticket side keeps failing while another device streams: every reading is stored meanwhile.
        n = 500
        publisher.publish([(f"{other}/telemetry", telemetry(seq)) for seq in range(n)])
        wait_until(lambda: service.stats.stored >= n, 30, f"{n} readings stored during the outage")
        assert rows(estate_db_url, "SELECT done_at FROM alarm_queue WHERE device_id = %s", LIFT) == [(None,)]

        with psycopg.connect(estate_db_url) as conn:
            conn.execute("DROP TRIGGER tickets_down ON tickets")
        wait_until(lambda: rows(estate_db_url, "SELECT 1 FROM tickets WHERE device_id = %s", LIFT), 70,
                   "the ticket, once the ticket side is back")
    finally:
        publisher.close()
        service.stop()
        consumer.stop()
    assert rows(estate_db_url, "SELECT count(*) FROM tickets WHERE device_id = %s", LIFT) == [(1,)]
    assert rows(estate_db_url, "SELECT count(*) FROM incidents WHERE device_id = %s AND fault = 'device_offline'",
                LIFT) == [(1,)]
