"""The simulated clock: where a run starts so that ingest believes its timestamps.

Ingest rejects a timestamp more than `MAX_PAST_SECONDS` (24 h) behind or `MAX_FUTURE_SECONDS` (5 min) ahead of the
wall clock (`ingest.contract`). A run of simulated length D at speed N takes D/N wall seconds, so by default the
simulated start is ``now + D/N − D``: the run's simulated end meets the wall clock when the run finishes, nothing
is ever in the future, and the oldest message (the first) is D − D/N old when published. Every run of up to 24 h
of simulated time is therefore accepted at any speed; real time (N = 1) simply starts now. A time-of-day start
("HH:MM") takes the latest such moment no later than that, so it may be up to a day older; longer runs (a week of
bearing wear) need the generator API with ``now`` = the simulated time, or an ingest with a wider window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ingest.contract import MAX_FUTURE_SECONDS, MAX_PAST_SECONDS


def default_start(
    duration_s: float,
    speed: float | None,
    now: datetime,
    tz: ZoneInfo,
    clock: tuple[int, int] | None = None,
) -> datetime:
    """The simulated start for a run beginning at wall time `now` (`speed` None = as fast as possible)."""
    wall_s = duration_s / speed if speed else 0.0
    ideal = (now + timedelta(seconds=wall_s - duration_s)).astimezone(tz)
    if clock is None:
        return ideal.replace(microsecond=0)
    hour, minute = clock
    candidate = ideal.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate > ideal:
        candidate -= timedelta(days=1)
    return candidate


def plausibility_warning(start: datetime, duration_s: float, speed: float | None, now: datetime) -> str | None:
    """A sentence for the tester when some of the run's timestamps will be outside ingest's window."""
    oldest = (now - start).total_seconds()
    wall_s = duration_s / speed if speed else 0.0
    ahead = (start + timedelta(seconds=duration_s) - (now + timedelta(seconds=wall_s))).total_seconds()
    if oldest > MAX_PAST_SECONDS:
        return (f"the first messages will be {oldest / 3600:.1f} h old when published; ingest dead-letters "
                f"readings older than {MAX_PAST_SECONDS // 3600} h (use start: auto, a shorter scenario, "
                "or a lower speed)")
    if ahead > MAX_FUTURE_SECONDS:
        return (f"the last messages will be {ahead / 60:.0f} min ahead of the wall clock; ingest dead-letters "
                f"readings more than {MAX_FUTURE_SECONDS // 60} min in the future (use start: auto)")
    return None
