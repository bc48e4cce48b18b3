"""The scheduler role: periodic sweeps run by APScheduler in exactly one process, the leader.

Leadership is a PostgreSQL session-level advisory lock held on a dedicated connection: whoever holds it runs the
jobs; if that process dies, its connection closes, the lock is released, and another scheduler takes over on its
next attempt. Every job is also safe to run twice (the sweeps use FOR UPDATE SKIP LOCKED and idempotent writes),
so a brief overlap during a handover does no harm.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

# An arbitrary constant naming "the Forewarn scheduler leader" among advisory locks.
LEADER_LOCK_KEY = 0x466F7257  # "ForW"


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    seconds: float
    run: Callable[[], object]


class LeaderLock:
    """Try to become the leader; `held` says whether this process is it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def try_acquire(self) -> bool:
        with self._lock:
            if self.held:
                return True
            try:
                conn = psycopg.connect(self.url, autocommit=True, application_name="forewarn-scheduler-leader")
                got = (conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone() or (False,))[0]
            except psycopg.Error as exc:
                log.warning("scheduler: cannot try the leader lock: %s", exc)
                return False
            if got:
                self._conn = conn
                log.info("scheduler: this process is the leader")
                return True
            conn.close()
            return False

    def release(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


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
