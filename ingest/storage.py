"""Ingest's SQL: one batch of readings, events, dead letters and presence written in one transaction.

Readings are keyed on (device, ts, seq, metric), so a redelivered message is stored once, in both storage modes
(TimescaleDB checks the key on compressed chunks too). A batch's readings are first COPied straight into `readings` (and
their events straight into `device_events`): almost every batch holds only new readings, and this is about half the
database time of the other path. If the key refuses one (a redelivery after a crash or reconnect), the transaction is
rolled back and the batch goes the careful way: COPY into a temporary staging table, then `INSERT … ON CONFLICT DO
NOTHING`, which returns the keys it inserted, so callers can tell new readings from duplicates. A caller that has just
met redeliveries asks for the careful way at once (`careful`): after a reconnect they come in a run of batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from ingest.decode import Rejection
from ingest.reading import DeviceKind, Reading

# Per-connection staging tables: ON COMMIT DELETE ROWS empties them at every commit, cheaper than TRUNCATE.
_CREATE_STAGES = """
CREATE TEMP TABLE IF NOT EXISTS readings_stage (LIKE readings) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS events_stage (LIKE device_events) ON COMMIT DELETE ROWS;
"""
# Binary COPY: no text formatting of timestamps and floats on either side.
_COPY_NEW_READINGS = "COPY readings (device_id, ts, seq, metric, value) FROM STDIN (FORMAT BINARY)"
_COPY_READINGS = "COPY readings_stage (device_id, ts, seq, metric, value) FROM STDIN (FORMAT BINARY)"
_COPY_EVENTS = "COPY events_stage (device_id, ts, seq, event) FROM STDIN (FORMAT BINARY)"
_COPY_NEW_EVENTS = "COPY device_events (device_id, ts, seq, event) FROM STDIN (FORMAT BINARY)"
# Move the staged rows; the keys of the messages that were new (a message is several metric rows).
_INSERT_READINGS = """
WITH ins AS (INSERT INTO readings SELECT * FROM readings_stage ON CONFLICT DO NOTHING RETURNING device_id, ts, seq)
SELECT DISTINCT device_id, ts, seq FROM ins
"""
_INSERT_EVENTS = """
INSERT INTO device_events SELECT * FROM events_stage ON CONFLICT DO NOTHING RETURNING device_id, ts, seq
"""
_INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (received_at, topic, device_id, reason, detail, payload, payload_size)
VALUES (%s, %s, %s, %s, %s, %s, %s)
"""
# Presence as ingest last saw it; `changed_at` moves only when `online` flips. Unknown ids are skipped (the FK).
_UPSERT_PRESENCE = """
INSERT INTO device_presence (device_id, online, last_seen, changed_at)
SELECT u.id, u.online, u.seen, u.changed FROM unnest(%s::text[], %s::boolean[], %s::timestamptz[], %s::timestamptz[])
    AS u(id, online, seen, changed)
JOIN devices d ON d.id = u.id
ON CONFLICT (device_id) DO UPDATE SET
    online = EXCLUDED.online,
    last_seen = GREATEST(device_presence.last_seen, EXCLUDED.last_seen),
    changed_at = CASE WHEN device_presence.online IS DISTINCT FROM EXCLUDED.online
                      THEN EXCLUDED.changed_at ELSE device_presence.changed_at END
"""
# The active devices ingest accepts messages from.
_REGISTRY = "SELECT id, kind, site_id FROM devices WHERE active"
# A device's stored messages after a position (time, sequence), oldest first: what a worker that resumes the device
# from a checkpoint taken before them replays to its detectors. Metric rows, then the events of the same messages.
_READINGS_AFTER = """SELECT ts, seq, metric, value FROM readings
    WHERE device_id = %(device)s AND (ts, seq) > (%(ts)s, %(seq)s) ORDER BY ts, seq LIMIT %(limit)s"""
_EVENTS_AFTER = """SELECT ts, seq, event FROM device_events
    WHERE device_id = %(device)s AND (ts, seq) > (%(ts)s, %(seq)s) AND ts <= %(until)s"""
# The registry's version, bumped by every estate load (ingest/estate_store.py): a changed one means reload now.
_REGISTRY_VERSION = "SELECT version FROM registry_version"
# What ingest knew about presence when it last ran.
_PRESENCE = "SELECT device_id, online, last_seen, changed_at FROM device_presence"
# Newest dead letters first, optionally of one reason or device.
_LIST_DEAD_LETTERS = """
SELECT id, received_at, topic, device_id, reason, detail, payload, payload_size
FROM dead_letters
WHERE (%(reason)s::text IS NULL OR reason = %(reason)s)
  AND (%(device)s::text IS NULL OR device_id = %(device)s)
  AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
ORDER BY received_at DESC, id DESC
LIMIT %(limit)s
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected message as stored: the reason, an operator's sentence, and the first bytes of the payload."""

    id: int
    received_at: datetime
    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload: bytes
    payload_size: int

    def payload_text(self, limit: int = 120) -> str:
        """The payload as text for a terminal or a web page, shortened to `limit` characters."""
        text = self.payload.decode("utf-8", "backslashreplace")
        return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class PresenceRow:
    device_id: str
    online: bool
    last_seen: datetime | None
    changed_at: datetime


@dataclass(slots=True)
class Batch:
    """What one transaction writes."""

    readings: list[Reading] = field(default_factory=list)
    rejections: list[tuple[Rejection, datetime]] = field(default_factory=list)
    presence: list[PresenceRow] = field(default_factory=list)


def _clean(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; a hostile payload's metric name can.
    return None if text is None else text.replace("\x00", "\\x00")


def prepare(conn: psycopg.Connection) -> None:
    """Create this connection's staging tables (once per connection)."""
    conn.execute(_CREATE_STAGES)
    conn.commit()


def write_batch(conn: psycopg.Connection, batch: Batch, *, payload_limit: int, careful: bool = False
                ) -> list[Reading]:
    """Write `batch` in one transaction and commit it; return the readings that were not stored before.

    `careful` goes the staging way at once: for a caller that has just seen redelivered readings, as they come in a
    run after a reconnect, and a straight COPY the key refuses costs a whole COPY and a rollback before the staging
    way. `conn` must be idle (no transaction open). Raises psycopg errors unchanged: the caller decides whether to
    retry (database down) or split the batch.
    """
    new: list[Reading] = []
    try:
        with conn.cursor() as cur:
            if batch.readings:
                straight = None if careful else _write_new_readings(cur, batch.readings)
                if straight is None:  # some were stored before: start again, keeping only what is new
                    if not careful:
                        conn.rollback()
                    straight = _write_readings(cur, batch.readings)
                new = straight
            if batch.rejections:
                cur.executemany(_INSERT_DEAD_LETTER, [
                    (at, _clean(r.topic), _clean(r.device_id), r.reason, _clean(r.detail),
                     r.payload[:payload_limit], len(r.payload))
                    for r, at in batch.rejections
                ])
            if batch.presence:
                rows = batch.presence
                cur.execute(_UPSERT_PRESENCE, (
                    [p.device_id for p in rows], [p.online for p in rows],
                    [p.last_seen for p in rows], [p.changed_at for p in rows],
                ))
        conn.commit()
    except BaseException:
        if not conn.closed:
            conn.rollback()
        raise
    return new


def _copy_readings(cur: psycopg.Cursor, statement: str, readings: Sequence[Reading]) -> None:
    with cur.copy(statement) as copy:
        copy.set_types(["text", "timestamptz", "int8", "text", "float8"])
        for r in readings:
            for metric, value in r.values.items():
                copy.write_row((r.device_id, r.ts, r.seq, metric, value))


def _write_new_readings(cur: psycopg.Cursor, readings: Sequence[Reading]) -> list[Reading] | None:
    """COPY straight into `readings` and `device_events` as the transaction's first statements; None if a key was
    already stored (the transaction has then failed and must be rolled back)."""
    try:
        _copy_readings(cur, _COPY_NEW_READINGS, readings)
        _copy_events(cur, _COPY_NEW_EVENTS, readings)
    except psycopg.errors.UniqueViolation:  # also a message twice in this batch: its metric rows collide
        return None
    return list(readings)


def _copy_events(cur: psycopg.Cursor, statement: str, readings: Sequence[Reading]) -> bool:
    """COPY the events of `readings`; whether there were any."""
    events = [r for r in readings if r.event is not None]
    if events:
        with cur.copy(statement) as copy:
            copy.set_types(["text", "timestamptz", "int8", "text"])
            for r in events:
                copy.write_row((r.device_id, r.ts, r.seq, r.event))
    return bool(events)


def _write_readings(cur: psycopg.Cursor, readings: Sequence[Reading]) -> list[Reading]:
    _copy_readings(cur, _COPY_READINGS, readings)
    events = _copy_events(cur, _COPY_EVENTS, readings)
    inserted = set(cur.execute(_INSERT_READINGS).fetchall())
    if events:
        inserted.update(cur.execute(_INSERT_EVENTS).fetchall())
    new: list[Reading] = []
    for r in readings:
        key = (r.device_id, r.ts, r.seq)
        if key in inserted:
            inserted.discard(key)  # the same message twice in one batch is new once
            new.append(r)
    return new


def registry_version(conn: psycopg.Connection) -> int:
    row = conn.execute(_REGISTRY_VERSION).fetchone()
    return int(row[0]) if row else 0


def load_registry(conn: psycopg.Connection) -> dict[str, tuple[DeviceKind, str]]:
    """Active device id → (kind, site)."""
    return {did: (DeviceKind(kind), site) for did, kind, site in conn.execute(_REGISTRY)}


def load_presence(conn: psycopg.Connection) -> list[PresenceRow]:
    return [PresenceRow(*row) for row in conn.execute(_PRESENCE)]


def list_dead_letters(
    conn: psycopg.Connection,
    *,
    limit: int = 50,
    reason: str | None = None,
    device_id: str | None = None,
    since: datetime | None = None,
) -> list[DeadLetter]:
    """The newest dead letters, newest first."""
    rows = conn.execute(_LIST_DEAD_LETTERS, {"reason": reason, "device": device_id, "since": since, "limit": limit})
    return [DeadLetter(*row) for row in rows]


def count_dead_letters(conn: psycopg.Connection, reasons: Iterable[str] | None = None) -> dict[str, int]:
    """Dead letters per reason (all time)."""
    rows = conn.execute("SELECT reason, count(*) FROM dead_letters GROUP BY reason ORDER BY reason")
    wanted = set(reasons) if reasons is not None else None
    return {reason: n for reason, n in rows if wanted is None or reason in wanted}


def readings_after(conn: psycopg.Connection, device_id: str, kind: DeviceKind, site_id: str, ts: datetime,
                   seq: int, *, limit_rows: int) -> tuple[list[Reading], bool]:
    """The device's stored messages after (ts, seq), oldest first, rebuilt as `Reading`s (booleans as 0.0/1.0, as
    decoded); and whether `limit_rows` metric rows cut them short (the last, maybe partial, message is left out)."""
    params = {"device": device_id, "ts": ts, "seq": seq, "limit": limit_rows}
    rows = conn.execute(_READINGS_AFTER, params).fetchall()
    truncated = len(rows) >= limit_rows
    messages: dict[tuple[datetime, int], dict[str, float]] = {}
    for at, s, metric, value in rows:
        messages.setdefault((at, s), {})[metric] = value
    if truncated and messages:
        messages.pop(next(reversed(messages)))
    if not messages:
        return [], truncated
    until = max(at for at, _ in messages)
    events = {(at, s): event for at, s, event in conn.execute(_EVENTS_AFTER, {**params, "until": until})}
    keys = sorted(set(messages) | set(events))
    return [Reading(device_id, kind, at, s, messages.get((at, s), {}), events.get((at, s)), site_id)
            for at, s in keys], truncated
