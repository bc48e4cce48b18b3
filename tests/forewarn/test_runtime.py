"""The composition root: roles come back as typed values, the seams (clock, channels, roles) drive a real platform
without patching it, wiring does not import the runtime, and a follower scheduler keeps one database connection."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from forewarn.embedded import free_port
from forewarn.runtime import Platform, Role
from forewarn.scheduler import LEADER_CHECK_S, LeaderLock
from forewarn.settings import load_settings
from tickets.channels import OutboundMessage
from tickets.flows import handle_alarm

DEVICE = "rs-b1-water-high"
WAIT_S = 30.0


class RecordingChannel:
    """A notice channel that keeps what it was given (the stand-in for SMS/WeChat gateways in tests)."""

    def __init__(self, expected: int) -> None:
        self.messages: list[OutboundMessage] = []
        self.expected = expected
        self.enough = threading.Event()

    def send(self, message: OutboundMessage) -> None:
        self.messages.append(message)
        if len(self.messages) >= self.expected:
            self.enough.set()


def test_wiring_does_not_import_the_runtime() -> None:
    code = "import sys, forewarn.wiring; print('forewarn.runtime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_the_platform_delivers_notices_on_the_channels_and_clock_it_is_given(estate_db_url, mosquitto, tmp_path):
    at = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # a fixed clock: the outbox stamps deliveries with it
    with psycopg.connect(estate_db_url) as conn:
        served = conn.execute("SELECT count(*) FROM residents r JOIN device_units du ON du.unit_id = r.unit_id "
                              "WHERE du.device_id = %s AND r.active", (DEVICE,)).fetchone()[0]
    recorder = RecordingChannel(expected=served)  # every resident's notice, whichever medium they chose
    channels = {name: recorder for name in ("in_app", "mqtt", "webhook", "email")}
    settings = load_settings(environ={}, database_url=estate_db_url, mqtt_url=mosquitto.url, api_port=free_port(),
                             data_dir=tmp_path)
    platform = Platform(settings, roles=frozenset({Role.SCHEDULER}), clock=lambda: at,
                        channels=channels)
    platform.start()
    try:
        assert platform.ingest is None and platform.api is None and platform.scheduler is not None
        assert platform.scheduler.channels == channels
        alarm = Alarm(device_id=DEVICE, fault="supply_outage", state=AlarmState.RAISED, severity=Severity.CRITICAL,
                      since=at - timedelta(minutes=1), ts=at, detector="test", evidence=Evidence("no pressure"))
        with platform.pool.connection() as conn:
            handle_alarm(conn, alarm, now=at)
        assert recorder.enough.wait(WAIT_S), f"{len(recorder.messages)} of {served} notices delivered"
    finally:
        platform.stop()
    assert len({m.resident_id for m in recorder.messages if m.resident_id}) == served  # each served resident
    with psycopg.connect(estate_db_url) as conn:
        stamps = {r[0] for r in conn.execute("SELECT DISTINCT delivered_at FROM outbox WHERE status = 'delivered'")}
    assert stamps == {at}


def _backends(url: str) -> set[int]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'forewarn-scheduler-leader'")}


def test_a_follower_retries_the_leader_lock_on_one_connection_and_takes_over(db_url):
    leader, follower = LeaderLock(db_url), LeaderLock(db_url)
    try:
        assert leader.try_acquire()
        for _ in range(20):
            assert not follower.try_acquire()
        assert follower.connects == 1
        assert len(_backends(db_url)) == 2  # the leader's connection and the follower's one

        leader.release()  # the leader goes away: its lock goes with its connection
        assert follower.try_acquire() and follower.held
        assert follower.connects == 1
    finally:
        leader.release()
        follower.release()


def test_a_follower_whose_connection_broke_reconnects(db_url):
    leader, follower = LeaderLock(db_url), LeaderLock(db_url)
    try:
        assert leader.try_acquire()
        assert not follower.try_acquire()
        before = _backends(db_url)
        with psycopg.connect(db_url, autocommit=True) as admin:
            for pid in before:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))  # both connections drop: a restart
        assert not follower.try_acquire()  # the broken connection is noticed, not trusted
        assert follower.try_acquire(), "the lock is free again: the follower reconnects and leads"
        assert follower.connects == 2
        time.sleep(LEADER_CHECK_S)  # the old leader's next check is due (a time interval, not an event)
        assert not leader.try_acquire(), "the old leader lost its lock with its connection"
    finally:
        leader.release()
        follower.release()


@pytest.mark.parametrize("role", list(Role))
def test_each_role_alone_exposes_only_itself(role: Role) -> None:
    fields = {Role.INGEST: "ingest", Role.SCHEDULER: "scheduler", Role.API: "api"}
    platform = Platform(load_settings(environ={}), roles=frozenset({role}))
    assert all(getattr(platform, name) is None for name in fields.values())  # nothing before start()
    with pytest.raises(RuntimeError, match="start"):
        _ = platform.pool


def test_a_scheduler_job_the_caller_runs_itself_is_left_to_it(estate_db_url, mosquitto, tmp_path):
    """A benchmark in simulated time dispatches the outbox in lockstep (`caller_runs`): the platform's own outbox job
    must not deliver behind its back, while the other jobs still run; a job name that does not exist is refused."""
    from forewarn.wiring import OUTBOX_S
    from tickets.outbox import dispatch

    at = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    recorder = RecordingChannel(expected=1)
    channels = {name: recorder for name in ("in_app", "mqtt", "webhook", "email")}
    settings = load_settings(environ={}, database_url=estate_db_url, mqtt_url=mosquitto.url, api_port=free_port(),
                             data_dir=tmp_path)
    with pytest.raises(ValueError, match="no scheduler job is called outbx"):
        Platform(settings, roles=frozenset({Role.SCHEDULER}), caller_runs=frozenset({"outbx"})).start()
    platform = Platform(settings, roles=frozenset({Role.SCHEDULER}), clock=lambda: at, channels=channels,
                        caller_runs=frozenset({"outbox"}))
    platform.start()
    try:
        assert platform.scheduler is not None
        names = {job.name for job in platform.scheduler.scheduler.jobs}
        assert "outbox" not in names and "sla-sweep" in names
        alarm = Alarm(device_id=DEVICE, fault="supply_outage", state=AlarmState.RAISED, severity=Severity.CRITICAL,
                      since=at - timedelta(minutes=1), ts=at, detector="test", evidence=Evidence("no pressure"))
        with platform.pool.connection() as conn:
            handle_alarm(conn, alarm, now=at)
        time.sleep(3 * OUTBOX_S + 1)  # the product's outbox job would have delivered by now
        assert recorder.messages == []
        with platform.pool.connection() as conn:
            dispatch(conn, now=at, channels=channels)  # the caller's own dispatch delivers them
        assert recorder.messages
    finally:
        platform.stop()
