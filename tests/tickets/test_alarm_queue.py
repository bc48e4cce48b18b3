"""The durable alarm hand-off: an alarm queued once is applied once, survives a failing ticket side, and a poison
alarm is set aside with its error without holding back its site."""

from __future__ import annotations

import time
from dataclasses import replace

import psycopg
import pytest

from detectors.alarm import AlarmState
from tests.tickets.conftest import NOW, make_alarm
from tickets.alarm_queue import AlarmConsumer, enqueue, pending_count

DEVICE, FAULT = "rs-b1-water-high", "supply_outage"

FAIL_TICKETS = """
CREATE FUNCTION tickets_down() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'the ticket side is down'; END $$;
CREATE TRIGGER tickets_down BEFORE INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION tickets_down();
"""


def site_alarm(device_id: str, fault: str, state: AlarmState = AlarmState.RAISED):
    return replace(make_alarm(device_id, fault, state), extra={"site_id": "riverside"})


def queue_row(url: str, device_id: str) -> tuple[int, str | None, object, object]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT attempts, last_error, done_at, failed_at FROM alarm_queue WHERE device_id = %s",
                           (device_id,)).fetchone()
    assert row is not None
    return row


def count(url: str, sql: str, *params: object) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def test_an_alarm_outlives_a_failing_ticket_side_and_its_ticket_exists_once(pool, estate_db_url):
    alarm = site_alarm(DEVICE, FAULT)
    with pool.connection() as conn, conn.transaction():
        assert enqueue(conn, [alarm]) == 1
        assert enqueue(conn, [alarm]) == 0  # the same alarm produced again is the same row
    with psycopg.connect(estate_db_url) as conn:
        conn.execute(FAIL_TICKETS)

    consumer = AlarmConsumer(pool, now=lambda: NOW, poll_s=0.1)
    consumer.start()
    try:
        wait_for(lambda: queue_row(estate_db_url, DEVICE)[0] >= 2, 15, "two failed attempts")
        attempts, error, done, failed = queue_row(estate_db_url, DEVICE)
        assert "the ticket side is down" in (error or "") and done is None and failed is None
        assert count(estate_db_url, "SELECT count(*) FROM incidents WHERE device_id = %s", DEVICE) == 0

        with psycopg.connect(estate_db_url) as conn:
            conn.execute("DROP TRIGGER tickets_down ON tickets")
        wait_for(lambda: queue_row(estate_db_url, DEVICE)[2] is not None, 15, "the alarm applied")
    finally:
        consumer.stop()

    assert count(estate_db_url, "SELECT count(*) FROM incidents WHERE device_id = %s AND fault = %s AND "
                 "status = 'open'", DEVICE, FAULT) == 1
    assert count(estate_db_url, "SELECT count(*) FROM tickets WHERE device_id = %s", DEVICE) == 1
    # Produced once more (a worker resuming from the checkpoint taken with it): not queued, not applied again.
    with pool.connection() as conn, conn.transaction():
        assert enqueue(conn, [alarm]) == 0
        assert pending_count(conn) == 0
    assert AlarmConsumer(pool, now=lambda: NOW).drain() == []
    assert count(estate_db_url, "SELECT count(*) FROM tickets WHERE device_id = %s", DEVICE) == 1


def test_an_alarm_the_ticket_side_refuses_for_good_is_kept_and_does_not_block_its_site(pool, estate_db_url):
    stranger = site_alarm("no-such-device", FAULT)
    good = site_alarm(DEVICE, FAULT)
    with pool.connection() as conn, conn.transaction():
        enqueue(conn, [stranger, good])
    applied = AlarmConsumer(pool, now=lambda: NOW).drain()
    assert [a.alarm.device_id for a in applied] == [DEVICE]
    attempts, error, done, failed = queue_row(estate_db_url, "no-such-device")
    assert failed is not None and done is None and "unknown device" in (error or "")


def test_a_sites_alarms_are_applied_in_the_order_they_were_produced(pool, estate_db_url):
    raised, cleared = site_alarm(DEVICE, FAULT), site_alarm(DEVICE, FAULT, AlarmState.CLEARED)
    with pool.connection() as conn, conn.transaction():
        enqueue(conn, [raised, cleared])
    with psycopg.connect(estate_db_url) as conn:
        conn.execute(FAIL_TICKETS)
    consumer = AlarmConsumer(pool, now=lambda: NOW)
    assert consumer.drain() == []  # the raise fails: the clear behind it waits instead of overtaking it
    with psycopg.connect(estate_db_url) as conn:
        conn.execute("DROP TRIGGER tickets_down ON tickets")
        conn.execute("UPDATE alarm_queue SET next_attempt_at = now()")  # skip the back-off wait
    assert [a.result.action for a in consumer.drain()] == ["opened", "recovered"]
    assert count(estate_db_url, "SELECT count(*) FROM incidents WHERE device_id = %s AND status = 'recovered'",
                 DEVICE) == 1
