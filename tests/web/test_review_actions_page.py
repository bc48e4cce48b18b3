"""The manager's improvement actions page in Chromium: plan an action on the lift faults of building rs-b1 with the
form, see its complaints fall from 10 to 6 a month (−40 %, green), move it on, and be told plainly when the form is
filled in wrong; the monthly review shows the action too; a resident gets 403."""

from __future__ import annotations

import httpx
import psycopg
from playwright.sync_api import expect

from api.auth import Role
from tests.review.test_actions import TEN_THEN_SIX, write_lift_history

from .conftest import make_user, screenshot, session_cookie


def _fill(page, *, deadline: str) -> None:
    page.locator("#title").fill("Replace the lift door belts")
    page.locator("#measures").fill("Check every lift's door belt; add the belt to the maintenance contract")
    page.locator("#department_id").select_option("engineering")
    page.locator("#owner").fill("Wang")
    page.locator("#starts_on").fill("2026-07-01")
    page.locator("#deadline").fill(deadline)
    page.locator("#metric").select_option("complaints")
    page.locator("#building_id").fill("rs-b1")
    page.locator("#point").select_option("elevator")


def test_a_manager_plans_an_action_and_sees_whether_the_complaints_fell(web, signed_in_page):
    with psycopg.connect(web.db_url) as conn:
        write_lift_history(conn, TEN_THEN_SIX)
    page = signed_in_page(make_user(web, Role.MANAGER), lang="en", width=1280)
    page.goto("/manager/actions?lang=en")
    expect(page.locator("h1")).to_have_text("Improvement actions")
    expect(page.locator("#no-actions")).to_be_visible()

    _fill(page, deadline="2026-06-30")  # before the start: refused, the form kept as filled in
    page.locator("#add-action-button").click()
    expect(page.locator(".notice.error")).to_contain_text("The action was not saved.")
    expect(page.locator("#error-detail")).to_contain_text("the deadline 2026-06-30 is before the start 2026-07-01")
    expect(page.locator("#title")).to_have_value("Replace the lift door belts")

    page.locator("#deadline").fill("2026-07-31")
    page.locator("#add-action-button").click()
    row = page.locator("#actions tr.green")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Replace the lift door belts")
    expect(row).to_contain_text("1号楼 Building 1 · lift fault")  # the slice by name, not "building=rs-b1, …"
    expect(row).to_contain_text("工程部 Engineering")
    expect(row.locator("td").nth(10)).to_have_text("-40.0 %")
    expect(row.locator("td").nth(5)).to_have_text("planned")
    screenshot(page, "manager-actions")

    row.locator("select[name=status]").select_option("in_progress")
    row.locator("button").click()
    expect(page.locator("#actions tr.green td").nth(5)).to_have_text("in progress")

    page.goto("/manager/review?month=2026-09&lang=en")
    expect(page.locator("#review-actions")).to_contain_text("Replace the lift door belts")
    expect(page.locator("#review-actions")).to_contain_text("-40.0 %")

    page.goto("/manager/actions?lang=zh-CN")
    expect(page.locator("h1")).to_have_text("改进措施")
    expect(page.locator("#add-action h2")).to_have_text("新增改进措施")


def test_a_resident_gets_403_and_a_form_without_its_token_is_refused(web):
    resident = make_user(web, Role.RESIDENT)
    cookie = session_cookie(web, resident)
    with httpx.Client(base_url=web.url, cookies={cookie["name"]: cookie["value"]}, timeout=30) as client:
        assert client.get("/manager/actions").status_code == 403
    manager = session_cookie(web, make_user(web, Role.MANAGER))
    with httpx.Client(base_url=web.url, cookies={manager["name"]: manager["value"]}, timeout=30) as client:
        refused = client.post("/manager/actions", data={"title": "t", "department_id": "engineering", "owner": "o",
                                                        "deadline": "2026-12-31", "metric": "complaints"})
        assert refused.status_code == 403
