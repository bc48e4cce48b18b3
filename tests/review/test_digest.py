"""The staff's daily digest: exactly the overdue tickets, once a day even when the job runs twice."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import psycopg

from tickets.complaints import intake_complaint
from tickets.review.digest import send_daily_digest

from .conftest import SHANGHAI

NOW = datetime(2026, 11, 26, 8, 45, tzinfo=SHANGHAI)  # a Thursday, after the 08:30 digest hour
AT = time(8, 30)


def _complain(conn: psycopg.Connection, resident: tuple[str, str], text: str, at: datetime) -> int:
    return intake_complaint(conn, resident_id=resident[1], unit_id=resident[0], channel="app", description=text,
                            lang="zh-CN", reported_at=at, now=at).ticket_id


def test_digest_lists_exactly_the_overdue_tickets_and_is_sent_once(conn: psycopg.Connection,
                                                                   staff: dict[str, str]) -> None:
    residents = conn.execute("SELECT unit_id, id FROM residents ORDER BY id LIMIT 4").fetchall()
    overdue = {_complain(conn, r, text, NOW - timedelta(days=3)) for r, text in
               zip(residents[:3], ("楼下装修噪音太吵", "车位被占了", "邻居的狗一直叫"), strict=True)}
    fresh = _complain(conn, residents[3], "小区路灯不亮", NOW - timedelta(minutes=5))
    conn.commit()
    assert send_daily_digest(conn, now=NOW.replace(hour=8, minute=0), tz=SHANGHAI, at=AT) is None  # too early
    digest = send_daily_digest(conn, now=NOW, tz=SHANGHAI, at=AT)
    assert digest is not None
    assert {item.ticket for item in digest.overdue} == overdue and fresh not in {i.ticket for i in digest.overdue}
    assert send_daily_digest(conn, now=NOW + timedelta(minutes=10), tz=SHANGHAI, at=AT) is None
    sent = conn.execute("""SELECT user_id, count(*) FROM notices WHERE kind = 'digest' GROUP BY user_id
                           ORDER BY user_id""").fetchall()
    assert sent and all(n == 1 for _, n in sent)
    assert {u for u, _ in sent} >= {"mgr", "eng-head", "cs-head"}
    body = conn.execute("SELECT body FROM notices WHERE kind = 'digest' AND user_id = 'mgr'").fetchone()
    assert body is not None and all(f"#{t} " in body[0] for t in overdue)
    # A second scheduler on its own connection, the same morning: still nothing more is sent.
    other = psycopg.connect(conn.info.dsn, password=conn.info.password)
    try:
        assert send_daily_digest(other, now=NOW + timedelta(minutes=20), tz=SHANGHAI, at=AT) is None
    finally:
        other.close()
    count = conn.execute("SELECT count(*) FROM review_digests").fetchone()
    assert count == (1,)


def test_last_months_review_is_stored_once(conn: psycopg.Connection, month: list[int]) -> None:
    from tickets.review.monthly import store_last_month

    first = datetime(2026, 11, 1, 0, 5, tzinfo=SHANGHAI)
    assert store_last_month(conn, now=first, tz=SHANGHAI) == "2026-10"
    assert store_last_month(conn, now=first + timedelta(minutes=10), tz=SHANGHAI) is None
    row = conn.execute("SELECT period, body -> 'figures' -> 'complaint' -> 'closed_loop_rate' ->> 'value' "
                       "FROM review_reports").fetchall()
    assert row == [("2026-10", "92.5")]
