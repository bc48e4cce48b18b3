"""ingest.storage against a real PostgreSQL: the fast path (COPY straight into readings) and the careful one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import psycopg

from ingest import storage
from ingest.decode import Rejection
from ingest.metrics import IngestMetrics
from ingest.reading import DeviceKind, Reading
from ingest.writer import BatchWriter
from tests.ingest.conftest import count_rows


def reading(device_id: str, seq: int, ts: datetime) -> Reading:
    return Reading(device_id, DeviceKind.ELEVATOR, ts, seq, {"floor": 3.0, "moving": 1.0})


def test_a_batch_holding_a_stored_reading_keeps_only_the_new_ones_and_everything_else(devices, estate_db_url):
    """The first COPY is refused by the key; the batch is written again the careful way, dead letters included."""
    lift = next(d for d in devices if d.kind is DeviceKind.ELEVATOR)
    ts = datetime.now(UTC)
    rejection = Rejection("forewarn/v1/x", "bad_json", "payload is not JSON", b"{", lift.id)
    with psycopg.connect(estate_db_url) as conn:
        storage.prepare(conn)
        first = [reading(lift.id, 1, ts), reading(lift.id, 2, ts)]
        assert storage.write_batch(conn, storage.Batch(readings=first), payload_limit=16) == first
        again = [reading(lift.id, 2, ts), reading(lift.id, 3, ts), reading(lift.id, 3, ts)]
        new = storage.write_batch(conn, storage.Batch(readings=again, rejections=[(rejection, ts)]), payload_limit=16)
    assert [r.seq for r in new] == [3]
    assert count_rows(estate_db_url, "SELECT count(*) FROM readings WHERE device_id = %s", lift.id) == 6
    assert count_rows(estate_db_url, "SELECT count(*) FROM dead_letters WHERE device_id = %s", lift.id) == 1


def test_after_a_redelivery_the_writer_goes_the_careful_way_and_back_and_each_reading_is_new_once(devices,
                                                                                                  estate_db_url):
    """A batch holding stored readings sends the next one the careful way at once; an all-new careful batch sends
    the one after it straight again. Whichever way a batch goes, exactly its new readings are reported and stored."""
    lift = next(d for d in devices if d.kind is DeviceKind.ELEVATOR)
    ts = datetime.now(UTC)
    writer = BatchWriter(estate_db_url, payload_limit=16, metrics=IngestMetrics(), stopping=threading.Event(),
                         now=lambda: datetime.now(UTC))
    batches = [[1, 2], [2, 3, 4], [5, 6], [6, 7], [8], [9, 9]]  # new / redelivered / careful, new / … / twice
    reported = []
    try:
        for seqs in batches:
            new = writer.write(storage.Batch(readings=[reading(lift.id, seq, ts) for seq in seqs]))
            assert new is not None
            reported.append([r.seq for r in new])
    finally:
        writer.close()
    assert reported == [[1, 2], [3, 4], [5, 6], [7], [8], [9]]
    stored = count_rows(estate_db_url, "SELECT count(DISTINCT seq) FROM readings WHERE device_id = %s", lift.id)
    assert stored == 9
    assert count_rows(estate_db_url, "SELECT count(*) FROM readings WHERE device_id = %s", lift.id) == 9 * 2


def test_events_go_straight_and_a_redelivered_event_is_new_once(devices, estate_db_url):
    """A batch with events is written straight like any other (events are in most lockstep batches); an event
    stored before — even one whose message carries no metric at all — sends the batch the careful way, where only
    the new messages are reported and nothing is stored twice."""
    lift = next(d for d in devices if d.kind is DeviceKind.ELEVATOR)
    ts = datetime.now(UTC)
    cycle = Reading(lift.id, DeviceKind.ELEVATOR, ts, 1, {"door_cycle_s": 6.0}, event="door_cycle")
    press = Reading(lift.id, DeviceKind.ELEVATOR, ts, 2, {}, event="alarm_button")
    with psycopg.connect(estate_db_url) as conn:
        # No staging tables yet on this connection: a batch sent the careful way would fail here.
        first = [cycle, press, reading(lift.id, 3, ts)]
        assert storage.write_batch(conn, storage.Batch(readings=first), payload_limit=16) == first
        storage.prepare(conn)
        pressed_again = Reading(lift.id, DeviceKind.ELEVATOR, ts, 4, {}, event="alarm_button")
        new = storage.write_batch(conn, storage.Batch(readings=[press, pressed_again]), payload_limit=16)
    assert [r.seq for r in new] == [4]
    events = "SELECT count(*) FROM device_events WHERE device_id = %s"
    assert count_rows(estate_db_url, events, lift.id) == 3
    assert count_rows(estate_db_url, "SELECT count(*) FROM readings WHERE device_id = %s", lift.id) == 1 + 2
