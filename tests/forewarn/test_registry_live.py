"""The registry followed live: a device added or moved by an estate load while the platform runs is judged with its
right building and served units, without a restart."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
import pytest

from forewarn.embedded import free_port
from forewarn.runtime import Platform
from forewarn.settings import load_settings
from ingest.estate import Device
from ingest.estate_file import load_estate_file
from ingest.estate_store import save_estate
from ingest.reading import DeviceKind
from tests.conftest import DEMO_ESTATE

NEW, OLD, SITE = "rs-b2-water-new", "rs-b1-water-high", "riverside"
# The whole run must fit in this: an estate load reaches a running worker within a minute.
WITHIN_S = 60.0


@pytest.fixture
def platform(estate_db_url, mosquitto, tmp_path):
    settings = load_settings(environ={}, database_url=estate_db_url, mqtt_url=mosquitto.url,
                             api_port=free_port(), data_dir=tmp_path, offline_grace_s=0)  # each will an alarm
    running = Platform(settings)
    running.start()
    yield running
    running.stop()


def load_with(url: str, device: Device | None) -> None:
    """What `forewarn estate load` does with the demo estate plus (or without) one device."""
    estate = load_estate_file(DEMO_ESTATE)
    if device is not None:
        estate.devices = [*estate.devices, device]
    with psycopg.connect(url) as conn:
        save_estate(conn, estate)


def publish(port: int, messages: list[tuple[str, dict]]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-devices", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, json.dumps(body), qos=1) for topic, body in messages]
    for info in infos:
        info.wait_for_publish(10)
    client.loop_stop()
    client.disconnect()


def outage(device_id: str, start: datetime, normal_s: int = 90, outage_s: int = 40) -> list[tuple[str, dict]]:
    topic = f"forewarn/v1/{SITE}/water/{device_id}/telemetry"
    messages = []
    for i in range(normal_s + outage_s):
        down = i >= normal_s
        data = {"pressure_kpa": 5.0 if down else 320.0 + (i % 7), "flow_lpm": 0.0 if down else 40.0 + (i % 5),
                "tank_level_pct": 80.0, "pump_on": not down, "pump_current_a": 0.0 if down else 12.0,
                "leak": False}
        messages.append((topic, {"v": 1, "ts": (start + timedelta(seconds=i)).isoformat(), "seq": i + 1,
                                 "data": data}))
    return messages


def row(url: str, sql: str, *params: object, timeout: float = WITHIN_S) -> tuple:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            found = conn.execute(sql, params).fetchone()
        if found:
            return found
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:g} s waiting for: {sql} {params}")


def test_a_device_added_then_moved_while_running_is_judged_with_its_building_and_units(platform, estate_db_url):
    with psycopg.connect(estate_db_url) as conn:
        units = [r[0] for r in conn.execute("SELECT id FROM units WHERE building_id = 'rs-b2' ORDER BY id LIMIT 3")]
        served = {r[0] for r in conn.execute("SELECT id FROM residents WHERE unit_id = ANY(%s)", (units,))}
    assert served
    added = Device(NEW, DeviceKind.WATER, SITE, "rs-b2", "B2 new booster", frozenset(units))
    loaded = time.monotonic()
    load_with(estate_db_url, added)

    # A probe reading, again until stored: ingest accepts the new device once it has reloaded the registry.
    probe = outage(NEW, datetime.now(UTC) - timedelta(hours=1), normal_s=1, outage_s=0)
    while not row(estate_db_url, "SELECT count(*) > 0 FROM readings WHERE device_id = %s", NEW, timeout=1)[0]:
        assert time.monotonic() - loaded < WITHIN_S, "the new device's readings were never accepted"
        publish(platform.broker_port, probe)

    # Its supply outage, and one in building 1 beside it: under the old registry the new device, with no building,
    # was the site's water main, and building 1's outage would have been folded into it.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=150)
    publish(platform.broker_port, outage(NEW, start) + outage(OLD, start + timedelta(seconds=5)))
    ticket_id, building = row(estate_db_url, "SELECT id, building_id FROM tickets WHERE device_id = %s", NEW)
    assert building == "rs-b2"
    queued = row(estate_db_url, "SELECT alarm FROM alarm_queue WHERE device_id = %s AND state = 'raised'", NEW)[0]
    assert queued["extra"]["building_id"] == "rs-b2" and queued["parent_device_id"] is None
    # Its words give the estate's time (the default zone, Asia/Shanghai), not the server's UTC.
    assert queued["evidence"]["summary"].endswith(" UTC+08:00"), queued["evidence"]["summary"]
    row(estate_db_url, "SELECT 1 FROM notices n JOIN incidents i ON i.id = n.incident_id "
        "WHERE i.device_id = %s AND n.resident_id IS NOT NULL", NEW)
    with psycopg.connect(estate_db_url) as conn:
        notified = {r[0] for r in conn.execute(
            "SELECT n.resident_id FROM notices n WHERE n.ticket_id = %s AND n.resident_id IS NOT NULL", (ticket_id,))}
    assert notified == served  # exactly the residents of the units it serves

    old_root = row(estate_db_url, "SELECT root_incident_id IS NULL FROM incidents WHERE device_id = %s "
                   "AND fault = 'supply_outage'", OLD)[0]
    assert old_root, "building 1's outage was attributed to the new device as if it were the site's main"

    # Moved to building 3 by another load: its next alarm is judged there.
    load_with(estate_db_url, dataclasses.replace(added, building_id="rs-b3"))
    moved = time.monotonic()
    status = f"forewarn/v1/{SITE}/water/{NEW}/status"
    building = None
    while building != "rs-b3":
        assert time.monotonic() - moved < WITHIN_S, f"still judged in {building}"
        for state in ("online", "offline"):  # each offline report is a new device_offline alarm
            publish(platform.broker_port, [(status, {"v": 1, "ts": datetime.now(UTC).isoformat(), "state": state})])
        building = row(estate_db_url, "SELECT alarm->'extra'->>'building_id' FROM alarm_queue WHERE device_id = %s "
                       "AND fault = 'device_offline' AND state = 'raised' ORDER BY id DESC LIMIT 1", NEW)[0]
