"""The scheduler role: periodic sweeps run by APScheduler in exactly one process, the leader.

Leadership is a PostgreSQL session-level advisory lock held on a dedicated connection: whoever holds it runs the
jobs; if that process dies, its connection closes, the lock is released, and another scheduler takes over on its
next attempt. Every job is also safe to run twice (the sweeps use FOR UPDATE SKIP LOCKED and idempotent writes),
so a brief overlap during a handover does no harm.

A job runs either every `seconds` (an interval) or on an APScheduler `CronTrigger` (a time of day, the 1st of the
month...) in the estate's time zone. A cron job fires on the wall clock in every scheduler process, and runs only in
the leader. Whatever it missed — the platform was down at its hour, or the leader died just before it and another
process took over just after — is caught up by `catch_up`: such a job also runs once whenever a process becomes the
leader (with `url=None`, once at start). That is safe because a cron job is idempotent and decides from the time
what is due (the digest is sent only from its hour on, once per day; last month's review is stored once).
APScheduler's own misfire handling cannot do this: its job store is in memory, so a fire time that passed while
the process was down is never known to it. It does cover a fire time the scheduler's thread was late for (a
suspended or overloaded machine): cron jobs run however late (`misfire_grace_time=None`), several missed fire
times coalesced into one run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

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
    """A job run every `seconds`, or, with `cron` (and `seconds=None`), at that trigger's fire times; a cron job
    with `catch_up` also runs once whenever this process becomes the leader (see the module's docstring)."""

    name: str
    seconds: float | None
    run: Callable[[], object]
    cron: CronTrigger | None = None
    catch_up: bool = False

    def __post_init__(self) -> None:
        if (self.seconds is None) == (self.cron is None):
            raise ValueError(f"job {self.name}: give either an interval in seconds or a cron trigger")
        if self.catch_up and self.cron is None:
            raise ValueError(f"job {self.name}: only a cron job is caught up (an interval job runs soon anyway)")

    @classmethod
    def at(cls, name: str, cron: CronTrigger, run: Callable[[], object], *, catch_up: bool = True) -> Job:
        return cls(name, None, run, cron=cron, catch_up=catch_up)

    @property
    def schedule(self) -> str:
        return f"every {self.seconds:g} s" if self.cron is None else f"cron {self.cron}"


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
        self.terms = 0  # times this process has become the leader

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
                self.terms += 1
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
    """Runs `jobs` at their intervals or cron times while this process holds the leader lock.

    With `url=None` the jobs run in this process unconditionally: that is for work on in-process state (the
    detector engine's clock tick and checkpoints), which every ingest worker does for its own devices.
    """

    def __init__(self, url: str | None, jobs: list[Job]) -> None:
        self.leader = LeaderLock(url) if url else None
        self.jobs = jobs
        self._aps = BackgroundScheduler(executors={"default": ThreadPoolExecutor(4)}, timezone="UTC")
        self._term_lock = threading.Lock()
        self._led_since: int | None = None  # the leader term whose catch-up has been run
        self.catch_ups = 0  # catch-up rounds started so far (one at start without a leader; one per term with it)
        self.runs: Counter[str] = Counter()  # runs finished in this process, by job name (catch-ups included)

    def start(self) -> None:
        for job in self.jobs:
            if job.cron is not None:
                self._aps.add_job(self._guarded(job), job.cron, id=job.name, name=job.name,
                                  max_instances=1, coalesce=True, misfire_grace_time=None)
            else:
                assert job.seconds is not None
                self._aps.add_job(
                    self._guarded(job), "interval", seconds=job.seconds, id=job.name, name=job.name,
                    max_instances=1, coalesce=True, misfire_grace_time=max(1, int(job.seconds)),
                )
        if any(job.catch_up for job in self.jobs):
            if self.leader is None:
                self._catch_up()
            else:  # leadership is tried every second even when no interval job would try it
                self._aps.add_job(self._lead, "interval", seconds=LEADER_CHECK_S, id="leader", name="leader",
                                  max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
        self._aps.start()

    def stop(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=True)
        if self.leader is not None:
            self.leader.release()

    def _lead(self) -> None:
        self._is_leader()

    def _is_leader(self) -> bool:
        """Whether this process leads (always, without a lock); a process that has just become the leader first
        queues its catch-up runs."""
        if self.leader is None:
            return True
        if not self.leader.try_acquire():
            return False
        with self._term_lock:
            new_term = self._led_since != self.leader.terms
            self._led_since = self.leader.terms
        if new_term:
            self._catch_up()
        return True

    def _catch_up(self) -> None:
        """Run every catch-up job once, now, beside its cron schedule, on the calling job's thread. (Not by adding
        jobs to APScheduler from a job: an `add_job` that met `shutdown(wait=True)` deadlocked the stop.)"""
        jobs = [job for job in self.jobs if job.catch_up]
        if not jobs:
            return
        self.catch_ups += 1
        for job in jobs:
            log.info("scheduler: catching up on %s", job.name)
            self._guarded(job)()

    def _guarded(self, job: Job) -> Callable[[], None]:
        def run() -> None:
            if not self._is_leader():
                return
            try:
                job.run()
            except Exception:  # noqa: BLE001 - one failing sweep must not stop the others; it is logged
                log.exception("scheduler: job %s failed", job.name)
            with self._term_lock:
                self.runs[job.name] += 1

        return run
