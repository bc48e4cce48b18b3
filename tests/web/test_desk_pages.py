"""The service desk's pages (api/web/desk_pages.py) through the app (TestClient) on a real database: the queue of
open tickets due first with the overdue one marked and its filters, the transfer form (and its refusals: no CSRF
token, no reason, a ticket that cannot be transferred, a resident or an engineer), and the reply scripts filled
from the ticket. The journey in Chromium: test_desk_journey.py; both languages: test_i18n.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import ConnectionPool

from api.auth import Role, create_user, ensure_resident_user
from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tests.web.clients import form_token, signed_in_client
from tickets.complaints import intake_complaint
from tickets.dispatch import add_work_order
from tickets.flows import handle_alarm
from tickets.lifecycle import TicketEvent
from tickets.reply_templates import fill_templates
from tickets.sla import DEFAULT_TZ as ZONE
from tickets.transitions import transition

COMPLAINTS = [("r-00001", "厨房水管漏水"), ("r-00002", "物业费账单多收了一个月"),
              ("r-00003", "楼下停车位总被外来车占用")]


@pytest.fixture
def desk(estate_db_url: str) -> Iterator[tuple[ConnectionPool, list[int]]]:
    """Three open tickets; the last filed is overdue, the first is due in three hours, the second in one."""
    now = datetime.now(UTC).replace(microsecond=0)  # here, not at import: the full suite collects long before
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    with pool.connection() as conn:
        create_user(conn, user_id="agent-1", name="Agent Wang", role=Role.AGENT, department_id="customer_service")
        create_user(conn, user_id="eng-1", name="Engineer", role=Role.ENGINEER, department_id="engineering")
        ids = []
        for resident, text in COMPLAINTS:
            unit = conn.execute("SELECT unit_id FROM residents WHERE id = %s", (resident,)).fetchone()
            assert unit is not None
            made = intake_complaint(conn, resident_id=resident, unit_id=unit[0], channel="app", description=text,
                                    lang="zh-CN", reported_at=now - timedelta(hours=2), now=now - timedelta(hours=2))
            ids.append(made.ticket_id)
        assert len(set(ids)) == 3
        for ticket, hours in zip(ids, (3, 1, -1), strict=True):  # the deadlines, set apart for the test
            conn.execute("UPDATE tickets SET respond_due = %s, resolve_due = %s WHERE id = %s",
                         (now + timedelta(hours=hours), now + timedelta(hours=hours + 24), ticket))
        conn.commit()
    yield pool, ids
    pool.close()






def test_the_queue_lists_open_tickets_due_first_and_marks_the_overdue_one(desk):
    pool, (later, sooner, overdue) = desk
    with signed_in_client(pool, "agent-1") as client:
        page = client.get("/desk", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        order = [int(i) for i in re.findall(r'<tr data-ticket="(\d+)"', page.text)]
        assert order[:3] == [overdue, sooner, later]
        overdue_row = re.search(rf'<tr data-ticket="{overdue}"[^>]*>', page.text)
        assert overdue_row is not None and 'class="overdue"' in overdue_row.group(0)
        assert "Overdue by 1 h 0 min" in page.text
        assert f'href="/desk/tickets/{later}"' in page.text
        with pool.connection() as conn:
            department = conn.execute("SELECT department_id FROM tickets WHERE id = %s", (sooner,)).fetchone()[0]
        narrowed = client.get("/desk", params={"department": department})
        shown = {int(i) for i in re.findall(r'<tr data-ticket="(\d+)"', narrowed.text)}
        assert sooner in shown and shown <= set(desk[1])
        none = client.get("/desk", params={"state": "on_site"})
        assert none.status_code == 200 and 'data-ticket="' not in none.text


def test_residents_and_engineers_may_not_open_the_desk(desk):
    pool, ids = desk
    with pool.connection() as conn:
        resident = ensure_resident_user(conn, "r-00001")
        conn.commit()
    for user in (resident, "eng-1"):
        with signed_in_client(pool, user) as client:
            assert client.get("/desk").status_code == 403
            assert client.get(f"/desk/tickets/{ids[0]}").status_code == 403
            token = form_token(client, "/")  # the sign-out form in the frame
            refused = client.post(f"/desk/tickets/{ids[0]}/transfer",
                                  data={"csrf_token": token, "department_id": "security", "reason": "x"})
            assert refused.status_code == 403


def test_the_ticket_page_names_the_residents_unit_by_building_and_number(desk):
    pool, ids = desk
    with pool.connection() as conn:
        unit, building, number = conn.execute(
            """SELECT u.id, b.name, u.number FROM tickets t JOIN units u ON u.id = t.unit_id
               JOIN buildings b ON b.id = u.building_id WHERE t.id = %s""", (ids[0],)).fetchone()
    with signed_in_client(pool, "agent-1") as client:
        page = client.get(f"/desk/tickets/{ids[0]}").text
    assert f'<dd title="{unit}">{building} {number}</dd>' in page  # the id only in the tooltip


def test_a_preventive_tickets_evidence_leads_with_the_fault_and_figures_by_name_on_a_chinese_page(desk):
    pool, _ = desk
    now = datetime.now(UTC).replace(microsecond=0)
    sentence = "supply pressure 4 kPa, below the 80 kPa floor, since 09:12 UTC+08:00"
    alarm = Alarm(device_id="rs-b1-water-high", fault="supply_outage", state=AlarmState.RAISED,
                  severity=Severity.CRITICAL, since=now - timedelta(minutes=2), ts=now, detector="water_rules",
                  evidence=Evidence(sentence, metric="pressure_kpa", value=4.0, baseline=80.0))
    with pool.connection() as conn:
        ticket = handle_alarm(conn, alarm, now=now).ticket_id
        conn.commit()
    with signed_in_client(pool, "agent-1") as client:
        zh = client.get(f"/desk/tickets/{ticket}", headers={"Accept-Language": "zh-CN"}).text
        en = client.get(f"/desk/tickets/{ticket}", headers={"Accept-Language": "en"}).text
    shown = re.sub(r"<[^>]+>", "", re.search(r'<div class="description" id="evidence">(.*?)</div>', zh, re.S)[1])
    assert shown.startswith("供水中断：水压 4 kPa（正常 80 kPa）")  # the line a desk agent reads at a glance
    assert f"<summary>详细信息</summary><span lang=\"en\">{sentence}</span>" in zh  # the sentence, folded
    assert f'<div class="description" id="evidence">{sentence}</div>' in en


def test_an_unknown_ticket_is_a_404_page(desk):
    pool, _ = desk
    with signed_in_client(pool, "agent-1") as client:
        answer = client.get("/desk/tickets/999999", headers={"Accept-Language": "en"})
        assert answer.status_code == 404 and "There is no such ticket." in answer.text


def test_a_transfer_moves_the_ticket_with_its_reason_in_the_timeline(desk):
    pool, ids = desk
    ticket = ids[0]
    with pool.connection() as conn:
        before = conn.execute("SELECT department_id, transfers FROM tickets WHERE id = %s", (ticket,)).fetchone()
    target = "security" if before[0] != "security" else "management"
    with signed_in_client(pool, "agent-1") as client:
        path = f"/desk/tickets/{ticket}"
        assert client.post(f"{path}/transfer", data={"department_id": target, "reason": "x"}).status_code == 403
        token = form_token(client, path)
        empty = client.post(f"{path}/transfer", data={"csrf_token": token, "department_id": target, "reason": "  "},
                            headers={"Accept-Language": "en"})
        assert empty.status_code == 422 and "Please give the reason for the transfer." in empty.text
        assert f'<option value="{target}" selected>' in empty.text  # the department chosen is kept
        nowhere = client.post(f"{path}/transfer", data={"csrf_token": token, "department_id": "", "reason": "门禁"})
        assert nowhere.status_code == 422 and "请选择转派到的部门。" in nowhere.text
        assert ">门禁</textarea>" in nowhere.text  # and the reason typed
        same = client.post(f"{path}/transfer", data={"csrf_token": token, "department_id": before[0],
                                                     "reason": "wrong desk"})
        assert same.status_code == 422 and "该工单已在所选部门，请选择其他部门。" in same.text  # in words
        assert "无法按所填内容办理" not in same.text and 'id="error-detail"' not in same.text
        assert ">wrong desk</textarea>" in same.text
        english = client.post(f"{path}/transfer", headers={"Accept-Language": "en"},
                              data={"csrf_token": token, "department_id": before[0], "reason": "wrong desk"})
        assert "This ticket is already with that department: choose another one." in english.text
        with pool.connection() as conn:
            assert conn.execute("SELECT department_id, transfers FROM tickets WHERE id = %s",
                                (ticket,)).fetchone() == before
        moved = client.post(f"{path}/transfer", data={"csrf_token": token, "department_id": target,
                                                      "reason": "门禁归秩序部管"})
        assert moved.status_code == 303 and moved.headers["location"] == f"{path}?done=transfer"
        shown = client.get(path)  # the step in words, the department by its name (not the codes)
        with pool.connection() as conn:
            name = conn.execute("SELECT name FROM departments WHERE id = %s", (target,)).fetchone()[0]
            agent = conn.execute("SELECT name FROM users WHERE id = 'agent-1'").fetchone()[0]
        step = re.search(r'<li data-event="transfer">(.*?)</li>', shown.text, re.S)
        assert step is not None and "已转派" in step.group(1) and name in step.group(1), shown.text
        assert "门禁归秩序部管" in step.group(1) and f"· {target}" not in step.group(1)
        assert f"· {agent}" in step.group(1) and "agent-1" not in step.group(1)  # who did it, by name
    with pool.connection() as conn:
        assert conn.execute("SELECT department_id, transfers FROM tickets WHERE id = %s",
                            (ticket,)).fetchone() == (target, before[1] + 1)
        assert conn.execute("SELECT actor, note FROM ticket_events WHERE ticket_id = %s AND event = 'transfer'",
                            (ticket,)).fetchall() == [("agent-1", "门禁归秩序部管")]


def test_a_ticket_that_cannot_be_transferred_is_refused_with_409_not_a_crash(desk):
    pool, ids = desk
    ticket = ids[1]
    with pool.connection() as conn:
        transition(conn, ticket, TicketEvent.CANCEL, actor="agent-1", now=datetime.now(UTC), note="duplicate")
        conn.commit()
    with signed_in_client(pool, "agent-1") as client:
        token = form_token(client, f"/desk/tickets/{ticket}")
        refused = client.post(f"/desk/tickets/{ticket}/transfer",
                              data={"csrf_token": token, "department_id": "security", "reason": "try"},
                              headers={"Accept-Language": "en"})
        assert refused.status_code == 409
        assert "This ticket cannot be transferred in its present state." in refused.text
        # an English page shows the back end's particulars under the headline; a Chinese one folds them away
        assert re.search(r'<p class="muted" id="error-detail">cannot transfer a ticket that is cancelled', refused.text)
        zh = client.post(f"/desk/tickets/{ticket}/transfer",
                         data={"csrf_token": token, "department_id": "security", "reason": "try"})
        assert "工单当前的状态不能转派。" in zh.text
        assert re.search(r'<details class="muted" id="error-detail"><summary>详细信息</summary><p lang="en">'
                         r'cannot transfer a ticket that is cancelled', zh.text)


def test_a_transfer_to_a_department_already_working_on_the_ticket_is_refused_in_words(desk):
    pool, ids = desk
    ticket = ids[0]
    with pool.connection() as conn:
        own = conn.execute("SELECT department_id FROM tickets WHERE id = %s", (ticket,)).fetchone()[0]
        helper = "security" if own != "security" else "cleaning"
        add_work_order(conn, ticket, helper, by_user=None, now=datetime.now(UTC))
        conn.commit()
    with signed_in_client(pool, "agent-1") as client:
        path = f"/desk/tickets/{ticket}"
        token = form_token(client, path)
        zh = client.post(f"{path}/transfer", data={"csrf_token": token, "department_id": helper, "reason": "门禁"})
        assert zh.status_code == 422
        assert "所选部门在本工单上已有未完成的派工单：请转派给其他部门，或由该派工单继续处理。" in zh.text
        assert 'id="error-detail"' not in zh.text  # no English particulars left to fold away
        assert f'<option value="{helper}" selected>' in zh.text and ">门禁</textarea>" in zh.text  # as chosen, typed
        en = client.post(f"{path}/transfer", headers={"Accept-Language": "en"},
                         data={"csrf_token": token, "department_id": helper, "reason": "access"})
        assert ("That department already has an open work order on this ticket: transfer it to another department, "
                "or let that work order carry the work.") in en.text
    with pool.connection() as conn:
        assert conn.execute("SELECT department_id FROM tickets WHERE id = %s", (ticket,)).fetchone()[0] == own


def test_the_reply_templates_are_filled_from_the_ticket(desk):
    pool, ids = desk
    ticket = ids[0]
    with pool.connection() as conn:
        respond_due, resolve_due = conn.execute("SELECT respond_due, resolve_due FROM tickets WHERE id = %s",
                                                (ticket,)).fetchone()
        name = conn.execute("SELECT name FROM residents WHERE id = 'r-00001'").fetchone()[0]
    respond_by = respond_due.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
    resolve_by = resolve_due.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
    with signed_in_client(pool, "agent-1") as client:
        zh = client.get(f"/desk/tickets/{ticket}?lang=zh-CN").text
        en = client.get(f"/desk/tickets/{ticket}?lang=en").text
    for text in (zh, en):
        assert f"#{ticket}" in text and respond_by in text and resolve_by in text and name in text
    assert "工单号" in zh and "我们非常抱歉" in zh and "回访" in zh
    assert "we are sorry" in en and "Is the problem solved?" in en
    assert len(re.findall(r"<textarea[^>]*readonly", en)) == 5


def test_fill_templates_without_a_name_or_deadline_and_refuses_another_language():
    replies = fill_templates(ticket_id=7, category="billing", respond_due=None, resolve_due=None,
                             resident_name=None, lang="en")
    assert [r.key for r in replies] == ["acknowledge", "apologise", "progress", "result", "return_visit"]
    assert replies[0].text.startswith("Hello, we have taken your billing request, number #7.")
    assert "as soon as we can" in replies[0].text
    zh = fill_templates(ticket_id=7, category="facility", respond_due=datetime(2026, 12, 1, 1, 30, tzinfo=UTC),
                        resolve_due=None, resident_name="张三", lang="zh-CN")
    assert zh[0].text.startswith("张三您好") and "2026-12-01 09:30" in zh[0].text and "设施维修" in zh[0].text
    with pytest.raises(ValueError, match="not 'fr'"):
        fill_templates(ticket_id=7, category="billing", respond_due=None, resolve_due=None, resident_name=None,
                       lang="fr")


def test_the_plan_and_progress_forms_record_them_and_refuse_empty_text(desk):
    pool, ids = desk
    ticket = ids[0]
    with signed_in_client(pool, "agent-1") as client:
        path = f"/desk/tickets/{ticket}"
        assert client.post(f"{path}/plan", data={"text": "x"}).status_code == 403  # no CSRF token
        token = form_token(client, path)
        empty = client.post(f"{path}/progress", data={"csrf_token": token, "text": "  "},
                            headers={"Accept-Language": "en"})
        assert empty.status_code == 422 and "Please write the plan or the progress report." in empty.text
        planned = client.post(f"{path}/plan", data={"csrf_token": token, "text": "明早九点更换门禁读卡器"})
        assert planned.status_code == 303 and planned.headers["location"] == f"{path}?done=plan"
        reported = client.post(f"{path}/progress", data={"csrf_token": token, "text": "读卡器已到货"})
        assert reported.status_code == 303 and reported.headers["location"] == f"{path}?done=progress"
        assert "明早九点更换门禁读卡器" in client.get(path).text
    with pool.connection() as conn:
        assert conn.execute("SELECT event, actor, note FROM ticket_events WHERE ticket_id = %s AND event IN "
                            "('plan_recorded', 'progress_reported') ORDER BY id", (ticket,)).fetchall() == [
            ("plan_recorded", "agent-1", "明早九点更换门禁读卡器"), ("progress_reported", "agent-1", "读卡器已到货")]
        assert conn.execute("SELECT count(*) FROM notices WHERE ticket_id = %s AND kind = 'progress_report'",
                            (ticket,)).fetchone()[0] == 1
