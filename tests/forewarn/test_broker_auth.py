"""Outside development mode the embedded broker requires authentication: anonymous clients are refused, devices
connect with the accounts generated from the registry, and the platform with its own account on its own listener."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from forewarn.embedded import EmbeddedBroker, EmbeddedServerError, free_port
from forewarn.runtime import Platform, Role
from forewarn.settings import load_settings
from ingest.reading import DeviceKind
from tests.ingest.conftest import Device, Publisher, stored_seqs, telemetry, wait_until

PLATFORM_PASSWORD = "platform-password-from-the-settings"


@pytest.fixture
def production(estate_db_url: str, tmp_path: Path) -> Iterator[Platform]:
    settings = load_settings(
        environ={}, mode="production", database_url=estate_db_url, secret_key="s" * 32, data_dir=tmp_path,
        mqtt_username="forewarn-platform", mqtt_password=PLATFORM_PASSWORD,
        embedded_mqtt_port=free_port(), embedded_mqtt_platform_port=free_port(), db_mode="plain")
    platform = Platform(settings, roles=frozenset({Role.INGEST}))
    platform.start()
    yield platform
    platform.stop()


def _device_passwords(data_dir: Path) -> dict[str, str]:
    with (data_dir / "broker" / "auth" / "credentials.csv").open() as handle:
        return {row["username"]: row["password"] for row in csv.DictReader(handle)}


def test_the_embedded_broker_in_production_refuses_anonymous_clients_and_serves_devices(production, estate_db_url):
    s = production.settings
    assert production.broker_port == s.embedded_mqtt_platform_port  # ingest is on the platform's listener
    for port in (s.embedded_mqtt_port, s.embedded_mqtt_platform_port):
        with pytest.raises(ConnectionRefusedError, match="Not authorized"):
            Publisher(port, client_id="anonymous-test-traffic")
    with psycopg.connect(estate_db_url) as conn:
        device_id, site = conn.execute("SELECT id, site_id FROM devices WHERE kind = 'elevator' ORDER BY id "
                                       "LIMIT 1").fetchone()
    lift = Device(device_id, DeviceKind.ELEVATOR, site)
    passwords = _device_passwords(s.data_dir)
    assert passwords["forewarn-platform"] == PLATFORM_PASSWORD and len(passwords) == 57 + 1
    device = Publisher(s.embedded_mqtt_port, client_id=lift.id, username=lift.id, password=passwords[lift.id])
    device.publish([(lift.topic(), telemetry(seq)) for seq in range(5)])
    device.close()
    wait_until(lambda: stored_seqs(estate_db_url, lift.id) == list(range(5)), 15, "the device's readings stored")


def test_the_amqtt_fallback_refuses_to_run_where_authentication_is_required(tmp_path):
    broker = EmbeddedBroker(tmp_path, free_port(), implementation="amqtt", auth_dir=tmp_path / "auth",
                            platform_port=free_port())
    with pytest.raises(EmbeddedServerError, match="cannot require authentication.*install mosquitto"):
        broker.start()
