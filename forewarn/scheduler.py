"""The scheduler role: periodic sweeps run by APScheduler in exactly one process, the leader.

Leadership is a PostgreSQL session-level advisory lock held on a dedicated connection: whoever holds it runs the
jobs; if that process dies, its connection closes, the lock is released, and another scheduler takes over on its
next attempt. Every job is also safe to run twice (the sweeps use FOR UPDATE SKIP LOCKED and idempotent writes),
so a brief overlap during a handover does no harm.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

# An arbitrary constant naming "the Forewarn scheduler leader" among advisory locks.
LEADER_LOCK_KEY = 0x466F7257  # "ForW"
# The leader proves its connection (and so its lock) alive this often: a leader cut off from the database stops
# within this long; its jobs run every second or more, so one round trip per check is negligible.
LEADER_CHECK_S = 1.0
# The lock lives as long as the leader's session. A leader process that dies closes its socket, and the server ends
# the session (and frees the lock) at once; a leader whose machine dies or is cut off sends nothing, so the server
# probes the silent connection: after 5 s idle, every 5 s, 3 misses (about 20 s) it ends the session, and leadership
# moves within 30 s. The client probes the same way, so a cut-off leader's own check fails too. (Over a Unix socket
# there is no TCP to probe, and none is needed: both ends are on one machine.)
LEADER_KEEPALIVES = ("keepalives=1 keepalives_idle=5 keepalives_interval=5 keepalives_count=3 "
                     "options='-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3'")


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    seconds: float
    run: Callable[[], object]


class LeaderLock:
    """Try to become the leader; `held` says whether this process is it.

    One connection serves every attempt: a follower retries `pg_try_advisory_lock` on it (once a second, at its
    jobs' pace) rather than opening a connection each time, and reconnects only when that connection broke. The
    leader checks its connection at most every `LEADER_CHECK_S`: a leader whose connection the server dropped has
    lost the lock with it, and stops running jobs instead of running them beside the new leader.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection | None = None
        self._held = False
        self._lock = threading.Lock()
        self.connects = 0  # connections opened so far: one, unless the database dropped one
        self._checked = 0.0  # time.monotonic() of the leader's last connection check

    @property
    def held(self) -> bool:
        return self._held and self._conn is not None and not self._conn.closed

    def try_acquire(self) -> bool:
        with self._lock:
            if self.held and self._still_connected():
                return True
            self._held = False
            try:
                got = self._attempt(self._connection())
            except psycopg.Error as exc:
                log.warning("scheduler: cannot try the leader lock: %s", exc)
                self._drop()  # broken, most likely: the next attempt reconnects
                return False
            if got:
                self._held = True
                self._checked = time.monotonic()
                log.info("scheduler: this process is the leader")
            return got

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._drop()
            url = psycopg.conninfo.make_conninfo(self.url, **psycopg.conninfo.conninfo_to_dict(LEADER_KEEPALIVES))
            self._conn = psycopg.connect(url, autocommit=True, application_name="forewarn-scheduler-leader")
            self.connects += 1
        return self._conn

    def _still_connected(self) -> bool:
        if time.monotonic() - self._checked < LEADER_CHECK_S:
            return True
        assert self._conn is not None
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error as exc:
            log.warning("scheduler: lost the leader's connection (%s); leadership is lost with it", exc)
            self._drop()
            return False
        self._checked = time.monotonic()
        return True

    @staticmethod
    def _attempt(conn: psycopg.Connection) -> bool:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()
        return bool(row and row[0])

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._held = False

    def release(self) -> None:
        """Give the lock up now (not when the server notices the closed connection): a follower can lead at once."""
        with self._lock:
            if self.held and self._conn is not None:
                try:
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (LEADER_LOCK_KEY,))
                except psycopg.Error as exc:  # closing the connection below releases it all the same
                    log.warning("scheduler: could not release the leader lock explicitly: %s", exc)
            self._drop()


class Scheduler:
    """Runs `jobs` at their intervals while this process holds the leader lock.

    With `url=None` the jobs run in this process unconditionally: that is for work on in-process state (the
    detector engine's clock tick and checkpoints), which every ingest worker does for its own devices.
    """

    def __init__(self, url: str | None, jobs: list[Job]) -> None:
        self.leader = LeaderLock(url) if url else None
        self.jobs = jobs
        self._aps = BackgroundScheduler(executors={"default": ThreadPoolExecutor(4)}, timezone="UTC")

    def start(self) -> None:
        for job in self.jobs:
            self._aps.add_job(
                self._guarded(job), "interval", seconds=job.seconds, id=job.name, name=job.name,
                max_instances=1, coalesce=True, misfire_grace_time=max(1, int(job.seconds)),
            )
        self._aps.start()

    def stop(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=True)
        if self.leader is not None:
            self.leader.release()

    def _guarded(self, job: Job) -> Callable[[], None]:
        def run() -> None:
            if self.leader is not None and not self.leader.try_acquire():
                return
            try:
                job.run()
            except Exception:  # noqa: BLE001 - one failing sweep must not stop the others; it is logged
                log.exception("scheduler: job %s failed", job.name)

        return run
