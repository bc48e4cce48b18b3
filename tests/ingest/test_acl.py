"""`forewarn mqtt acl` against a real Mosquitto: a device cannot publish as another, a stranger cannot connect, no
client can take the platform's client ids (nor another device's), and a stock Mosquitto running as its own user can
read the files."""

from __future__ import annotations

import base64
import csv
import grp
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forewarn.embedded import free_port, wait_for_port
from ingest import acl
from ingest.cli import mqtt_app
from ingest.estate import Device
from ingest.reading import DeviceKind
from ingest.service import IngestError, IngestService
from tests.conftest import ROOT
from tests.ingest.conftest import Publisher, ingest_config, stored_seqs, telemetry, wait_until


class FakeCli:
    """What the forewarn CLI puts in ctx.obj, as far as ingest's commands use it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def database_url(self) -> str:
        return self.url


class SecuredBroker:
    """A real Mosquitto whose listeners are exactly the generated mosquitto-auth.conf."""

    def __init__(self, auth_dir: Path, workdir: Path, *, user: str = "root") -> None:
        self.auth_dir, self.workdir, self.user = auth_dir, workdir, user
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, device_port: int, platform_port: int) -> None:
        self.port, self.platform_port = device_port, platform_port
        conf = self.workdir / "mosquitto.conf"
        user = f"user {self.user}\n" if os.geteuid() == 0 else ""
        conf.write_text((self.auth_dir / "mosquitto-auth.conf").read_text()
                        + f"\n{user}persistence false\nlog_dest stderr\n")
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen([shutil.which("mosquitto") or "mosquitto", "-c", str(conf)],
                                        stdout=log, stderr=log)
        if not (wait_for_port(device_port, 10) and wait_for_port(platform_port, 10)):
            self.stop()
            pytest.fail(f"mosquitto did not listen: {(self.workdir / 'mosquitto.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def _generate(url: str, out: Path, device_port: int, platform_port: int) -> dict[str, str]:
    result = CliRunner().invoke(mqtt_app, ["acl", "--out", str(out), "--device-port", str(device_port),
                                           "--device-host", "127.0.0.1", "--platform-port", str(platform_port)],
                                obj=FakeCli(url))
    assert result.exit_code == 0, result.output
    with (out / "credentials.csv").open() as handle:
        return {row["username"]: row["password"] for row in csv.DictReader(handle)}


@pytest.fixture
def secured(estate_db_url: str, tmp_path: Path) -> Iterator[tuple[SecuredBroker, dict[str, str], Path]]:
    """The CLI's files for the demo estate, and a Mosquitto that enforces them."""
    out = tmp_path / "auth"
    device_port, platform_port = free_port(), free_port()
    creds = _generate(estate_db_url, out, device_port, platform_port)
    broker = SecuredBroker(out, tmp_path)
    broker.start(device_port, platform_port)
    yield broker, creds, out
    broker.stop()


def platform_ingest(broker: SecuredBroker, creds: dict[str, str], **overrides: object):
    values = {"username": acl.PLATFORM_USER, "password": creds[acl.PLATFORM_USER], **overrides}
    return ingest_config(broker.platform_port, **values)


def test_password_hashes_are_mosquittos_pbkdf2_sha512_format():
    salt = b"0123456789ab"
    hashed = acl.hash_password("secret", salt=salt, iterations=101)
    _, seven, iterations, salt64, digest64 = hashed.split("$")
    assert (seven, iterations, base64.b64decode(salt64)) == ("7", "101", salt)
    assert base64.b64decode(digest64) == hashlib.pbkdf2_hmac("sha512", b"secret", salt, 101, 64)


def test_a_device_id_in_the_platforms_prefix_is_refused():
    device = Device("forewarn-ingest", DeviceKind.WATER, "rs", "rs-b1", "roof")
    with pytest.raises(acl.AclError, match="reserved to the platform"):
        acl.credentials([device], {})


def test_the_cli_writes_secret_files_and_keeps_passwords_on_rerun(secured, estate_db_url):
    broker, creds, out = secured
    assert len(creds) == 57 + 1 and acl.PLATFORM_USER in creds
    assert stat.S_IMODE((out / "credentials.csv").stat().st_mode) == 0o600
    for name in ("passwd", "passwd-platform"):  # the broker's group reads them; nobody else
        info = (out / name).stat()
        assert stat.S_IMODE(info.st_mode) == 0o640 and grp.getgrgid(info.st_gid).gr_name == "mosquitto"
    platform_file = (out / "passwd-platform").read_text()
    assert platform_file.startswith(f"{acl.PLATFORM_USER}:") and platform_file.count("\n") == 1
    assert acl.PLATFORM_USER not in (out / "passwd").read_text()
    again = CliRunner().invoke(mqtt_app, ["acl", "--out", str(out)], obj=FakeCli(estate_db_url))
    assert again.exit_code == 0 and "0 new, 58 kept" in again.output
    with (out / "credentials.csv").open() as handle:
        assert {row["username"]: row["password"] for row in csv.DictReader(handle)} == creds


def test_a_device_cannot_publish_as_another_and_a_stranger_cannot_connect(secured, devices, estate_db_url):
    broker, creds, _ = secured
    lift_a, lift_b = [d for d in devices if d.kind is DeviceKind.ELEVATOR][:2]
    service = IngestService(platform_ingest(broker, creds), estate_db_url)
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


def test_a_device_cannot_take_ingests_client_id_and_ingest_loses_nothing(secured, devices, estate_db_url):
    broker, creds, _ = secured
    lift = next(d for d in devices if d.kind is DeviceKind.ELEVATOR)
    door = next(d for d in devices if d.kind is DeviceKind.ACCESS_DOOR)
    service = IngestService(platform_ingest(broker, creds, client_id="forewarn-ingest"), estate_db_url)
    service.start()
    try:
        device = Publisher(broker.port, client_id=lift.id, username=lift.id, password=creds[lift.id])
        device.publish([(lift.topic(), telemetry(seq)) for seq in range(25)])
        # On the platform's listener a device's password is no account at all.
        with pytest.raises(ConnectionRefusedError, match="Not authorized|Bad user name or password"):
            Publisher(broker.platform_port, client_id="forewarn-ingest", username=door.id, password=creds[door.id])
        # On the devices' listener the id asked for is ignored: the door connects as itself, not as ingest.
        impostor = Publisher(broker.port, client_id="forewarn-ingest", username=door.id, password=creds[door.id])
        device.publish([(lift.topic(), telemetry(seq)) for seq in range(25, 50)])
        wait_until(lambda: len(stored_seqs(estate_db_url, lift.id)) >= 50, 15, "all 50 readings stored")
        assert stored_seqs(estate_db_url, lift.id) == list(range(50))
        assert service.stats.connected and service.failed is None
        impostor.close()
        device.close()
    finally:
        service.stop()


def test_ingest_stops_with_a_clear_error_on_refused_credentials(secured, estate_db_url):
    broker, creds, _ = secured
    config = platform_ingest(broker, creds, password="wrong", connect_timeout_s=5)
    started = time.monotonic()
    with pytest.raises(IngestError, match="refused ingest"):
        IngestService(config, estate_db_url).start()
    assert time.monotonic() - started < 4  # refused at once, not after the timeout


def test_a_stock_mosquitto_running_as_its_own_user_reads_the_files(estate_db_url, devices):
    lift = next(d for d in devices if d.kind is DeviceKind.ELEVATOR)
    with tempfile.TemporaryDirectory(prefix="fw-mqtt-user-") as workdir:
        root = Path(workdir)
        root.chmod(0o755)  # as /etc/mosquitto is: the broker's user may enter it
        device_port, platform_port = free_port(), free_port()
        creds = _generate(estate_db_url, root / "auth", device_port, platform_port)
        broker = SecuredBroker(root / "auth", root, user="mosquitto")
        broker.start(device_port, platform_port)
        try:
            service = IngestService(platform_ingest(broker, creds), estate_db_url)
            service.start()
            try:
                device = Publisher(device_port, client_id=lift.id, username=lift.id, password=creds[lift.id])
                device.publish([(lift.topic(), telemetry(1))])
                device.close()
                wait_until(lambda: stored_seqs(estate_db_url, lift.id) == [1], 10, "the reading stored")
            finally:
                service.stop()
        finally:
            broker.stop()


def _ingest_process(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "ingest", *args], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=os.environ | {"PYTHONPATH": str(ROOT)} | env)


def test_python_m_ingest_refuses_a_password_on_the_command_line(estate_db_url):
    process = _ingest_process(["--database", estate_db_url, "--password", "hunter2"], {})
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2 and "FOREWARN_MQTT_PASSWORD" in err and "--password-file" in err


@pytest.mark.parametrize("source", ["environment", "stdin"])
def test_python_m_ingest_takes_the_password_from_the_environment_or_stdin(secured, estate_db_url, source):
    broker, creds, _ = secured
    password = creds[acl.PLATFORM_USER]
    args = ["--broker-port", str(broker.platform_port), "--username", acl.PLATFORM_USER, "--client-id",
            "forewarn-ingest-cli"]
    env = {"FOREWARN_DATABASE_URL": estate_db_url}
    if source == "environment":
        env["FOREWARN_MQTT_PASSWORD"] = password
    else:
        args += ["--password-file", "-"]
    process = _ingest_process(args, env)
    try:
        if source == "stdin":
            assert process.stdin is not None
            process.stdin.write(password + "\n")
            process.stdin.flush()
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert password.encode() not in cmdline and estate_db_url.encode() not in cmdline
    finally:
        process.terminate()
        process.wait(15)
