"""The platform restarted after a night down, its detectors resumed from their checkpoints: its own deafness is not
every device falling silent. Before, the first tick after the restart found every device "no reading for 58 000 s",
opened a ticket per device and warned each building's residents of a likely power cut that had not happened. Now a
device has its whole silence limit, counted from when ingest is listening again, to be heard; the one that stays
silent is still found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from detectors.presence import MIN_SILENCE_S
from forewarn.pipeline import DetectionPipeline
from ingest.estate_store import load_registry
from ingest.reading import DeviceKind, Reading
from ingest.service import IngestService
from tests.ingest.conftest import SAMPLE_DATA, Device, Publisher, ingest_config, telemetry, wait_until
from tickets.alarm_queue import AlarmConsumer

BUILDING = "rs-b1"


def _numbers(data: dict[str, object]) -> dict[str, float]:
    return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}  # booleans are ints: 0.0/1.0


def test_a_restart_after_a_night_down_warns_nobody_and_still_finds_the_device_that_stayed_silent(
        pool, estate_db_url, mosquitto):
    with pool.connection() as conn:
        estate = load_registry(conn)
    mine = [d for d in estate.devices if d.building_id == BUILDING]
    silent = next(d for d in mine if d.kind is DeviceKind.ELEVATOR)
    down_at = datetime.now(UTC) - timedelta(hours=16)

    # Yesterday: every device of the building reporting every 5 s for ten minutes, then the platform stops.
    before = DetectionPipeline(pool, estate, now=lambda: down_at)
    for i in range(120):
        at = down_at - timedelta(seconds=5 * (120 - i))
        for d in mine:
            before.engine.process(Reading(d.id, d.kind, at, i, _numbers(SAMPLE_DATA[d.kind]), site_id=d.site_id))
    before.checkpoint()

    later = timedelta(0)  # the platform's clock, moved on past the silence limit below instead of waiting it out

    def clock() -> datetime:
        return datetime.now(UTC) + later

    consumer = AlarmConsumer(pool, now=clock, poll_s=0.1)
    after = DetectionPipeline(pool, estate, now=clock, on_queued=consumer.wake, hears_through_ingest=True)
    assert after.restore() == len(estate.devices)
    after.tick()  # ingest not connected yet: nothing can be heard, so nothing is judged silent
    service = IngestService(ingest_config(mosquitto.port), estate_db_url, on_readings=after.on_readings,
                            on_presence=after.on_presence, on_listening=after.on_listening, now=clock)
    service.start()
    consumer.start()
    publisher = Publisher(mosquitto.port)
    try:
        after.tick()  # listening, but no device has had its limit to be heard yet
        back = [d for d in mine if d != silent]
        publisher.publish([(Device(d.id, d.kind, d.site_id).topic(), telemetry(1000, d.kind)) for d in back])
        wait_until(lambda: all(_last(after, d.id) > down_at for d in back), 30, "the devices that are back judged")
        later = timedelta(seconds=MIN_SILENCE_S + 5)  # the others keep reporting; the lift says nothing
        again = clock()
        publisher.publish([(Device(d.id, d.kind, d.site_id).topic(), telemetry(1001, d.kind, ts=again))
                           for d in back])
        wait_until(lambda: all(_last(after, d.id) >= again for d in back), 30, "their next readings judged")
        after.tick()
        wait_until(lambda: _rows(pool, "SELECT device_id FROM incidents WHERE fault = 'device_offline'"), 30,
                   "the silent lift's incident")
        assert _rows(pool, "SELECT device_id FROM incidents WHERE fault = 'device_offline'") == [(silent.id,)]
        assert _rows(pool, "SELECT count(*) FROM silence_groups") == [(0,)]
        assert _rows(pool, "SELECT count(*) FROM notices WHERE resident_id IS NOT NULL") == [(0,)]
    finally:
        publisher.close()
        service.stop()
        consumer.stop()


def _last(pipeline: DetectionPipeline, device_id: str) -> datetime:
    position = pipeline.engine.position(device_id)
    return position[2] if position else datetime.min.replace(tzinfo=UTC)


def _rows(pool, sql: str) -> list[tuple]:
    with pool.connection() as conn:
        return conn.execute(sql).fetchall()
