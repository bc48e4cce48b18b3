"""The resident pages in a real browser against the real platform (tests/web/conftest.py): an outage reaches my page
live, a leak report goes to engineering and comes back as a "done" notice I rate, nobody else's request or notice
opens by changing the URL, and every page renders in both languages (screenshots at 360 and 1280 px)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest

from api.auth import Role, issue_token
from tests.web.images import png

from .conftest import WebPlatform, make_user, screenshot

HIGH_ZONE, SITE = "rs-b1-water-high", "riverside"  # the high-zone booster serves floors 13–25 of building 1
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the demo estate's time zone
FILED = re.compile(r"/resident/requests/\d+\?filed=1$")  # the confirmation after a request is sent
LEAK = "厨房水管漏水，请派人来修"


def _resident(web: WebPlatform, where: str, params: tuple[object, ...]) -> str:
    """The first resident without an account matching `where` (on residents r joined with units u)."""
    with psycopg.connect(web.db_url) as conn:
        row = conn.execute(
            f"""SELECT r.id FROM residents r JOIN units u ON u.id = r.unit_id
                WHERE r.active AND {where} AND NOT EXISTS (SELECT 1 FROM users x WHERE x.resident_id = r.id)
                ORDER BY r.id LIMIT 1""", params).fetchone()
    assert row is not None
    return str(row[0])


def _wait_delivered(web: WebPlatform, where: str, params: tuple[object, ...], timeout_s: float = 10.0) -> None:
    """A notice counts from its delivery (the outbox runs every second): wait until the one `where` names is
    delivered, as a resident would see it appear."""
    deadline = time.monotonic() + timeout_s
    while not _one(web, f"SELECT count(*) FROM notices WHERE delivered_at IS NOT NULL AND {where}", params)[0]:
        assert time.monotonic() < deadline, f"no delivered notice where {where} {params}"
        time.sleep(0.1)


def _one(web: WebPlatform, query: str, params: tuple[object, ...] = ()) -> tuple:  # type: ignore[type-arg]
    with psycopg.connect(web.db_url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return tuple(row)


def _missing_ids(web: WebPlatform) -> set[tuple[str, str]]:
    """Message ids a page asked for that a catalogue does not have (recorded by the frame's Catalogues)."""
    return set(web.platform.api.server.config.app.state.web_frame.catalogues.missing)


def _publish_outage(port: int, start: datetime, normal_s: int, outage_s: int) -> None:
    """The high-zone booster's readings once a second: normal pressure, then none (as tests/forewarn does)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-booster", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = []
    for i in range(normal_s + outage_s):
        out = i >= normal_s
        data = {"pressure_kpa": 5.0 if out else 320.0 + (i % 7), "flow_lpm": 0.0 if out else 40.0 + (i % 5),
                "tank_level_pct": 80.0, "pump_on": not out, "pump_current_a": 0.0 if out else 12.0, "leak": False}
        payload = json.dumps({"v": 1, "ts": (start + timedelta(seconds=i)).isoformat(), "seq": i + 1, "data": data})
        infos.append(client.publish(f"forewarn/v1/{SITE}/water/{HIGH_ZONE}/telemetry", payload, qos=1))
    for info in infos:
        info.wait_for_publish(10)
    client.loop_stop()
    client.disconnect()


def test_an_outage_notice_reaches_my_page_within_5_s_of_the_alarm_without_a_reload(web, signed_in_page):
    """Through the whole pipeline: MQTT readings → ingest → detectors → alarm → ticket → notice → outbox →
    LiveHub → /live/stream → the open page. Timed from the incident's detection (the alarm handled) to the notice
    on screen."""
    me = make_user(web, Role.RESIDENT, resident_id=_resident(web, "u.building_id = 'rs-b1' AND u.floor >= 13", ()))
    page = signed_in_page(me, lang="zh-CN")
    page.goto("/resident/notices")
    page.wait_for_selector("#notices[data-live-state='open']")
    before = page.locator("li.notice").count()
    _publish_outage(web.platform.broker_port, datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=150),
                    normal_s=90, outage_s=40)
    page.wait_for_selector("li.notice[data-kind='warning']", timeout=60_000)
    shown = datetime.now(UTC)
    assert page.locator("li.notice").count() == before + 1
    detected = _one(web, "SELECT detected_at FROM incidents WHERE device_id = %s AND fault = 'supply_outage'",
                    (HIGH_ZONE,))[0]
    assert (shown - detected).total_seconds() <= 5.0, (shown, detected)
    page.goto("/resident")  # home: the water supply shows the fault and what we are doing
    water = page.locator(f"li.service[data-device='{HIGH_ZONE}']")
    assert "停水" in water.inner_text() and "预计恢复时间" in water.inner_text()


def _engineer_token(web: WebPlatform) -> str:
    engineer = make_user(web, Role.ENGINEER)
    with psycopg.connect(web.db_url) as conn:
        return issue_token(conn, engineer.user_id, label="tests/web")


def test_a_leak_report_goes_to_engineering_is_resolved_and_i_rate_it_from_the_done_notice(web, signed_in_page):
    me = make_user(web, Role.RESIDENT, resident_id=_resident(web, "u.building_id = 'rs-b2'", ()))
    page = signed_in_page(me, lang="en")
    page.goto("/resident/report")
    page.get_by_label("Repair").check()
    page.locator("#description").fill(LEAK)
    photo = png(8, 8)
    page.locator("#photos").set_input_files([{"name": "leak.png", "mimeType": "image/png", "buffer": photo}])
    filed_at = datetime.now(UTC)
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(FILED)
    page.wait_for_load_state()
    complaint_id = int(page.url.split("/")[-1].split("?")[0])
    ticket_id, department, due = _one(
        web, "SELECT t.id, t.department_id, t.resolve_due FROM complaints c JOIN tickets t ON t.id = c.ticket_id "
             "WHERE c.id = %s AND c.resident_id = %s AND c.request_kind = 'repair'", (complaint_id, me.resident_id))
    assert department == "engineering"
    assert _one(web, "SELECT department_id FROM work_orders WHERE ticket_id = %s", (ticket_id,)) == ("engineering",)
    # The photo is stored with the request's ticket, and I see it on my request.
    photo_id, stored_bytes = _one(web, "SELECT id, bytes FROM attachments WHERE ticket_id = %s AND uploaded_by = %s",
                                  (ticket_id, me.user_id))
    assert bytes(stored_bytes) == photo
    page.locator(f".photos img[src='/files/{photo_id}']").wait_for()
    assert page.locator(".photos img").count() == 1
    assert page.request.get(f"/files/{photo_id}").body() == photo
    # The confirmation tells me at once when it will be dealt with: the 24-hour repair clock, as a real date.
    assert abs((due - filed_at).total_seconds() - 24 * 3600) < 60
    local_due = due.astimezone(SHANGHAI)
    limit = page.locator(".confirmation li[data-clock='resolve']").inner_text()
    assert "Dealt with by" in limit and local_due.strftime("%Y-%m-%d") in limit and local_due.strftime("%H:%M") in limit

    api = f"{web.url}/api/v1/tickets/{ticket_id}/transitions"
    headers = {"Authorization": f"Bearer {_engineer_token(web)}"}
    for body in ({"event": "acknowledge"}, {"event": "arrive"},
                 {"event": "resolve", "note": "replaced the washer", "root_cause": "worn washer"}):
        answer = httpx.post(api, json=body, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text

    _wait_delivered(web, "kind = 'done' AND ticket_id = %s AND resident_id = %s", (ticket_id, me.resident_id))
    page.goto("/resident/notices")
    done = page.locator("li.notice[data-kind='done']")
    assert done.get_by_role("link", name="Rate this service").count() == 1
    # Followed from the notice's own page: the list is live, and may be swapped under a click when the notice's
    # delivery is pushed to it a moment later.
    page.goto(f"/resident/notices/{done.get_attribute('data-notice-id')}")
    page.get_by_role("link", name="Rate this service").click()
    page.wait_for_url(f"**/resident/visit/{ticket_id}")
    for legend, score in (("Speed of response", 5), ("Professionalism", 4), ("Attitude", 5), ("Overall", 5)):
        page.locator("fieldset", has_text=legend).get_by_label(str(score), exact=True).check()
    page.locator("#comment").fill("Quick and tidy")
    page.get_by_role("button", name="Send my rating").click()
    page.wait_for_url(f"**/resident/requests/{complaint_id}?rated=1")
    page.wait_for_load_state()
    assert "Thank you for your rating." in page.content()
    assert page.locator("ul.limits li").count() == 0  # done: no "expected back by" a deadline that is over
    stored = _one(web, "SELECT by_user, response_speed, professionalism, attitude, overall, comment FROM return_visits "
                       "WHERE ticket_id = %s", (ticket_id,))
    assert stored == (me.user_id, 5, 4, 5, 5, "Quick and tidy")
    assert _one(web, "SELECT state FROM tickets WHERE id = %s", (ticket_id,)) == ("closed",)
    steps = [s.get_attribute("data-step") for s in page.locator("ol.timeline li").all()]
    assert steps == ["received", "assigned", "accepted", "on_site", "done", "closed"]
    # The warranty's end reads as a date, not as the tags of a `<time>` element escaped into the sentence.
    (until,) = _one(web, "SELECT warranty_until FROM tickets WHERE id = %s", (ticket_id,))
    until = until.astimezone(SHANGHAI)
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[until.weekday()]
    assert page.locator("p.warranty.muted").inner_text() == (
        f"The repair is under warranty until {until:%Y-%m-%d} ({day}) {until:%H:%M}.")
    # The service report names the request by what it is about in my language, not by the stored codes.
    (title,) = _one(web, "SELECT title FROM tickets WHERE id = %s", (ticket_id,))
    page.get_by_role("link", name="Service report").click()
    page.wait_for_url(f"**/resident/requests/{complaint_id}/report")
    assert title.startswith("facility/water: ")
    assert page.locator(".service-report h1 + p").inner_text() == "water supply: " + title.split(": ", 1)[1]


def test_another_residents_request_notice_and_rating_page_are_not_found(web, signed_in_page):
    owner = make_user(web, Role.RESIDENT, resident_id=_resident(web, "u.building_id = 'rs-b3'", ()))
    other = make_user(web, Role.RESIDENT, resident_id=_resident(web, "u.building_id = 'rs-b3'", ()))
    mine = signed_in_page(owner, lang="zh-CN")
    mine.goto("/resident/report")
    mine.get_by_label("建议").check()
    mine.locator("#description").fill("建议在大堂放把伞架")
    mine.get_by_role("button", name="提交").click()
    mine.wait_for_url(FILED)
    complaint_id = int(mine.url.split("/")[-1].split("?")[0])
    ticket_id, notice_id = _one(web, "SELECT c.ticket_id, n.id FROM complaints c JOIN notices n "
                                     "ON n.ticket_id = c.ticket_id AND n.resident_id = c.resident_id WHERE c.id = %s",
                                (complaint_id,))
    _wait_delivered(web, "id = %s", (notice_id,))
    assert mine.goto(f"/resident/notices/{notice_id}").status == 200

    theirs = signed_in_page(other, lang="zh-CN")
    for path in (f"/resident/requests/{complaint_id}", f"/resident/notices/{notice_id}",
                 f"/resident/visit/{ticket_id}", "/resident/requests/999999"):
        response = theirs.goto(path)
        assert response is not None and response.status == 404, path
        assert "未找到" in theirs.locator("h1").inner_text()
    theirs.goto("/resident/requests")
    assert theirs.locator(f"a[href='/resident/requests/{complaint_id}']").count() == 0


def test_staff_pages_are_forbidden_to_a_resident_and_resident_pages_to_staff(web, signed_in_page):
    resident = make_user(web, Role.RESIDENT, resident_id=_resident(web, "u.building_id = 'rs-b3'", ()))
    app = web.platform.api.server.config.app
    staff_pages = sorted({route.path for route in app.routes  # every page route of the staff audiences
                          if getattr(route, "methods", None) and "GET" in route.methods and "{" not in route.path
                          and route.path.startswith(("/engineer", "/staff", "/devices", "/manager"))})
    page = signed_in_page(resident, lang="en")
    for path in staff_pages:
        response = page.goto(path)
        assert response is not None and response.status == 403, path
    engineer = make_user(web, Role.ENGINEER)
    staff = signed_in_page(engineer, lang="en")
    for path in ("/resident", "/resident/notices", "/resident/report", "/resident/requests"):
        response = staff.goto(path)
        assert response is not None and response.status == 403, path
        assert "Not allowed" in staff.locator("h1").inner_text()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_resident_page_renders_translated_at_phone_and_desktop_width(web, signed_in_page, lang):
    me = make_user(web, Role.RESIDENT, resident_id=_resident(web, "u.building_id = 'rs-b3' AND u.floor > 5", ()))
    page = signed_in_page(me, lang=lang)
    page.goto("/resident/report")
    page.locator("input[name='kind'][value='complaint']").check()
    page.locator("#description").fill("楼道的灯坏了三天了" if lang == "zh-CN" else "The stair lights are out")
    page.locator("form.stack button[type='submit']").click()
    page.wait_for_url(FILED)
    page.wait_for_load_state()
    complaint_id = int(page.url.split("/")[-1].split("?")[0])
    screenshot(page, f"resident-confirmation-{lang}")
    notice_id = _one(web, "SELECT id FROM notices WHERE resident_id = %s ORDER BY id DESC LIMIT 1",
                     (me.resident_id,))[0]
    _wait_delivered(web, "id = %s", (notice_id,), timeout_s=30)  # the outbox's next run makes it visible
    pages = {"home": "/resident", "notices": "/resident/notices", "notice": f"/resident/notices/{notice_id}",
             "report": "/resident/report", "requests": "/resident/requests",
             "request": f"/resident/requests/{complaint_id}", "visit": f"/resident/visit/{_ticket(web, complaint_id)}"}
    for name, path in pages.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"{path} is wider than the phone"
        screenshot(page, f"resident-{name}-{lang}")
    assert not {m for m in _missing_ids(web) if m[0] == lang}, "untranslated message ids"


def _ticket(web: WebPlatform, complaint_id: int) -> int:
    return int(_one(web, "SELECT ticket_id FROM complaints WHERE id = %s", (complaint_id,))[0])


def test_the_ticket_number_a_notice_gives_leads_to_my_request_and_is_on_it(web, signed_in_page):
    """The "we have your report" notice says 工单 #N: the notice links to my request by that number, the request
    page and my list show it, /resident/tickets/N is my request, and the request's old address still opens it."""
    me = make_user(web, Role.RESIDENT, resident_id=_resident(web, "u.building_id = 'rs-b2'", ()))
    with psycopg.connect(web.db_url) as conn:  # as on a live estate, where alarms open tickets with no request
        conn.execute("SELECT setval(pg_get_serial_sequence('tickets', 'id'), "
                     "nextval(pg_get_serial_sequence('tickets', 'id')) + 100)")
    page = signed_in_page(me, lang="zh-CN")
    page.goto("/resident/report")
    page.get_by_label("报修").check()
    page.locator("#description").fill("阳台地漏堵了")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(FILED)
    complaint_id = int(page.url.split("/")[-1].split("?")[0])
    ticket_id, notice_id = _one(web, "SELECT c.ticket_id, n.id FROM complaints c JOIN notices n ON n.ticket_id = "
                                     "c.ticket_id AND n.resident_id = c.resident_id WHERE c.id = %s", (complaint_id,))
    number = f"工单 #{ticket_id}"
    assert complaint_id != ticket_id
    assert page.locator("#ticket-number").inner_text() == number  # on the confirmation at once

    _wait_delivered(web, "id = %s", (notice_id,))
    page.goto(f"/resident/notices/{notice_id}")
    assert number in page.locator("article.notice").inner_text()
    page.locator("#request-link").click()
    page.wait_for_url(f"**/resident/requests/{complaint_id}")
    assert page.locator("#ticket-number").inner_text() == number
    assert number in page.title()

    page.goto("/resident/requests")
    assert number in page.locator(f"li[data-request-id='{complaint_id}']").inner_text()
    response = page.goto(f"/resident/tickets/{ticket_id}")  # the number typed into the address
    assert response is not None and response.status == 200
    assert page.url.endswith(f"/resident/requests/{complaint_id}")
    other = signed_in_page(make_user(web, Role.RESIDENT, resident_id=_resident(web, "u.building_id = 'rs-b3'", ())),
                           lang="zh-CN")
    missing = other.goto(f"/resident/tickets/{ticket_id}")
    assert missing is not None and missing.status == 404  # nobody else's ticket opens by its number
