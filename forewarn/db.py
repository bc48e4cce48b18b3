"""The database: a psycopg 3 connection pool that fails fast, and the storage mode (TimescaleDB or plain).

Domain packages receive connections (or the pool) from here; they hold their own SQL.
"""

from __future__ import annotations

import logging
import time
import weakref
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
    return psycopg.conninfo.make_conninfo("", **info)


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


# A pooled connection back in the pool within this many seconds is handed out again without a test query.
CHECK_IDLE_S = 1.0


class _IdleCheck:
    """The pool's `check` hook: a connection that has rested in the pool is tested (one round trip) before it is
    handed out, so that one broken while idle (a database restart) is replaced instead of failing a request; one
    handed out moments ago is not: testing every checkout doubled the round trips of a page (bench.web). (The last
    checkout stands in for the last use: the pool's `reset` hook would say when it came back, but makes the pool
    return every connection through its worker thread.) A connection that breaks in use is discarded by the pool
    when it comes back, whatever this does."""

    def __init__(self, idle_s: float = CHECK_IDLE_S) -> None:
        self._idle_s = idle_s
        self._checked_out: weakref.WeakKeyDictionary[psycopg.Connection, float] = weakref.WeakKeyDictionary()

    def __call__(self, conn: psycopg.Connection) -> None:
        now = time.monotonic()
        last = self._checked_out.get(conn)
        if last is None or now - last >= self._idle_s:
            ConnectionPool.check_connection(conn)
        self._checked_out[conn] = now


def open_pool(url: str, *, size: int = 8, timeout: float = 10.0, name: str = "forewarn") -> ConnectionPool:
    """Open a pool and wait until it holds a working connection, so that a bad DSN fails at start-up."""
    check_connection(url, timeout)
    pool = ConnectionPool(
        url, min_size=1, max_size=size, open=False, name=name, check=_IdleCheck(),
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
    """Decide the storage path for this database, creating the TimescaleDB extension when it will be used.

    Works for a database owner that is not a superuser (a managed PostgreSQL's usual account): it may not read
    `shared_preload_libraries` nor create the extension, but it can use one an administrator created beforehand."""
    installed = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if installed:
        return StorageMode(True, "the timescaledb extension is created in this database", installed[0], _license(conn))
    if wanted is DbMode.PLAIN:
        return StorageMode(False, "plain PostgreSQL requested (FOREWARN_DB_MODE=plain)")
    available = conn.execute(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if not available:
        reason = "the timescaledb extension is not installed on this server" + _ADMIN_STEPS.format(*_who(conn))
    elif not _preloaded(conn):
        reason = "timescaledb is installed but not in shared_preload_libraries" + _ADMIN_STEPS.format(*_who(conn))
    else:
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except psycopg.errors.InsufficientPrivilege:
            user, database = _who(conn)
            reason = (f"role {user} may not create the timescaledb extension (that needs a superuser); "
                      f"an administrator can run CREATE EXTENSION timescaledb in database {database} "
                      "(with timescaledb in shared_preload_libraries), and this role then migrates on TimescaleDB")
        else:
            version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
            return StorageMode(True, "the timescaledb extension is available and preloaded",
                               str(version[0]) if version else None, _license(conn))
    if wanted is DbMode.TIMESCALE:
        raise DatabaseError(f"FOREWARN_DB_MODE=timescale, but {reason}")
    log.info("storage: %s; using plain PostgreSQL", reason)
    return StorageMode(False, f"{reason}; using plain PostgreSQL")


# What an administrator does for the TimescaleDB path, when this role cannot (formatted with role and database).
_ADMIN_STEPS = (" (an administrator installs it, adds it to shared_preload_libraries, restarts the server and, as a "
                "superuser, runs CREATE EXTENSION timescaledb in database {1}; role {0} then migrates on TimescaleDB)")


def _who(conn: psycopg.Connection) -> tuple[str, str]:
    row = conn.execute("SELECT current_user, current_database()").fetchone()
    return (str(row[0]), str(row[1])) if row else ("?", "?")


def _preloaded(conn: psycopg.Connection) -> bool:
    """Whether timescaledb is in shared_preload_libraries. A role that may not read that setting (neither a
    superuser nor in pg_read_all_settings) can still see whether the library is loaded: it defines its own
    settings, such as timescaledb.license, which anyone may read. (Trying CREATE EXTENSION to find out is no
    probe: without the preload its script fails and the server ends the session.)"""
    try:
        with conn.transaction():
            row = conn.execute("SHOW shared_preload_libraries").fetchone()
        return bool(row and "timescaledb" in row[0])
    except psycopg.errors.InsufficientPrivilege:
        row = conn.execute("SELECT current_setting('timescaledb.license', true)").fetchone()
        return bool(row and row[0] is not None)


def _license(conn: psycopg.Connection) -> str | None:
    try:
        row = conn.execute("SHOW timescaledb.license").fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None
