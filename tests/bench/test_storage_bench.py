"""bench.storage compares like with like: its real path (ingest's writer) and its ceiling store exactly the same rows
from the same readings, in the test database's storage mode, and the real path's count of new readings is checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from bench.storage import Database, flatten, make_readings, phases, prepare_tables, run_ceiling, run_copy, run_real
from forewarn.db import StorageMode

# Rows in one table and not in the other (both ways), and each table's count.
_DIFFERENCE = """
SELECT (SELECT count(*) FROM (SELECT * FROM readings EXCEPT SELECT * FROM ceiling_readings) a),
       (SELECT count(*) FROM (SELECT * FROM ceiling_readings EXCEPT SELECT * FROM readings) b),
       (SELECT count(*) FROM readings), (SELECT count(*) FROM ceiling_readings), (SELECT count(*) FROM copy_readings)
"""


def test_the_real_path_and_the_ceiling_store_the_same_rows(estate_db_url: str, storage_mode: StorageMode) -> None:
    devices = prepare_tables(estate_db_url, timescale=storage_mode.timescale)
    db = Database("test", estate_db_url, devices)
    start = datetime.now(UTC) - timedelta(hours=1)
    fresh = make_readings(devices, 300, 0, start)
    again = make_readings(devices, 150, 100, start + timedelta(minutes=30))
    new, redelivered = phases(fresh, None, 100), phases(again, fresh, 100)
    assert [len(b) for b in new.batches] == [100, 100, 100]
    assert redelivered.stored_before == 150 and all(len(b) == 100 for b in redelivered.batches)

    for phase in (new, redelivered):  # run_real raises SystemExit if it reports other than the new readings
        for path in (run_real, run_ceiling):
            elapsed, cpu = path(db, phase)
            assert elapsed > 0 and cpu >= 0
    run_copy(db, new)

    with psycopg.connect(estate_db_url) as conn:
        only_real, only_ceiling, real, ceiling, bare = conn.execute(_DIFFERENCE).fetchone() or (-1,) * 5
    rows = len(flatten(fresh)) + len(flatten(again))
    assert (only_real, only_ceiling) == (0, 0)
    assert real == ceiling == rows
    assert bare == len(flatten(fresh))
