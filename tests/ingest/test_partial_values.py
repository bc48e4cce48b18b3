"""A bad value costs only itself: the message's other values and its event are stored and reported, the dropped
values become one dead letter that names them; a message with nothing valid left is rejected whole."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import psycopg
from typer.testing import CliRunner

from ingest.cli import app as ingest_app
from ingest.dead_letter_log import DETAILED_PER_INTERVAL, DeadLetterLog
from ingest.decode import PartialReading, Rejection, decode
from ingest.reading import Channel, DeviceKind, Reading
from tests.ingest.conftest import wait_until
from tests.ingest.test_acl import FakeCli

NOW = datetime(2026, 11, 24, 0, 2, 31, tzinfo=UTC)
LIFT = "forewarn/v1/riverside/elevator/rs-b1-elev-a"
KNOWN = {"rs-b1-elev-a": DeviceKind.ELEVATOR}
TRAPPED = {"alarm_button": True, "levelling_error_mm": -999, "floor": 7, "in_service": False}
SENTINEL_DETAIL = ("kept 3 of 4 values and the alarm_button event; "
                   "dropped: levelling_error_mm=-999 is outside -300..300 mm")


def message(seq: int, data: object, event: str | None = None, ts: datetime = NOW) -> bytes:
    body: dict[str, object] = {"v": 1, "ts": ts.isoformat(), "seq": seq, "data": data}
    if event is not None:
        body["event"] = event
    return json.dumps(body).encode()


def test_a_sentinel_beside_an_alarm_press_costs_only_the_sentinel():
    payload = message(1, TRAPPED, "alarm_button")
    result = decode(f"{LIFT}/event", payload, now=NOW, known_devices=KNOWN)
    assert isinstance(result, PartialReading), result
    reading = result.reading
    assert reading.event == "alarm_button" and reading.seq == 1 and reading.ts == NOW
    assert reading.values == {"alarm_button": 1.0, "floor": 7.0, "in_service": 0.0}
    dropped = result.dropped
    assert (dropped.reason, dropped.detail) == ("out_of_range", SENTINEL_DETAIL)
    assert (dropped.topic, dropped.device_id, dropped.payload) == (f"{LIFT}/event", "rs-b1-elev-a", payload)


def test_every_dropped_value_is_named_with_its_value_and_the_first_gives_the_reason():
    data = {"floor": 3, "motor_temp_c": "hot", "vibration_rms": 99, "turbo": 1, "moving": True}
    result = decode(f"{LIFT}/telemetry", message(2, data), now=NOW, known_devices=KNOWN)
    assert isinstance(result, PartialReading), result
    assert result.reading.values == {"floor": 3.0, "moving": 1.0} and result.reading.event is None
    assert result.dropped.reason == "bad_type"
    assert result.dropped.detail == (
        "kept 2 of 5 values; dropped: motor_temp_c must be a number in °C, got 'hot'; "
        "vibration_rms=99 is outside 0..50 m/s²; elevator has no metric 'turbo' (sent '1')")


def test_a_flood_of_bad_values_is_named_in_a_short_detail():
    data = {"floor": 3, **{f"bogus_{i:03}": i for i in range(150)}}
    result = decode(f"{LIFT}/telemetry", message(9, data), now=NOW, known_devices=KNOWN)
    assert isinstance(result, PartialReading) and result.reading.values == {"floor": 3.0}
    detail = result.dropped.detail
    assert detail.startswith("kept 1 of 151 values; dropped: elevator has no metric 'bogus_000' (sent '0'); ")
    assert detail.endswith("elevator has no metric 'bogus_009' (sent '9'); and 140 more") and len(detail) < 600


def test_a_message_with_nothing_valid_left_is_rejected_whole():
    result = decode(f"{LIFT}/telemetry", message(3, {"levelling_error_mm": -999, "floor": "third"}), now=NOW,
                    known_devices=KNOWN)
    assert isinstance(result, Rejection), result
    assert result.reason == "out_of_range"
    assert result.detail == ("levelling_error_mm=-999 is outside -300..300 mm; "
                             "floor must be a number in floor, got 'third'")
    # one bad value alone: the same rejection and sentence as before values were dropped one by one
    alone = decode(f"{LIFT}/telemetry", message(4, {"floor": 999}), now=NOW, known_devices=KNOWN)
    assert isinstance(alone, Rejection)
    assert (alone.reason, alone.detail) == ("out_of_range", "floor=999 is outside -5..120 floor")


def test_an_event_whose_values_are_all_bad_keeps_its_event():
    result = decode(f"{LIFT}/event", message(5, {"alarm_button": "yes"}, "alarm_button"), now=NOW,
                    known_devices=KNOWN)
    assert isinstance(result, PartialReading), result
    assert result.reading.values == {} and result.reading.event == "alarm_button"
    assert result.dropped.detail == ("kept 0 of 1 values and the alarm_button event; "
                                     "dropped: alarm_button must be true or false, got 'yes'")


def test_problems_of_the_whole_message_still_reject_it_whole():
    cases = {
        "unknown_event": (f"{LIFT}/event", message(6, TRAPPED, "explode")),
        "bad_timestamp": (f"{LIFT}/telemetry", message(7, TRAPPED).replace(b"+00:00", b"")),
        "bad_type": (f"{LIFT}/telemetry", message(8, [1, 2])),  # 'data' is not an object
        "bad_sequence": (f"{LIFT}/telemetry", message(-1, TRAPPED)),
    }
    for reason, (topic, payload) in cases.items():
        result = decode(topic, payload, now=NOW, known_devices=KNOWN)
        assert isinstance(result, Rejection) and result.reason == reason, (reason, result)


def test_the_log_tells_partly_kept_messages_from_rejected_ones(caplog):
    clock = [0.0]
    dead = DeadLetterLog(logging.getLogger("test.partial"), interval_s=60, clock=lambda: clock[0])
    dropped = Rejection(f"{LIFT}/event", "out_of_range", SENTINEL_DETAIL, b"")
    with caplog.at_level(logging.INFO, logger="test.partial"):
        dead.record([], [dropped])
        dead.record([Rejection(f"{LIFT}/telemetry", "bad_json", "payload is not JSON", b"")] * 10, [dropped] * 4)
        clock[0] = 61
        dead.flush()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == f"values dropped from a stored message from {LIFT}/event: out_of_range ({SENTINEL_DETAIL})"
    assert len(lines) == DETAILED_PER_INTERVAL + 1
    # 15 in all, 5 shown: the 4 partly kept are all among the 10 summed up
    assert lines[-1].startswith("10 more dead letters in the last 61 s (bad_json: 6, out_of_range: 4; "
                                "4 of them messages stored without their bad values)")


def test_ingest_stores_the_press_and_dead_letters_the_sentinel(start_ingest, publisher, devices, estate_db_url):
    lift = next(d for d in devices if d.kind is DeviceKind.ELEVATOR)
    reported: list[Reading] = []
    service = start_ingest(on_readings=reported.extend)
    now = datetime.now(UTC)
    trapped = message(10, TRAPPED, "alarm_button", now)
    hopeless = message(11, {"floor": 999, "motor_temp_c": 900}, ts=now)
    publisher.publish([(lift.topic(Channel.EVENT), trapped), (lift.topic(), hopeless),
                       (lift.topic(), message(12, {"floor": 7}, ts=now))])
    wait_until(lambda: service.stats.received >= 3, 20, "three messages received")
    with psycopg.connect(estate_db_url) as conn:
        stored = conn.execute("SELECT seq, metric, value FROM readings WHERE device_id = %s ORDER BY seq, metric",
                              (lift.id,)).fetchall()
        events = conn.execute("SELECT seq, event FROM device_events WHERE device_id = %s", (lift.id,)).fetchall()
        letters = conn.execute("SELECT topic, device_id, reason, detail, payload FROM dead_letters ORDER BY id"
                               ).fetchall()
    assert stored == [(10, "alarm_button", 1.0), (10, "floor", 7.0), (10, "in_service", 0.0), (12, "floor", 7.0)]
    assert events == [(10, "alarm_button")]
    assert letters == [
        (lift.topic(Channel.EVENT), lift.id, "out_of_range", SENTINEL_DETAIL, trapped),
        (lift.topic(), lift.id, "out_of_range", "floor=999 is outside -5..120 floor; "
                                                "motor_temp_c=900 is outside -30..180 °C", hopeless),
    ]
    # the detectors' feed gets the press as any other reading
    assert [(r.seq, r.event, dict(r.values)) for r in reported] == [
        (10, "alarm_button", {"alarm_button": 1.0, "floor": 7.0, "in_service": 0.0}), (12, None, {"floor": 7.0})]
    stats = service.stats
    assert (stats.stored, stats.partially_kept, stats.dead_lettered) == (2, 1, 1)
    metrics = service.metrics_registry.get_sample_value
    assert metrics("forewarn_ingest_partially_kept_total", {"reason": "out_of_range"}) == 1
    assert metrics("forewarn_ingest_dead_letters_total", {"reason": "out_of_range"}) == 1
    # what an operator runs to see it
    shown = CliRunner().invoke(ingest_app, ["dead-letters", "--reason", "out_of_range"],
                               obj=FakeCli(estate_db_url), env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    assert "levelling_error_mm=-999 is outside -300..300 mm" in " ".join(shown.output.split())
    assert "out_of_range 2" in shown.output
