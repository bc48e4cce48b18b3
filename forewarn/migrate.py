"""Plain numbered `.sql` migrations in `forewarn/migrations/`, applied in order, each in its own transaction.

A file `NNNN_name.sql` applies in both storage modes; `NNNN_name.plain.sql` and `NNNN_name.timescale.sql` are the
two variants of one step, and only the one for the active mode runs. Applied steps are recorded in
`schema_version`. A transaction-level advisory lock makes two processes that start together migrate once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from forewarn.db import DatabaseError, StorageMode, detect_mode
from forewarn.settings import DbMode

log = logging.getLogger(__name__)

# An arbitrary constant that identifies "Forewarn migrations" among advisory locks.
MIGRATION_LOCK_KEY = 0x466F7265  # "Fore"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(plain|timescale))?\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    variant: str | None  # None = both modes
    sql: str


def available_migrations(mode: StorageMode) -> list[Migration]:
    wanted = "timescale" if mode.timescale else "plain"
    steps: dict[int, Migration] = {}
    for entry in resources.files("forewarn.migrations").iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version, name, variant = int(match[1]), match[2], match[3]
        if variant not in (None, wanted):
            continue
        if version in steps:
            raise RuntimeError(f"two migrations are numbered {version:04d}: {steps[version].name} and {name}")
        steps[version] = Migration(version, name, variant, entry.read_text(encoding="utf-8"))
    return [steps[v] for v in sorted(steps)]


def migrate(url: str, wanted: DbMode = DbMode.AUTO) -> tuple[StorageMode, list[Migration]]:
    """Apply the pending migrations to the database at `url`; returns the mode and the steps applied."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            mode = detect_mode(conn, wanted)
            _create_version_table(conn)
            done = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
            applied = []
            for step in available_migrations(mode):
                if step.version in done:
                    continue
                _apply(conn, step)
                applied.append(step)
            if applied and mode.timescale:
                # Continuous aggregates are created WITH NO DATA inside the migration's transaction;
                # their first refresh is a procedure that must run outside one.
                # TimescaleDB's own refresh job may be running it already: then that one does the work.
                try:
                    conn.execute("CALL refresh_continuous_aggregate('readings_hourly', NULL, NULL)")
                except psycopg.errors.LockNotAvailable:
                    log.info("the hourly aggregate is being refreshed by its policy job; not refreshing it twice")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return mode, applied


# Which steps are applied: created by the first migration run, before any step.
_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        variant text,
                        applied_at timestamptz NOT NULL DEFAULT now())"""


def _create_version_table(conn: psycopg.Connection) -> None:
    try:
        conn.execute(_VERSION_TABLE)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise _refused(conn, "creating the schema_version table", exc) from None


def _apply(conn: psycopg.Connection, step: Migration) -> None:
    """One step in its own transaction; a privilege the role lacks is a `DatabaseError` saying what it needs."""
    try:
        with conn.transaction():
            conn.execute(step.sql)
            conn.execute("INSERT INTO schema_version (version, name, variant) VALUES (%s, %s, %s)",
                         (step.version, step.name, step.variant))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise _refused(conn, f"migration {step.version:04d}_{step.name}", exc) from None


def _refused(conn: psycopg.Connection, what: str, exc: psycopg.Error) -> DatabaseError:
    row = conn.execute("SELECT current_user, current_database()").fetchone()
    user, database = row if row else ("?", "?")
    return DatabaseError(
        f"{what} was refused: {str(exc).strip().splitlines()[0]}. Role {user} must own database {database} and "
        "be able to create tables in its schema public (CREATE privilege), or the migrations must run as a role "
        "that can; nothing of this step was applied")


def current_version(conn: psycopg.Connection) -> int | None:
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return row[0] if row else None
