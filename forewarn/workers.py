"""Ingest/detector workers that scale by site: each worker serves the sites it holds a lease on (`ingest.leases`).

For every site it holds, a worker runs one `IngestService` under the site's own MQTT client id,
`forewarn-ingest-site-<site>`, with a persistent session (clean start off, long session expiry) subscribed to that
site's topics only. The broker keeps that session — and queues the site's QoS 1 readings in it — while no worker is
connected under that id: between a worker's death and the takeover, nothing is dropped, and a message the dead worker
received but had not acknowledged is redelivered to the next one (stored once, by the readings' key). Only one worker
connects under a site's id at a time, because only the lease holder does.

Taking a site: its devices are registered in the worker's detector engine and resumed from their checkpoints, then its
consumer connects. Handing one back: the consumer stops (what it received is committed and acknowledged), the
devices' state is saved and forgotten, then the lease is released. A worker that loses its lease (it could not renew
in time) stops serving the site without releasing it: another worker may already hold it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from psycopg_pool import ConnectionPool

from forewarn.pipeline import DetectionPipeline
from ingest.config import IngestConfig
from ingest.leases import LeaseBook
from ingest.service import IngestError, IngestService

log = logging.getLogger(__name__)

# A lease lasts this long unrenewed, and is renewed this often: a dead worker's sites move within LEASE_TTL_S +
# LEASE_RENEW_S (13 s) plus the takeover itself (restore and connect, about a second), inside the 30 s promised.
LEASE_TTL_S = 10.0
LEASE_RENEW_S = 3.0


def site_client_id(site_id: str) -> str:
    """The MQTT client id (and persistent session) of a site's consumer, whichever worker runs it."""
    return f"forewarn-ingest-site-{site_id}"


class SiteWorker:
    """One ingest/detector worker: holds leases, and serves exactly the sites it holds."""

    def __init__(self, worker_id: str, pool: ConnectionPool, database_url: str, base: IngestConfig,
                 pipeline: DetectionPipeline, *, now: Callable[[], datetime],
                 ttl_s: float = LEASE_TTL_S, renew_s: float = LEASE_RENEW_S) -> None:
        self.worker_id = worker_id
        self.pool = pool
        self.database_url = database_url
        self.base = base
        self.pipeline = pipeline
        self.now = now
        self.renew_s = renew_s
        self.leases = LeaseBook(worker_id, ttl_s=ttl_s)
        self.services: dict[str, IngestService] = {}
        self._last_round = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """The first round now (so a lone worker serves its sites before `start` returns), then every `renew_s`."""
        self.round()
        self._thread = threading.Thread(target=self._run, name=f"site-leases-{self.worker_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """A clean stop: every site handed back (state saved), so the others take them at their next round."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        sites = sorted(self.services)
        for site in sites:
            self._unserve(site)
        with self.pool.connection() as conn:
            self.leases.retire(conn, sites)

    def _run(self) -> None:
        while not self._stop.wait(self.renew_s):
            try:
                self.round()
            except Exception:  # noqa: BLE001 - the database away: keep trying; give the sites up if it lasts
                log.exception("worker %s: lease round failed", self.worker_id)
                if time.monotonic() - self._last_round > self.leases.ttl_s - self.renew_s:
                    self._give_up_all()

    def round(self) -> None:
        with self.pool.connection() as conn:
            outcome = self.leases.round(conn)
        self._last_round = time.monotonic()
        for site in sorted(set(self.services) - outcome.held):  # lost: someone else may hold it already
            log.warning("worker %s lost its lease on %s; it stops serving it", self.worker_id, site)
            self._unserve(site)
        for site in sorted(outcome.excess):
            self._unserve(site)
            with self.pool.connection() as conn:
                self.leases.release(conn, site)
            log.info("worker %s handed %s back (above its fair share)", self.worker_id, site)
        for site in sorted(outcome.held - outcome.excess - set(self.services)):
            self._serve(site)

    def _serve(self, site: str) -> None:
        restored = self.pipeline.add_site(site)
        config = dataclasses.replace(self.base, client_id=site_client_id(site), site=site)
        service = IngestService(config, self.database_url, on_readings=self.pipeline.on_readings,
                                on_presence=self.pipeline.on_presence, on_listening=self.pipeline.on_listening,
                                now=self.now)
        try:
            service.start()
        except IngestError as exc:
            log.error("worker %s cannot serve %s: %s; handing it back", self.worker_id, site, exc)
            self.pipeline.drop_site(site)
            with self.pool.connection() as conn:
                self.leases.release(conn, site)
            return
        self.services[site] = service
        log.info("worker %s serves %s (%d devices restored from their checkpoints)", self.worker_id, site, restored)

    def _unserve(self, site: str) -> None:
        service = self.services.pop(site, None)
        if service is not None:
            service.stop()
        try:
            self.pipeline.drop_site(site)
        except Exception:  # noqa: BLE001 - the next holder resumes from the previous checkpoint instead
            log.exception("worker %s could not save the state of %s's devices", self.worker_id, site)

    def _give_up_all(self) -> None:
        for site in sorted(self.services):
            log.error("worker %s could not renew its leases in time; it stops serving %s", self.worker_id, site)
            self._unserve(site)
