"""The hourly rollup gives the same answers on TimescaleDB (continuous aggregate) and plain PostgreSQL (table)."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from forewarn.rollup import refresh_rollup
from ingest.history import hourly_series, latest_values


def _insert(conn: psycopg.Connection, start: datetime) -> None:
    rows = [("rs-b1-water-low", start + timedelta(minutes=10 * i), i, "pressure_kpa", 300.0 + i) for i in range(18)]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO readings VALUES (%s, %s, %s, %s, %s)", rows)
    conn.commit()


def test_hourly_series_after_a_refresh(estate_db_url, storage_mode):
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    with psycopg.connect(estate_db_url) as conn:
        _insert(conn, start)
    refresh_rollup(estate_db_url, storage_mode, now=datetime.now(UTC))
    with psycopg.connect(estate_db_url) as conn:
        series = hourly_series(conn, "rs-b1-water-low", "pressure_kpa", start, start + timedelta(hours=3))
        latest = latest_values(conn, "rs-b1-water-low", start)
    assert [p.bucket for p in series] == [start + timedelta(hours=h) for h in range(3)]
    assert [p.samples for p in series] == [6, 6, 6]
    assert [p.avg for p in series] == [302.5, 308.5, 314.5]
    assert (series[0].min, series[2].max) == (300.0, 317.0)
    assert latest["pressure_kpa"][1] == 317.0


def test_refresh_is_idempotent_and_picks_up_late_readings(estate_db_url, storage_mode):
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    with psycopg.connect(estate_db_url) as conn:
        _insert(conn, start)
    now = datetime.now(UTC)
    refresh_rollup(estate_db_url, storage_mode, now=now)
    refresh_rollup(estate_db_url, storage_mode, now=now)
    with psycopg.connect(estate_db_url) as conn:
        conn.execute("INSERT INTO readings VALUES ('rs-b1-water-low', %s, 999, 'pressure_kpa', 1000.0)",
                     (start + timedelta(minutes=5),))
        conn.commit()
    refresh_rollup(estate_db_url, storage_mode, now=now)
    with psycopg.connect(estate_db_url) as conn:
        first = hourly_series(conn, "rs-b1-water-low", "pressure_kpa", start, start + timedelta(hours=1))
    assert first[0].samples == 7
    assert first[0].max == 1000.0


@pytest.mark.timescale
def test_policies_run_on_demand_and_columnstore_keeps_readings_unique(estate_db_url, storage_mode):
    old = datetime.now(UTC) - timedelta(days=10)
    with psycopg.connect(estate_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO readings VALUES ('rs-b1-water-low', %s, 1, 'pressure_kpa', 301.0)", (old,))
        job = conn.execute(
            "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression'"
        ).fetchone()[0]
        conn.execute("CALL run_job(%s)", (job,))
        compressed = conn.execute(
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'readings' AND is_compressed"
        ).fetchone()[0]
        assert compressed >= 1
        again = conn.execute(
            "INSERT INTO readings VALUES ('rs-b1-water-low', %s, 1, 'pressure_kpa', 301.0) ON CONFLICT DO NOTHING",
            (old,),
        )
        assert again.rowcount == 0
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (1,)
