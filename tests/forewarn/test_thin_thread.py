"""The thin thread, real at every step: a device publishes to a real Mosquitto → ingest → readings → detector →
alarm → preventive ticket and work order → notices for exactly the residents the device serves → the REST API."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest

from api.auth import Role, create_user, ensure_resident_user, issue_token
from forewarn.embedded import free_port
from forewarn.runtime import Platform
from forewarn.settings import load_settings

DEVICE, SITE = "rs-b1-water-high", "riverside"
TOPIC = f"forewarn/v1/{SITE}/water/{DEVICE}/telemetry"


@pytest.fixture
def platform(estate_db_url, mosquitto, tmp_path):
    settings = load_settings(environ={}, database_url=estate_db_url, mqtt_url=mosquitto.url,
                             api_port=free_port(), data_dir=tmp_path)
    running = Platform(settings)
    running.start()
    yield running
    running.stop()


def publish_outage(port: int, start: datetime, normal_s: int, outage_s: int) -> int:
    """Readings once a second: normal supply pressure, then none at all. Returns how many were published."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-device", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = []
    for i in range(normal_s + outage_s):
        outage = i >= normal_s
        data = {"pressure_kpa": 5.0 if outage else 320.0 + (i % 7), "flow_lpm": 0.0 if outage else 40.0 + (i % 5),
                "tank_level_pct": 80.0, "pump_on": not outage, "pump_current_a": 0.0 if outage else 12.0,
                "leak": False}
        ts = (start + timedelta(seconds=i)).isoformat()
        payload = json.dumps({"v": 1, "ts": ts, "seq": i + 1, "data": data})
        infos.append(client.publish(TOPIC, payload, qos=1))
    for info in infos:
        info.wait_for_publish(10)
    client.loop_stop()
    client.disconnect()
    return len(infos)


def wait_for(query, url: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            row = conn.execute(query).fetchone()
        if row and row[0]:
            return row
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for: {query}")


def test_a_supply_outage_becomes_a_ticket_a_work_order_and_notices_for_exactly_the_served_residents(
    platform, estate_db_url
):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=150)
    published = publish_outage(platform.broker_port, start, normal_s=90, outage_s=40)

    wait_for(f"SELECT count(*) >= {published} FROM readings WHERE device_id = '{DEVICE}' "
             "AND metric = 'pressure_kpa'", estate_db_url)
    wait_for(f"SELECT id FROM tickets WHERE device_id = '{DEVICE}' AND source = 'preventive'", estate_db_url)
    # Residents see a notice once the outbox has delivered it (the scheduler's job, every second).
    wait_for(f"SELECT count(*) > 0 AND bool_and(n.delivered_at IS NOT NULL) FROM notices n "
             f"JOIN incidents i ON i.id = n.incident_id WHERE i.device_id = '{DEVICE}' AND n.resident_id IS NOT NULL",
             estate_db_url)

    with psycopg.connect(estate_db_url) as conn:
        served = {r[0] for r in conn.execute(
            "SELECT r.id FROM residents r JOIN device_units du ON du.unit_id = r.unit_id WHERE du.device_id = %s",
            (DEVICE,))}
        create_user(conn, user_id="mgr", name="Manager", role=Role.MANAGER)
        manager = issue_token(conn, "mgr")
        resident_id = sorted(served)[0]
        resident = issue_token(conn, ensure_resident_user(conn, resident_id))
        outsider_id = conn.execute(
            "SELECT r.id FROM residents r WHERE r.unit_id NOT IN "
            "(SELECT unit_id FROM device_units WHERE device_id = %s) ORDER BY r.id LIMIT 1", (DEVICE,)).fetchone()[0]
        outsider = issue_token(conn, ensure_resident_user(conn, outsider_id))
    assert 100 < len(served) < 1214  # the high-zone booster serves the upper floors of one building

    api = f"http://127.0.0.1:{platform.settings.api_port}/api/v1"
    as_manager = {"Authorization": f"Bearer {manager}"}
    tickets = httpx.get(f"{api}/tickets", params={"source": "preventive"}, headers=as_manager).json()
    preventive = [t for t in tickets if t["device_id"] == DEVICE]
    assert len(preventive) == 1, tickets  # one fault, one ticket
    ticket = httpx.get(f"{api}/tickets/{preventive[0]['id']}", headers=as_manager).json()
    assert ticket["fault"] == "supply_outage" and ticket["category"], ticket

    assert len(ticket["work_orders"]) == 1, ticket
    order = ticket["work_orders"][0]
    assert order["department_id"] == "engineering"
    assert order["evidence"], "the work order carries the device evidence"
    orders = httpx.get(f"{api}/work-orders", headers=as_manager).json()
    assert order["id"] in {w["id"] for w in orders}

    with psycopg.connect(estate_db_url) as conn:
        notified = {r[0] for r in conn.execute(
            "SELECT n.resident_id FROM notices n JOIN incidents i ON i.id = n.incident_id "
            "WHERE i.ticket_id = %s AND n.resident_id IS NOT NULL", (ticket["id"],))}
        copies = conn.execute(
            "SELECT count(*) FROM notices n JOIN incidents i ON i.id = n.incident_id "
            "WHERE i.ticket_id = %s AND n.resident_id IS NOT NULL", (ticket["id"],)).fetchone()[0]
        incident_id = conn.execute("SELECT id FROM incidents WHERE ticket_id = %s", (ticket["id"],)).fetchone()[0]
    assert notified == served  # exactly the residents of the units the device serves: nobody missed, nobody extra
    assert copies == len(served)  # one notice per resident

    mine = httpx.get(f"{api}/notices", headers={"Authorization": f"Bearer {resident}"}).json()
    assert [n["incident_id"] for n in mine] == [incident_id], mine
    assert {n["resident_id"] for n in mine} == {resident_id}
    theirs = httpx.get(f"{api}/notices", headers={"Authorization": f"Bearer {outsider}"}).json()
    assert theirs == []
