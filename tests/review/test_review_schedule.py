"""The review's jobs on cron triggers: the digest at the configured local hour, last month's review on the 1st, last
quarter's on the 1st of January, April, July and October;
and, with two schedulers and a handover between them, the digest of a morning whose 08:30 nobody was up for is
still sent exactly once (caught up by the leader at its start, not again by the next leader)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import psycopg
from psycopg_pool import ConnectionPool

from forewarn.review_wiring import MONTHLY_AT, review_jobs
from forewarn.scheduler import Scheduler
from forewarn.settings import load_settings

from .conftest import SHANGHAI

NOW = datetime(2026, 11, 26, 8, 45, tzinfo=SHANGHAI)  # after the 08:30 digest hour, no cron time near
JOBS = ("review-digest", "review-monthly", "review-quarterly")


def _fires(url: str, environ: dict[str, str], after: datetime) -> dict[str, datetime]:
    pool = ConnectionPool(url, open=False)  # never opened: only the triggers are looked at
    jobs = review_jobs(pool, lambda: after, load_settings(environ=environ), SHANGHAI)
    assert all(job.cron is not None and job.seconds is None and job.catch_up for job in jobs)
    return {job.name: job.cron.get_next_fire_time(None, after) for job in jobs if job.cron is not None}


def test_the_digest_fires_at_the_local_hour_and_the_reviews_on_the_first(estate_db_url: str) -> None:
    fires = _fires(estate_db_url, {}, datetime(2026, 11, 26, 8, 29, tzinfo=SHANGHAI))
    assert fires["review-digest"] == datetime(2026, 11, 26, 8, 30, tzinfo=SHANGHAI)
    assert fires["review-digest"].astimezone(UTC) == datetime(2026, 11, 26, 0, 30, tzinfo=UTC)  # 08:30 +08:00
    assert fires["review-monthly"] == datetime(2026, 12, 1, 6, 0, tzinfo=SHANGHAI) and MONTHLY_AT.hour == 6
    assert fires["review-quarterly"] == datetime(2027, 1, 1, 6, 0, tzinfo=SHANGHAI)
    later = _fires(estate_db_url, {}, datetime(2026, 12, 1, 8, 30, 1, tzinfo=SHANGHAI))
    assert later["review-digest"] == datetime(2026, 12, 2, 8, 30, tzinfo=SHANGHAI)  # once a day: the next morning
    assert later["review-monthly"] == datetime(2027, 1, 1, 6, 0, tzinfo=SHANGHAI)
    quarter = _fires(estate_db_url, {}, datetime(2027, 1, 1, 6, 0, 1, tzinfo=SHANGHAI))
    assert quarter["review-quarterly"] == datetime(2027, 4, 1, 6, 0, tzinfo=SHANGHAI)
    assert quarter["review-monthly"] == datetime(2027, 2, 1, 6, 0, tzinfo=SHANGHAI)
    other = _fires(estate_db_url, {"FOREWARN_REVIEW_DIGEST_AT": "09:15"}, datetime(2026, 11, 26, 8, 45,
                                                                                    tzinfo=SHANGHAI))
    assert other["review-digest"] == datetime(2026, 11, 26, 9, 15, tzinfo=SHANGHAI)


def _wait(what: str, done, within: float = 15.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, f"not within {within} s: {what}"
        time.sleep(0.1)


def test_two_schedulers_send_one_digest_caught_up_at_start(conn: psycopg.Connection, staff: dict[str, str],
                                                           estate_db_url: str) -> None:
    conn.commit()
    settings = load_settings(environ={})
    with ConnectionPool(estate_db_url, min_size=1, max_size=2) as pool:
        first = Scheduler(estate_db_url, review_jobs(pool, lambda: NOW, settings, SHANGHAI))
        second = Scheduler(estate_db_url, review_jobs(pool, lambda: NOW, settings, SHANGHAI))
        try:
            first.start()
            # Up at 08:45 after missing 08:30: the leader's catch-up sends today's digest, stores October's and Q3's.
            _wait("the leader catches up", lambda: all(first.runs[j] for j in JOBS))
            second.start()
            time.sleep(2.0)
            assert first.catch_ups == 1 and second.catch_ups == 0 and not second.runs  # the follower runs nothing
            first.stop()  # the handover: the new leader catches up too, and finds both done
            _wait("the new leader catches up", lambda: all(second.runs[j] for j in JOBS))
            assert second.catch_ups == 1
        finally:
            first.stop()
            second.stop()
    assert conn.execute("SELECT digest_date FROM review_digests").fetchall() == [(NOW.date(),)]
    sent = conn.execute("SELECT user_id, count(*) FROM notices WHERE kind = 'digest' GROUP BY 1 ORDER BY 1").fetchall()
    assert {u for u, _ in sent} >= {"mgr", "eng-head", "cs-head"} and all(n == 1 for _, n in sent)
    stored = conn.execute("SELECT period, body ? 'league' FROM review_reports ORDER BY 1").fetchall()
    assert stored == [("2026-10", False), ("2026Q3", True)]  # each once; the quarter's with its league table
