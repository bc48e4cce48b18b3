"""The survey pages on a real database with the demo estate. Through the app (FastAPI's TestClient): the one-time
link's answer page shows the questionnaire without a sign-in, records the household's online response, refuses a
second use (410), an unknown link (404), a closed wave (410), an incomplete answer (422, the form again) and a form
without its CSRF token (403); the manager's survey list and report show the wave's figures, and residents get 403.
In real Chromium on a 360 px phone: a resident opens the link, answers every question and sees the thanks page."""

from __future__ import annotations

import csv
import html
import io
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from api.auth import Role, create_user, ensure_resident_user
from tests.web.clients import signed_in_client, token_in
from tickets.nps import nps_interval
from tickets.survey_links import answer_by_link, invite_online
from tickets.survey_template import ITEM_KEYS, ITEMS
from tickets.survey_waves import close_wave, create_wave

from .conftest import make_user, screenshot

BASE = "https://estate.example"


@pytest.fixture
def app_pool(estate_db_url: str) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    yield pool
    pool.close()




def _open_wave(conn: psycopg.Connection, seed: int = 11) -> tuple[int, list[str]]:
    """A riverside wave opened an hour ago with its links out; returns the wave and one token per household."""
    at = datetime.now(UTC) - timedelta(hours=1)
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=seed, by="mgr", now=at)
    tokens: dict[str, str] = {}
    for issued in invite_online(conn, wave.id, at, BASE):
        tokens.setdefault(issued.unit_id, issued.link.rsplit("/", 1)[1])
    conn.commit()
    return wave.id, list(tokens.values())


def _answers(token: str, score: int = 4, overall: int = 8, recommend: int = 9) -> dict[str, str]:
    return {"csrf_token": token, **{k: str(score) for k in ITEM_KEYS}, "overall": str(overall),
            "recommend": str(recommend), "comment": "保洁很好"}




def test_the_link_shows_the_questionnaire_and_records_one_online_response(app_pool):
    with app_pool.connection() as conn:
        wave_id, tokens = _open_wave(conn)
        unit = conn.execute("SELECT unit_id FROM survey_invitations WHERE wave_id = %s ORDER BY id LIMIT 1",
                            (wave_id,)).fetchone()[0]  # type: ignore[index]
    token = tokens[0]
    with signed_in_client(app_pool) as client:
        form = client.get(f"/survey/{token}")
        assert form.status_code == 200
        assert all(item.zh in form.text for item in ITEMS) and "您有多大可能向亲友推荐" in form.text
        english = client.get(f"/survey/{token}?lang=en")
        assert english.status_code == 200 and ITEMS[0].en in english.text and "Send my answers" in english.text
        csrf = token_in(form.text)
        assert client.post(f"/survey/{token}", data=_answers("forged")).status_code == 403
        incomplete = {k: v for k, v in _answers(csrf).items() if k != "elevators"}
        again = client.post(f"/survey/{token}", data=incomplete)  # in English: the switch is remembered
        assert again.status_code == 422 and "Please answer every question" in again.text
        assert 'name="cleaning" value="4" required checked' in again.text  # what was answered stays checked
        assert "请回答所有问题" in client.post(f"/survey/{token}?lang=zh-CN", data=incomplete).text
        done = client.post(f"/survey/{token}", data=_answers(csrf, recommend=10))
        assert done.status_code == 303 and done.headers["location"] == "/survey/thanks"
        assert client.get("/survey/thanks").status_code == 200
        with app_pool.connection() as conn:
            recorded = conn.execute("SELECT unit_id, mode, assisted, recommend, comment FROM survey_wave_responses "
                                    "WHERE wave_id = %s", (wave_id,)).fetchall()
            assert recorded == [(unit, "online", False, 10, "保洁很好")]
        reused = client.post(f"/survey/{token}", data=_answers(csrf, recommend=0))
        assert reused.status_code == 410 and "此链接已使用" in reused.text
        assert client.get(f"/survey/{token}").status_code == 410
        unknown = client.get("/survey/no-such-token")
        assert unknown.status_code == 404 and "没有这个调查链接" in unknown.text
        with app_pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM survey_wave_responses WHERE wave_id = %s",
                                (wave_id,)).fetchone() == (1,)
            close_wave(conn, wave_id, now=datetime.now(UTC))
        closed = client.get(f"/survey/{tokens[1]}")
        assert closed.status_code == 410 and "本次调查已结束" in closed.text


def test_the_manager_sees_the_waves_and_the_report_and_residents_do_not(app_pool):
    recommend = [10, 10, 10, 9, 7, 3]
    with app_pool.connection() as conn:
        wave_id, tokens = _open_wave(conn, seed=12)
        for token, r in zip(tokens, recommend, strict=False):
            answer_by_link(conn, token, scores={k: 2 if k == "elevators" else 5 for k in ITEM_KEYS},
                           overall=8 if r >= 9 else 4, recommend=r, now=datetime.now(UTC))
        sampled = conn.execute("SELECT count(*) FROM survey_wave_sample WHERE wave_id = %s",
                               (wave_id,)).fetchone()[0]  # type: ignore[index]
        quiet = create_wave(conn, site_id="lakeview", kind="special", sample=0.10, seed=1, by="mgr",
                            now=datetime.now(UTC)).id  # no answers yet: only its fieldwork shows
        create_user(conn, user_id="mgr-surveys", name="Survey manager", role=Role.MANAGER)
        resident_user = ensure_resident_user(conn, "r-00001")
        conn.commit()
    estimate = nps_interval(recommend, population=300)
    assert estimate is not None
    with signed_in_client(app_pool, "mgr-surveys") as manager:
        listing = manager.get("/manager/surveys")
        assert listing.status_code == 200 and 'href="/manager/surveys"' in listing.text  # the nav entry
        row = re.search(rf'<tr data-wave="{wave_id}">(.*?)</tr>', listing.text, re.S)
        assert row is not None
        cells = row.group(1)
        assert f'<td class="sampled">{sampled} / 300</td>' in cells and '<td class="responses">6</td>' in cells
        assert f'<td class="nps">{estimate.score:+g}</td>' in cells and '<td class="coverage">2.0 %</td>' in cells
        report = manager.get(f"/manager/surveys/{wave_id}", headers={"Accept-Language": "en"})
        assert report.status_code == 200
        assert f'<span id="nps">{estimate.score:+g}</span>' in report.text
        assert f"95 % interval {estimate.low:+g} to {estimate.high:+g}" in report.text
        lifts = re.search(r'<tr data-key="elevators">(.*?)</tr>', report.text, re.S)
        assert lifts is not None and '<td class="mean">2.0</td>' in lifts.group(1)
        assert 'data-building="rs-b1"' in report.text and "Coverage per building" in report.text
        # The site and the buildings by name, their ids kept in the markup.
        assert re.search(r'<tr data-building="rs-b1"[^>]*><td>1号楼 Building 1</td>', report.text)
        with app_pool.connection() as conn:
            site = conn.execute("SELECT s.name FROM survey_waves w JOIN sites s ON s.id = w.site_id WHERE w.id = %s",
                                (wave_id,)).fetchone()[0]  # type: ignore[index]
        assert re.search(rf"<h1>Survey wave #{wave_id} · {re.escape(html.escape(site))} ·", report.text)
        # The cross-analysis by experience: nobody in the fresh estate had a complaint resolved, so all 6 are "no",
        # with their overall mean and NPS; every demo household states its move-in date, so each falls in a band.
        complaint = re.search(r'<ul data-group-by="complaint_resolved">(.*?)</ul>', report.text, re.S)
        assert complaint is not None and "Had a complaint resolved (12 months before the wave)" in report.text
        assert re.fullmatch(r'<li data-group="no">no: 6 · 6.67 / 10 · NPS \+50</li>', complaint.group(1).strip())
        years = re.search(r'<ul data-group-by="tenure_length">(.*?)</ul>', report.text, re.S)
        assert years is not None and "Years since moving in" in report.text
        bands = re.findall(r'<li data-group="([^"]+)">([^:<]+): (\d+)', years.group(1))
        labels = {"<1y": "under 1 year", "1-3y": "1 to 3 years", "3-10y": "3 to 10 years", "10y+": "10 years or more"}
        assert bands and sum(int(n) for _, _, n in bands) == 6
        assert all(labels[html.unescape(band)] == label for band, label, _ in bands)  # "<1y" is escaped
        chinese = manager.get(f"/manager/surveys/{wave_id}", headers={"Accept-Language": "zh-CN"}).text
        assert "投诉已解决（调查前12个月）" in chinese and '<li data-group="no">否: 6 ·' in chinese
        exported = manager.get(f"/manager/surveys/{wave_id}/export?format=csv")
        assert exported.status_code == 200
        nps_row = next(r for r in csv.DictReader(io.StringIO(exported.text)) if r["section"] == "nps")
        assert float(nps_row["nps"]) == estimate.score
        assert manager.get(f"/manager/surveys/{wave_id}/export?format=xlsx").content[:2] == b"PK"
        assert manager.get("/manager/surveys/999999").status_code == 404
        early = manager.get(f"/manager/surveys/{quiet}")
        assert early.status_code == 200 and 'id="hidden"' in early.text
        assert '<span id="responses">0</span>' in early.text
        assert re.search(rf'<tr data-wave="{quiet}">.*?<td class="nps">-</td>', listing.text, re.S)
    with signed_in_client(app_pool, resident_user) as resident:
        for path in ("/manager/surveys", f"/manager/surveys/{wave_id}",
                     f"/manager/surveys/{wave_id}/export?format=csv"):
            assert resident.get(path).status_code == 403, path


def _delivered_notice(db_url: str, resident: str, wave_id: int) -> int:
    """The resident's survey notice once the running platform's outbox has delivered it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT id FROM notices WHERE resident_id = %s AND dedupe_key LIKE %s "
                               "AND delivered_at IS NOT NULL", (resident, f"survey:{wave_id}:%")).fetchone()
        if row is not None:
            return int(row[0])
        time.sleep(0.5)
    raise AssertionError(f"the survey notice of {resident} was not delivered within 30 s")


def test_a_resident_answers_the_survey_from_the_notice_on_a_phone(web, signed_in_page):
    with psycopg.connect(web.db_url) as conn:
        wave_id, _ = _open_wave(conn, seed=13)
        resident, unit = conn.execute("SELECT resident_id, unit_id FROM survey_invitations WHERE wave_id = %s "
                                      "ORDER BY id LIMIT 1", (wave_id,)).fetchone()  # type: ignore[misc]
    notice = _delivered_notice(web.db_url, resident, wave_id)
    page = signed_in_page(make_user(web, Role.RESIDENT, resident_id=resident), lang="zh-CN", width=360)
    page.goto(f"/resident/notices/{notice}")
    assert page.locator("h1").inner_text() in ("物业服务满意度调查", "Satisfaction survey")  # the resident's language
    page.locator("#survey-link").click()
    page.wait_for_url("**/survey/*")
    assert page.locator("#survey h1").inner_text() == "物业服务满意度调查"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling on a phone
    for key in ITEM_KEYS:
        page.locator(f"#q-{key} input[value='4']").check()
    page.locator("#q-overall input[value='9']").check()
    page.locator("#q-recommend input[value='10']").check()
    page.fill("#comment", "电梯需要更勤保养")
    screenshot(page, "survey-answer")
    page.locator("#survey button[type=submit]").click()
    page.wait_for_url("**/survey/thanks")
    assert "感谢您的参与" in page.locator("h1").inner_text()
    with psycopg.connect(web.db_url) as conn:
        assert conn.execute("SELECT unit_id, resident_id, mode, overall, recommend, comment FROM survey_wave_responses "
                            "WHERE wave_id = %s", (wave_id,)).fetchall() == [
            (unit, resident, "online", 9, 10, "电梯需要更勤保养")]
