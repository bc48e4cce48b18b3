"""The review's scheduled jobs, on APScheduler cron triggers in the estate's time zone: the staff's daily digest at
the configured local hour (FOREWARN_REVIEW_DIGEST_AT, default 08:30); last month's review stored on the 1st of each
month at MONTHLY_AT (06:00 local), and last quarter's on the 1st of January, April, July and October at the same
time (tickets/review/monthly.py).

They run in the scheduler's leader only, and are idempotent in the database: `send_daily_digest` claims the day's
row in one statement (so a second scheduler, or a restart, cannot send it again), `store_last_month` and
`store_last_quarter` the period's. All are caught up whenever a process becomes the leader (forewarn/scheduler.py):
a platform that was down at 08:30, or on the 1st, still sends that day's digest once, and stores the finished
month's (quarter's) review, when it starts. A catch-up before the digest's hour sends nothing: it goes at its hour."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from psycopg_pool import ConnectionPool

from forewarn.scheduler import Job
from forewarn.settings import Settings
from tickets.review.compute import Targets
from tickets.review.digest import send_daily_digest
from tickets.review.monthly import store_last_month, store_last_quarter
from tickets.survey_special import open_special_waves

# A resolved incident's special survey wave opens within this long (the survey is days of fieldwork: a minute is
# nothing, and one query a minute costs nothing).
SPECIAL_WAVES_S = 60.0

# Last month's review is stored on the 1st at this local time: after midnight, when the month is over, and before
# the managers' day starts (a constant: the stored review is looked at, not sent, so its hour matters little).
MONTHLY_AT = time(6, 0)


def digest_time(settings: Settings) -> time:
    hour, minute = settings.review_digest_at.split(":")
    return time(int(hour), int(minute))


def digest_trigger(at: time, tz: ZoneInfo) -> CronTrigger:
    """Every day at `at`, local time in `tz`."""
    return CronTrigger(hour=at.hour, minute=at.minute, second=0, timezone=tz)


def monthly_trigger(tz: ZoneInfo) -> CronTrigger:
    """The 1st of every month at MONTHLY_AT, local time in `tz`."""
    return CronTrigger(day=1, hour=MONTHLY_AT.hour, minute=MONTHLY_AT.minute, second=0, timezone=tz)


def quarterly_trigger(tz: ZoneInfo) -> CronTrigger:
    """The 1st of January, April, July and October at MONTHLY_AT, local time in `tz`."""
    return CronTrigger(month="1,4,7,10", day=1, hour=MONTHLY_AT.hour, minute=MONTHLY_AT.minute, second=0,
                       timezone=tz)


def review_jobs(pool: ConnectionPool, clock: Callable[[], datetime], settings: Settings, tz: ZoneInfo) -> list[Job]:
    """The cron triggers fire on the wall clock; the jobs decide from the platform's `clock` what is due."""
    at = digest_time(settings)

    def digest() -> None:
        with pool.connection() as conn:
            send_daily_digest(conn, now=clock(), tz=tz, at=at)

    targets = Targets.of(settings)

    def monthly() -> None:
        with pool.connection() as conn:
            store_last_month(conn, now=clock(), tz=tz, targets=targets)

    def quarterly() -> None:
        with pool.connection() as conn:
            store_last_quarter(conn, now=clock(), tz=tz, targets=targets)

    return [Job.at("review-digest", digest_trigger(at, tz), digest),
            Job.at("review-monthly", monthly_trigger(tz), monthly),
            Job.at("review-quarterly", quarterly_trigger(tz), quarterly)]


def survey_jobs(pool: ConnectionPool, clock: Callable[[], datetime], settings: Settings) -> list[Job]:
    """`survey-special-waves`: a special wave for every resolved incident that affected more than
    FOREWARN_SPECIAL_WAVE_HOUSEHOLDS households (tickets/survey_special.py; once per incident, by a unique index)."""

    def special_waves() -> None:
        with pool.connection() as conn:
            open_special_waves(conn, now=clock(), households=settings.special_wave_households)

    return [Job("survey-special-waves", SPECIAL_WAVES_S, special_waves)]
