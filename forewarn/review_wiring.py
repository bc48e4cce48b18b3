"""The review's scheduled job: the staff's daily digest at the configured local hour (FOREWARN_REVIEW_DIGEST_AT).
The job runs every minute on the leader and sends at most one digest per local day: `send_daily_digest` claims
the day's row in one statement, so a second scheduler (or a restart) cannot send it again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from psycopg_pool import ConnectionPool

from forewarn.scheduler import Job
from forewarn.settings import Settings
from tickets.review.digest import send_daily_digest

DIGEST_CHECK_S = 60.0  # the digest leaves within about a minute of its hour


def digest_time(settings: Settings) -> time:
    hour, minute = settings.review_digest_at.split(":")
    return time(int(hour), int(minute))


def review_jobs(pool: ConnectionPool, clock: Callable[[], datetime], settings: Settings, tz: ZoneInfo) -> list[Job]:
    at = digest_time(settings)

    def digest() -> None:
        with pool.connection() as conn:
            send_daily_digest(conn, now=clock(), tz=tz, at=at)

    return [Job("review-digest", DIGEST_CHECK_S, digest)]
