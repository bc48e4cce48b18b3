"""The detection pipeline: stored readings → detector engine → alarms → the alarm queue (→ tickets).

Ingest calls `on_readings` after each committed batch, in order, from its writer thread; the engine is not
thread-safe, so one lock serialises it with the scheduler's `tick` and checkpoints. The alarms the engine produces
are queued (`tickets.alarm_queue`) under that lock, in one transaction with the checkpoint of the devices whose state
produced them, so the durable queue and the durable detector state always agree: a worker that resumes from the
checkpoint neither forgets an alarm nor raises one twice. Applying them to tickets is the queue consumer's work, on
its own thread, so a slow or failing ticket transaction never stalls ingest.

The pipeline also follows the registry (`refresh_registry`): devices added, moved or removed by an estate load are
registered, re-homed or forgotten while it runs; and, for a worker that serves only some sites, `sites` limits
which devices it holds, checkpoints and restores.

`PipelineHooks` are the seams a benchmark or a test drives the pipeline through instead of patching it: its own
detector engine, the time each alarm is handled at, and a call after each detector step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from psycopg_pool import ConnectionPool

from detectors.alarm import Alarm
from detectors.checkpoint import load_checkpoints_of, save_checkpoints
from detectors.engine import DetectorEngine
from detectors.presence import RECONNECT_GRACE_S
from ingest.decode import PresenceChange
from ingest.estate import Estate
from ingest.estate_store import load_registry, registry_version
from ingest.reading import Reading
from ingest.storage import readings_after
from tickets.alarm_queue import enqueue
from tickets.flows import pending_labels

log = logging.getLogger(__name__)

# A reading from a device the engine does not know makes it reload the registry at once, at most this often (a
# device ingest accepts but no load registered, e.g. inserted by hand, must not cost a reload per batch).
UNKNOWN_RELOAD_S = 1.0
# A device's stored readings after its checkpoint are replayed on restore, up to this many metric rows (a checkpoint
# is at most a minute old while a worker runs: a minute of one device is a few hundred rows).
REPLAY_MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class PipelineHooks:
    """How a benchmark or a test drives the pipeline; every field unset is the product's behaviour.

    - `engine`: the detector engine to use (devices are registered into it here), e.g. one with rules switched off;
    - `alarm_time`: the time an alarm is handled at (its ticket, incident and notice times); default the clock's now,
      never before the alarm itself. A run against simulated time at full speed passes `lambda alarm: alarm.ts`;
    - `on_judged`: called after each detector step (a batch of readings, a presence change, a tick, new verdicts)
      once its alarms are handled, with those alarms (often none): a run in lockstep with the platform waits on it.
      With it set, the runtime applies queued alarms at once on the detector's thread (`on_queued`) instead of
      leaving them to the consumer's thread, so "judged" also means "handled".
    """

    engine: DetectorEngine | None = None
    alarm_time: Callable[[Alarm], datetime] | None = None
    on_judged: Callable[[list[Alarm]], None] | None = None


class DetectionPipeline:
    def __init__(
        self,
        pool: ConnectionPool,
        estate: Estate,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        hooks: PipelineHooks = PipelineHooks(),
        on_queued: Callable[[], object] | None = None,
        sites: Collection[str] | None = None,
        offline_grace_s: float = RECONNECT_GRACE_S,
        hears_through_ingest: bool = False,
        tz: tzinfo = UTC,
    ) -> None:
        self.pool = pool
        self.now = now
        self.hooks = hooks
        self.engine = hooks.engine or DetectorEngine(now_fn=now, offline_grace_s=offline_grace_s, tz=tz)
        self._lock = threading.Lock()
        self._on_queued = on_queued
        self.sites: set[str] | None = set(sites) if sites is not None else None  # None: every site
        self.alarms_queued = 0
        self.queue_failures = 0
        self._unqueued: list[Alarm] = []  # produced while the database refused them: queued with the next ones
        self._label_cursor = 0
        self._registry_version: int | None = None
        self._unknown_reload_at = -UNKNOWN_RELOAD_S
        # Since when ingest has heard each site (a site's own consumer, or None for one consumer of every site), None
        # while it cannot (`on_listening`). Without `hears_through_ingest` (a test or tool feeding it), always.
        self._heard: dict[str | None, datetime | None] | None = {} if hears_through_ingest else None
        self._apply_estate(estate)

    def _mine(self, site_id: str) -> bool:
        return self.sites is None or site_id in self.sites

    def _apply_estate(self, estate: Estate) -> tuple[int, int]:
        """Register the estate's devices of our sites (a known device gets its new site and building); forget the
        ones no longer there. Returns (registered, forgotten). Called with the lock held, or before any thread."""
        wanted = {d.id: d for d in estate.devices if self._mine(d.site_id)}
        gone = [device_id for device_id in self.engine.devices() if device_id not in wanted]
        for device_id in gone:
            self.engine.forget(device_id)
        for device in wanted.values():
            self.engine.register_device(device.id, device.kind, device.site_id, device.building_id)
        return len(wanted), len(gone)

    def refresh_registry(self, *, force: bool = False) -> bool:
        """Reload the registry if an estate load changed it since the last look (one cheap query when not);
        returns whether it was reloaded."""
        with self.pool.connection() as conn:
            version = registry_version(conn)
            if not force and version == self._registry_version:
                return False
            estate = load_registry(conn)
        with self._lock:
            registered, forgotten = self._apply_estate(estate)
        if self._registry_version is not None:
            log.info("registry version %s: %d devices here, %d forgotten", version, registered, forgotten)
        self._registry_version = version
        return True

    def restore(self, devices: Collection[str] | None = None) -> int:
        """Resume the devices (default: all of ours) from their last checkpoints, then replay the verdicts given since
        each checkpoint (the ones before it are already in the saved state); returns how many were restored."""
        with self._lock:
            wanted = set(self.engine.devices()) if devices is None else set(devices)
        with self.pool.connection() as conn:
            saved = load_checkpoints_of(conn, wanted)
            labels = pending_labels(conn, 0)
        restored = 0
        with self._lock:
            saved_at: dict[str, datetime] = {}
            for device_id, (blob, at) in saved.items():
                if not self.engine.knows(device_id):
                    continue  # forgotten meanwhile
                try:
                    self.engine.restore(device_id, blob)
                except (ValueError, TypeError, EOFError, AttributeError) as exc:
                    log.warning("detector checkpoint for %s not usable (%s); it starts fresh", device_id, exc)
                    continue
                saved_at[device_id] = at
                restored += 1
            # At start-up every verdict so far; for a site taken over later, those this worker has already passed
            # (the newer ones reach it through `apply_labels`).
            first = devices is None and self._label_cursor == 0
            for label in labels:
                if not first and label.id > self._label_cursor:
                    break
                since = saved_at.get(label.device_id)
                if label.device_id in wanted and self.engine.knows(label.device_id) and (
                        since is None or label.at > since):
                    self.engine.apply_verdict(label.device_id, label.fault, false_alarm=label.false_alarm)
            if first:
                self._label_cursor = max((label.id for label in labels), default=0)
        self._replay(list(saved_at))
        return restored

    def _replay(self, devices: list[str]) -> int:
        """Judge again what was stored after each device's checkpoint: readings a worker committed and acknowledged
        but died before it saved the state they led to (alarms they raise again are the same queued rows)."""
        with self._lock:
            positions = {d: p for d in devices if self.engine.knows(d) and (p := self.engine.position(d))}
        readings: list[Reading] = []
        with self.pool.connection() as conn:
            for device_id, (kind, site, ts, seq) in positions.items():
                found, cut = readings_after(conn, device_id, kind, site, ts, seq, limit_rows=REPLAY_MAX_ROWS)
                if cut:
                    log.warning("%s: more than %d rows stored after its checkpoint; replaying the first ones",
                                device_id, REPLAY_MAX_ROWS)
                readings.extend(found)
        if not readings:
            return 0
        readings.sort(key=lambda r: (r.ts, r.seq))  # across devices too: correlation follows reading time
        with self._lock:
            alarms: list[Alarm] = []
            for reading in readings:
                alarms.extend(self.engine.process(reading))
            self._queue(alarms)
        log.info("replayed %d readings stored after their devices' checkpoints (%d alarms)", len(readings),
                 len(alarms))
        return len(readings)

    def checkpoint(self, devices: Collection[str] | None = None) -> int:
        """Save the state of the devices (default: every device this worker holds)."""
        with self._lock:
            ids = self.engine.devices() if devices is None else [d for d in devices if self.engine.knows(d)]
            items = [(device_id, self.engine.snapshot(device_id)) for device_id in ids]
        with self.pool.connection() as conn:
            save_checkpoints(conn, items)
        return len(items)

    def add_site(self, site_id: str) -> int:
        """Start judging a site taken over by this worker: its devices registered and resumed from their
        checkpoints (before its readings flow). Returns how many devices were restored."""
        with self.pool.connection() as conn:
            estate = load_registry(conn)
        with self._lock:
            if self.sites is not None:
                self.sites.add(site_id)
            devices = [d for d in estate.devices if d.site_id == site_id]
            for device in devices:
                self.engine.register_device(device.id, device.kind, device.site_id, device.building_id)
        return self.restore([d.id for d in devices])

    def drop_site(self, site_id: str) -> int:
        """Stop judging a site (handed to another worker): its devices' state saved, then forgotten. Call it after
        the site's readings stopped flowing. Returns how many devices were saved."""
        with self._lock:
            if self.sites is not None:
                self.sites.discard(site_id)
            devices = [d for d in self.engine.devices() if self.engine.site_of(d) == site_id]
            self._hand_off([])  # anything the database refused earlier goes first, with the state that produced it
            items = [(device_id, self.engine.snapshot(device_id)) for device_id in devices]
            with self.pool.connection() as conn:
                save_checkpoints(conn, items)
            for device_id in devices:
                self.engine.forget(device_id)
        return len(items)

    def on_readings(self, batch: list[Reading]) -> None:
        if any(not self.engine.knows(r.device_id) for r in batch):
            # Ingest accepted a device we have not registered: an estate load we have not seen yet. Reload now, not at
            # the next poll, or its first readings would be judged without its building (as the site's main).
            self._reload_for_unknown()
        with self._lock:
            alarms: list[Alarm] = []
            for reading in batch:
                alarms.extend(self.engine.process(reading))
            self._queue(alarms)

    def _reload_for_unknown(self) -> None:
        now = time.monotonic()
        if now - self._unknown_reload_at < UNKNOWN_RELOAD_S:
            return
        self._unknown_reload_at = now
        try:
            self.refresh_registry()
        except Exception:  # noqa: BLE001 - the poll retries; the reading is still judged, by kind and site
            log.exception("could not reload the registry for a device this worker did not know")

    def on_presence(self, change: PresenceChange) -> None:
        # The engine notices silence itself (tick); an explicit offline status is just the fastest way to know.
        with self._lock:
            self._queue(self.engine.presence(change.device_id, online=change.online, ts=change.ts))

    def apply_labels(self) -> int:
        """Feed engineers' new verdicts to the detectors (each label once per process); returns how many."""
        with self.pool.connection() as conn:
            labels = pending_labels(conn, self._label_cursor)
        with self._lock:
            alarms: list[Alarm] = []
            known = set(self.engine.devices())
            for label in labels:
                self._label_cursor = max(self._label_cursor, label.id)
                if label.device_id not in known:  # a device of another worker: that worker applies it
                    log.info("verdict %s for %s, not a device of this worker", label.id, label.device_id)
                    continue
                alarms.extend(self.engine.apply_verdict(label.device_id, label.fault, false_alarm=label.false_alarm))
            self._queue(alarms)
        return len(labels)

    def on_listening(self, site: str | None, since: datetime | None) -> None:
        """Ingest for `site` (None: every site) connected to the broker at `since`, or lost it (None). Until then, and
        while it is lost, no device of the site is judged silent: after a restart or an outage of the platform's own
        connection each device has its whole silence limit to be heard again (detectors/presence.py). Called from
        the MQTT client's thread: one dict assignment, read by `tick`."""
        if self._heard is not None:
            self._heard[site] = since
            log.info("%s: %s", site or "every site", f"listening since {since:%H:%M:%S}" if since else "not listening")

    def _heard_from(self, site_id: str) -> float | None:
        heard = self._heard or {}
        since = heard[site_id] if site_id in heard else heard.get(None)
        return None if since is None else since.timestamp()

    def tick(self) -> None:
        with self._lock:
            self._queue(self.engine.tick(self.now(), None if self._heard is None else self._heard_from))

    def _queue(self, alarms: list[Alarm]) -> None:
        """One detector step's alarms handed off; then `hooks.on_judged`, if set."""
        self._hand_off(alarms)
        if self.hooks.on_judged is not None:
            self.hooks.on_judged(alarms)

    def _hand_off(self, alarms: list[Alarm]) -> None:
        """Queue the alarms with the checkpoint of the devices that produced them, in one transaction (the lock is
        held: the state saved is the state that produced them). If the database refuses, they are kept and queued
        with the next ones (an empty call retries them too: the tick comes every few seconds)."""
        pending = [*self._unqueued, *alarms]
        if not pending:
            return
        devices = sorted({a.device_id for a in pending} & set(self.engine.devices()))
        items = [(device_id, self.engine.snapshot(device_id)) for device_id in devices]
        try:
            with self.pool.connection() as conn, conn.transaction():
                enqueue(conn, pending)
                save_checkpoints(conn, items)
        except Exception:  # noqa: BLE001 - kept in memory and retried; ingest must go on
            self.queue_failures += 1
            self._unqueued = pending
            log.exception("could not queue %d alarms; retried with the next ones", len(pending))
            return
        self._unqueued = []
        self.alarms_queued += len(pending)
        if self._on_queued is not None:
            self._on_queued()
