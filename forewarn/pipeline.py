"""The detection pipeline: stored readings → detector engine → alarms → tickets, incidents and notices.

Ingest calls `on_readings` after each committed batch, in order, from its writer thread; the engine is not
thread-safe, so one lock serialises it with the scheduler's `tick` and checkpoints. Each alarm is handled in its own
transaction, so one alarm that fails (and is logged) never blocks the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from psycopg_pool import ConnectionPool

from detectors.alarm import Alarm
from detectors.checkpoint import load_checkpoints, save_checkpoints
from detectors.engine import DetectorEngine
from ingest.decode import PresenceChange
from ingest.estate import Estate
from ingest.reading import Reading
from tickets.flows import handle_alarm, pending_labels

log = logging.getLogger(__name__)


class DetectionPipeline:
    def __init__(
        self,
        pool: ConnectionPool,
        estate: Estate,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        engine: DetectorEngine | None = None,
    ) -> None:
        self.pool = pool
        self.now = now
        self.engine = engine or DetectorEngine(now_fn=now)
        self._lock = threading.Lock()
        self.alarms_handled = 0
        self.alarm_failures = 0
        self._label_cursor = 0
        for device in estate.devices:
            self.engine.register_device(device.id, device.kind, device.site_id, device.building_id)

    def restore(self) -> int:
        """Resume every device from its last checkpoint, then replay the verdicts given since that checkpoint (the
        ones before it are already in the saved state); returns how many devices were restored."""
        with self.pool.connection() as conn:
            blobs = load_checkpoints(conn)
            saved_at: dict[str, datetime] = dict(
                conn.execute("SELECT device_id, updated_at FROM detector_state").fetchall())
            labels = pending_labels(conn, 0)
        restored = 0
        with self._lock:
            for device_id, blob in blobs.items():
                try:
                    self.engine.restore(device_id, blob)
                    restored += 1
                except (ValueError, TypeError, EOFError, AttributeError) as exc:
                    log.warning("detector checkpoint for %s not usable (%s); it starts fresh", device_id, exc)
                    saved_at.pop(device_id, None)
            known = set(self.engine.devices())
            for label in labels:
                since = saved_at.get(label.device_id)
                if label.device_id in known and (since is None or label.at > since):
                    self.engine.apply_verdict(label.device_id, label.fault, false_alarm=label.false_alarm)
            self._label_cursor = max((label.id for label in labels), default=0)
        return restored

    def checkpoint(self) -> int:
        with self._lock:
            items = [(device_id, self.engine.snapshot(device_id)) for device_id in self.engine.devices()]
        with self.pool.connection() as conn:
            save_checkpoints(conn, items)
        return len(items)

    def on_readings(self, batch: list[Reading]) -> None:
        alarms: list[Alarm] = []
        with self._lock:
            for reading in batch:
                alarms.extend(self.engine.process(reading))
        self.handle(alarms)

    def on_presence(self, change: PresenceChange) -> None:
        # The engine notices silence itself (tick); an explicit offline status is just the fastest way to know.
        with self._lock:
            alarms = self.engine.presence(change.device_id, online=change.online, ts=change.ts)
        self.handle(alarms)

    def apply_labels(self) -> int:
        """Feed engineers' new verdicts to the detectors (each label once per process); returns how many."""
        with self.pool.connection() as conn:
            labels = pending_labels(conn, self._label_cursor)
        alarms: list[Alarm] = []
        with self._lock:
            known = set(self.engine.devices())
            for label in labels:
                self._label_cursor = max(self._label_cursor, label.id)
                if label.device_id not in known:  # a device added since start-up: its worker applies it
                    log.info("verdict %s for %s, not a device of this worker", label.id, label.device_id)
                    continue
                alarms.extend(self.engine.apply_verdict(label.device_id, label.fault, false_alarm=label.false_alarm))
        self.handle(alarms)
        return len(labels)

    def tick(self) -> None:
        with self._lock:
            alarms = self.engine.tick(self.now())
        self.handle(alarms)

    def handle(self, alarms: list[Alarm]) -> None:
        for alarm in alarms:
            try:
                with self.pool.connection() as conn:
                    handle_alarm(conn, alarm, now=self.now())
                self.alarms_handled += 1
            except Exception:  # noqa: BLE001 - logged with the alarm; the next alarm still gets its ticket
                self.alarm_failures += 1
                log.exception("could not handle alarm %s/%s (%s)", alarm.device_id, alarm.fault, alarm.state)
