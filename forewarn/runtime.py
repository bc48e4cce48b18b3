"""The runtime: compose the platform from settings and run its roles — ingest (+ detectors), API, scheduler.

One process runs every role by default (the demo does); `forewarn run --role …` runs a subset, so an operator can
scale ingest workers and API servers separately, with one scheduler elected through an advisory lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlparse

import uvicorn

from api.app import create_app
from api.deps import AppState
from forewarn.context import EMBEDDED_DB_NAME, ensure_database
from forewarn.db import check_connection, open_pool
from forewarn.embedded import EmbeddedBroker, EmbeddedPostgres, EmbeddedServerError, port_is_free, wait_for_port
from forewarn.migrate import migrate
from forewarn.retention import apply_policies
from forewarn.settings import Settings

log = logging.getLogger(__name__)


class Role(StrEnum):
    INGEST = "ingest"
    API = "api"
    SCHEDULER = "scheduler"


ALL_ROLES = frozenset(Role)


def parse_mqtt_url(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) from mqtt://host[:1883] or mqtts://host[:8883]."""
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
        raise EmbeddedServerError(f"MQTT URL {url!r} must look like mqtt://host:1883 or mqtts://host:8883")
    tls = parsed.scheme == "mqtts"
    return parsed.hostname, parsed.port or (8883 if tls else 1883), tls


@dataclass
class Platform:
    """Everything one Forewarn process runs; `start()` brings it up in dependency order, `stop()` in reverse."""

    settings: Settings
    roles: frozenset[Role] = ALL_ROLES
    started: list[str] = field(default_factory=list)  # human-readable lines for the start-up banner
    # Called once the database is migrated and before any role starts (the demo loads its estate here).
    prepare: Callable[[Platform], None] | None = None
    # The platform's clock (SLA clocks, ticket and notice times). The wall clock, except when a benchmark runs the
    # platform against simulated time at full speed and passes the simulation's clock here.
    clock: Callable[[], datetime] | None = None

    def __post_init__(self) -> None:
        self._embedded_pg: EmbeddedPostgres | None = None
        self._embedded_broker: EmbeddedBroker | None = None
        self._stops: list[tuple[str, object]] = []
        self.database_url = ""
        self.broker_host, self.broker_port = "127.0.0.1", 0
        self.broker_tls = False

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
            self._embedded_pg = EmbeddedPostgres(s.data_dir / "postgres", s.embedded_db_port)
            admin = self._embedded_pg.start()
            self._stops.append(("embedded PostgreSQL", self._embedded_pg.stop))
            self.database_url = ensure_database(admin, EMBEDDED_DB_NAME)
            self.started.append(f"database   embedded PostgreSQL 18 on 127.0.0.1:{s.embedded_db_port} "
                                f"(data in {self._embedded_pg.data_dir})")
        self.mode, _ = migrate(self.database_url, s.db_mode)
        apply_policies(self.database_url, self.mode, retention_days=s.retention_days,
                       compress_after_days=s.compress_after_days)
        self.started.append(f"storage    {self.mode.name}: {self.mode.reason}")
        self.pool = open_pool(self.database_url, size=s.db_pool_size)
        self._stops.append(("database pool", self.pool.close))

    def _start_broker(self) -> None:
        s = self.settings
        if s.mqtt_url:
            self.broker_host, self.broker_port, self.broker_tls = parse_mqtt_url(s.mqtt_url)
            self.started.append(f"broker     {s.mqtt_url} (FOREWARN_MQTT_URL)")
            return
        self._embedded_broker = EmbeddedBroker(s.data_dir / "broker", s.embedded_mqtt_port)
        self._embedded_broker.start()
        self._stops.append(("embedded broker", self._embedded_broker.stop))
        self.broker_host, self.broker_port = "127.0.0.1", s.embedded_mqtt_port
        self.started.append(f"broker     embedded {self._embedded_broker.implementation} on "
                            f"{self._embedded_broker.url}")

    def broker_reachable(self) -> bool:
        return wait_for_port(self.broker_port, 1.0, self.broker_host)

    def _start_roles(self) -> None:
        from forewarn.wiring import start_ingest, start_scheduler

        self.pipeline = None
        if Role.INGEST in self.roles:
            start_ingest(self)
        if Role.SCHEDULER in self.roles:
            start_scheduler(self)
        if Role.API in self.roles:
            self._start_api()

    def _start_api(self) -> None:
        s = self.settings
        if not port_is_free(s.api_port, s.api_host):
            raise EmbeddedServerError(f"port {s.api_port} is in use; set FOREWARN_API_PORT to a free port")
        state = AppState(pool=self.pool, broker_check=self.broker_reachable, extras=dict(self.api_extras()),
                         clock=self.now)
        app = create_app(state)
        config = uvicorn.Config(app, host=s.api_host, port=s.api_port, log_level="warning", lifespan="on",
                                timeout_graceful_shutdown=2)  # open live streams must not hold up a stop
        self.api_server = uvicorn.Server(config)
        thread = threading.Thread(target=self.api_server.run, name="api", daemon=True)
        thread.start()
        if not wait_for_port(s.api_port, 15, s.api_host):
            raise EmbeddedServerError(f"the API did not start on {s.api_host}:{s.api_port}")

        def stop_api() -> None:
            self.api_server.should_exit = True
            thread.join(10)

        self._stops.append(("API", stop_api))
        self.started.append(f"api        http://{s.api_host}:{s.api_port}  (OpenAPI at /docs)")

    def api_extras(self) -> dict[str, object]:
        from forewarn.web_wiring import code_sender, web_config

        extras: dict[str, object] = {"storage_mode": self.mode, "secret_key": self.settings.secret_key,
                                     "web": web_config(self.settings), "code_sender": code_sender(self.settings)}
        ingest = getattr(self, "ingest", None)
        if ingest is not None and hasattr(ingest, "metrics_registry"):
            extras["metrics_registry"] = ingest.metrics_registry
        return extras

    def stop(self) -> None:
        """Stop everything that started, in reverse order; each failure is logged, and the rest still stop."""
        while self._stops:
            name, stop = self._stops.pop()
            try:
                stop()  # type: ignore[operator]
            except Exception:  # noqa: BLE001 - shutting down: report and carry on
                log.exception("while stopping %s", name)

    def on_stop(self, name: str, stop: object) -> None:
        self._stops.append((name, stop))

    def now(self) -> datetime:
        return self.clock() if self.clock is not None else datetime.now(UTC)
