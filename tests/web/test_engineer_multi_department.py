"""The engineer's work-order page for a ticket that works across departments, in a real browser against the real
platform: a security officer's work order on a major engineering ticket shows its department, why security was
brought in and its own due time (respond until accepted, then resolve); accepting it acknowledges the ticket, and
finishing it leaves the ticket in progress while engineering's work order is still open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from playwright.sync_api import expect

from api.auth import Role
from api.web.staff_format import local_time
from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.dispatch import add_work_order, ticket_work_orders
from tickets.flows import handle_alarm

from .conftest import make_user, screenshot


def test_a_security_work_order_shows_its_own_clock_and_leaves_the_ticket_to_engineering(web, signed_in_page):
    officer = make_user(web, Role.ENGINEER, department_id="security", name="王保安 Wang")
    now = datetime.now(UTC)
    earlier = now - timedelta(minutes=30)  # the ticket was opened half an hour before security was brought in
    alarm = Alarm(device_id="rs-b3-water-high", fault="pump_failure", state=AlarmState.RAISED,
                  severity=Severity.CRITICAL, since=earlier - timedelta(minutes=2), ts=earlier, detector="water_rules",
                  evidence=Evidence("pressure at zero for 90 s", metric="pressure_kpa", value=0.0, baseline=320.0))
    with psycopg.connect(web.db_url) as conn:
        conn.execute("""INSERT INTO grid_owners (grid, department_id, user_id)
                        SELECT grid, 'security', %s FROM buildings WHERE id = 'rs-b3'
                        ON CONFLICT (grid, department_id) DO UPDATE SET user_id = EXCLUDED.user_id""",
                     (officer.user_id,))
        ticket_id = handle_alarm(conn, alarm, now=earlier).ticket_id
        assert ticket_id is not None
        guard = add_work_order(conn, ticket_id, "security", by_user=None, now=now,
                               reason="pump room door forced")
        conn.commit()
    assert guard.assignee_id == officer.user_id and guard.respond_due and guard.resolve_due
    with psycopg.connect(web.db_url) as conn:
        ticket_due = conn.execute("SELECT respond_due FROM tickets WHERE id = %s", (ticket_id,)).fetchone()
    assert ticket_due is not None and ticket_due[0] < guard.respond_due

    page = signed_in_page(officer, lang="en")
    page.goto(f"/engineer/work-orders/{guard.id}")
    expect(page.locator("#department")).to_have_text("秩序部 Security")
    expect(page.locator("#reason")).to_have_text("pump room door forced")
    expect(page.locator("#due-at")).to_have_text(local_time(guard.respond_due))  # its own, not the ticket's
    expect(page.locator("#due-at")).to_have_attribute("data-clock", "respond")
    screenshot(page, "engineer-security-work-order-en")
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#status")).to_have_text("Accepted")
    # A pump failure is major: the order's respond clock is to be on site, which accepting does not meet.
    expect(page.locator("#due-at")).to_have_text(local_time(guard.respond_due))
    expect(page.locator("xpath=//dd[@id='due-at']/preceding-sibling::dt[1]")).to_have_text("Be on site by")
    page.get_by_role("button", name="On site").click()
    expect(page.locator("#status")).to_have_text("On site")
    expect(page.locator("#due-at")).to_have_text(local_time(guard.resolve_due))
    page.locator("#note").fill("door secured, CCTV saved")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#status")).to_have_text("Done")

    with psycopg.connect(web.db_url) as conn:
        state = conn.execute("SELECT state FROM tickets WHERE id = %s", (ticket_id,)).fetchone()
        orders = {w.department_id: w.status for w in ticket_work_orders(conn, ticket_id)}
    assert state == ("on_site",)  # security's arrival put the ticket on site; engineering still has its work to do
    assert orders == {"engineering": "open", "security": "done"}
    page.goto(f"/engineer/work-orders/{guard.id}?lang=zh-CN")
    expect(page.locator("#department")).to_have_text("秩序部 Security")
    screenshot(page, "engineer-security-work-order-zh-CN")
