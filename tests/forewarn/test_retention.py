"""Retention and compression ages come from the settings, in both storage modes."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from forewarn.retention import apply_policies, prune_plain


@pytest.mark.timescale
def test_the_policies_follow_the_settings(db_url, storage_mode):
    assert apply_policies(db_url, storage_mode, retention_days=400, compress_after_days=7) == []
    changed = apply_policies(db_url, storage_mode, retention_days=30, compress_after_days=2)
    assert sorted(changed) == ["compress_after=2d", "drop_after=30d"]
    with psycopg.connect(db_url) as conn:
        ages = dict(conn.execute(
            "SELECT proc_name, coalesce(config->>'drop_after', config->>'compress_after') "
            "FROM timescaledb_information.jobs WHERE hypertable_name = 'readings'"
        ).fetchall())
    assert ages == {"policy_retention": "30 days", "policy_compression": "2 days"}
    assert apply_policies(db_url, storage_mode, retention_days=30, compress_after_days=2) == []


@pytest.mark.plain
def test_plain_pruning_drops_only_expired_readings(estate_db_url, storage_mode):
    now = datetime.now(UTC)
    with psycopg.connect(estate_db_url) as conn:
        for i, age in enumerate((40, 31, 29, 1)):
            conn.execute("INSERT INTO readings VALUES ('rs-b1-water-low', %s, %s, 'pressure_kpa', 300)",
                         (now - timedelta(days=age), i))
    assert prune_plain(estate_db_url, now=now, retention_days=30) == 2
    with psycopg.connect(estate_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (2,)


def test_dead_letters_are_pruned_by_their_retention_age(estate_db_url):
    from forewarn.retention import prune_dead_letters

    now = datetime.now(UTC)
    with psycopg.connect(estate_db_url) as conn:
        for age in (45, 31, 29, 0):
            conn.execute("INSERT INTO dead_letters (received_at, topic, reason, detail, payload, payload_size) "
                         "VALUES (%s, 'forewarn/v1/x', 'bad_topic', 'd', '', 0)", (now - timedelta(days=age),))
    assert prune_dead_letters(estate_db_url, now=now, retention_days=30) == 2
    with psycopg.connect(estate_db_url) as conn:
        ages = [r[0] for r in conn.execute("SELECT (%s - received_at) FROM dead_letters ORDER BY 1", (now,))]
    assert [a.days for a in ages] == [0, 29]
    assert prune_dead_letters(estate_db_url, now=now, retention_days=30) == 0
