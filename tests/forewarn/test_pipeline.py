"""The detection pipeline in the runtime: verdicts reach the detectors once, also across a restart."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import psycopg

from forewarn.db import open_pool
from forewarn.pipeline import DetectionPipeline
from ingest.estate_store import load_registry

DEVICE, FAULT = "rs-b1-water-high", "supply_outage"


def verdict_counts(pipeline: DetectionPipeline) -> list[int]:
    state = pickle.loads(pipeline.engine.snapshot(DEVICE))[1]
    return state.verdicts.get(FAULT, [0, 0])


def add_label(url: str, at: datetime) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO detector_labels (device_id, fault, false_alarm, at, by, note) "
                     "VALUES (%s, %s, true, %s, 'eng', 'pump was being serviced')", (DEVICE, FAULT, at))


def test_verdicts_reach_the_detectors_once_and_survive_a_restart(estate_db_url):
    pool = open_pool(estate_db_url, size=2)
    try:
        with pool.connection() as conn:
            estate = load_registry(conn)
        first = DetectionPipeline(pool, estate)
        assert first.restore() == 0
        add_label(estate_db_url, datetime.now(UTC))
        assert first.apply_labels() == 1
        assert first.apply_labels() == 0  # each label once
        assert verdict_counts(first) == [1, 0]
        first.checkpoint()

        # A verdict given after the last checkpoint, while no worker ran: the restarted worker applies it; the one
        # already in the checkpoint is not applied twice.
        add_label(estate_db_url, datetime.now(UTC) + timedelta(seconds=5))
        second = DetectionPipeline(pool, estate)
        assert second.restore() == len(estate.devices)
        assert verdict_counts(second) == [2, 0]
        assert second.apply_labels() == 0
    finally:
        pool.close()


def test_a_device_removed_by_an_estate_load_is_forgotten_and_no_longer_checkpointed(estate_db_url):
    from ingest.estate_file import load_estate_file
    from ingest.estate_store import save_estate
    from tests.conftest import DEMO_ESTATE

    pool = open_pool(estate_db_url, size=2)
    try:
        with pool.connection() as conn:
            pipeline = DetectionPipeline(pool, load_registry(conn))
        assert pipeline.refresh_registry() is True  # the first look reads the version
        assert pipeline.refresh_registry() is False  # nothing changed since: one cheap query, no reload
        estate = load_estate_file(DEMO_ESTATE)
        estate.devices = [d for d in estate.devices if d.id != DEVICE]
        with psycopg.connect(estate_db_url) as conn:
            save_estate(conn, estate)
        assert pipeline.refresh_registry() is True
        assert DEVICE not in pipeline.engine.devices()
        pipeline.checkpoint()
        with psycopg.connect(estate_db_url) as conn:
            saved = {r[0] for r in conn.execute("SELECT device_id FROM detector_state")}
        assert DEVICE not in saved and len(saved) == len(estate.devices)
    finally:
        pool.close()


def test_readings_stored_after_the_checkpoint_are_judged_again_by_the_worker_that_resumes(estate_db_url):
    """A worker commits (and acknowledges) readings, then dies before it judged them or saved its state: whoever
    resumes the devices from their checkpoint judges them, so the supply outage they show is not lost."""
    from ingest.reading import DeviceKind, Reading
    from ingest.storage import Batch, write_batch

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)

    def reading(i: int, down: bool) -> Reading:
        return Reading(DEVICE, DeviceKind.WATER, start + timedelta(seconds=i), i + 1,
                       {"pressure_kpa": 5.0 if down else 320.0 + i % 7, "flow_lpm": 0.0 if down else 40.0 + i % 5,
                        "tank_level_pct": 80.0, "pump_on": 0.0 if down else 1.0,
                        "pump_current_a": 0.0 if down else 12.0, "leak": 0.0}, site_id="riverside")

    normal = [reading(i, False) for i in range(90)]
    outage = [reading(i, True) for i in range(90, 130)]
    pool = open_pool(estate_db_url, size=2)
    try:
        with pool.connection() as conn:
            estate = load_registry(conn)
            write_batch(conn, Batch(readings=normal), payload_limit=1024)
        first = DetectionPipeline(pool, estate)
        first.on_readings(normal)
        first.checkpoint()
        with pool.connection() as conn:  # committed, then the worker died before judging them
            write_batch(conn, Batch(readings=outage), payload_limit=1024)

        second = DetectionPipeline(pool, estate)
        second.restore()
        with psycopg.connect(estate_db_url) as conn:
            queued = conn.execute("SELECT state FROM alarm_queue WHERE device_id = %s AND fault = %s",
                                  (DEVICE, FAULT)).fetchall()
        assert queued == [("raised",)]
        again = DetectionPipeline(pool, estate)  # a third resumes from the checkpoint queued with that alarm
        again.restore()
        with psycopg.connect(estate_db_url) as conn:
            assert conn.execute("SELECT count(*) FROM alarm_queue").fetchone()[0] == 1  # nothing judged twice
    finally:
        pool.close()
