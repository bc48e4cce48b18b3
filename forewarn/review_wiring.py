"""The review's scheduled jobs: last month's review stored once the month is over (tickets/review/monthly.py),
and the staff's daily digest at the configured local hour (FOREWARN_REVIEW_DIGEST_AT).
The job runs every minute on the leader and sends at most one digest per local day: `send_daily_digest` claims
the day's row in one statement, so a second scheduler (or a restart) cannot send it again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from psycopg_pool import ConnectionPool

from forewarn.scheduler import Job
from forewarn.settings import Settings
from tickets.review.compute import Targets
from tickets.review.digest import send_daily_digest
from tickets.review.monthly import store_last_month

DIGEST_CHECK_S = 60.0  # the digest leaves within about a minute of its hour
MONTHLY_CHECK_S = 600.0  # last month's review is stored within about ten minutes of the 1st


def digest_time(settings: Settings) -> time:
    hour, minute = settings.review_digest_at.split(":")
    return time(int(hour), int(minute))


def review_jobs(pool: ConnectionPool, clock: Callable[[], datetime], settings: Settings, tz: ZoneInfo) -> list[Job]:
    at = digest_time(settings)

    def digest() -> None:
        with pool.connection() as conn:
            send_daily_digest(conn, now=clock(), tz=tz, at=at)

    targets = Targets(satisfaction_rate=settings.review_satisfaction_target,
                      closed_loop_rate=settings.review_closed_loop_target)

    def monthly() -> None:
        with pool.connection() as conn:
            store_last_month(conn, now=clock(), tz=tz, targets=targets)

    return [Job("review-digest", DIGEST_CHECK_S, digest), Job("review-monthly", MONTHLY_CHECK_S, monthly)]
