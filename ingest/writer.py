"""The writer's database connection: batches written in one transaction each, database outages waited out, and a
batch the database refuses for its data split so that only the refused reading becomes a dead letter."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

import psycopg

from ingest import storage
from ingest.decode import Rejection
from ingest.metrics import IngestMetrics
from ingest.reading import DeviceKind, Reading

log = logging.getLogger(__name__)

# Pause between attempts while the database is unavailable (doubling up to the maximum).
_RETRY_MIN_S = 0.2
_RETRY_MAX_S = 5.0
# Connection trouble: wait and retry. Data the database refuses: dead-letter that message. Anything else (a missing
# table, permissions) is retried too, loudly: an operator can fix it, and nothing is lost meanwhile.
_TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError)
_BAD_DATA = (psycopg.DataError, psycopg.IntegrityError)


class Source(Protocol):
    """Where a reading came from, for its dead letter."""

    @property
    def topic(self) -> str: ...

    @property
    def payload(self) -> bytes: ...


class BatchWriter:
    """Owns one connection (opened lazily, reopened after a failure); used by the writer thread only."""

    def __init__(self, conninfo: str, *, payload_limit: int, metrics: IngestMetrics, stopping: threading.Event,
                 now: Callable[[], datetime]) -> None:
        self._conninfo = conninfo
        self._payload_limit = payload_limit
        self._metrics = metrics
        self._stopping = stopping
        self._now = now
        self._conn: psycopg.Connection | None = None
        self.retries = 0
        # The last batch held readings stored before: redeliveries come in a run (the broker resends everything
        # unacknowledged after a reconnect), so the next batch goes the careful way at once (storage.write_batch).
        self._careful = False

    def open(self) -> None:
        """Connect now (raises psycopg errors: start-up should fail fast on a bad DSN)."""
        self._connection()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self._conninfo, connect_timeout=5, application_name="forewarn-ingest")
            try:
                storage.prepare(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def registry(self, *, with_presence: bool
                 ) -> tuple[dict[str, tuple[DeviceKind, str]], list[storage.PresenceRow] | None]:
        """The active devices (and stored presence); raises psycopg errors, closing the connection."""
        try:
            conn = self._connection()
            registry = storage.load_registry(conn)
            rows = storage.load_presence(conn) if with_presence else None
            conn.commit()
        except psycopg.Error:
            self.close()
            raise
        return registry, rows

    def registry_version(self) -> int:
        """The registry's version (one one-row query); raises psycopg errors, closing the connection."""
        try:
            conn = self._connection()
            version = storage.registry_version(conn)
            conn.commit()
        except psycopg.Error:
            self.close()
            raise
        return version

    def write(self, batch: storage.Batch, sources: Mapping[int, Source] | None = None) -> list[Reading] | None:
        """Write `batch`, waiting out a database outage; the new readings, or None when stopping meanwhile.

        A batch the database refuses for its data is split (when `sources` says where each reading came from)."""
        delay = _RETRY_MIN_S
        while True:
            try:
                new = storage.write_batch(self._connection(), batch, payload_limit=self._payload_limit,
                                          careful=self._careful)
                if batch.readings:
                    self._careful = len(new) < len(batch.readings)
                return new
            except _BAD_DATA as exc:
                if sources is None:
                    raise
                log.error("the database refused a batch (%s); writing its messages one by one", str(exc).strip())
                return self._write_singly(batch, sources)
            except psycopg.Error as exc:
                # Down, restarting, or misconfigured (e.g. not migrated): pause and retry, never drop the batch.
                self.close()
                self.retries += 1
                self._metrics.db_retries.inc()
                if self._stopping.is_set():
                    log.warning("stopping while the database is unavailable; the broker keeps the unacknowledged")
                    return None
                level = logging.WARNING if isinstance(exc, _TRANSIENT) else logging.ERROR
                log.log(level, "cannot write to the database (%s: %s); ingest paused, retrying in %.1f s",
                        type(exc).__name__, str(exc).strip(), delay)
                time.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)

    def _write_singly(self, batch: storage.Batch, sources: Mapping[int, Source]) -> list[Reading] | None:
        """One reading per transaction; a reading the database refuses becomes a dead letter, not a stopped stream."""
        new: list[Reading] = []
        for reading in batch.readings:
            try:
                stored = self.write(storage.Batch(readings=[reading]))
            except _BAD_DATA as exc:
                source = sources[id(reading)]
                rejection = Rejection(source.topic, "storage_error", f"the database refused it: {str(exc).strip()}",
                                      source.payload, reading.device_id)
                batch.rejections.append((rejection, self._now()))
                continue
            if stored is None:
                return None
            new.extend(stored)
        rest = storage.Batch(rejections=batch.rejections, presence=batch.presence)
        try:
            if self.write(rest) is None:
                return None
        except _BAD_DATA:
            log.exception("could not record %d dead letters; they are logged here instead", len(rest.rejections))
            for rejection, _ in rest.rejections:
                log.error("dead letter %s: %s %s", rejection.topic, rejection.reason, rejection.detail)
        return new
