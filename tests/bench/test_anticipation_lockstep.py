"""The anticipation bench's lockstep: the player knows when the platform has judged what it published, so a
complaint goes in as soon as the readings before it are judged — never a `CATCH_UP_WAIT_S` timeout."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.anticipation_lockstep import SimClock

START = datetime(2026, 3, 5, 13, 0, tzinfo=UTC)


def _judge(clock: SimClock, payload_ts: str) -> None:
    """What the platform does with one reading: its payload time (milliseconds) advances the clock, then settles."""
    clock.seen += 1
    clock.t = max(clock.t, datetime.fromisoformat(payload_ts).timestamp())
    clock.settle()


def test_a_reading_is_caught_up_once_judged_at_its_payload_time_truncated_to_the_millisecond():
    clock = SimClock(START)
    # The simulator's own time of the reading has sub-millisecond digits; its payload carries 13:36:48.617.
    simulated = datetime(2026, 3, 5, 13, 36, 48, 617391, tzinfo=UTC).timestamp()
    assert not clock.wait_until(simulated, 0.0)
    _judge(clock, "2026-03-05T13:36:48.617+00:00")
    # The reading count cannot help here (a dead-lettered message is never judged): the time alone must do.
    assert clock.wait_until(simulated, 0.0, readings=clock.judged + 1)
    assert not clock.wait_until(simulated + 0.002, 0.0)  # a later reading is not judged yet


def test_a_reading_count_that_includes_refused_messages_is_caught_up_by_the_count():
    clock = SimClock(START)
    _judge(clock, "2026-03-05T13:00:01.000+00:00")
    _judge(clock, "2026-03-05T13:00:02.000+00:00")
    # Three messages published, one dead-lettered: two readings to judge, and the player waits for no more.
    published, refused = 3, 1
    assert clock.wait_until(START.timestamp() + 3600.0, 0.0, published - refused)
