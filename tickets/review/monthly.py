"""The monthly and quarterly reviews stored by the scheduler: once the month is over (from the 1st, local time), the
previous month's portfolio review is computed and kept in `review_reports`, one row per month, claimed in one INSERT
… ON CONFLICT DO NOTHING; likewise, once a quarter is over, that quarter's review with its league table of sites
(labelled 2026Q3: a quarter's label never equals a month's). A scheduler that was down on the 1st catches up when
it next becomes the leader (forewarn/scheduler.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg

from tickets.review import report
from tickets.review.actions import attach_actions
from tickets.review.compute import Targets, compute_review, league_table
from tickets.review.periods import parse_period

STORED = "SELECT 1 FROM review_reports WHERE period = %s"
CLAIM = """INSERT INTO review_reports (period, generated_at, body) VALUES (%s, %s, %s)
ON CONFLICT (period) DO NOTHING RETURNING period"""


def store_last_month(conn: psycopg.Connection, *, now: datetime, tz: ZoneInfo,
                     targets: Targets = Targets()) -> str | None:
    """Store last month's review if nobody has; returns its label when this call stored it."""
    local = now.astimezone(tz)
    label = parse_period(f"{local.year}-{local.month:02d}", tz).previous().label

    def body() -> str:
        period = parse_period(label, tz)
        return report.to_json(attach_actions(conn, compute_review(conn, period, targets=targets, now=now), period))

    return _store(conn, label, now, body)


def store_last_quarter(conn: psycopg.Connection, *, now: datetime, tz: ZoneInfo,
                       targets: Targets = Targets()) -> str | None:
    """Store last quarter's review, with its league table (`league`, as `forewarn review quarter` gives it in JSON),
    if nobody has; returns its label when this call stored it."""
    local = now.astimezone(tz)
    label = parse_period(f"{local.year}Q{(local.month - 1) // 3 + 1}", tz).previous().label

    def body() -> str:
        period = parse_period(label, tz)
        review = attach_actions(conn, compute_review(conn, period, targets=targets, now=now), period)
        data = review.as_dict() | {"league": league_table(conn, period, targets=targets, now=now)}
        return json.dumps(data, ensure_ascii=False, default=str)

    return _store(conn, label, now, body)


def _store(conn: psycopg.Connection, label: str, now: datetime, body: Callable[[], str]) -> str | None:
    if conn.execute(STORED, (label,)).fetchone() is not None:
        conn.commit()
        return None
    stored = conn.execute(CLAIM, (label, now, body())).fetchone()
    conn.commit()
    return label if stored is not None else None
