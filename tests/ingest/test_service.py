"""IngestService against a real Mosquitto and a real PostgreSQL: exactly-once storage, dead letters, callbacks."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from ingest.reading import Channel, DeviceKind
from ingest.service import IngestError, IngestService
from tests.ingest.conftest import count_rows, ingest_config, stored_seqs, telemetry, wait_until


def elevator(devices):
    return next(d for d in devices if d.kind is DeviceKind.ELEVATOR)


def test_every_qos1_reading_is_stored_exactly_once_and_reported_in_order(start_ingest, publisher, devices,
                                                                         estate_db_url):
    lift = elevator(devices)
    reported: list[int] = []
    service = start_ingest(on_readings=lambda batch: reported.extend(r.seq for r in batch))
    n = 400
    publisher.publish([(lift.topic(), telemetry(seq)) for seq in range(n)])
    wait_until(lambda: service.stats.stored >= n, 20, f"{n} readings stored")
    assert stored_seqs(estate_db_url, lift.id) == list(range(n))
    # four metrics per message, one row each
    assert count_rows(estate_db_url, "SELECT count(*) FROM readings WHERE device_id = %s", lift.id) == 4 * n
    assert reported == list(range(n))
    assert service.stats.dead_lettered == 0


def test_redelivered_messages_are_stored_once_and_not_reported_again(start_ingest, publisher, devices,
                                                                    estate_db_url):
    lift = elevator(devices)
    reported: list[int] = []
    service = start_ingest(on_readings=lambda batch: reported.extend(r.seq for r in batch))
    messages = [(lift.topic(), telemetry(seq)) for seq in range(100)]
    publisher.publish(messages)
    publisher.publish(messages)  # a device resending after a lost PUBACK, or a broker redelivery
    wait_until(lambda: service.stats.received >= 200, 20, "both copies received")
    assert stored_seqs(estate_db_url, lift.id) == list(range(100))
    assert reported == list(range(100))
    assert service.stats.duplicates == 100


def test_a_bad_message_between_good_ones_becomes_one_dead_letter(start_ingest, publisher, devices, estate_db_url):
    lift = elevator(devices)
    service = start_ingest()
    publisher.publish([(lift.topic(), telemetry(0)), (lift.topic(), b"{not json"),
                       (lift.topic(), telemetry(1))])
    wait_until(lambda: service.stats.received >= 3, 20, "three messages received")
    assert stored_seqs(estate_db_url, lift.id) == [0, 1]
    with psycopg.connect(estate_db_url) as conn:
        rows = conn.execute("SELECT topic, device_id, reason, payload, payload_size FROM dead_letters").fetchall()
    assert rows == [(lift.topic(), lift.id, "bad_json", b"{not json", 9)]


def test_each_kind_of_bad_input_is_dead_lettered_with_its_reason(start_ingest, publisher, devices, estate_db_url):
    lift = elevator(devices)
    door = next(d for d in devices if d.kind is DeviceKind.ACCESS_DOOR)
    service = start_ingest(ingest_config(publisher_port(publisher), dead_letter_payload_bytes=64))
    stranger = f"forewarn/v1/{lift.site}/elevator/no-such-lift/telemetry"
    huge = b'{"v": 1, "pad": "' + b"x" * 5000 + b'"}'
    bad = [
        (stranger, telemetry(1)),
        (lift.topic(), telemetry(2, floor=999)),
        (lift.topic(), telemetry(3, floor="third")),
        (lift.topic(), huge),
        (door.topic(Channel.EVENT), telemetry(4, DeviceKind.ACCESS_DOOR)),  # an event without its name
        ("forewarn/v1/oops", b"{}"),
    ]
    publisher.publish(bad + [(lift.topic(), telemetry(5))])
    wait_until(lambda: service.stats.received >= len(bad), 20, "all subscribed messages received")
    with psycopg.connect(estate_db_url) as conn:
        reasons = sorted(r[0] for r in conn.execute("SELECT reason FROM dead_letters"))
        sizes = conn.execute("SELECT length(payload), payload_size FROM dead_letters WHERE reason = 'too_large'")
        assert sizes.fetchone() == (64, len(huge))
    # "forewarn/v1/oops" has the wrong shape: ingest sees it (its subscription is forewarn/v1/#) and says so
    assert reasons == sorted(["unknown_device", "out_of_range", "bad_type", "too_large", "unknown_event",
                              "bad_topic"])
    assert stored_seqs(estate_db_url, lift.id) == [5]
    metrics = service.metrics_registry.get_sample_value
    assert metrics("forewarn_ingest_dead_letters_total", {"reason": "out_of_range"}) == 1
    assert metrics("forewarn_ingest_readings_stored_total") == 1


def publisher_port(publisher) -> int:
    return publisher.client._port  # noqa: SLF001 - the port the test broker listens on


def test_a_failing_callback_is_logged_and_ingest_goes_on(start_ingest, publisher, devices, estate_db_url):
    lift = elevator(devices)
    calls = []

    def broken(batch):
        calls.append(len(batch))
        raise RuntimeError("detector bug")

    service = start_ingest(on_readings=broken)
    publisher.publish([(lift.topic(), telemetry(0))])
    wait_until(lambda: service.stats.stored >= 1, 10, "the first reading")
    publisher.publish([(lift.topic(), telemetry(1))])
    wait_until(lambda: service.stats.stored >= 2, 10, "the second reading after a failing callback")
    assert len(calls) == 2
    assert service.metrics_registry.get_sample_value("forewarn_ingest_callback_errors_total") == 2


def test_unreachable_broker_fails_start_with_a_clear_error(estate_db_url, mosquitto):
    from forewarn.embedded import free_port

    config = ingest_config(free_port(), connect_timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(IngestError, match="did not accept a connection"):
        IngestService(config, estate_db_url).start()
    assert time.monotonic() - started < 5
    assert [t.name for t in threading.enumerate() if t.name == "ingest-writer"] == []


def test_bad_database_fails_start_with_a_clear_error(mosquitto):
    from forewarn.embedded import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(IngestError, match="cannot open the database"):
        IngestService(ingest_config(mosquitto.port), url).start()


def test_stop_commits_and_acknowledges_what_arrived(start_ingest, publisher, devices, estate_db_url, mosquitto):
    lift = elevator(devices)
    config = ingest_config(mosquitto.port, flush_ms=5000, batch_size=10_000)
    service = IngestService(config, estate_db_url)
    service.start()
    publisher.publish([(lift.topic(), telemetry(seq)) for seq in range(50)])
    wait_until(lambda: service.stats.queue_depth >= 50, 10, "messages queued, not yet flushed")
    service.stop()
    assert stored_seqs(estate_db_url, lift.id) == list(range(50))
    # acknowledged: the same session comes back and the broker has nothing to redeliver
    again = start_ingest(config)
    time.sleep(0.5)
    assert again.stats.received == 0


def test_a_reading_the_database_refuses_becomes_a_dead_letter_and_the_rest_are_stored(
        start_ingest, publisher, devices, estate_db_url):
    lift = elevator(devices)
    with psycopg.connect(estate_db_url) as conn:  # stands in for any data error the decoder did not foresee
        conn.execute("ALTER TABLE readings ADD CONSTRAINT no_floor_13 CHECK (metric <> 'floor' OR value <> 13)")
    reported: list[int] = []
    service = start_ingest(on_readings=lambda batch: reported.extend(r.seq for r in batch))
    publisher.publish([(lift.topic(), telemetry(seq, floor=13 if seq == 2 else 3, moving=True))
                       for seq in range(5)])
    wait_until(lambda: service.stats.received >= 5, 20, "five messages")
    assert stored_seqs(estate_db_url, lift.id) == [0, 1, 3, 4]
    assert reported == [0, 1, 3, 4]
    with psycopg.connect(estate_db_url) as conn:
        rows = conn.execute("SELECT reason, device_id, detail FROM dead_letters").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("storage_error", lift.id)] and "no_floor_13" in rows[0][2]


def test_a_device_added_to_the_registry_is_accepted_without_a_restart(start_ingest, publisher, mosquitto, devices,
                                                                      estate_db_url):
    lift = elevator(devices)
    new_topic = f"forewarn/v1/{lift.site}/elevator/new-lift/telemetry"
    service = start_ingest(ingest_config(mosquitto.port, registry_refresh_s=0.5))
    publisher.publish([(new_topic, telemetry(1))])
    wait_until(lambda: service.stats.dead_lettered >= 1, 10, "the stranger dead-lettered")
    with psycopg.connect(estate_db_url) as conn:
        conn.execute("INSERT INTO devices (id, kind, site_id) VALUES ('new-lift', 'elevator', %s)", (lift.site,))
    reading = telemetry(2)
    deadline = time.monotonic() + 10
    while stored_seqs(estate_db_url, "new-lift") != [2] and time.monotonic() < deadline:
        publisher.publish([(new_topic, reading)])  # the same reading again until the registry has it
        time.sleep(0.3)
    assert stored_seqs(estate_db_url, "new-lift") == [2]


def test_a_database_without_the_readings_table_pauses_ingest_until_it_is_back(start_ingest, publisher, devices,
                                                                              estate_db_url):
    lift = elevator(devices)
    service = start_ingest()
    with psycopg.connect(estate_db_url) as conn:  # e.g. an operator restoring a backup under a new name
        conn.execute("ALTER TABLE readings RENAME TO readings_away")
    publisher.publish([(lift.topic(), telemetry(seq)) for seq in range(20)])
    wait_until(lambda: service.stats.db_retries >= 2, 10, "ingest retrying")
    assert service.stats.stored == 0 and service.stats.dead_lettered == 0
    with psycopg.connect(estate_db_url) as conn:
        conn.execute("ALTER TABLE readings_away RENAME TO readings")
    wait_until(lambda: service.stats.stored >= 20, 20, "the readings stored once the table is back")
    assert stored_seqs(estate_db_url, lift.id) == list(range(20))
    assert count_rows(estate_db_url, "SELECT count(*) FROM dead_letters") == 0


def test_a_message_larger_than_the_read_buffer_between_small_ones_is_read_whole(start_ingest, publisher, devices,
                                                                              estate_db_url):
    """ingest.client reads the socket 64 KiB at a time: a packet spanning several reads is reassembled, and the
    small packets around it (many per read) are all parsed before it waits on the socket again."""
    lift = elevator(devices)
    service = start_ingest()
    big = b'{"v": 1, "pad": "' + b"x" * 200_000 + b'"}'
    messages = [(lift.topic(), telemetry(seq)) for seq in range(300)]
    messages.insert(150, (lift.topic(), big))
    publisher.publish(messages)
    wait_until(lambda: service.stats.received >= 301, 20, "all messages received")
    assert stored_seqs(estate_db_url, lift.id) == list(range(300))
    with psycopg.connect(estate_db_url) as conn:
        sizes = conn.execute("SELECT payload_size FROM dead_letters WHERE reason = 'too_large'").fetchall()
    assert sizes == [(len(big),)]
