"""A building's power cut through the running pipeline: eight devices connected to the real broker with their last
wills lose their connections at once; ingest, the detectors, the alarm queue and the ticket side make of it one
building-level incident and one work order once they have stayed away past the reconnect grace, warn exactly that
building's residents once the hold time has passed, and tell them "restored" when the devices are back."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from detectors.presence import RECONNECT_GRACE_S
from forewarn.pipeline import DetectionPipeline
from ingest.contract import topic_for
from ingest.decode import PresenceChange
from ingest.estate_store import load_registry
from ingest.reading import Channel, DeviceKind
from ingest.service import IngestService
from tests.ingest.conftest import Publisher, ingest_config, status, wait_until
from tickets.alarm_queue import AlarmConsumer
from tickets.config import DEFAULT_CONFIG
from tickets.silence import warn_due_groups

BUILDING = "rs-b2"


def rows(url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def device_client(port: int, topic: str) -> mqtt.Client:
    """A device as the contract has it: a last will "offline" on its status topic, then "online" once connected."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{topic.rsplit('/', 2)[-2]}")
    client.will_set(topic, status(False), qos=1, retain=True)
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    client.publish(topic, status(True), qos=1, retain=True).wait_for_publish(10)
    return client


def cut(client: mqtt.Client) -> None:
    """The power goes: the connection dies without a DISCONNECT, so the broker sends the will."""
    client.loop_stop()
    sock = client.socket()
    if isinstance(sock, socket.socket):
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()


def test_a_building_power_cut_is_one_incident_that_warns_exactly_its_residents(pool, estate_db_url, mosquitto):
    with pool.connection() as conn:
        estate = load_registry(conn)
    consumer = AlarmConsumer(pool, now=lambda: datetime.now(UTC), poll_s=0.1)
    later = timedelta(0)  # the detectors' clock: moved on past the reconnect grace below, instead of waiting it out
    pipeline = DetectionPipeline(pool, estate, now=lambda: datetime.now(UTC) + later, on_queued=consumer.wake)
    gone: set[str] = set()

    def on_presence(change: PresenceChange) -> None:
        pipeline.on_presence(change)
        if not change.online:
            gone.add(change.device_id)

    service = IngestService(ingest_config(mosquitto.port), estate_db_url, on_readings=pipeline.on_readings,
                            on_presence=on_presence)
    devices = rows(estate_db_url, "SELECT id, kind, site_id FROM devices WHERE building_id = %s ORDER BY id", BUILDING)
    topics = {d: topic_for(site, DeviceKind(kind), d, Channel.STATUS) for d, kind, site in devices}
    service.start()
    consumer.start()
    clients = {d: device_client(mosquitto.port, topic) for d, topic in topics.items()}
    try:
        for client in clients.values():
            cut(client)
        wait_until(lambda: len(gone) == len(devices), 30, "every last will heard")
        assert not rows(estate_db_url, "SELECT 1 FROM alarm_queue")  # a reconnect may yet follow: no fault so far
        later = timedelta(seconds=RECONNECT_GRACE_S + 1)  # two minutes on, nobody is back
        pipeline.tick()
        wait_until(lambda: rows(estate_db_url, """SELECT 1 FROM incidents WHERE fault = 'device_offline'
                                                  AND silence_group_id IS NOT NULL HAVING count(*) = %s""",
                                len(devices)), 30, "every device's silence linked to the building's group")
        tickets = rows(estate_db_url, "SELECT DISTINCT ticket_id FROM incidents WHERE fault = 'device_offline'")
        assert len(tickets) == 1
        assert rows(estate_db_url, """SELECT t.fault, count(*) FROM work_orders w JOIN tickets t ON t.id = w.ticket_id
                                      WHERE w.status <> 'cancelled' GROUP BY t.fault""") == [("building_silent", 1)]
        with psycopg.connect(estate_db_url) as conn:
            opened = conn.execute("SELECT since FROM silence_groups").fetchone()[0]
            # The hold counts from the silence's start: past the grace it is over, and the group warns as it forms
            # (or, had the alarms come sooner, the scheduler's job would at the end of the hold).
            warn_due_groups(conn, now=opened + DEFAULT_CONFIG.silence_hold, config=DEFAULT_CONFIG)
            assert conn.execute("SELECT warned_at IS NOT NULL FROM silence_groups").fetchone()[0]
        warned = {r[0] for r in rows(estate_db_url, "SELECT resident_id FROM notices WHERE kind = 'warning'")}
        building = {r[0] for r in rows(estate_db_url, """SELECT r.id FROM residents r JOIN units u ON u.id = r.unit_id
                                                         WHERE u.building_id = %s AND r.active""", BUILDING)}
        assert warned == building

        # The power is back: each device connects again and says so.
        back = Publisher(mosquitto.port)
        try:
            back.publish([(topic, status(True)) for topic in topics.values()], retain=True)
        finally:
            back.close()
        wait_until(lambda: rows(estate_db_url, "SELECT 1 FROM silence_groups WHERE status = 'resolved'"), 30,
                   "the building's group resolved")
        restored = {r[0] for r in rows(estate_db_url, "SELECT resident_id FROM notices WHERE kind = 'restored'")}
        assert restored == warned
    finally:
        service.stop()
        consumer.stop()
