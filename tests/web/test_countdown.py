"""The SLA countdown on the staff pages (engineer/_macros.html `countdown_badge`, static/engineer.js): the time left
or overdue in days, hours and minutes ("已超时 16小时6分钟"), not "16:06", which an agent reads as a time of day; the
page's script keeps ticking in the same words. In real Chromium with the page's clock run forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from playwright.sync_api import expect

from api.auth import Role
from api.web.staff_format import countdown
from tickets.complaints import intake_complaint

from .conftest import make_user


def test_the_time_left_is_split_into_days_hours_and_minutes():
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    ahead = countdown(now + timedelta(hours=26, minutes=5, seconds=59), now)
    assert ahead is not None and (ahead.days, ahead.hours, ahead.minutes, ahead.overdue) == (1, 2, 5, False)
    late = countdown(now - timedelta(hours=16, minutes=6), now)
    assert late is not None and (late.days, late.hours, late.minutes, late.overdue) == (0, 16, 6, True)
    assert countdown(None, now) is None


def test_the_desk_page_counts_down_in_words_and_keeps_ticking(web, signed_in_page):
    agent = make_user(web, Role.AGENT)
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(web.db_url) as conn:
        resident, unit = conn.execute("SELECT id, unit_id FROM residents WHERE active ORDER BY id LIMIT 1").fetchone()
        ticket = intake_complaint(conn, resident_id=resident, unit_id=unit, channel="phone", description="楼道灯不亮",
                                  lang="zh-CN", reported_at=now, now=now, taken_by=agent.user_id).ticket_id
        due = now + timedelta(hours=2, minutes=3, seconds=40)  # 40 s for the page to load within the same minute
        conn.execute("UPDATE tickets SET respond_due = %s WHERE id = %s", (due, ticket))
    for lang, left, later in (("zh-CN", "剩余 2小时3分钟", "已超时 1天1小时"),
                              ("en", "2 h 3 min left", "Overdue by 1 d 1 h")):
        page = signed_in_page(agent, lang=lang)
        page.clock.install(time=datetime.now(UTC))
        page.goto(f"/desk/tickets/{ticket}")
        shown = page.locator(".due time.countdown")
        expect(shown).to_have_text(left)
        page.clock.fast_forward(int((due - datetime.now(UTC) + timedelta(days=1, hours=1, minutes=0.5))
                                    .total_seconds() * 1000))
        expect(shown).to_have_text(later)  # written by the page's script, as the server would have
        expect(shown).to_have_class("countdown overdue")
