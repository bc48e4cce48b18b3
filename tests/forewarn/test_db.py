"""The migrated schema and the storage mode, as an operator would check them."""

import psycopg
import pytest

from forewarn.db import DatabaseError, check_connection, open_pool
from forewarn.migrate import available_migrations, migrate


def test_migrations_are_recorded_and_idempotent(db_url, pg_server):
    with psycopg.connect(db_url) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    expected = [m.version for m in available_migrations(pg_server.mode)]
    assert versions == expected
    mode, applied = migrate(db_url)
    assert applied == []
    assert mode.timescale == pg_server.mode.timescale


def test_bad_dsn_fails_fast_with_a_readable_message():
    with pytest.raises(DatabaseError, match="cannot connect"):
        check_connection("postgresql://nobody@127.0.0.1:1/none", timeout=2)
    with pytest.raises(DatabaseError, match="malformed"):
        open_pool("not a url", timeout=2)


def test_readings_are_unique_on_device_time_sequence(db_url):
    row = ("rs-b1-water-low", "2026-11-24T09:00:00+08:00", 7, "pressure_kpa", 300.0)
    with psycopg.connect(db_url) as conn:
        sql = "INSERT INTO readings VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
        conn.execute(sql, row)
        again = conn.execute(sql, row)
        assert again.rowcount == 0
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (1,)


@pytest.mark.timescale
def test_readings_live_in_a_hypertable_with_policies(db_url, storage_mode):
    with psycopg.connect(db_url) as conn:
        hypertables = [r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")]
        assert "readings" in hypertables
        jobs = {r[0] for r in conn.execute("SELECT proc_name FROM timescaledb_information.jobs")}
        assert {"policy_compression", "policy_retention", "policy_refresh_continuous_aggregate"} <= jobs
        assert conn.execute("SHOW timescaledb.license").fetchone() == ("timescale",)


@pytest.mark.plain
def test_plain_mode_has_a_brin_index_and_a_rollup_table(db_url, storage_mode):
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('readings_ts_brin') IS NOT NULL").fetchone() == (True,)
        kind = conn.execute("SELECT relkind FROM pg_class WHERE relname = 'readings_hourly'").fetchone()
        assert kind == ("r",)
