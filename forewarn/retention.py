"""Apply the configured retention and compression ages to the readings.

On TimescaleDB the policies are background jobs; they are replaced only when the configured age differs from the
job's, so start-up stays cheap and every process agrees. On plain PostgreSQL the scheduler calls `prune_plain`,
which deletes expired readings (and their hourly rollup) in bounded batches.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import psycopg

from forewarn.db import StorageMode

log = logging.getLogger(__name__)
PRUNE_BATCH = 50_000

_POLICY_AGE = """
SELECT (config ->> %s)::interval FROM timescaledb_information.jobs
WHERE hypertable_name = 'readings' AND proc_name = %s
"""


def apply_policies(url: str, mode: StorageMode, *, retention_days: int, compress_after_days: int) -> list[str]:
    """Make the TimescaleDB jobs match the settings; returns what changed (nothing on plain PostgreSQL)."""
    if not mode.timescale:
        return []
    changed = []
    wanted = {
        ("policy_retention", "drop_after"): timedelta(days=retention_days),
        ("policy_compression", "compress_after"): timedelta(days=compress_after_days),
    }
    with psycopg.connect(url, autocommit=True) as conn:
        for (proc, key), age in wanted.items():
            row = conn.execute(_POLICY_AGE, (key, proc)).fetchone()
            if row is not None and row[0] == age:
                continue
            if proc == "policy_retention":
                conn.execute("SELECT remove_retention_policy('readings', if_exists => true)")
                conn.execute("SELECT add_retention_policy('readings', %s::interval)", (age,))
            else:
                conn.execute("SELECT remove_compression_policy('readings', if_exists => true)")
                conn.execute("SELECT add_compression_policy('readings', %s::interval)", (age,))
            changed.append(f"{key}={age.days}d")
    if changed:
        log.info("readings policies set: %s", ", ".join(changed))
    return changed


def prune_plain(url: str, *, now: datetime, retention_days: int) -> int:
    """Delete readings older than the retention age, a batch at a time; returns how many were deleted."""
    cutoff = now - timedelta(days=retention_days)
    deleted = 0
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            cur = conn.execute(
                "DELETE FROM readings WHERE ctid = ANY (ARRAY(SELECT ctid FROM readings WHERE ts < %s LIMIT %s))",
                (cutoff, PRUNE_BATCH),
            )
            deleted += cur.rowcount
            if cur.rowcount < PRUNE_BATCH:
                break
        conn.execute("DELETE FROM readings_hourly WHERE bucket < %s", (cutoff,))
    return deleted


# Deletes one batch of expired dead letters (oldest first, by the received_at index); a flood of millions is pruned
# in bounded transactions, never one long lock.
_PRUNE_DEAD_LETTERS = """
DELETE FROM dead_letters WHERE id = ANY (ARRAY(
    SELECT id FROM dead_letters WHERE received_at < %(cutoff)s ORDER BY received_at LIMIT %(limit)s))
"""


def prune_dead_letters(url: str, *, now: datetime, retention_days: int) -> int:
    """Delete dead letters older than the retention age, a batch at a time (both storage modes); returns how many."""
    cutoff = now - timedelta(days=retention_days)
    deleted = 0
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            cur = conn.execute(_PRUNE_DEAD_LETTERS, {"cutoff": cutoff, "limit": PRUNE_BATCH})
            deleted += cur.rowcount
            if cur.rowcount < PRUNE_BATCH:
                break
    if deleted:
        log.info("deleted %d dead letters older than %d days", deleted, retention_days)
    return deleted
