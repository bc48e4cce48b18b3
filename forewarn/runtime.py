"""The runtime: compose the platform from settings and run its roles — ingest (+ detectors), API, scheduler.

One process runs every role by default (the demo does); `forewarn run --role …` runs a subset, so an operator can
scale ingest workers and API servers separately, with one scheduler elected through an advisory lock.

`Platform` is the composition root: it brings up the database and the broker, builds a `RoleContext` and asks
`forewarn.wiring` for each role, keeping what comes back as typed fields (`ingest`, `scheduler`, `api`). Tests and
benchmarks drive it through its seams — `clock`, `channels`, `hooks`, `roles` — never by patching it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlparse

from psycopg_pool import ConnectionPool

from forewarn.broker_auth import write_broker_auth
from forewarn.configs import BrokerEndpoint, ticket_config
from forewarn.context import EMBEDDED_DB_NAME, ensure_database
from forewarn.db import StorageMode, check_connection, open_pool
from forewarn.embedded import EmbeddedBroker, EmbeddedPostgres, EmbeddedServerError, wait_for_port
from forewarn.migrate import migrate
from forewarn.pipeline import PipelineHooks
from forewarn.retention import apply_policies
from forewarn.settings import RunMode, Settings
from forewarn.stops import Stops
from forewarn.wiring import (
    ApiRole,
    IngestRole,
    RoleContext,
    SchedulerRole,
    start_api,
    start_ingest,
    start_scheduler,
)
from tickets.channels import Channel
from tickets.config import TicketConfig
from tickets.learned import rebuild_from_db

log = logging.getLogger(__name__)


class Role(StrEnum):
    INGEST = "ingest"
    API = "api"
    SCHEDULER = "scheduler"


ALL_ROLES = frozenset(Role)


def parse_mqtt_url(url: str) -> BrokerEndpoint:
    """The broker of mqtt://host[:1883] or mqtts://host[:8883]."""
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
        raise EmbeddedServerError(f"MQTT URL {url!r} must look like mqtt://host:1883 or mqtts://host:8883")
    tls = parsed.scheme == "mqtts"
    return BrokerEndpoint(parsed.hostname, parsed.port or (8883 if tls else 1883), tls)


@dataclass
class Platform:
    """Everything one Forewarn process runs; `start()` brings it up in dependency order, `stop()` in reverse.

    Seams (all optional; unset is the product): `prepare` runs once the database is migrated, before any role
    starts (the demo loads its estate there); `clock` is the platform's time (SLA clocks, ticket and notice times:
    the wall clock unless a benchmark runs simulated time); `channels` replaces the notice channels the settings
    configure (a recording fake in tests); `hooks` reach into the detection pipeline (its engine, the time alarms
    are handled at, a call after each detector step); `roles` picks which roles run; `caller_runs` names scheduler
    jobs (`forewarn.wiring.scheduler_jobs`) the caller runs itself at its own times — a benchmark in simulated time
    dispatches the outbox in lockstep with it, and the wall-clock job would race it.
    """

    settings: Settings
    roles: frozenset[Role] = ALL_ROLES
    prepare: Callable[[Platform], None] | None = None
    clock: Callable[[], datetime] | None = None
    channels: Mapping[str, Channel] | None = None
    hooks: PipelineHooks = field(default_factory=PipelineHooks)
    caller_runs: frozenset[str] = frozenset()
    # What start() brought up: read them once it has returned.
    started: list[str] = field(default_factory=list, init=False)  # the start-up banner, one line per part
    ingest: IngestRole | None = field(default=None, init=False)
    scheduler: SchedulerRole | None = field(default=None, init=False)
    api: ApiRole | None = field(default=None, init=False)
    database_url: str = field(default="", init=False)
    broker: BrokerEndpoint = field(default=BrokerEndpoint("127.0.0.1", 0), init=False)

    def __post_init__(self) -> None:
        self._stops = Stops()
        self._pool: ConnectionPool | None = None
        self._mode: StorageMode | None = None
        self.tickets: TicketConfig = ticket_config(self.settings)  # the lifecycle's, from the settings

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            raise RuntimeError("the platform has not started: call start() first")
        return self._pool

    @property
    def mode(self) -> StorageMode:
        if self._mode is None:
            raise RuntimeError("the platform has not started: call start() first")
        return self._mode

    @property
    def broker_host(self) -> str:
        return self.broker.host

    @property
    def broker_port(self) -> int:
        return self.broker.port

    # -- start-up: database, migrations, broker, then the roles -------------------------------------

    def start(self) -> None:
        try:
            self._start_database()
            if self.prepare is not None:
                self.prepare(self)
            self._start_broker()
            self._start_roles()
        except BaseException:
            self.stop()
            raise

    def _start_database(self) -> None:
        s = self.settings
        if s.database_url:
            check_connection(s.database_url)
            self.database_url = s.database_url
            self.started.append("database   configured server (FOREWARN_DATABASE_URL)")
        else:
            embedded = EmbeddedPostgres(s.data_dir / "postgres", s.embedded_db_port)
            admin = embedded.start()
            self._stops.push("embedded PostgreSQL", embedded.stop)
            self.database_url = ensure_database(admin, EMBEDDED_DB_NAME)
            self.started.append(f"database   embedded PostgreSQL 18 on 127.0.0.1:{s.embedded_db_port} "
                                f"(data in {embedded.data_dir})")
        self._mode, _ = migrate(self.database_url, s.db_mode)
        apply_policies(self.database_url, self._mode, retention_days=s.retention_days,
                       compress_after_days=s.compress_after_days)
        self.started.append(f"storage    {self._mode.name}: {self._mode.reason}")
        self._pool = open_pool(self.database_url, size=s.db_pool_size)
        self._stops.push("database pool", self._pool.close)
        if self.tickets.learned is not None:  # the desk's corrections so far teach the classifier (tickets/learned.py)
            with self._pool.connection() as conn:
                learned = rebuild_from_db(conn, self.tickets.learned)
            self.started.append(f"classify   taxonomy rules and a model learned from {learned} desk corrections")

    def _start_broker(self) -> None:
        s = self.settings
        if s.mqtt_url:
            self.broker = parse_mqtt_url(s.mqtt_url)
            self.started.append(f"broker     {s.mqtt_url} (FOREWARN_MQTT_URL)")
            return
        auth = None  # development: anonymous; otherwise devices and the platform each need their account
        if s.mode is not RunMode.DEVELOPMENT:
            if not (s.mqtt_username and s.mqtt_password):  # the settings refuse this already; never run open
                raise EmbeddedServerError("the embedded broker needs FOREWARN_MQTT_USERNAME/PASSWORD outside "
                                          "development mode")
            auth = write_broker_auth(self.database_url, s.data_dir / "broker" / "auth", username=s.mqtt_username,
                                     password=s.mqtt_password)
        embedded = EmbeddedBroker(s.data_dir / "broker", s.embedded_mqtt_port, auth_dir=auth,
                                  platform_port=s.embedded_mqtt_platform_port)
        embedded.start()
        self._stops.push("embedded broker", embedded.stop)
        self.broker = BrokerEndpoint("127.0.0.1", embedded.platform_port)
        self.started.append(f"broker     embedded {embedded.implementation} on {embedded.url}"
                            + (f" (authenticated; platform on port {embedded.platform_port})"
                               if auth else " (anonymous: development mode)"))

    def context(self) -> RoleContext:
        """What the roles are built from; valid once the database and the broker are up."""
        return RoleContext(settings=self.settings, pool=self.pool, database_url=self.database_url, mode=self.mode,
                           broker=self.broker, clock=self.now, tickets=self.tickets)

    def _start_roles(self) -> None:
        ctx = self.context()
        if Role.INGEST in self.roles:
            self.ingest = start_ingest(ctx, self.hooks)
            self._stops.push("ingest role", self.ingest.stop)
            self.started.append(self.ingest.banner)
        if Role.SCHEDULER in self.roles:
            self.scheduler = start_scheduler(ctx, self.channels, skip=self.caller_runs)
            self._stops.push("scheduler role", self.scheduler.stop)
            self.started.append(self.scheduler.banner)
        if Role.API in self.roles:
            self.api = start_api(ctx, self.ingest)
            self._stops.push("api role", self.api.stop)
            self.started.append(self.api.banner)

    def broker_reachable(self) -> bool:
        return wait_for_port(self.broker.port, 1.0, self.broker.host)

    def stop(self) -> None:
        """Stop everything that started, in reverse order; each failure is logged, and the rest still stop."""
        self._stops.stop_all()

    def now(self) -> datetime:
        return self.clock() if self.clock is not None else datetime.now(UTC)
