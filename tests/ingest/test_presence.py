"""Device presence: status and last-will messages, silence past the heartbeat timeout, and a device coming back."""

from __future__ import annotations

import shutil
import subprocess

import psycopg

from ingest.reading import Channel, DeviceKind
from tests.ingest.conftest import ingest_config, status, telemetry, wait_until


def presence(url: str, device_id: str):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT online, last_seen IS NOT NULL FROM device_presence WHERE device_id = %s",
                            (device_id,)).fetchone()


def test_a_last_will_marks_the_device_offline_and_is_announced(start_ingest, mosquitto, devices, estate_db_url):
    door = next(d for d in devices if d.kind is DeviceKind.ACCESS_DOOR)
    changes = []
    start_ingest(on_presence=changes.append)
    # A real device connection with a last will; killing it makes the broker publish the will.
    device = subprocess.Popen(
        [shutil.which("mosquitto_pub") or "mosquitto_pub", "-p", str(mosquitto.port), "-V", "mqttv5", "-q", "1",
         "-i", door.id, "-t", door.topic(), "-l", "--will-topic", door.topic(Channel.STATUS),
         "--will-payload", status(False).decode(), "--will-qos", "1", "--will-retain"],
        stdin=subprocess.PIPE, text=True,
    )
    try:
        device.stdin.write(telemetry(1, DeviceKind.ACCESS_DOOR).decode() + "\n")
        device.stdin.flush()
        wait_until(lambda: presence(estate_db_url, door.id) == (True, True), 10, "the door seen online")
    finally:
        device.kill()
        device.wait(5)
    wait_until(lambda: presence(estate_db_url, door.id) == (False, True), 10, "the door's last will stored")
    assert [(c.device_id, c.online, c.reason) for c in changes] == [(door.id, False, "status")]


def test_silence_past_the_heartbeat_timeout_marks_offline_and_data_brings_it_back(
        start_ingest, publisher, mosquitto, devices, estate_db_url):
    water = next(d for d in devices if d.kind is DeviceKind.WATER)
    changes = []
    start_ingest(ingest_config(mosquitto.port, heartbeat_timeout_s=0.5), on_presence=changes.append)
    publisher.publish([(water.topic(), telemetry(1, DeviceKind.WATER))])
    wait_until(lambda: changes, 10, "the heartbeat timeout")
    assert [(c.device_id, c.online, c.reason, c.kind, c.site_id) for c in changes] == [
        (water.id, False, "heartbeat", DeviceKind.WATER, water.site)]
    assert presence(estate_db_url, water.id) == (False, True)
    publisher.publish([(water.topic(), telemetry(2, DeviceKind.WATER))])
    wait_until(lambda: len(changes) >= 2, 10, "the device back online")
    assert (changes[1].online, changes[1].reason) == (True, "telemetry")
    assert presence(estate_db_url, water.id) == (True, True)


def test_an_online_status_after_offline_is_announced_once(start_ingest, publisher, devices, estate_db_url):
    lift = next(d for d in devices if d.kind is DeviceKind.ELEVATOR)
    changes = []
    service = start_ingest(on_presence=changes.append)
    publisher.publish([(lift.topic(Channel.STATUS), status(False)), (lift.topic(Channel.STATUS), status(False)),
                       (lift.topic(Channel.STATUS), status(True))])
    wait_until(lambda: service.stats.received >= 3, 10, "three status messages")
    assert [(c.online, c.reason) for c in changes] == [(False, "status"), (True, "status")]
    assert presence(estate_db_url, lift.id) == (True, True)
    registry = service.metrics_registry
    assert registry.get_sample_value("forewarn_ingest_presence_changes_total",
                                     {"state": "offline", "reason": "status"}) == 1


def test_a_device_that_reports_every_few_minutes_is_not_called_offline_between_its_reports() -> None:
    """A flood sensor reporting every 6 minutes stays online between reports (it is late only after three missed
    reports); a lift reporting every 5 s is still offline after the 300 s heartbeat timeout."""
    from datetime import UTC, datetime, timedelta

    from ingest.presence import PresenceTracker
    from ingest.reading import DeviceKind

    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    tracker = PresenceTracker(heartbeat_timeout_s=300.0)
    tracker.set_registry({"flood": (DeviceKind.WATER, "s1"), "lift": (DeviceKind.ELEVATOR, "s1")})
    for i in range(5):
        tracker.heard("flood", t0 + timedelta(seconds=360 * i), t0 + timedelta(seconds=360 * i))
    for i in range(300):
        tracker.heard("lift", t0 + timedelta(seconds=5 * i), t0 + timedelta(seconds=5 * i))
    last_flood, last_lift = t0 + timedelta(seconds=4 * 360), t0 + timedelta(seconds=5 * 299)
    went = tracker.expire(last_lift + timedelta(seconds=301))
    assert [(c.device_id, c.online) for c in went] == [("lift", False)]
    assert tracker.expire(last_flood + timedelta(seconds=400)) == []  # one report late is not offline
    went = tracker.expire(last_flood + timedelta(seconds=3 * 360 + 1))
    assert [(c.device_id, c.online, c.reason) for c in went] == [("flood", False, "heartbeat")]


def test_a_rare_reporter_heard_once_since_ingest_started_is_not_offline_before_its_second_report() -> None:
    """Ingest has heard a flood sensor (every 6 minutes) once since it started: 6 minutes later it is not offline,
    though that is past the 300 s heartbeat timeout; silent for three timeouts it is."""
    from datetime import UTC, datetime, timedelta

    from ingest.presence import PresenceTracker
    from ingest.reading import DeviceKind

    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    tracker = PresenceTracker(heartbeat_timeout_s=300.0)
    tracker.set_registry({"flood": (DeviceKind.WATER, "s1")})
    tracker.heard("flood", t0, t0)
    assert tracker.expire(t0 + timedelta(seconds=359)) == []
    tracker.heard("flood", t0 + timedelta(seconds=360), t0 + timedelta(seconds=360))
    assert tracker.online("flood") is True
    went = tracker.expire(t0 + timedelta(seconds=360 + 3 * 360 + 1))
    assert [(c.device_id, c.online, c.reason) for c in went] == [("flood", False, "heartbeat")]
    fresh = PresenceTracker(heartbeat_timeout_s=300.0)
    fresh.set_registry({"flood": (DeviceKind.WATER, "s1")})
    fresh.heard("flood", t0, t0)
    went = fresh.expire(t0 + timedelta(seconds=3 * 300 + 1))
    assert [(c.device_id, c.online) for c in went] == [("flood", False)]


def test_a_device_heard_often_has_its_presence_row_rewritten_only_every_few_seconds() -> None:
    """Each batch used to rewrite the presence row of every device heard: as many rows as readings once batches are
    small. `last_seen` is refreshed every SEEN_WRITE_EVERY_S; a change of state is written with its own batch."""
    from datetime import UTC, datetime, timedelta

    from ingest.decode import PresenceChange
    from ingest.presence import SEEN_WRITE_EVERY_S, PresenceTracker
    from ingest.reading import DeviceKind

    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    tracker = PresenceTracker(heartbeat_timeout_s=300.0)
    tracker.set_registry({"lift": (DeviceKind.ELEVATOR, "s1")})
    tracker.heard("lift", t0, t0)
    assert [(r.device_id, r.last_seen) for r in tracker.take_rows()] == [("lift", t0)]
    soon = t0 + timedelta(seconds=SEEN_WRITE_EVERY_S / 2)
    tracker.heard("lift", soon, soon)
    assert tracker.take_rows() == []
    later = t0 + timedelta(seconds=SEEN_WRITE_EVERY_S)
    tracker.heard("lift", later, later)
    assert [r.last_seen for r in tracker.take_rows()] == [later]
    offline = later + timedelta(seconds=1)
    tracker.status(PresenceChange("lift", "s1", DeviceKind.ELEVATOR, False, offline), offline)
    assert [(r.online, r.changed_at) for r in tracker.take_rows()] == [(False, offline)]
    back = offline + timedelta(seconds=1)
    assert tracker.heard("lift", back, back) is not None
    assert [(r.online, r.last_seen) for r in tracker.take_rows()] == [(True, back)]


def test_a_one_site_consumer_does_not_judge_the_silence_of_another_sites_devices(
        start_ingest, publisher, mosquitto, devices, estate_db_url):
    mine = next(d for d in devices if d.kind is DeviceKind.WATER and d.site == "riverside")
    theirs = next(d for d in devices if d.site == "lakeview")
    with psycopg.connect(estate_db_url) as conn:  # another site's device, last heard long ago
        conn.execute("INSERT INTO device_presence (device_id, online, last_seen) VALUES (%s, true, now() - "
                     "interval '1 hour')", (theirs.id,))
    changes = []
    start_ingest(ingest_config(mosquitto.port, heartbeat_timeout_s=0.5, site="riverside"), on_presence=changes.append)
    publisher.publish([(mine.topic(), telemetry(1, DeviceKind.WATER))])
    wait_until(lambda: changes, 10, "the heartbeat timeout of its own device")
    assert [c.device_id for c in changes] == [mine.id]  # the other site's device is that site's consumer's to judge
    assert presence(estate_db_url, theirs.id) == (True, True)


def test_a_last_will_composed_at_connect_time_is_dated_when_it_arrives():
    """The will's `ts` is when the device connected, maybe days ago: the device went offline when the broker sent
    it. Dated by its `ts`, the detectors' reconnect grace would already be over and the incident days old."""
    from datetime import UTC, datetime, timedelta

    from ingest.decode import PresenceChange
    from ingest.presence import PresenceTracker

    connected = datetime(2026, 3, 2, tzinfo=UTC)
    arrived = connected + timedelta(days=3)
    tracker = PresenceTracker(heartbeat_timeout_s=300.0)
    tracker.set_registry({"lift": (DeviceKind.ELEVATOR, "s1")})
    tracker.heard("lift", arrived - timedelta(seconds=5), arrived - timedelta(seconds=5))
    change = tracker.status(PresenceChange("lift", "s1", DeviceKind.ELEVATOR, False, connected), arrived)
    assert change is not None and not change.online and change.ts == arrived
    # an "online" status keeps its own time
    back = tracker.status(PresenceChange("lift", "s1", DeviceKind.ELEVATOR, True, arrived), arrived)
    assert back is not None and back.ts == arrived


def test_silence_while_ingest_was_down_counts_from_when_it_listens_again() -> None:
    """A device last heard before ingest stopped for the night is given its timeout from when ingest is subscribed
    again, not marked offline at the first look; if it is still not heard by then, it is."""
    from datetime import UTC, datetime, timedelta

    from ingest.presence import PresenceTracker
    from ingest.reading import DeviceKind

    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    tracker = PresenceTracker(heartbeat_timeout_s=300.0)
    tracker.set_registry({"lift": (DeviceKind.ELEVATOR, "s1")})
    for i in range(10):
        tracker.heard("lift", t0 + timedelta(seconds=5 * i), t0 + timedelta(seconds=5 * i))
    back = t0 + timedelta(hours=16)
    assert tracker.expire(back + timedelta(seconds=1), back) == []
    assert tracker.expire(back + timedelta(seconds=299), back) == []
    went = tracker.expire(back + timedelta(seconds=301), back)
    assert [(c.device_id, c.online, c.reason) for c in went] == [("lift", False, "heartbeat")]
