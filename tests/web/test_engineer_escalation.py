"""In a real browser: passengers trapped in a lift whose routine out-of-service work order is already on an
engineer's open page. The same order turns urgent on that page without a reload — the entrapment, the major tier,
its evidence — and its timeline says why (`tickets/escalation.py`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from api.auth import Role
from detectors.alarm import Severity

from .conftest import make_user, own_grid, raise_alarm, screenshot

LIFT = "rs-b1-elev-a"
TRAPPED = "car stopped near floor 7 with its door closed and the in-car alarm button pressed"


def test_the_routine_order_on_an_open_page_turns_into_the_rescue(web, signed_in_page):
    engineer = make_user(web, Role.ENGINEER, name="王工 Wang")
    own_grid(web, engineer, "rs-b1")
    page = signed_in_page(engineer, lang="en")
    page.goto("/engineer/work-orders")
    expect(page.locator("#work-orders")).to_have_attribute("data-live-state", "open", timeout=10_000)

    now = datetime.now(UTC)
    order = raise_alarm(web, LIFT, "out_of_service", now, severity=Severity.WARNING, detector="elevator_rules",
                        summary="the controller reports the car out of normal service", metric="in_service",
                        baseline=None)
    row = page.locator(f'li[data-work-order="{order}"]')
    expect(row).to_be_visible(timeout=5_000)
    expect(row.locator(".fault")).to_have_text("Lift out of service")  # the fault by name, the code kept beside
    expect(row.locator(".fault")).to_have_attribute("data-fault", "out_of_service")
    expect(row).to_have_class("order sev-general")

    again = raise_alarm(web, LIFT, "entrapment", now + timedelta(minutes=3), summary=TRAPPED,
                        detector="elevator_rules", metric="alarm_button", baseline=None)
    assert again == order  # the same work order, not a second one
    expect(row.locator(".fault")).to_have_text("Passengers trapped", timeout=5_000)  # without a reload
    expect(row).to_have_class("order sev-major")
    expect(row.locator("a.order-link")).to_contain_text("Passengers trapped · ")  # the title names the rescue
    expect(row.locator("a.order-link")).not_to_contain_text("entrapment")  # by name, not by its code
    expect(row.locator(".badge.danger")).to_be_visible()
    screenshot(page, "engineer-work-orders-escalated-en")

    page.goto(f"/engineer/work-orders/{order}?lang=zh-CN")
    expect(page.locator("h1")).to_contain_text("困人 · ")
    expect(page.locator("h1 .title")).to_have_attribute("title", re.compile(r"^elevator entrapment @ "))
    expect(page.locator(".explanation")).to_have_text(TRAPPED)
    expect(page.locator("#summary .fault")).to_have_text("困人")
    expect(page.locator("#summary .fault")).to_have_attribute("title", "entrapment")
    expect(page.locator('#timeline li[data-event="made_urgent"] strong')).to_have_text("已升为紧急")
    expect(page.locator('#timeline li[data-event="made_urgent"]')).to_contain_text("· 系统自动")  # the platform did it
    expect(page.locator("#timeline")).to_contain_text("entrapment: " + TRAPPED)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    screenshot(page, "engineer-work-order-escalated-zh-CN")

    # The rescue's clock is to be on site: accepting the order leaves that deadline on the page; arriving meets it,
    # and the page moves on to the order's resolve deadline.
    due, label = page.locator("#due-at"), page.locator("xpath=//dd[@id='due-at']/preceding-sibling::dt[1]")
    expect(due).to_have_attribute("data-clock", "respond")
    expect(label).to_have_text("到场时限")
    page.locator("#steps button[value=acknowledge]").click()
    expect(due).to_have_attribute("data-clock", "respond")
    expect(page.locator("#steps button[value=arrive]")).to_have_text("已到场")
    page.locator("#steps button[value=arrive]").click()
    expect(due).to_have_attribute("data-clock", "resolve")
    expect(page.locator("#steps button[value=arrive]")).to_have_count(0)
    expect(label).to_have_text("本派工单时限")
