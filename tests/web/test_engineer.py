"""The engineer pages and the device page in a real browser against the real platform (PostgreSQL with the demo
estate, Mosquitto, ingest, scheduler, API): a new work order arrives live on an open page, its evidence chart has
points, a false-alarm verdict reaches detector_labels; a supervisor assigns a work order to a named engineer whose
open page shows it live and whose gateway (a fake SMS webhook on loopback) receives the push; accept, on site and
resolve with a note; the device page draws its 24 h and 30 d charts. Screenshots of every page at 360 and 1280 px
in zh-CN and English; no page uses a message id missing from a catalogue.

Alarms enter through `tickets.flows.handle_alarm` (the detectors' hand-off), on the platform's database while the
page is open: the point here is the page, the pipeline from MQTT to alarm has its own tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Page, expect

from api.auth import Role
from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from forewarn.embedded import free_port
from forewarn.rollup import refresh_rollup
from forewarn.runtime import Platform
from forewarn.settings import load_settings
from tests.conftest import Mosquitto, PgServer
from tests.web.images import png
from tickets.flows import handle_alarm

from .conftest import PAGE_WAIT_MS, WebPlatform, make_user, own_grid, raise_alarm, screenshot

SECRET = "test-secret-for-engineer-pages"


class Gateway:
    """A fake SMS/WeChat gateway on loopback: records every signed request it accepts."""

    def __init__(self) -> None:
        self.accepted: list[dict] = []
        self.bad_signatures = 0
        self.received = threading.Condition()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Forewarn-Timestamp"]
                expected = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body,
                                                hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers["X-Forewarn-Signature"]):
                    gateway.bad_signatures += 1
                with gateway.received:
                    gateway.accepted.append(json.loads(body))
                    gateway.received.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, user_id: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        with self.received:
            while True:
                for message in self.accepted:
                    if message.get("user_id") == user_id:
                        return message
                left = deadline - time.monotonic()
                assert left > 0, f"the gateway received nothing for {user_id} in {timeout} s: {self.accepted}"
                self.received.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.close()


@pytest.fixture(scope="module")
def web(pg_server: PgServer, gateway: Gateway) -> Iterator[WebPlatform]:
    """As tests/web/conftest.py's `web`, with the staff channel configured: the gateway webhook."""
    name = pg_server.create_from("estate")
    db_url = pg_server.url_for(name)
    with tempfile.TemporaryDirectory(prefix="fw-web-eng-") as workdir:
        broker = Mosquitto(Path(workdir))
        broker.start()
        settings = load_settings(environ={}, database_url=db_url, mqtt_url=broker.url, api_port=free_port(),
                                 data_dir=Path(workdir), secret_key=SECRET, webhook_url=gateway.url,
                                 api_wait_ms=PAGE_WAIT_MS)
        platform = Platform(settings)
        try:
            platform.start()
            yield WebPlatform(platform, db_url)
        finally:
            platform.stop()
            broker.stop()
            pg_server.drop(name)


def _readings(web: WebPlatform, device: str, metric: str, *, start: datetime, end: datetime, step: timedelta,
              value: float, drop_at: datetime | None = None) -> None:
    """Readings as ingest stores them (one row per metric of a message); the value falls to zero at `drop_at`."""
    rows = []
    at, seq = start, 0
    while at < end:
        seq += 1
        rows.append((device, at, seq, metric, 0.0 if drop_at and at >= drop_at else value + (seq % 7)))
        at += step
    with psycopg.connect(web.db_url) as conn, conn.cursor() as cur, \
            cur.copy("COPY readings (device_id, ts, seq, metric, value) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    refresh_rollup(web.db_url, web.platform.mode, now=end, start=start)


def _live(page: Page) -> None:
    """Wait until the page's live stream is open, so that nothing sent from now on is missed."""
    expect(page.locator("#work-orders")).to_have_attribute("data-live-state", "open", timeout=10_000)


def _no_missing_messages(web: WebPlatform) -> None:
    app = web.platform.api.server.config.app
    assert app.state.web_frame.catalogues.missing == set()


def _both_languages(page: Page, path: str, name: str) -> None:
    for lang in ("zh-CN", "en"):
        response = page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        assert response is not None and response.ok, (response and response.status, response and response.text())
        assert page.locator("html").get_attribute("lang") == lang
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
        screenshot(page, f"{name}-{lang}")


def test_a_new_work_order_arrives_live_with_its_evidence_and_a_false_alarm_verdict(web, signed_in_page):
    engineer = make_user(web, Role.ENGINEER, name="李工 Li")
    own_grid(web, engineer, "rs-b1")
    device = "rs-b1-water-high"
    now = datetime.now(UTC)
    _readings(web, device, "pressure_kpa", start=now - timedelta(hours=4), end=now, step=timedelta(minutes=1),
              value=320.0, drop_at=now - timedelta(minutes=2))
    page = signed_in_page(engineer, lang="zh-CN")
    page.goto("/engineer/work-orders")
    expect(page.locator("h1")).to_have_text("我的派工单")
    _live(page)

    work_order = raise_alarm(web, device, "pump_failure", now)
    row = page.locator(f'li[data-work-order="{work_order}"]')
    expect(row).to_be_visible(timeout=5_000)  # arrived without a reload
    expect(row.locator("time.countdown")).to_contain_text("剩余")
    _both_languages(page, "/engineer/work-orders", "engineer-work-orders")

    page.goto(f"/engineer/work-orders/{work_order}?lang=zh-CN")
    expect(page.locator(".explanation")).to_have_text("pressure at zero for 90 s")
    # The metric and the detector by name, their codes kept in the tooltip; the charts named the same way.
    expect(page.locator("#evidence .metric")).to_have_text("水压")
    expect(page.locator("#evidence .metric")).to_have_attribute("title", "pressure_kpa")
    expect(page.locator("#evidence .detector")).to_have_text("供水规则")
    expect(page.locator("#evidence figcaption").first).to_contain_text("水压")
    around = page.locator("#evidence svg.chart").first
    assert int(around.get_attribute("data-points") or 0) > 100  # four hours of minute readings, bucketed
    assert around.get_attribute("data-source") == "raw"
    assert page.locator("#evidence svg.chart polyline").first.get_attribute("points")
    _both_languages(page, f"/engineer/work-orders/{work_order}", "engineer-work-order")

    page.goto(f"/engineer/work-orders/{work_order}?lang=en")
    page.get_by_label("False alarm").check()
    page.locator("#verdict-note").fill("sensor knocked loose")
    page.get_by_role("button", name="Save verdict").click()
    expect(page.locator(".notice.ok")).to_be_visible()
    with psycopg.connect(web.db_url) as conn:
        label = conn.execute("SELECT device_id, fault, verdict, false_alarm, by, note FROM detector_labels "
                             "ORDER BY id DESC LIMIT 1").fetchone()
        state = conn.execute("SELECT t.state FROM tickets t JOIN work_orders w ON w.ticket_id = t.id "
                             "WHERE w.id = %s", (work_order,)).fetchone()
    assert label == (device, "pump_failure", "false_alarm", True, engineer.user_id, "sensor knocked loose")
    assert state == ("cancelled",)
    _no_missing_messages(web)


def test_a_supervisor_assigns_a_work_order_that_reaches_the_engineer_live_and_by_sms(web, signed_in_page, gateway):
    head = make_user(web, Role.ENGINEER, name="王主管 Head")
    owner = make_user(web, Role.ENGINEER, name="张工 Zhang")
    chosen = make_user(web, Role.ENGINEER, name="陈工 Chen")
    with psycopg.connect(web.db_url) as conn:
        conn.execute("UPDATE users SET supervisor_id = %s WHERE id = ANY(%s)",
                     (head.user_id, [owner.user_id, chosen.user_id]))
        conn.execute("UPDATE users SET notify_channel = 'sms', phone = '13900000042' WHERE id = %s",
                     (chosen.user_id,))
    own_grid(web, owner, "rs-b2")
    work_order = raise_alarm(web, "rs-b2-water-high", "pump_failure", datetime.now(UTC))

    theirs = signed_in_page(chosen, lang="en")
    theirs.goto("/engineer/work-orders")
    _live(theirs)
    expect(theirs.locator(f'li[data-work-order="{work_order}"]')).to_have_count(0)

    supervisor = signed_in_page(head, lang="en")
    supervisor.goto(f"/engineer/work-orders/{work_order}")
    expect(supervisor.locator("#assignee")).to_have_text("张工 Zhang")
    supervisor.locator("#engineer_id").select_option(chosen.user_id)
    _both_languages(supervisor, f"/engineer/work-orders/{work_order}", "engineer-assign")
    supervisor.goto(f"/engineer/work-orders/{work_order}?lang=en")
    supervisor.locator("#engineer_id").select_option(chosen.user_id)
    supervisor.get_by_role("button", name="Assign").click()
    expect(supervisor.locator("#assignee")).to_have_text("陈工 Chen")

    expect(theirs.locator(f'li[data-work-order="{work_order}"]')).to_be_visible(timeout=5_000)
    message = gateway.wait_for(chosen.user_id, timeout=10)
    assert message["medium"] == "sms" and message["address"] == "13900000042"
    assert f"#{work_order}" in message["title"] and gateway.bad_signatures == 0
    # The supervisor's own list has the department's queue.
    supervisor.goto("/engineer/work-orders")
    expect(supervisor.locator(f'#department-orders li[data-work-order="{work_order}"]')).to_be_visible()
    with psycopg.connect(web.db_url) as conn:
        event = conn.execute("SELECT actor, event, detail->>'to' FROM ticket_events WHERE event = 'reassigned' "
                             "ORDER BY id DESC LIMIT 1").fetchone()
    assert event == (head.user_id, "reassigned", chosen.user_id)

    # An engineer who is not a supervisor gets no assign form, and a forged post (with a valid CSRF token) is
    # refused; a post without the token is refused before anything is looked at.
    owner_page = signed_in_page(owner, lang="en")
    owner_page.goto(f"/engineer/work-orders/{work_order}")
    expect(owner_page.locator("#assign")).to_have_count(0)
    expect(owner_page.locator("#steps")).to_have_count(0)  # no longer theirs: nothing to accept
    token = owner_page.locator('meta[name="csrf-token"]').get_attribute("content")
    forged = owner_page.request.post(f"/engineer/work-orders/{work_order}/assign",
                                     form={"csrf_token": token or "", "engineer_id": owner.user_id})
    assert forged.status == 403 and "You may not do this." in forged.text()
    tokenless = owner_page.request.post(f"/engineer/work-orders/{work_order}/assign",
                                        form={"engineer_id": owner.user_id})
    assert tokenless.status == 403
    with psycopg.connect(web.db_url) as conn:
        assert conn.execute("SELECT assignee_id FROM work_orders WHERE id = %s", (work_order,)).fetchone() == (
            chosen.user_id,)
    _no_missing_messages(web)


def test_accept_on_site_and_resolve_with_a_note(web, signed_in_page):
    engineer = make_user(web, Role.ENGINEER, name="赵工 Zhao")
    own_grid(web, engineer, "rs-b3")
    device = "rs-b3-water-high"
    now = datetime.now(UTC)
    work_order = raise_alarm(web, device, "pump_failure", now)
    page = signed_in_page(engineer, lang="en")
    page.goto(f"/engineer/work-orders/{work_order}")
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#status")).to_have_text("Accepted")
    page.get_by_role("button", name="On site").click()
    expect(page.locator("#status")).to_have_text("On site")
    page.locator("#note").fill("replaced the contactor")
    page.get_by_role("button", name="Resolve").click()
    # The pump still reads abnormal: refused, with the way out.
    expect(page.locator(".notice.error")).to_contain_text("still abnormal")
    screenshot(page, "engineer-resolve-refused-en")
    with psycopg.connect(web.db_url) as conn:
        handle_alarm(conn, Alarm(device_id=device, fault="pump_failure", state=AlarmState.CLEARED,
                                 severity=Severity.CRITICAL, since=now, ts=now, detector="water_rules",
                                 evidence=Evidence("pressure back")), now=datetime.now(UTC))
    page.goto(f"/engineer/work-orders/{work_order}")
    # Spaces pass the browser's `required`, not the server: the report's "what was done" would be empty.
    page.locator("#note").fill("   ")
    page.locator("#root_cause").fill("burnt contactor")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".notice.error")).to_contain_text("Please write what was done.")
    expect(page.locator("#status")).to_have_text("On site")
    expect(page.locator("#root_cause")).to_have_value("burnt contactor")  # what was typed is kept
    page.locator("#note").fill("replaced the contactor")
    page.locator("#photos").set_input_files([{"name": "not-a-photo.png", "mimeType": "image/png",
                                              "buffer": b"just text"}])
    page.get_by_role("button", name="Resolve").click()
    # the residents' own words for a refused photo, then which file and why
    expect(page.locator(".notice.error")).to_contain_text("Photos must be JPEG, PNG or WebP images")
    expect(page.locator(".notice.error")).to_contain_text("not a JPEG, PNG or WebP image")  # and nothing changed
    expect(page.locator("#status")).to_have_text("On site")
    page.locator("#note").fill("replaced the contactor")
    page.locator("#root_cause").fill("burnt contactor")
    page.locator("#photos").set_input_files([{"name": "after.png", "mimeType": "image/png", "buffer": png()}])
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#status")).to_have_text("Done")
    expect(page.locator("#timeline")).to_contain_text("replaced the contactor")
    photo = page.locator("#timeline .photos img")
    expect(photo).to_have_count(1)
    assert page.evaluate("(img) => img.naturalWidth", photo.element_handle()) == 2  # served back by /files/{id}
    screenshot(page, "engineer-resolved-en")
    with psycopg.connect(web.db_url) as conn:
        ticket = conn.execute("SELECT t.id, t.state, t.root_cause FROM tickets t JOIN work_orders w "
                              "ON w.ticket_id = t.id WHERE w.id = %s", (work_order,)).fetchone()
        stored = conn.execute("SELECT ticket_id, uploaded_by, content_type FROM attachments").fetchall()
    assert ticket is not None and ticket[1:] == ("resolved", "burnt contactor")
    assert stored == [(ticket[0], engineer.user_id, "image/png")]  # the refused attempt kept no photo
    _no_missing_messages(web)


def test_the_device_page_draws_the_last_day_and_the_last_month(web, signed_in_page):
    agent = make_user(web, Role.AGENT)
    device = "rs-b1-water-low"
    now = datetime.now(UTC)
    _readings(web, device, "pressure_kpa", start=now - timedelta(days=30), end=now, step=timedelta(minutes=20),
              value=300.0)
    page = signed_in_page(agent, lang="zh-CN")
    page.goto(f"/staff/devices/{device}")
    for chart in ("#chart-24h", "#chart-30d"):
        assert int(page.locator(f"{chart} svg").get_attribute("data-points") or 0) > 50, chart
    assert page.locator("#chart-24h svg").get_attribute("data-source") == "raw"
    assert page.locator("#chart-30d svg").get_attribute("data-source") == "hourly"
    expect(page.locator("#chart-24h figcaption")).to_contain_text("水压")  # the metric by name, not pressure_kpa
    expect(page.locator('nav.metrics a[aria-current="true"]')).to_have_text("水压")
    expect(page.locator("#device-state")).to_have_text("尚无上报")  # no presence message from it yet
    with psycopg.connect(web.db_url) as conn:
        building = conn.execute("SELECT b.name FROM devices d JOIN buildings b ON b.id = d.building_id "
                                "WHERE d.id = %s", (device,)).fetchone()[0]
    expect(page.locator("#device dl.facts")).to_contain_text(building)  # the building by name, not its id
    work_order = raise_alarm(web, device, "pump_failure", now)
    page.reload()
    expect(page.locator("#device-state")).to_have_text("故障")
    # The detector's English sentence is folded under 详细信息; the page leads with the fault and the figures by name.
    expect(page.locator("#alarms .evidence")).to_have_text("加压水泵故障：水压 0 kPa（正常 320 kPa）")
    expect(page.locator("#alarms details")).to_contain_text("pressure at zero for 90 s")
    expect(page.locator("#alarms")).to_contain_text("已派单")
    expect(page.locator(f'a[href="/engineer/work-orders/{work_order}"]')).to_have_count(0)  # not an agent's page
    _both_languages(page, f"/staff/devices/{device}", "staff-device")
    engineer = signed_in_page(make_user(web, Role.ENGINEER), lang="en")
    engineer.goto(f"/staff/devices/{device}")
    engineer.locator(f'a[href="/engineer/work-orders/{work_order}"]').click()
    expect(engineer.locator("#device-link")).to_have_attribute("href", f"/staff/devices/{device}")
    page.goto("/staff/devices/no-such-device?lang=zh-CN")
    expect(page.locator("h1")).to_have_text("未找到")
    _no_missing_messages(web)


def test_a_resident_cannot_open_engineer_or_device_pages(web, signed_in_page):
    resident = make_user(web, Role.RESIDENT)
    page = signed_in_page(resident, lang="en")
    for path in ("/engineer/work-orders", "/engineer/work-orders/1", "/staff/devices/rs-b1-water-high"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path


def test_an_engineer_puts_a_device_in_maintenance_from_its_page_and_ends_it(web, signed_in_page):
    device = "rs-b2-water-low"  # no other test here raises an alarm on it
    engineer = make_user(web, Role.ENGINEER, name="王工")
    page = signed_in_page(engineer, lang="en")
    page.goto(f"/staff/devices/{device}")
    expect(page.locator("#maintenance-now")).to_have_text("Not in maintenance.")
    page.fill("#maintenance-form input[name=reason]", "quarterly pump service")
    page.locator("#maintenance-form button").click()  # no duration chosen: refused, what was typed kept
    expect(page.locator("#maintenance .error")).to_have_text("Choose how long the work will take.")
    expect(page.locator("#maintenance-form input[name=reason]")).to_have_value("quarterly pump service")
    page.select_option("#maintenance-form select[name=duration]", "2h")
    page.locator("#maintenance-form button").click()
    expect(page.locator("#maintenance-now")).to_contain_text("In maintenance")
    expect(page.locator("#maintenance-now")).to_contain_text("quarterly pump service")
    with psycopg.connect(web.db_url) as conn:
        starts, ends, set_by = conn.execute(
            "SELECT starts_at, ends_at, set_by FROM maintenance_windows WHERE device_id = %s", (device,)).fetchone()
        # the pump stops during the work: nothing opens, nobody is told
        now = datetime.now(UTC)
        alarm = Alarm(device_id=device, fault="pump_failure", state=AlarmState.RAISED, severity=Severity.CRITICAL,
                      since=now, ts=now, detector="water_rules", evidence=Evidence("pressure at zero for 90 s"))
        assert handle_alarm(conn, alarm, now=now).action == "suppressed"
        conn.commit()
    assert ends - starts == timedelta(hours=2) and set_by == "王工"
    page.reload()
    expect(page.locator("#alarms")).to_contain_text("No open alarms.")
    screenshot(page, "staff-device-maintenance")
    page.locator("#end-maintenance").click()
    expect(page.locator("#maintenance-now")).to_have_text("Not in maintenance.")
    with psycopg.connect(web.db_url) as conn:
        ended, ended_by = conn.execute("SELECT ends_at, ended_by FROM maintenance_windows WHERE device_id = %s",
                                       (device,)).fetchone()
    assert ended <= datetime.now(UTC) and ended_by == "王工"
    # an agent sees the window's state but may not set one, even by posting the form itself
    agent = signed_in_page(make_user(web, Role.AGENT), lang="en")
    agent.goto(f"/staff/devices/{device}")
    expect(agent.locator("#maintenance-form")).to_have_count(0)
    token = agent.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = agent.request.post(f"/staff/devices/{device}/maintenance",
                                 form={"csrf_token": token or "", "duration": "1h", "reason": "x"})
    assert refused.status == 403
    forged = page.request.post(f"/staff/devices/{device}/maintenance", form={"duration": "1h", "reason": "x"})
    assert forged.status == 403  # no CSRF token
    _no_missing_messages(web)
