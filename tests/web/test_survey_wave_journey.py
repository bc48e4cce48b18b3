"""The manager's survey waves in real Chromium: open a wave with the form on /manager/surveys (first with too small
a sample, which is refused in plain words), see it listed, and, once residents have answered, plan an improvement
action from a cell of the wave's priority matrix and find it on /manager/actions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import psycopg
from playwright.sync_api import expect

from api.auth import Role
from tickets.survey_links import answer_by_link, invite_online
from tickets.survey_template import ITEM_KEYS

from .conftest import make_user, screenshot


def _answer(db_url: str, wave_id: int) -> None:
    """Twelve residents answer online: the lifts, repairs and water low for a third of them."""
    with psycopg.connect(db_url) as conn:
        now = datetime.now(UTC)
        issued = invite_online(conn, wave_id, now, "https://estate.example")
        tokens = list({i.unit_id: i.link.rsplit("/", 1)[1] for i in issued}.values())
        for n, token in enumerate(tokens[:12]):
            low = n % 3 == 0
            scores = {k: (2 if low else 4 + n % 2) if k.startswith(("elev", "repair", "water")) else 3 + n % 3
                      for k in ITEM_KEYS}
            answer_by_link(conn, token, scores=scores, overall=4 if low else 9, recommend=3 if low else 9, now=now)


def test_a_manager_opens_a_wave_and_plans_an_action_from_its_matrix(web, signed_in_page):
    page = signed_in_page(make_user(web, Role.MANAGER), lang="en", width=1280)
    page.goto("/manager/surveys?lang=en")
    expect(page.locator("#open-wave h2")).to_have_text("Open a wave")
    page.locator("#site_id").select_option("riverside")
    page.locator("#kind").select_option("routine")
    page.locator("#sample").fill("29")
    page.locator("#seed").fill("4")
    page.locator("#open-wave-button").click()
    expect(page.locator("#form-error")).to_contain_text(
        "A site of 300 households cannot open a wave of 29: the sample must be at least 10 % of the households (30).")
    expect(page.locator("#sample")).to_have_value("29")
    screenshot(page, "manager-survey-open-refused")

    page.locator("#sample").fill("0.10")
    page.locator("#open-wave-button").click()
    expect(page.locator("#opened")).to_be_visible()
    wave_id = int(re.search(r"#(\d+)", page.locator("#opened").inner_text()).group(1))  # type: ignore[union-attr]
    row = page.locator(f"#waves tr[data-wave='{wave_id}']")
    expect(row.locator(".sampled")).to_have_text("30 / 300")
    expect(row.locator(".responses")).to_have_text("0")
    screenshot(page, "manager-survey-opened")

    _answer(web.db_url, wave_id)
    page.goto(f"/manager/surveys/{wave_id}?lang=en")
    expect(page.locator("#responses")).to_have_text("12")
    cell = page.locator("#matrix details.cell").first
    expect(cell).to_be_visible()
    dimension = cell.get_attribute("data-dimension")
    cell.locator("summary").click()
    title = cell.locator("input[name=title]")
    expect(title).to_have_value(re.compile(rf"^Improve .+ \(survey wave #{wave_id}: .+\)$"))
    planned_title = title.input_value()
    cell.locator("select[name=department_id]").select_option("customer_service")
    cell.locator("input[name=owner]").fill("Li")
    cell.locator("input[name=deadline]").fill((date.today() + timedelta(days=45)).isoformat())
    cell.locator("textarea[name=measures]").fill("Monthly open day with the residents' committee")
    screenshot(page, "manager-survey-matrix-action")
    cell.locator("button.plan-action").click()

    page.wait_for_url("**/manager/actions?added=*")
    listed = page.locator("#actions tr", has_text=planned_title)
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("satisfaction rate")
    with psycopg.connect(web.db_url) as conn:
        site = conn.execute("SELECT name FROM sites WHERE id = 'riverside'").fetchone()[0]
        expect(listed).to_contain_text(site)  # the slice by name, not "site=riverside"
        assert conn.execute("SELECT survey_wave_id, survey_dimension, department_id FROM review_actions "
                            "WHERE title = %s", (planned_title,)).fetchone() == (wave_id, dimension,
                                                                                 "customer_service")
