"""A refused 完工 on a phone, in a real browser against the real platform: the device still reads abnormal, so
closing is refused — and the page that says so keeps what the engineer typed (what was done, the root cause) and
the photo they took, shown as attached, and stands at the work order's own address, so that a refresh reloads the
page instead of sending the form again. Giving an override reason then closes the work order without typing or
photographing anything twice: the note, the root cause, the reason and the photo all reach the ticket."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from playwright.sync_api import expect

from api.auth import Role
from tests.web.images import png

from .conftest import make_user, own_grid, raise_alarm, screenshot

DEVICE = "rs-b3-water-high"
BLOCKED = "设备仍然异常。请等待恢复，或填写强制结单理由。"


def test_a_refused_resolve_keeps_what_was_typed_and_the_photo_and_an_override_closes_it(web, signed_in_page):
    engineer = make_user(web, Role.ENGINEER, name="周工 Zhou")
    own_grid(web, engineer, "rs-b3")
    order = raise_alarm(web, DEVICE, "pump_failure", datetime.now(UTC))
    address = f"{web.url}/engineer/work-orders/{order}"
    page = signed_in_page(engineer, lang="zh-CN", width=390, height=844, mobile=True)
    page.goto(f"/engineer/work-orders/{order}")
    page.locator("#steps button[value=acknowledge]").click()
    expect(page.locator("#status")).to_have_text("已接单")
    page.locator("#steps button[value=arrive]").click()
    expect(page.locator("#status")).to_have_text("已到场")

    # Refused: the page stands at the work order's address, and a refresh loads it (GET) instead of re-posting.
    page.locator("#note").fill("更换了接触器")
    page.locator("#resolve-form button[type=submit]").click()
    expect(page.locator(".notice.error")).to_contain_text(BLOCKED)
    expect(page).to_have_url(address)
    reloaded = page.reload()
    assert reloaded is not None and reloaded.request.method == "GET" and reloaded.status == 200
    assert reloaded.url == address
    expect(page.locator(".notice.error")).to_have_count(0)

    # Refused with a note, a root cause and a photo: all kept on the page shown again.
    page.locator("#note").fill("更换了接触器，复位水泵")
    page.locator("#root_cause").fill("接触器烧毁")
    page.locator("#photos").set_input_files([{"name": "after.png", "mimeType": "image/png", "buffer": png()}])
    page.locator("#resolve-form button[type=submit]").click()
    expect(page.locator(".notice.error")).to_contain_text(BLOCKED)
    expect(page).to_have_url(address)
    expect(page.locator("#note")).to_have_value("更换了接触器，复位水泵")
    expect(page.locator("#root_cause")).to_have_value("接触器烧毁")
    kept = page.locator("#resolve-form input[name=kept_photos]")
    expect(kept).to_have_count(1)
    expect(kept).to_be_checked()
    photo = page.locator("#kept-photos img")
    expect(photo).to_be_visible()
    page.wait_for_function("(img) => img.complete", arg=photo.element_handle())
    assert page.evaluate("(img) => img.naturalWidth", photo.element_handle()) == 2  # served back by /files/{id}
    override = page.locator("#override_reason")
    expect(override).to_be_visible()
    expect(override).to_be_editable()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "engineer-resolve-refused-kept-zh-CN")
    with psycopg.connect(web.db_url) as conn:
        waiting = conn.execute("SELECT id, ticket_id, uploaded_by FROM attachments WHERE uploaded_by = %s",
                               (engineer.user_id,)).fetchall()
    assert [(row[1], row[2]) for row in waiting] == [(None, engineer.user_id)]  # stored, on no ticket yet
    assert kept.get_attribute("value") == str(waiting[0][0])

    # The reason alone, nothing typed again: done, with the note, the root cause, the reason and the photo.
    override.fill("水泵已更换，传感器待校准")
    page.locator("#resolve-form button[type=submit]").click()
    expect(page.locator("#status")).to_have_text("已完成")
    expect(page).to_have_url(f"{address}?done=resolve")
    expect(page.locator("#timeline")).to_contain_text("更换了接触器，复位水泵")
    expect(page.locator("#timeline .photos img")).to_have_count(1)
    with psycopg.connect(web.db_url) as conn:
        ticket = conn.execute("SELECT t.id, t.state, t.root_cause, t.override_reason FROM tickets t "
                              "JOIN work_orders w ON w.ticket_id = t.id WHERE w.id = %s", (order,)).fetchone()
        stored = conn.execute("SELECT id, ticket_id FROM attachments WHERE uploaded_by = %s",
                              (engineer.user_id,)).fetchall()
    assert ticket is not None and ticket[1:] == ("resolved", "接触器烧毁", "水泵已更换，传感器待校准")
    assert stored == [(waiting[0][0], ticket[0])]  # the same photo, now the ticket's; none stored twice

    # A refused verdict (one the page does not offer, posted as such) keeps its note too.
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = page.request.post(f"/engineer/work-orders/{order}/verdict",
                                form={"csrf_token": token or "", "verdict": "not_a_verdict", "note": "传感器松动"})
    assert refused.status == 422
    assert 'id="verdict-note" name="note" maxlength="2000" value="传感器松动"' in refused.text()


def test_a_refused_photo_costs_only_itself_and_the_good_one_reaches_the_ticket(web, signed_in_page):
    """Two photos chosen at once, one of them not a photo: the page names the refused one, keeps the good one in the
    form (stored, on no ticket yet), and sending the form again attaches it without choosing it twice."""
    engineer = make_user(web, Role.ENGINEER, name="吴工 Wu")
    own_grid(web, engineer, "rs-b2")
    order = raise_alarm(web, "rs-b2-water-high", "pump_failure", datetime.now(UTC))
    page = signed_in_page(engineer, lang="zh-CN", width=390, height=844, mobile=True)
    page.goto(f"/engineer/work-orders/{order}")
    page.locator("#steps button[value=acknowledge]").click()
    expect(page.locator("#status")).to_have_text("已接单")
    page.locator("#steps button[value=arrive]").click()
    expect(page.locator("#status")).to_have_text("已到场")

    page.locator("#note").fill("更换了接触器")
    page.locator("#override_reason").fill("水泵已更换，传感器待校准")
    page.locator("#photos").set_input_files([
        {"name": "after.png", "mimeType": "image/png", "buffer": png()},
        {"name": "notes.txt", "mimeType": "image/png", "buffer": b"just text"}])
    page.locator("#resolve-form button[type=submit]").click()
    expect(page.locator(".notice.error")).to_contain_text("照片须为 JPEG、PNG 或 WebP 格式")
    expect(page.locator("#refused-photos")).to_have_text("未采用：notes.txt。其余照片已保留在下方表单中。")
    expect(page.locator("#status")).to_have_text("已到场")
    kept = page.locator("#resolve-form input[name=kept_photos]")
    expect(kept).to_have_count(1)
    expect(kept).to_be_checked()
    expect(page.locator("#note")).to_have_value("更换了接触器")
    screenshot(page, "engineer-resolve-photo-refused-kept-zh-CN")
    with psycopg.connect(web.db_url) as conn:
        waiting = conn.execute("SELECT id, ticket_id FROM attachments WHERE uploaded_by = %s",
                               (engineer.user_id,)).fetchall()
    assert len(waiting) == 1 and waiting[0][1] is None and kept.get_attribute("value") == str(waiting[0][0])

    page.locator("#resolve-form button[type=submit]").click()  # nothing chosen again
    expect(page.locator("#status")).to_have_text("已完成")
    expect(page.locator("#timeline .photos img")).to_have_count(1)
    with psycopg.connect(web.db_url) as conn:
        stored = conn.execute("SELECT a.id FROM attachments a JOIN work_orders w ON w.ticket_id = a.ticket_id "
                              "WHERE w.id = %s", (order,)).fetchall()
    assert stored == [(waiting[0][0],)]
