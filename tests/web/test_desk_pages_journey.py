"""The desk's roster and announcements in real Chromium on a phone-sized screen (360 px): a supervisor puts an
engineer on call for security tonight from the roster page, where the shift then shows as on duty now (and
`on_duty` answers them); announcing is for agents and managers (as the REST routes), so the supervisor sees the
announcements without the form, and a manager posts one to a building, whose page then shows its read receipts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import psycopg
from playwright.sync_api import expect

from api.auth import Role
from api.web.desk_forms import input_value
from tickets.on_call import on_duty

from .conftest import make_user, screenshot


def test_a_supervisor_adds_a_shift_and_an_announcement_is_posted(web, signed_in_page):
    supervisor = make_user(web, Role.SUPERVISOR, department_id="security", name="Supervisor Qian")
    guard = make_user(web, Role.ENGINEER, department_id="security", name="Guard Zhou")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    page = signed_in_page(supervisor, lang="en", width=360)
    page.goto("/desk?lang=en")
    expect(page.locator("a[href='/desk/roster']").first).to_be_attached()  # in the desk roles' navigation
    page.goto("/desk/roster?lang=en")
    page.locator("#department_id").select_option("security")
    page.locator("#user_id").select_option(guard.user_id)
    page.locator("#starts_at").fill(input_value(now - timedelta(hours=1)))
    page.locator("#ends_at").fill(input_value(now + timedelta(hours=11)))
    screenshot(page, "desk-roster-form")
    page.locator("#shift-button").click()
    page.wait_for_url(re.compile(r".*/desk/roster\?done=shift.*"))
    expect(page.locator("#done")).to_be_visible()
    row = page.locator(f"#roster-security tr[data-user='{guard.user_id}']")
    expect(row).to_have_class("on-duty")
    expect(row).to_contain_text("On duty now")
    screenshot(page, "desk-roster")
    with psycopg.connect(web.db_url) as conn:
        assert on_duty(conn, "security", datetime.now(UTC)) == guard.user_id

    page.goto("/desk/announcements?lang=en")
    expect(page.locator("h1")).to_have_text("Announcements")
    expect(page.locator("#announcement-form")).to_have_count(0)  # supervisors read; agents and managers announce

    manager = signed_in_page(make_user(web, Role.MANAGER), lang="en", width=360)
    manager.goto("/desk/announcements?lang=en")
    manager.locator("#site_id").select_option("riverside")
    manager.locator("#building_id").select_option("rs-b2")
    manager.locator("#kind").select_option("rectification")
    manager.locator("#title_zh").fill("2号楼楼道杂物清理整改通知")
    manager.locator("#body_zh").fill("请于本周五前清理楼道内堆放的杂物。")
    manager.locator("#title_en").fill("Clear the stairwells of Building 2")
    screenshot(manager, "desk-announcement-form")
    manager.locator("#announce-button").click()
    manager.wait_for_url(re.compile(r".*/desk/announcements/\d+\?done=created"))
    with psycopg.connect(web.db_url) as conn:
        residents = conn.execute("SELECT count(*) FROM residents r JOIN units u ON u.id = r.unit_id "
                                 "WHERE u.building_id = 'rs-b2' AND r.active").fetchone()[0]
        written = conn.execute("SELECT count(*), count(DISTINCT resident_id) FROM notices n JOIN announcements a "
                               "ON n.dedupe_key = 'announcement:' || a.id WHERE a.title_zh = %s",
                               ("2号楼楼道杂物清理整改通知",)).fetchone()
    assert residents > 0 and written == (residents, residents)
    expect(manager.locator("h1")).to_have_text("Clear the stairwells of Building 2")
    expect(manager.locator("#read-by")).to_have_text(re.compile(rf"read by \d+ of {residents}"))
    screenshot(manager, "desk-announcement")
    page.goto("/desk/announcements?lang=en")
    expect(page.locator("#announcements")).to_contain_text("Clear the stairwells of Building 2")
