"""What operators see: `forewarn ingest dead-letters`, GET /api/v1/dead-letters and GET /metrics."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.auth import Role, create_user, ensure_resident_user, issue_token
from api.deps import AppState
from forewarn.db import open_pool
from ingest import storage
from ingest.cli import app as ingest_app
from ingest.decode import Rejection
from ingest.reading import DeviceKind
from tests.ingest.conftest import telemetry, wait_until
from tests.ingest.test_acl import FakeCli

TOPIC = "forewarn/v1/riverside/elevator/rs-b1-elev-a/telemetry"


def record(url: str, *rejections: Rejection) -> None:
    with psycopg.connect(url) as conn:
        storage.prepare(conn)
        now = datetime.now(UTC)
        storage.write_batch(conn, storage.Batch(rejections=[(r, now) for r in rejections]), payload_limit=16)


def test_dead_letters_cli_lists_reason_device_topic_and_payload(estate_db_url):
    record(estate_db_url,
           Rejection(TOPIC, "bad_json", "payload is not JSON", b"{oops" + b"x" * 40, "rs-b1-elev-a"),
           Rejection(TOPIC, "unknown_metric", "elevator has no metric 'a\x00b'", b'{"v":1}', "rs-b1-elev-a"))
    runner = CliRunner()
    result = runner.invoke(ingest_app, ["dead-letters", "--reason", "bad_json"], obj=FakeCli(estate_db_url),
                           env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "bad_json" in result.output and TOPIC in result.output and "{oopsxxxxxxxxxxx" in result.output
    assert "(45 B)" in result.output  # the original size, though only 16 bytes are kept
    assert "unknown_metric 1" in result.output  # the all-time summary line
    empty = runner.invoke(ingest_app, ["dead-letters", "--device", "nobody"], obj=FakeCli(estate_db_url))
    assert empty.exit_code == 0 and "no dead letters matching" in empty.output


@pytest.fixture
def client(estate_db_url, start_ingest):
    service = start_ingest()
    pool = open_pool(estate_db_url, size=2)
    state = AppState(pool=pool, broker_check=lambda: True, extras={"metrics_registry": service.metrics_registry})
    try:
        with TestClient(create_app(state)) as c:
            c.service = service
            yield c
    finally:
        pool.close()


def token(url: str, role: Role) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        if role is Role.RESIDENT:
            user = ensure_resident_user(conn, "r-00001")
        else:
            user = f"{role.value}-1"
            create_user(conn, user_id=user, name=user, role=role)
        return {"Authorization": f"Bearer {issue_token(conn, user)}"}


def test_staff_list_dead_letters_and_residents_may_not(client, estate_db_url):
    record(estate_db_url, Rejection(TOPIC, "out_of_range", "floor=999 is outside -5..120 floor", b'{"floor":999}',
                                    "rs-b1-elev-a"))
    listed = client.get("/api/v1/dead-letters", params={"reason": "out_of_range"},
                        headers=token(estate_db_url, Role.ENGINEER))
    assert listed.status_code == 200, listed.text
    [letter] = listed.json()
    assert (letter["reason"], letter["device_id"], letter["topic"]) == ("out_of_range", "rs-b1-elev-a", TOPIC)
    assert letter["payload"] == '{"floor":999}' and letter["payload_size"] == 13
    assert client.get("/api/v1/dead-letters").status_code == 401
    assert client.get("/api/v1/dead-letters", headers=token(estate_db_url, Role.RESIDENT)).status_code == 403


def test_metrics_count_what_ingest_did(client, publisher, devices):
    lift = next(d for d in devices if d.kind is DeviceKind.ELEVATOR)
    reading = telemetry(1)
    publisher.publish([(lift.topic(), reading), (lift.topic(), b"nope"), (lift.topic(), reading)])
    wait_until(lambda: client.service.stats.received >= 3, 10, "three messages")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in ("forewarn_ingest_messages_received_total 3.0", "forewarn_ingest_readings_stored_total 1.0",
                 "forewarn_ingest_duplicates_total 1.0", 'forewarn_ingest_dead_letters_total{reason="bad_json"} 1.0',
                 "forewarn_ingest_queue_depth 0.0", "forewarn_ingest_broker_connected 1.0"):
        assert line in text, line
    assert "forewarn_ingest_batch_seconds_bucket" in text
