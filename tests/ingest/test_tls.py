"""mqtts://: ingest verifies the broker's certificate and stores readings through a TLS-only Mosquitto."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from forewarn.embedded import free_port, mosquitto_config, wait_for_port
from ingest.service import IngestError
from tests.ingest.conftest import ingest_config, stored_seqs, telemetry, wait_until


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it."""
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=forewarn test CA",
        "-keyout", str(ca_key), "-out", str(ca_crt))
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr))
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
        "-days", "2", "-extfile", str(ext), "-out", str(crt))
    return ca_crt, crt, key


@pytest.fixture
def tls_broker(tmp_path):
    ca, crt, key = make_certificates(tmp_path)
    for path in (ca, crt, key):
        path.chmod(0o644)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(mosquitto_config(port, tmp_path, extra=f"cafile {ca}\ncertfile {crt}\nkeyfile {key}\n"))
    log = open(tmp_path / "mosquitto.log", "ab")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
                               stdout=log, stderr=log)
    assert wait_for_port(port, 10), (tmp_path / "mosquitto.log").read_text()
    yield port, ca
    process.terminate()
    process.wait(10)


def test_readings_arrive_over_tls_and_a_wrong_ca_is_refused(tls_broker, start_ingest, estate_db_url, tmp_path):
    port, ca = tls_broker
    start_ingest(ingest_config(port, tls=True, tls_ca_file=str(ca)))
    topic = "forewarn/v1/riverside/elevator/rs-b1-elev-a/telemetry"
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "--cafile", str(ca), "-q", "1",
                    "-t", topic, "-m", telemetry(1).decode()],
                   check=True, capture_output=True, timeout=10)
    wait_until(lambda: stored_seqs(estate_db_url, "rs-b1-elev-a") == [1], 15, "the reading stored over TLS")

    impostor = tmp_path / "impostor"
    impostor.mkdir()
    other_ca, _, _ = make_certificates(impostor)
    with pytest.raises(IngestError):  # a broker whose certificate our CA did not sign is not trusted
        start_ingest(ingest_config(port, tls=True, tls_ca_file=str(other_ca), connect_timeout_s=3))
