"""Readings/s through ingest's real write path beside the raw ceiling, on plain PostgreSQL and on TimescaleDB.

Run: `python -m bench.storage` (about 2 minutes; `--messages`, `--repeats`, `--batch-size`, `--profile`). It starts
one durable PostgreSQL (fsync on, synchronous_commit on: an acknowledged reading is on disk) with TimescaleDB
preloaded, and makes two databases on it: one migrated plain (`DbMode.PLAIN`: `readings` a table with a BRIN
index) and one migrated for TimescaleDB (`readings` a hypertable), each with the demo estate (57 devices). On each:

- real: decoded readings (`Reading`, 4–6 metrics each) written as ingest writes them: batches of ingest's default
  size, presence tracked by `PresenceTracker` and stored with each batch, through `BatchWriter.write` and
  `storage.write_batch` (binary COPY straight into `readings`, commit);
- ceiling: the same rows, already flattened to tuples, by a bare client: binary COPY into a temporary staging table,
  then `INSERT … SELECT … ON CONFLICT DO NOTHING` into `ceiling_readings`, a table keyed exactly as `readings` (on
  TimescaleDB a hypertable with the same chunks), commit; nothing else.

Both are measured on a stream of new readings (what ingest writes nearly always) and after a reconnect, when half
of every batch was stored before (the broker redelivers what was not acknowledged): the real path's COPY is refused
by the key, rolled back, and the batch goes through its staging fallback. The four paths of each phase run in an
order that rotates every repeat, and each figure is the median of the repeats (other load on a shared machine then
hits them alike). Rate = readings (messages) / wall time from the first batch to the last commit.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from forewarn.embedded import EmbeddedPostgres, free_port, timescaledb_installed
from forewarn.migrate import migrate
from forewarn.settings import DbMode
from ingest import storage
from ingest.config import IngestConfig
from ingest.contract import topic_for
from ingest.estate_file import load_estate_file
from ingest.estate_store import save_estate
from ingest.metrics import IngestMetrics
from ingest.presence import PresenceTracker
from ingest.reading import Channel, DeviceKind, Reading
from ingest.writer import BatchWriter

ROOT = Path(__file__).resolve().parent.parent
DEMO_ESTATE = ROOT / "forewarn" / "data" / "demo-estate.yaml"
TARGET = 0.7
# Decoded telemetry as ingest hands it on (booleans as 0.0/1.0): 4–6 metrics per message, a row each.
VALUES = {
    DeviceKind.ELEVATOR: {"floor": 7.0, "direction": 1.0, "moving": 1.0, "door_open": 0.0, "vibration_rms": 0.21,
                          "motor_current_a": 42.5},
    DeviceKind.ACCESS_DOOR: {"door_open": 0.0, "locked": 1.0, "battery_pct": 81.0, "reader_ok": 1.0},
    DeviceKind.WATER: {"pressure_kpa": 318.5, "flow_lpm": 14.2, "tank_level_pct": 71.0, "pump_on": 1.0,
                       "pump_current_a": 8.4},
}
Row = tuple[str, datetime, int, str, float]
# The ceiling: a bare client's idempotent batch write into a table keyed as `readings`.
_CEILING_STAGE = "CREATE TEMP TABLE ceiling_stage (LIKE readings) ON COMMIT DELETE ROWS"
_CEILING_COPY = "COPY ceiling_stage (device_id, ts, seq, metric, value) FROM STDIN (FORMAT BINARY)"
_CEILING_INSERT = "INSERT INTO ceiling_readings SELECT * FROM ceiling_stage ON CONFLICT DO NOTHING"
# For reference, not idempotent: a bare binary COPY straight into a table keyed as `readings` (what ingest's hot path
# does without any of its Python around it); a batch with one stored reading fails whole here.
_BARE_COPY = "COPY copy_readings (device_id, ts, seq, metric, value) FROM STDIN (FORMAT BINARY)"
_TABLES = ("ceiling_readings", "copy_readings")
_LIKE_READINGS = "CREATE TABLE {} (LIKE readings INCLUDING ALL)"
_HYPERTABLE = "SELECT create_hypertable(%s, by_range('ts', INTERVAL '1 day'))"
log = logging.getLogger("bench.storage")


@dataclass(slots=True)
class Source:
    """Where a reading came from (ingest keeps the MQTT message), for a dead letter if the database refuses it."""

    topic: str
    payload: bytes


@dataclass(slots=True)
class Database:
    label: str  # "plain" or "timescale"
    url: str
    devices: list[tuple[str, DeviceKind, str]]
    tracker: PresenceTracker | None = None  # the real path's, kept across phases as ingest keeps it


@dataclass(frozen=True, slots=True)
class Phase:
    """One repeat's workload for one path: batches of readings, those already stored marked by `stored_before`."""

    batches: list[list[Reading]]
    stored_before: int  # readings in all batches that an earlier phase stored


def make_readings(devices: list[tuple[str, DeviceKind, str]], count: int, first_seq: int, start: datetime
                  ) -> list[Reading]:
    """`count` new messages, round robin over the devices, a millisecond apart (a live stream)."""
    out = []
    for i in range(count):
        device, kind, site = devices[i % len(devices)]
        out.append(Reading(device, kind, start + timedelta(milliseconds=i), first_seq + i // len(devices),
                           VALUES[kind], site_id=site))
    return out


def phases(fresh: list[Reading], stored: list[Reading] | None, batch_size: int) -> Phase:
    """The batches of a phase: all `fresh`, or (after a reconnect) each batch half `stored` and half `fresh`."""
    if stored is None:
        return Phase([fresh[i:i + batch_size] for i in range(0, len(fresh), batch_size)], 0)
    half = batch_size // 2
    batches = [stored[i:i + half] + fresh[i:i + half] for i in range(0, min(len(fresh), len(stored)), half)]
    return Phase(batches, sum(min(half, len(b)) for b in batches))


# ---- the two write paths ------------------------------------------------------------------------------------------

def run_real(db: Database, phase: Phase) -> tuple[float, float]:
    """Ingest's write path; (seconds, client CPU seconds). Checks that exactly the new readings were stored."""
    writer = BatchWriter(db.url, payload_limit=IngestConfig().dead_letter_payload_bytes, metrics=IngestMetrics(),
                         stopping=threading.Event(), now=lambda: datetime.now(UTC))
    registry, rows = writer.registry(with_presence=True)
    if db.tracker is None:
        db.tracker = PresenceTracker(IngestConfig().heartbeat_timeout_s)
        db.tracker.load(rows or [], registry)
    tracker = db.tracker
    sources = {id(r): Source(topic_for(r.site_id, r.kind, r.device_id, Channel.TELEMETRY), b"{}")
               for batch in phase.batches for r in batch}
    stored = 0
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for readings in phase.batches:  # as IngestService._process: presence heard, rows taken, one write
            at = datetime.now(UTC)
            batch = storage.Batch()
            for r in readings:
                batch.readings.append(r)
                tracker.heard(r.device_id, r.ts, at)
            batch.presence = tracker.take_rows()
            new = writer.write(batch, sources)
            stored += len(new or [])
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        writer.close()
    expected = sum(len(b) for b in phase.batches) - phase.stored_before
    if stored != expected:
        raise SystemExit(f"{db.label}: the real path reported {stored} new readings, expected {expected}")
    return elapsed, cpu


def flatten(readings: list[Reading]) -> list[Row]:
    return [(r.device_id, r.ts, r.seq, metric, value) for r in readings for metric, value in r.values.items()]


def run_ceiling(db: Database, phase: Phase) -> tuple[float, float]:
    """The bare staging COPY + INSERT … ON CONFLICT DO NOTHING, rows prepared beforehand; (seconds, client CPU s)."""
    return _bare(db, phase, _CEILING_COPY, _CEILING_INSERT)


def run_copy(db: Database, phase: Phase) -> tuple[float, float]:
    """The bare straight COPY (new readings only), rows prepared beforehand; (seconds, client CPU s)."""
    return _bare(db, phase, _BARE_COPY, None)


def _bare(db: Database, phase: Phase, copy_statement: str, then: str | None) -> tuple[float, float]:
    batches = [flatten(b) for b in phase.batches]
    with psycopg.connect(db.url) as conn:
        conn.execute(_CEILING_STAGE)
        conn.commit()
        started, cpu = time.perf_counter(), time.process_time()
        with conn.cursor() as cur:
            for rows in batches:
                with cur.copy(copy_statement) as copy:
                    copy.set_types(["text", "timestamptz", "int8", "text", "float8"])
                    for row in rows:
                        copy.write_row(row)
                if then is not None:
                    cur.execute(then)
                conn.commit()
        return time.perf_counter() - started, time.process_time() - cpu


# ---- set-up -------------------------------------------------------------------------------------------------------

def create_database(admin: str, name: str, mode: DbMode) -> Database:
    """A database migrated in `mode`, with the demo estate and an empty `ceiling_readings` keyed as `readings`."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = admin.rsplit("/", 1)[0] + "/" + name
    storage_mode, _ = migrate(url, mode)
    if storage_mode.timescale != (mode is DbMode.TIMESCALE):
        raise SystemExit(f"database {name} was migrated as {storage_mode}, not {mode}")
    with psycopg.connect(url) as conn:
        save_estate(conn, load_estate_file(DEMO_ESTATE))
    return Database(mode.value, url, prepare_tables(url, timescale=storage_mode.timescale))


def prepare_tables(url: str, *, timescale: bool) -> list[tuple[str, DeviceKind, str]]:
    """Create the reference tables, keyed as `readings` (hypertables on TimescaleDB); the active devices."""
    with psycopg.connect(url) as conn:
        for table in _TABLES:
            conn.execute(sql.SQL(_LIKE_READINGS).format(sql.Identifier(table)))
            if timescale:
                conn.execute(_HYPERTABLE, (table,))
        return [(d, DeviceKind(k), s) for d, k, s in conn.execute(
            "SELECT id, kind, site_id FROM devices WHERE active ORDER BY id")]


def server_settings(url: str) -> str:
    names = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers")
    with psycopg.connect(url) as conn:
        values = [conn.execute("SELECT current_setting(%s)", (name,)).fetchone() for name in names]
    shown = (f"{name} {value[0] if value else '?'}" for name, value in zip(names, values, strict=True))
    return "PostgreSQL " + ", ".join(shown)


# ---- the run ------------------------------------------------------------------------------------------------------

Runner = Callable[[Database, Phase], tuple[float, float]]
PATHS: dict[str, Runner] = {"ceiling": run_ceiling, "real": run_real, "bare COPY": run_copy}
PHASES = ("new", "redelivered")


@dataclass(slots=True)
class Figures:
    rates: dict[tuple[str, str, str], list[float]]  # (database, path, phase) -> readings/s per repeat
    cpu: dict[tuple[str, str, str], list[float]]  # client CPU µs per reading


def measure(dbs: list[Database], args: argparse.Namespace, profiler: cProfile.Profile | None) -> Figures:
    figures = Figures({}, {})
    start = datetime.now(UTC) - timedelta(hours=1)
    block = args.messages // min(len(db.devices) for db in dbs) + 1  # sequence numbers per device per phase
    seq = 0
    runs = [(db, path) for db in dbs for path in PATHS]
    for repeat in range(args.repeats):
        turn = runs[repeat % len(runs):] + runs[:repeat % len(runs)]  # rotate: no path always first
        for db, path in turn:
            fresh = make_readings(db.devices, args.messages, seq, start)
            again = make_readings(db.devices, args.messages // 2, seq + block, start + timedelta(minutes=30))
            seq += 2 * block
            for name, phase in (("new", phases(fresh, None, args.batch_size)),
                                ("redelivered", phases(again, fresh, args.batch_size))):
                if path == "bare COPY" and name == "redelivered":
                    continue  # it cannot: the key refuses the whole batch
                if profiler is not None and path == "real" and repeat == 0:
                    profiler.enable()
                elapsed, cpu = PATHS[path](db, phase)
                if profiler is not None:
                    profiler.disable()
                n = sum(len(b) for b in phase.batches)
                figures.rates.setdefault((db.label, path, name), []).append(n / elapsed)
                figures.cpu.setdefault((db.label, path, name), []).append(cpu / n * 1e6)
        log.warning("repeat %d of %d done", repeat + 1, args.repeats)
    return figures


def report(figures: Figures, dbs: list[Database], header: str) -> None:
    med = {key: statistics.median(values) for key, values in figures.rates.items()}
    print(header)
    print(f"\n{'database':<11}{'phase':<13}{'path':<9}{'readings/s (median)':>21}{'client CPU µs/reading':>23}"
          f"  {'each repeat':<}")
    for db in dbs:
        for phase in PHASES:
            for path in PATHS:
                key = (db.label, path, phase)
                if key not in figures.rates:
                    continue
                each = " / ".join(f"{r:,.0f}" for r in figures.rates[key])
                print(f"{db.label:<11}{phase:<13}{path:<9}{med[key]:>21,.0f}"
                      f"{statistics.median(figures.cpu[key]):>23.1f}  {each}")
            ratio = med[(db.label, "real", phase)] / med[(db.label, "ceiling", phase)]
            print(f"{'':<11}{phase:<13}{'ratio':<9}{ratio:>21.2f}"
                  f"  {'(real / ceiling; target ' + str(TARGET) + ')' if phase == 'new' else ''}")
    print()
    for db in dbs:
        ratio = med[(db.label, "real", "new")] / med[(db.label, "ceiling", "new")]
        redelivered = med[(db.label, "real", "redelivered")] / med[(db.label, "ceiling", "redelivered")]
        print(f"RESULT {db.label}_ratio={ratio:.2f} ratio")
        print(f"RESULT {db.label}_rate={med[(db.label, 'real', 'new')]:.0f} readings/s")
        print(f"RESULT {db.label}_ceiling_rate={med[(db.label, 'ceiling', 'new')]:.0f} readings/s")
        print(f"RESULT {db.label}_redelivered_ratio={redelivered:.2f} ratio")
        print(f"RESULT {db.label}_bare_copy_ratio="
              f"{med[(db.label, 'real', 'new')] / med[(db.label, 'bare COPY', 'new')]:.2f} ratio")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000, help="new readings per path per phase and repeat")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats; the median is reported")
    parser.add_argument("--batch-size", type=int, default=IngestConfig().batch_size,
                        help="readings per transaction (ingest's default)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the real path's first repeat (slowing it: its rates then skew the medians)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="fw-bench-storage-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=True)
        try:
            admin = pg.start()
            dbs = [create_database(admin, "bench_plain", DbMode.PLAIN)]
            if timescaledb_installed():
                dbs.append(create_database(admin, "bench_timescale", DbMode.TIMESCALE))
            else:
                log.error("TimescaleDB is not built into this PostgreSQL (scripts/build-timescaledb.sh): plain only")
            figures = measure(dbs, args, profiler)
            header = (f"{server_settings(admin)}; one server, databases: {', '.join(d.label for d in dbs)}; "
                      f"{len(dbs[0].devices)} devices; batches of {args.batch_size} readings; {args.messages:,} new "
                      f"readings per path, phase and repeat; median of {args.repeats} interleaved repeats")
            report(figures, dbs, header)
        finally:
            pg.stop()
    if profiler is not None:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(20)
        print("\nreal path, first repeat, by own time:\n" + buffer.getvalue())


if __name__ == "__main__":
    main()
