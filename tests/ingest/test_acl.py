"""`forewarn mqtt acl` against a real Mosquitto: a device cannot publish as another, a stranger cannot connect."""

from __future__ import annotations

import base64
import csv
import hashlib
import stat
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest import acl
from ingest.cli import mqtt_app
from ingest.reading import DeviceKind
from ingest.service import IngestError, IngestService
from tests.conftest import Mosquitto
from tests.ingest.conftest import Publisher, ingest_config, stored_seqs, telemetry, wait_until


class FakeCli:
    """What the forewarn CLI puts in ctx.obj, as far as ingest's commands use it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def database_url(self) -> str:
        return self.url


def test_password_hashes_are_mosquittos_pbkdf2_sha512_format():
    salt = b"0123456789ab"
    hashed = acl.hash_password("secret", salt=salt, iterations=101)
    _, seven, iterations, salt64, digest64 = hashed.split("$")
    assert (seven, iterations, base64.b64decode(salt64)) == ("7", "101", salt)
    assert base64.b64decode(digest64) == hashlib.pbkdf2_hmac("sha512", b"secret", salt, 101, 64)


@pytest.fixture
def secured(estate_db_url, tmp_path):
    """The CLI's files for the demo estate, and a Mosquitto that enforces them."""
    out = tmp_path / "auth"
    result = CliRunner().invoke(mqtt_app, ["acl", "--out", str(out)], obj=FakeCli(estate_db_url))
    assert result.exit_code == 0, result.output
    with (out / "credentials.csv").open() as handle:
        creds = {row["username"]: row["password"] for row in csv.DictReader(handle)}
    with tempfile.TemporaryDirectory(prefix="fw-mqtt-acl-") as workdir:
        broker = Mosquitto(Path(workdir), extra_config=(out / "mosquitto-auth.conf").read_text())
        broker.start()
        yield broker, creds, out
        broker.stop()


def test_the_cli_writes_secret_files_and_keeps_passwords_on_rerun(secured, estate_db_url):
    _, creds, out = secured
    assert len(creds) == 57 + 1 and acl.INGEST_USER in creds
    for name in ("passwd", "credentials.csv"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    again = CliRunner().invoke(mqtt_app, ["acl", "--out", str(out)], obj=FakeCli(estate_db_url))
    assert again.exit_code == 0 and "0 new, 58 kept" in again.output
    with (out / "credentials.csv").open() as handle:
        assert {row["username"]: row["password"] for row in csv.DictReader(handle)} == creds


def test_a_device_cannot_publish_as_another_and_a_stranger_cannot_connect(secured, devices, estate_db_url):
    broker, creds, _ = secured
    lift_a, lift_b = [d for d in devices if d.kind is DeviceKind.ELEVATOR][:2]
    config = ingest_config(broker.port, username=acl.INGEST_USER, password=creds[acl.INGEST_USER])
    service = IngestService(config, estate_db_url)
    service.start()
    try:
        as_b = Publisher(broker.port, client_id=lift_b.id, username=lift_b.id, password=creds[lift_b.id])
        as_b.publish([(lift_a.topic(), telemetry(666))])  # B pretending to be A: the broker drops it
        as_b.publish([(lift_b.topic(), telemetry(1))])  # B as itself, after it: arrives
        as_b.close()
        wait_until(lambda: stored_seqs(estate_db_url, lift_b.id) == [1], 10, "B's own reading")
        assert stored_seqs(estate_db_url, lift_a.id) == []
        assert service.stats.received == 1

        with pytest.raises(ConnectionRefusedError, match="Not authorized"):
            Publisher(broker.port, client_id="stranger")
        with pytest.raises(ConnectionRefusedError, match="Bad user name or password|Not authorized"):
            Publisher(broker.port, client_id=lift_a.id, username=lift_a.id, password="guessed")
    finally:
        service.stop()


def test_ingest_stops_with_a_clear_error_on_refused_credentials(secured, estate_db_url):
    broker, _, _ = secured
    config = ingest_config(broker.port, username=acl.INGEST_USER, password="wrong", connect_timeout_s=5)
    started = time.monotonic()
    with pytest.raises(IngestError, match="refused ingest"):
        IngestService(config, estate_db_url).start()
    assert time.monotonic() - started < 4  # refused at once, not after the timeout
