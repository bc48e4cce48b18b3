"""The contract as written, at its edges: integer `v` only, a device's site must match the registry, every topic
without the contract's shape is dead-lettered (not lost at the broker), and a flood of dead letters is logged as a
summary, not a line each."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import psycopg
import pytest

from ingest.contract import topic_for
from ingest.dead_letter_log import DETAILED_PER_INTERVAL, DeadLetterLog
from ingest.decode import Rejection, decode
from ingest.reading import Channel, DeviceKind, Reading
from tests.ingest.conftest import ingest_config, stored_seqs, telemetry, wait_until

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
TOPIC = topic_for("site-a", DeviceKind.WATER, "w1", Channel.TELEMETRY)


def _payload(version: object) -> bytes:
    return json.dumps({"v": version, "ts": NOW.isoformat(), "seq": 1, "data": {"pressure_kpa": 300}}).encode()


@pytest.mark.parametrize("version", [True, 1.0, "1", 2, None])
def test_only_the_integer_version_1_is_accepted(version: object) -> None:
    result = decode(TOPIC, _payload(version), now=NOW)
    assert isinstance(result, Rejection) and result.reason == "bad_version"


def test_the_integer_version_1_is_accepted() -> None:
    assert isinstance(decode(TOPIC, _payload(1), now=NOW), Reading)


def test_a_device_publishing_under_another_sites_topic_is_rejected() -> None:
    known = {"w1": DeviceKind.WATER}
    result = decode(topic_for("site-b", DeviceKind.WATER, "w1", Channel.TELEMETRY), _payload(1), now=NOW,
                    known_devices=known, known_sites={"w1": "site-a"})
    assert isinstance(result, Rejection) and result.reason == "wrong_site"
    assert "site-a" in result.detail
    assert isinstance(decode(TOPIC, _payload(1), now=NOW, known_devices=known, known_sites={"w1": "site-a"}),
                      Reading)


def test_misshapen_topics_and_foreign_sites_reach_the_dead_letter_table(start_ingest, publisher, devices,
                                                                        estate_db_url):
    lift = next(d for d in devices if d.kind is DeviceKind.ELEVATOR)
    service = start_ingest()
    too_deep = lift.topic() + "/extra"  # 7 levels
    too_short = lift.topic().rsplit("/", 1)[0]  # 5 levels
    foreign = topic_for("another-site", lift.kind, lift.id, Channel.TELEMETRY)
    publisher.publish([(too_deep, telemetry(1)), (too_short, telemetry(2)), (foreign, telemetry(3)),
                       (lift.topic(), telemetry(4))])
    wait_until(lambda: service.stats.received >= 4, 20, "all four messages received")
    with psycopg.connect(estate_db_url) as conn:
        rows = dict(conn.execute("SELECT topic, reason FROM dead_letters").fetchall())
    assert rows == {too_deep: "bad_topic", too_short: "bad_topic", foreign: "wrong_site"}
    assert stored_seqs(estate_db_url, lift.id) == [4]


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _rejection(reason: str) -> Rejection:
    return Rejection("forewarn/v1/x", reason, "detail", b"")


def test_a_flood_of_dead_letters_is_logged_as_a_few_lines_and_one_summary(caplog) -> None:
    clock = _Clock()
    logger = logging.getLogger("test.dead_letters")
    dead = DeadLetterLog(logger, interval_s=60, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.dead_letters"):
        for _ in range(50):
            dead.record([_rejection("bad_json")] * 80 + [_rejection("out_of_range")] * 20)  # 5,000 in all
        clock.t = 61
        dead.flush()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == DETAILED_PER_INTERVAL + 1
    assert lines[-1].startswith(f"{5000 - DETAILED_PER_INTERVAL} more dead letters")
    assert "bad_json: 3995" in lines[-1] and "out_of_range: 1000" in lines[-1]


def test_the_dead_letter_summary_waits_for_the_end_of_its_interval(caplog) -> None:
    clock = _Clock()
    dead = DeadLetterLog(logging.getLogger("test.dead_letters"), interval_s=60, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.dead_letters"):
        dead.record([_rejection("bad_json")] * (DETAILED_PER_INTERVAL + 3))
        clock.t = 30
        dead.flush()
        assert len(caplog.records) == DETAILED_PER_INTERVAL
        clock.t = 60
        dead.flush()
        assert "3 more dead letters" in caplog.records[-1].getMessage()
        dead.record([_rejection("bad_json")])  # a new interval: shown in full again
    assert caplog.records[-1].getMessage().startswith("dead letter from")


def test_ingest_logs_a_flood_of_dead_letters_in_a_few_lines(start_ingest, publisher, devices, caplog):
    lift = next(d for d in devices if d.kind is DeviceKind.ELEVATOR)
    service = start_ingest(ingest_config(publisher.client._port, dead_letter_log_interval_s=3600))  # noqa: SLF001
    with caplog.at_level(logging.INFO, logger="ingest.service"):
        publisher.publish([(lift.topic(), b"{not json")] * 300)
        wait_until(lambda: service.stats.dead_lettered >= 300, 20, "300 dead letters")
    assert len([r for r in caplog.records if "dead letter" in r.getMessage()]) <= DETAILED_PER_INTERVAL + 1
