"""Shared fixtures: a real PostgreSQL (embedded, or `TEST_DATABASE_URL`) and a real Mosquitto, both on loopback.

Database mode: `FOREWARN_TEST_DB_MODE` = plain | timescale | auto (default auto: TimescaleDB when the embedded server
has the extension built, see scripts/build-timescaledb.sh). Each test gets a fresh database copied from a migrated
template (`CREATE DATABASE … TEMPLATE`), so tests never see each other's rows. Tests marked `timescale` or `plain`
run only in that mode; the other mode's run covers them (they are deselected, not skipped).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from forewarn.db import StorageMode, open_pool
from forewarn.embedded import (
    EmbeddedPostgres,
    free_port,
    mosquitto_config,
    timescaledb_installed,
    wait_for_port,
)
from forewarn.migrate import migrate
from forewarn.settings import DbMode
from ingest.estate_file import load_estate_file
from ingest.estate_store import save_estate

ROOT = Path(__file__).resolve().parent.parent
DEMO_ESTATE = ROOT / "forewarn" / "data" / "demo-estate.yaml"


def _wanted_mode() -> DbMode:
    return DbMode(os.environ.get("FOREWARN_TEST_DB_MODE", "auto"))


@dataclass
class PgServer:
    admin_url: str
    mode: StorageMode
    templates: dict[str, str]

    def url_for(self, dbname: str) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.admin_url)
        info["dbname"] = dbname
        return psycopg.conninfo.make_conninfo(**info)

    def create_from(self, template: str) -> str:
        """A new database copied from a template. The templates refuse connections, but a TimescaleDB job that was
        already running in one may still be attached for a moment: it is ended and the copy retried."""
        name = f"fw_test_{uuid.uuid4().hex[:12]}"
        source = self.templates[template]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for attempt in range(20):
                try:
                    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
                    return name
                except psycopg.errors.ObjectInUse:
                    if attempt == 19:
                        raise
                    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                                 (source,))
                    time.sleep(0.1)
        return name

    def drop(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            if name in self.templates.values():
                conn.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false')
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _build_templates(admin_url: str, wanted: DbMode) -> tuple[StorageMode, dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    templates = {"empty": f"fw_tpl_empty_{suffix}", "estate": f"fw_tpl_estate_{suffix}"}
    mode = None
    for kind, name in templates.items():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        info = psycopg.conninfo.conninfo_to_dict(admin_url)
        info["dbname"] = name
        url = psycopg.conninfo.make_conninfo(**info)
        mode, _ = migrate(url, wanted)
        if kind == "estate":
            with psycopg.connect(url) as conn:
                save_estate(conn, load_estate_file(DEMO_ESTATE))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            # No new sessions (TimescaleDB's job scheduler would otherwise attach and block every copy).
            conn.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    assert mode is not None
    return mode, templates


def _expect_plain() -> bool:
    """Whether this run will be on plain PostgreSQL, decided before the server starts (for test selection)."""
    wanted = _wanted_mode()
    if wanted is not DbMode.AUTO:
        return wanted is DbMode.PLAIN
    external = os.environ.get("TEST_DATABASE_URL")
    if not external:
        return not timescaledb_installed()
    with psycopg.connect(external, connect_timeout=10) as conn:
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()
    return not (available and preload and "timescaledb" in preload[0])


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    wanted = _wanted_mode()
    external = os.environ.get("TEST_DATABASE_URL")
    server = None
    if external:
        admin_url = external
    else:
        timescale = wanted is not DbMode.PLAIN and timescaledb_installed()
        if wanted is DbMode.TIMESCALE and not timescale:
            pytest.exit("FOREWARN_TEST_DB_MODE=timescale, but TimescaleDB is not built: scripts/build-timescaledb.sh")
        # Not under pytest's numbered temp dirs: a concurrent pytest session prunes those while this one runs.
        workdir = Path(tempfile.mkdtemp(prefix="fw-test-pg-"))
        server = EmbeddedPostgres(workdir / "data", free_port(), timescale=timescale,
                                  durable=False)
        admin_url = server.start()
    mode, templates = _build_templates(admin_url, wanted)
    pg = PgServer(admin_url, mode, templates)
    yield pg
    for name in templates.values():
        with contextlib.suppress(psycopg.Error):
            pg.drop(name)
    if server is not None:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    other = "timescale" if _expect_plain() else "plain"
    keep = [item for item in items if other not in item.keywords]
    dropped = [item for item in items if other in item.keywords]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture
def storage_mode(pg_server: PgServer, request: pytest.FixtureRequest) -> StorageMode:
    """The active storage mode; a test marked for the other mode fails loudly here rather than passing vacuously."""
    for marker, needed in (("timescale", True), ("plain", False)):
        if request.node.get_closest_marker(marker) and pg_server.mode.timescale is not needed:
            pytest.fail(f"test needs the {marker} mode; run with FOREWARN_TEST_DB_MODE={marker}")
    return pg_server.mode


@pytest.fixture
def db_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, migrated database with no estate loaded."""
    name = pg_server.create_from("empty")
    yield pg_server.url_for(name)
    pg_server.drop(name)


@pytest.fixture
def estate_db_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, migrated database with the demo estate loaded."""
    name = pg_server.create_from("estate")
    yield pg_server.url_for(name)
    pg_server.drop(name)


@pytest.fixture
def conn(estate_db_url: str) -> Iterator[psycopg.Connection]:
    """A connection (autocommit off) to a fresh database with the demo estate."""
    with psycopg.connect(estate_db_url) as connection:
        yield connection


@pytest.fixture
def pool(estate_db_url: str) -> Iterator[ConnectionPool]:
    """A small connection pool on the estate database, as the runtime's consumers use one."""
    pool = open_pool(estate_db_url, size=4)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def demo_estate():
    return load_estate_file(DEMO_ESTATE)


class Mosquitto:
    """A real Mosquitto on a free loopback port; `restart()` keeps its persistence (for resilience tests)."""

    def __init__(self, workdir: Path, extra_config: str = "") -> None:
        self.workdir = workdir
        self.port = free_port()
        self.extra_config = extra_config
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail("mosquitto is not installed: apt-get install -y mosquitto (scripts/test.sh does)")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(mosquitto_config(self.port, self.workdir, extra=self.extra_config))
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        if not wait_for_port(self.port, 10):
            self.stop()
            pytest.fail(f"mosquitto did not listen on {self.port}: {(self.workdir / 'mosquitto.log').read_text()}")

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def mosquitto() -> Iterator[Mosquitto]:
    with tempfile.TemporaryDirectory(prefix="fw-mqtt-") as workdir:
        broker = Mosquitto(Path(workdir))
        broker.start()
        yield broker
        broker.stop()
