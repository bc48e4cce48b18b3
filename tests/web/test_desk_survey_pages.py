"""The desk's survey calls (api/web/desk_survey_pages.py) on the demo estate. Through the app (FastAPI's TestClient):
an agent finds an open wave, reads its worklist — each sampled household not yet answered, its resident and a phone
number to dial — enters a phone answer, which is stored assisted, by phone, entered by the agent, and the household
leaves the worklist; a double tap records once; a missing score, a closed wave, a household answered already and one
outside the sample are refused in words with the answers kept; residents and engineers get 403. In real Chromium at
a phone's 390 px: worklist → answer → back to the worklist without the household."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import psycopg
from playwright.sync_api import expect
from psycopg_pool import ConnectionPool

from api.auth import Role, create_user, ensure_resident_user
from tests.web.clients import form_token, signed_in_client
from tests.web.test_survey_wave_forms import _wave
from tickets.names import unit_name
from tickets.survey_template import ITEM_KEYS
from tickets.survey_waves import Contact, close_wave, create_wave, record_response, worklist

from .conftest import make_user, screenshot


def _callable(conn: psycopg.Connection, wave_id: int) -> Contact:
    """A household of the worklist with a resident and a phone number."""
    return next(c for c in worklist(conn, wave_id) if c.name and c.phone)


def _answers(token: str, score: str = "4") -> dict[str, str]:
    return {"csrf_token": token, **{k: score for k in ITEM_KEYS}, "overall": "8", "recommend": "9",
            "mode": "phone", "comment": "电梯晚上太吵"}


def _responses(pool: ConnectionPool, wave_id: int, unit_id: str) -> list[tuple[object, ...]]:
    with pool.connection() as conn:
        return conn.execute("SELECT mode, assisted, entered_by, resident_id, overall, recommend, comment, "
                            "(SELECT count(*) FROM survey_wave_scores s WHERE s.response_id = r.id) "
                            "FROM survey_wave_responses r WHERE wave_id = %s AND unit_id = %s",
                            (wave_id, unit_id)).fetchall()


def test_an_agent_sees_the_open_wave_and_its_worklist_with_the_residents_phone(desk):
    wave_id = _wave(desk)
    with desk.connection() as conn:
        contact = _callable(conn, wave_id)
        unit, site = unit_name(conn, contact.unit_id), conn.execute(
            "SELECT name FROM sites WHERE id = 'riverside'").fetchone()[0]  # type: ignore[index]
    with signed_in_client(desk, "agent-1") as agent:
        waves = agent.get("/desk/surveys")
        assert waves.status_code == 200
        assert f'href="/desk/surveys/worklist?wave={wave_id}"' in waves.text and site in waves.text
        assert "抽样 30 户，已回答 0 户" in waves.text
        page = agent.get(f"/desk/surveys/worklist?wave={wave_id}")
        assert page.status_code == 200
        row = page.text.split(f'data-unit="{contact.unit_id}"', 1)[1].split("</li>", 1)[0]
        assert html.escape(unit or "") in row and html.escape(contact.name or "") in row
        digits = "".join(ch for ch in contact.phone or "" if ch.isdigit() or ch == "+")
        assert f'href="tel:{digits}"' in row
        assert f"/desk/surveys/answer?wave={wave_id}&amp;unit={contact.unit_id}" in row
        assert agent.get("/desk/surveys/worklist?wave=999999").status_code == 404


def test_a_phone_answer_is_stored_assisted_by_the_agent_and_the_household_leaves_the_worklist(desk):
    wave_id = _wave(desk)
    with desk.connection() as conn:
        contact = _callable(conn, wave_id)
    answer = f"/desk/surveys/answer?wave={wave_id}&unit={contact.unit_id}"
    with signed_in_client(desk, "agent-1") as agent:
        form = agent.get(answer)
        assert form.status_code == 200
        assert 'name="mode" value="phone" checked' in form.text  # phone unless the agent says otherwise
        assert f'<option value="{contact.resident_id}" selected>' in form.text  # the one the worklist named
        token = form_token(agent, answer)
        assert agent.post(answer, data=_answers("forged")).status_code == 403
        done = agent.post(answer, data=_answers(token) | {"resident": contact.resident_id or ""})
        assert done.status_code == 303
        assert done.headers["location"].startswith(f"/desk/surveys/worklist?wave={wave_id}&done=")
        again = agent.post(answer, data=_answers(token) | {"resident": contact.resident_id or ""})
        assert again.status_code == 303  # a double tap: back to the worklist, nothing recorded twice
        changed = agent.post(answer + "&lang=zh-CN",
                             data=_answers(token, "2") | {"resident": contact.resident_id or ""})
        assert changed.status_code == 422  # a different answer does not vanish without a word
        assert "您已录入过该户的回答，以第一次录入的为准" in changed.text, changed.text[-2000:]
        back = agent.get(done.headers["location"])
        assert back.status_code == 200 and 'id="done"' in back.text
        assert f'data-unit="{contact.unit_id}"' not in back.text
    assert _responses(desk, wave_id, contact.unit_id) == [
        ("phone", True, "agent-1", contact.resident_id, 8, 9, "电梯晚上太吵", len(ITEM_KEYS))]
    with desk.connection() as conn:
        assert contact.unit_id not in {c.unit_id for c in worklist(conn, wave_id)}


def test_a_missing_score_is_refused_in_chinese_words_with_the_other_answers_kept(desk):
    wave_id = _wave(desk)
    with desk.connection() as conn:
        contact = _callable(conn, wave_id)
    answer = f"/desk/surveys/answer?wave={wave_id}&unit={contact.unit_id}"
    with signed_in_client(desk, "agent-1") as agent:
        token = form_token(agent, answer)
        incomplete = {k: v for k, v in _answers(token).items() if k != "elevators"} | {"mode": "in_person"}
        refused = agent.post(answer + "&lang=zh-CN", data=incomplete)
        assert refused.status_code == 422
        assert "未记录：每一行都要选一个分数。尚未回答：电梯。" in refused.text
        assert 'name="cleaning" value="4" required checked' in refused.text
        assert 'name="mode" value="in_person" checked' in refused.text
        assert "电梯晚上太吵</textarea>" in refused.text
        english = agent.post(answer + "&lang=en", data=incomplete | {"overall": ""})
        assert english.status_code == 422
        assert "Not recorded: give one score on every line. Not answered yet: Lifts; Overall," in english.text
    assert _responses(desk, wave_id, contact.unit_id) == []


def test_closed_answered_and_unsampled_households_are_refused_in_words(desk):
    wave_id = _wave(desk)
    with desk.connection() as conn:
        first, second = [c for c in worklist(conn, wave_id) if c.name][:2]
        record_response(conn, wave_id, first.unit_id, scores=dict.fromkeys(ITEM_KEYS, 3), overall=6, recommend=7,
                        now=datetime.now(UTC), mode="in_person", entered_by="someone-else")
        outside = conn.execute("SELECT id FROM units WHERE id <> ALL(%s) ORDER BY id LIMIT 1",
                               ([c.unit_id for c in worklist(conn, wave_id)] + [first.unit_id],)).fetchone()[0]  # type: ignore[index]
        conn.commit()
    with signed_in_client(desk, "agent-1") as agent:
        token = form_token(agent, f"/desk/surveys/answer?wave={wave_id}&unit={second.unit_id}")
        answered = agent.post(f"/desk/surveys/answer?wave={wave_id}&unit={first.unit_id}&lang=zh-CN",
                              data=_answers(token))
        assert answered.status_code == 422 and "未记录：该住户已回答本轮调查" in answered.text
        assert "电梯晚上太吵</textarea>" in answered.text
        unsampled = agent.post(f"/desk/surveys/answer?wave={wave_id}&unit={outside}&lang=en", data=_answers(token))
        assert unsampled.status_code == 422 and "this household is not in the wave&#39;s sample" in unsampled.text
        with desk.connection() as conn:
            close_wave(conn, wave_id, now=datetime.now(UTC))
            conn.commit()
        closed = agent.post(f"/desk/surveys/answer?wave={wave_id}&unit={second.unit_id}&lang=zh-CN",
                            data=_answers(token))
        assert closed.status_code == 422 and "未记录：本轮调查已结束" in closed.text
        assert 'name="cleaning" value="4" required checked' in closed.text
        assert f'data-wave="{wave_id}"' not in agent.get("/desk/surveys").text  # only open waves are listed
    assert _responses(desk, wave_id, second.unit_id) == []


def test_a_resident_and_an_engineer_get_403(desk):
    wave_id = _wave(desk)
    with desk.connection() as conn:
        resident = ensure_resident_user(conn, "r-00001")
        create_user(conn, user_id="mgr-calls", name="Manager", role=Role.MANAGER)
        conn.commit()
        unit = worklist(conn, wave_id)[0].unit_id
    answer = f"/desk/surveys/answer?wave={wave_id}&unit={unit}"
    for user_id, own_page in ((resident, "/resident"), ("eng-1", "/engineer/work-orders")):
        with signed_in_client(desk, user_id) as other:
            token = form_token(other, own_page)
            for path in ("/desk/surveys", f"/desk/surveys/worklist?wave={wave_id}", answer):
                refused = other.get(path + ("&" if "?" in path else "?") + "lang=en")
                assert refused.status_code == 403 and "This page is not open to your account." in refused.text
            assert other.post(answer, data=_answers(token)).status_code == 403
    with signed_in_client(desk, "mgr-calls") as manager:  # a manager is one of the desk's users
        assert manager.get(f"/desk/surveys/worklist?wave={wave_id}").status_code == 200
    assert _responses(desk, wave_id, unit) == []


def test_an_agent_on_a_phone_walks_from_the_worklist_to_the_answer_and_back(web, signed_in_page):
    with psycopg.connect(web.db_url) as conn:
        wave_id = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=3, by="mgr",
                              now=datetime.now(UTC)).id
        conn.commit()
        contact = _callable(conn, wave_id)
    agent = make_user(web, Role.AGENT)
    page = signed_in_page(agent, lang="zh-CN", width=390, height=844, mobile=True)
    page.goto("/desk/surveys")
    page.locator(f"#open-waves li[data-wave='{wave_id}'] a.worklist-link").click()
    row = page.locator(f"#worklist li[data-unit='{contact.unit_id}']")
    expect(row.locator(".resident")).to_have_text(contact.name or "")
    expect(row.locator("a.phone")).to_have_attribute("href", "tel:" + "".join(
        ch for ch in contact.phone or "" if ch.isdigit() or ch == "+"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing pushes the phone's page sideways
    screenshot(page, "desk-survey-worklist")
    row.locator("a.enter-answer").click()
    expect(page.locator("#mode input[value='phone']")).to_be_checked()
    for key in ITEM_KEYS:
        page.locator(f"#q-{key} input[value='4']").check()
    page.locator("#q-overall input[value='8']").check()
    page.locator("#q-recommend input[value='9']").check()
    page.locator("#comment").fill("保洁很好")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "desk-survey-answer")
    page.locator("#record-answer").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator(f"#worklist li[data-unit='{contact.unit_id}']")).to_have_count(0)
    with psycopg.connect(web.db_url) as conn:
        assert conn.execute("SELECT mode, assisted, entered_by FROM survey_wave_responses WHERE wave_id = %s AND "
                            "unit_id = %s", (wave_id, contact.unit_id)).fetchall() == [("phone", True, agent.user_id)]
