"""The service desk in real Chromium: an agent opens the queue, where an overdue ticket is on top and marked, opens
it, sees the reply scripts filled from it, and transfers it to another department with a reason, which the
ticket's timeline then shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import psycopg
from playwright.sync_api import expect

from api.auth import Role
from tickets.complaints import intake_complaint

from .conftest import make_user, screenshot


def _overdue_ticket(db_url: str) -> tuple[int, str]:
    """A resident's leak, its response deadline long past: the first in the queue. Returns (id, department)."""
    with psycopg.connect(db_url) as conn:
        now = datetime.now(UTC)
        unit = conn.execute("SELECT unit_id FROM residents WHERE id = 'r-00005'").fetchone()[0]
        made = intake_complaint(conn, resident_id="r-00005", unit_id=unit, channel="app",
                                description="卫生间天花板漏水", lang="zh-CN", reported_at=now, now=now)
        conn.execute("UPDATE tickets SET respond_due = %s WHERE id = %s", (now - timedelta(days=30), made.ticket_id))
        department = conn.execute("SELECT department_id FROM tickets WHERE id = %s", (made.ticket_id,)).fetchone()[0]
    return made.ticket_id, department


def test_an_agent_transfers_the_first_ticket_of_the_queue(web, signed_in_page):
    ticket, department = _overdue_ticket(web.db_url)
    target = "security" if department != "security" else "management"
    page = signed_in_page(make_user(web, Role.AGENT), lang="en", width=1280)
    page.goto("/desk?lang=en")
    first = page.locator("#queue tbody tr").first
    expect(first).to_have_attribute("data-ticket", str(ticket))
    expect(first).to_have_class("overdue")
    expect(first.locator("time.countdown")).to_contain_text("Overdue by")
    screenshot(page, "desk-queue")

    first.locator("a.ticket-link").click()
    page.wait_for_url(f"**/desk/tickets/{ticket}")
    expect(page.locator("#reply-acknowledge")).to_have_value(re.compile(rf"number #{ticket}\. We will contact"))
    expect(page.locator("#report-link")).to_have_attribute("href", f"/staff/tickets/{ticket}/report")
    expect(page.locator("#department_id")).to_have_value("")  # nothing chosen until the agent chooses
    page.locator("#department_id").select_option(target)
    page.locator("#reason").fill("The leak comes from the roof garden, which the security team patrols")
    screenshot(page, "desk-ticket-transfer")
    page.locator("#transfer-button").click()

    page.wait_for_url(f"**/desk/tickets/{ticket}?done=transfer")
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#department")).to_have_attribute("data-id", target)
    expect(page.locator("#department")).to_have_text(  # by its name, not its id
        {"security": "秩序部 Security", "management": "管理处 Site management"}[target])
    expect(page.locator("#timeline")).to_contain_text("The leak comes from the roof garden")
    with psycopg.connect(web.db_url) as conn:
        assert conn.execute("SELECT department_id, transfers FROM tickets WHERE id = %s",
                            (ticket,)).fetchone() == (target, 1)


def test_an_agent_files_a_phone_complaint_and_lands_on_its_ticket(web, signed_in_page):
    """At 360 px, as on a counter's tablet: find the resident by unit, check, file, read out the limits."""
    page = signed_in_page(make_user(web, Role.AGENT), lang="en", width=360)
    page.goto("/desk?lang=en")
    page.locator("nav.main a[href='/desk/intake']").click()
    page.wait_for_url("**/desk/intake")
    page.locator("#channel").select_option("phone")
    page.locator("#q").fill("rs-b1-0103")
    page.locator("#search-button").click()
    resident = page.locator("#residents input[value='r-00004']")
    expect(resident).to_be_checked()  # the only resident of the unit is chosen at once
    page.locator("#description").fill("楼道里的灯坏了，晚上看不见")
    page.locator("#requested_outcome").fill("Please fix it today")
    page.locator("#check-button").click()
    expect(page.locator("#suggested-point")).to_have_text("lighting")
    expect(page.locator("#suggested-point")).to_have_attribute("data-value", "lights")
    expect(page.locator("#fold")).to_have_count(0)
    screenshot(page, "desk-intake-check")
    page.locator("#file-button").click()

    page.wait_for_url(re.compile(r".*/desk/tickets/\d+\?filed=\d+$"))
    ticket = int(re.search(r"/desk/tickets/(\d+)", page.url).group(1))
    expect(page.locator("#filed")).to_be_visible()
    expect(page.locator("#filed li[data-clock='respond']")).to_contain_text("We get back to you by")
    screenshot(page, "desk-intake-filed")
    with psycopg.connect(web.db_url) as conn:
        assert conn.execute("SELECT ticket_id, resident_id, channel, requested_outcome FROM complaints "
                            "WHERE ticket_id = %s", (ticket,)).fetchall() == \
            [(ticket, "r-00004", "phone", "Please fix it today")]
