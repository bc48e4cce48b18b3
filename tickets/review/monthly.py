"""The monthly review stored by the scheduler: once the month is over (from the 1st, local time), the previous
month's portfolio review is computed and kept in `review_reports`, one row per month, claimed in one INSERT … ON
CONFLICT DO NOTHING. A scheduler that was down on the 1st catches up on its next run."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg

from tickets.review import report
from tickets.review.compute import Targets, compute_review
from tickets.review.periods import parse_period

STORED = "SELECT 1 FROM review_reports WHERE period = %s"
CLAIM = """INSERT INTO review_reports (period, generated_at, body) VALUES (%s, %s, %s)
ON CONFLICT (period) DO NOTHING RETURNING period"""


def store_last_month(conn: psycopg.Connection, *, now: datetime, tz: ZoneInfo,
                     targets: Targets = Targets()) -> str | None:
    """Store last month's review if nobody has; returns its label when this call stored it."""
    local = now.astimezone(tz)
    label = parse_period(f"{local.year}-{local.month:02d}", tz).previous().label
    if conn.execute(STORED, (label,)).fetchone() is not None:
        conn.commit()
        return None
    review = compute_review(conn, parse_period(label, tz), targets=targets)
    stored = conn.execute(CLAIM, (label, now, report.to_json(review))).fetchone()
    conn.commit()
    return label if stored is not None else None
