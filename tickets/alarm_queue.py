"""The durable hand-off from the detectors to the tickets side: the `alarm_queue` table and its consumer.

The detector side `enqueue`s each alarm transition, in its caller's transaction (the runtime writes the checkpoint of
the device state that produced the alarm in the same one), before its engine moves on. `AlarmConsumer` applies the
queued alarms with `tickets.flows.handle_alarm` off ingest's thread: the handling and the "done" mark are one
transaction, and the idempotency key (a unique constraint) makes an alarm produced twice — by a worker that resumed
from that checkpoint — one row. Alarms of one site are applied in the order they were produced (correlation links
the devices of a site), so a flapping device's raise, clear and raise again cannot overtake each other.

A database error (the ticket side down or failing) leaves the alarm queued, retried with a growing delay until it
is applied; a domain error (e.g. a device no longer registered) cannot be cured by retrying: the alarm is marked
failed, with its error, where an operator sees it, and no longer holds back its site.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import ClosureBlocked, IllegalTransition, InvalidInput, NotFound
from tickets.flows import HandleResult, handle_alarm

log = logging.getLogger(__name__)

# Queue an alarm once: a second copy (same key) is ignored.
_ENQUEUE = """INSERT INTO alarm_queue (idempotency_key, site_id, device_id, fault, state, alarm)
    VALUES (%(key)s, %(site)s, %(device)s, %(fault)s, %(state)s, %(alarm)s)
    ON CONFLICT (idempotency_key) DO NOTHING"""
# The oldest alarm that is due and has no earlier pending alarm of its site (in order per site), locked so that
# two consumers never apply the same alarm; another consumer's alarm being applied is skipped, not waited for.
_CLAIM = """SELECT q.id, q.alarm, q.attempts FROM alarm_queue q
    WHERE q.done_at IS NULL AND q.failed_at IS NULL AND q.next_attempt_at <= now()
      AND NOT EXISTS (SELECT 1 FROM alarm_queue p WHERE p.site_id = q.site_id AND p.id < q.id
                      AND p.done_at IS NULL AND p.failed_at IS NULL)
    ORDER BY q.id LIMIT 1 FOR UPDATE SKIP LOCKED"""
# Applied: in the same transaction as the handling.
_DONE = "UPDATE alarm_queue SET done_at = now(), action = %s, attempts = attempts + 1 WHERE id = %s"
# Not applied this time: retried after a delay that doubles with each attempt, up to MAX_BACKOFF_S.
_RETRY = """UPDATE alarm_queue SET attempts = attempts + 1, last_error = %(error)s,
        next_attempt_at = now() + make_interval(secs => least(%(max)s, %(base)s * power(2, attempts)))
    WHERE id = %(id)s AND done_at IS NULL"""
# Refused by the ticket side for good: kept, with why, for operators.
_FAILED = """UPDATE alarm_queue SET attempts = attempts + 1, last_error = %s, failed_at = now()
    WHERE id = %s AND done_at IS NULL"""
# What an operator (and the tests) look at.
_PENDING = "SELECT count(*) FROM alarm_queue WHERE done_at IS NULL AND failed_at IS NULL"

# The first retry comes after half a second; the delay doubles up to a minute, so a ticket side that was down for
# an hour is caught up within a minute of its return, without hammering it meanwhile.
BASE_BACKOFF_S = 0.5
MAX_BACKOFF_S = 60.0
# Errors that retrying cannot cure: the alarm is marked failed with its error.
_DOMAIN_ERRORS = (NotFound, InvalidInput, IllegalTransition, ClosureBlocked)


def idempotency_key(alarm: Alarm) -> str:
    """device, fault, state and the episode's start identify a raise or a clear; an update also needs its time."""
    key = f"{alarm.device_id}|{alarm.fault}|{alarm.state.value}|{alarm.since.isoformat()}"
    return key if alarm.state is not AlarmState.UPDATED else f"{key}|{alarm.ts.isoformat()}"


def alarm_to_json(alarm: Alarm) -> dict[str, Any]:
    return {
        "device_id": alarm.device_id, "fault": alarm.fault, "state": alarm.state.value,
        "severity": alarm.severity.value, "since": alarm.since.isoformat(), "ts": alarm.ts.isoformat(),
        "detector": alarm.detector, "evidence": alarm.evidence.as_dict(),
        "parent_device_id": alarm.parent_device_id, "parent_fault": alarm.parent_fault, "extra": dict(alarm.extra),
    }


def alarm_from_json(data: dict[str, Any]) -> Alarm:
    ev = data["evidence"]
    evidence = Evidence(summary=ev["summary"], metric=ev.get("metric"), value=ev.get("value"),
                        baseline=ev.get("baseline"), score=ev.get("score"), readings=tuple(ev.get("readings", ())))
    return Alarm(
        device_id=data["device_id"], fault=data["fault"], state=AlarmState(data["state"]),
        severity=Severity(data["severity"]), since=datetime.fromisoformat(data["since"]),
        ts=datetime.fromisoformat(data["ts"]), detector=data["detector"], evidence=evidence,
        parent_device_id=data.get("parent_device_id"), parent_fault=data.get("parent_fault"),
        extra=data.get("extra") or {},
    )


def enqueue(conn: psycopg.Connection, alarms: Iterable[Alarm]) -> int:
    """Queue alarms in the caller's transaction; returns how many were new (a copy of a queued alarm is not)."""
    params = [{"key": idempotency_key(a), "site": str(a.extra.get("site_id") or ""), "device": a.device_id,
               "fault": a.fault, "state": a.state.value, "alarm": json.dumps(alarm_to_json(a), default=str)}
              for a in alarms]
    if not params:
        return 0
    new = 0
    with conn.cursor() as cur:
        for p in params:  # one by one: rowcount tells a new alarm from a copy
            cur.execute(_ENQUEUE, p)
            new += cur.rowcount
    return new


def pending_count(conn: psycopg.Connection) -> int:
    row = conn.execute(_PENDING).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True, slots=True)
class Applied:
    queue_id: int
    alarm: Alarm
    result: HandleResult


class AlarmConsumer:
    """Applies queued alarms in a thread of its own: woken at once by `wake()` (the runtime calls it after queueing),
    and at least every `poll_s` for retries and for alarms queued by other workers."""

    def __init__(self, pool: ConnectionPool, *, now: Callable[[], datetime], poll_s: float = 1.0,
                 config: TicketConfig = DEFAULT_CONFIG,
                 alarm_time: Callable[[Alarm], datetime] | None = None) -> None:
        self.pool = pool
        self.now = now
        self.poll_s = poll_s
        self.config = config
        self._alarm_time = alarm_time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.applied = 0
        self.retries = 0
        self.failed = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alarm-consumer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                self.drain()
            except Exception:  # noqa: BLE001 - e.g. the database unreachable: the alarms stay queued, tried again
                log.exception("alarm consumer: cannot reach the queue; retrying in %g s", self.poll_s)

    def drain(self, limit: int = 1000) -> list[Applied]:
        """Apply what is due, up to `limit` alarms; returns what was applied (the tests call it directly)."""
        applied: list[Applied] = []
        with self.pool.connection() as conn:
            while len(applied) < limit and not self._stop.is_set():
                outcome = self._apply_one(conn)
                if outcome is None:
                    break
                if isinstance(outcome, Applied):
                    applied.append(outcome)
        return applied

    def _apply_one(self, conn: psycopg.Connection) -> Applied | bool | None:
        """Apply the next due alarm: its result, False if it failed this time, None if nothing is due."""
        queue_id = 0
        try:
            with conn.transaction():
                row = conn.execute(_CLAIM).fetchone()
                if row is None:
                    return None
                queue_id, data, _ = int(row[0]), row[1], row[2]
                alarm = alarm_from_json(data)
                result = handle_alarm(conn, alarm, now=self._time_of(alarm), config=self.config)
                conn.execute(_DONE, (result.action, queue_id))
        except _DOMAIN_ERRORS as exc:
            if not queue_id:
                raise
            self._record(conn, _FAILED, (f"{type(exc).__name__}: {exc}", queue_id))
            self.failed += 1
            log.error("alarm %s refused by the ticket side for good (%s); kept in alarm_queue", queue_id, exc)
            return False
        except Exception as exc:  # noqa: BLE001 - the database failing, or a bug: retried, never dropped
            if not queue_id or conn.closed or conn.broken:
                raise
            self._record(conn, _RETRY, {"error": f"{type(exc).__name__}: {str(exc).strip()}", "max": MAX_BACKOFF_S,
                                        "base": BASE_BACKOFF_S, "id": queue_id})
            self.retries += 1
            log.warning("alarm %s not applied (%s); retried later", queue_id, str(exc).strip())
            return False
        self.applied += 1
        return Applied(queue_id, alarm, result)

    def _time_of(self, alarm: Alarm) -> datetime:
        if self._alarm_time is not None:
            return self._alarm_time(alarm)
        # Never before the alarm itself: a platform on simulated time may consume it ahead of its clock.
        return max(self.now(), alarm.ts)

    @staticmethod
    def _record(conn: psycopg.Connection, statement: str, params: Any) -> None:
        with conn.transaction():
            conn.execute(statement, params)
