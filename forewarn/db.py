"""The database: a psycopg 3 connection pool that fails fast, and the storage mode (TimescaleDB or plain).

Domain packages receive connections (or the pool) from here; they hold their own SQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from forewarn.settings import DbMode

log = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """The database cannot be used; the message says why and what to check."""


def redact(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable database URL>"
    if info.get("password"):
        info["password"] = "***"
    return psycopg.conninfo.make_conninfo(**info)


def check_connection(url: str, timeout: float = 5.0) -> None:
    """Connect once; raise `DatabaseError` with a readable reason on a bad DSN or an unreachable server."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.ProgrammingError as exc:
        reason = str(exc).strip()
        hint = "expected postgresql://user@host:port/db"
        raise DatabaseError(f"the database URL is malformed ({reason}); {hint}") from None
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"cannot connect to {redact(url)}: {reason}") from None


# How long the pool keeps retrying one lost connection (with backoff) before it gives the slot up. psycopg_pool's
# default (5 min, backoff doubling from 1 s) means that after a 20 s outage the next attempt may be 10 s away; with
# 2 s the slot is given up and the next request that needs a connection opens one at once (issue #21, finding 8).
RECONNECT_TIMEOUT_S = 2.0


def open_pool(url: str, *, size: int = 8, timeout: float = 10.0, name: str = "forewarn") -> ConnectionPool:
    """Open a pool and wait until it holds a working connection, so that a bad DSN fails at start-up."""
    check_connection(url, timeout)
    pool = ConnectionPool(
        url, min_size=1, max_size=size, open=False, name=name, check=ConnectionPool.check_connection,
        reconnect_timeout=RECONNECT_TIMEOUT_S, kwargs={"connect_timeout": 5},
    )
    pool.open()
    try:
        pool.wait(timeout=timeout)
    except PoolTimeout:
        pool.close()
        raise DatabaseError(f"no connection to {redact(url)} within {timeout:g} s") from None
    return pool


@dataclass(frozen=True, slots=True)
class StorageMode:
    """Which storage path is active, and why — what `forewarn db info` prints."""

    timescale: bool
    reason: str
    version: str | None = None
    license: str | None = None

    @property
    def name(self) -> str:
        return "timescaledb" if self.timescale else "plain"


def detect_mode(conn: psycopg.Connection, wanted: DbMode) -> StorageMode:
    """Decide the storage path for this database, creating the TimescaleDB extension when it will be used."""
    installed = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if installed:
        return StorageMode(True, "the timescaledb extension is created in this database", installed[0], _license(conn))
    if wanted is DbMode.PLAIN:
        return StorageMode(False, "plain PostgreSQL requested (FOREWARN_DB_MODE=plain)")
    available = conn.execute(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    preload = conn.execute("SHOW shared_preload_libraries").fetchone()
    preloaded = bool(preload and "timescaledb" in preload[0])
    if available and preloaded:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
        return StorageMode(True, "the timescaledb extension is available and preloaded", version[0], _license(conn))
    if not available:
        reason = "the timescaledb extension is not installed on this server"
    else:
        reason = "timescaledb is installed but not in shared_preload_libraries"
    if wanted is DbMode.TIMESCALE:
        raise DatabaseError(f"FOREWARN_DB_MODE=timescale, but {reason}")
    return StorageMode(False, f"{reason}; using plain PostgreSQL")


def _license(conn: psycopg.Connection) -> str | None:
    try:
        row = conn.execute("SHOW timescaledb.license").fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None
