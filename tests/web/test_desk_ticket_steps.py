"""The desk's own lifecycle steps on a ticket the office handles itself (api/web/desk_pages.py): a complaint
without a work order (noise, fees, attitude, parking ...) is accepted and resolved from its desk page, and nowhere
else in the web UI. In real Chromium: an agent accepts the phone complaint "楼下装修噪音太吵" they took, resolves it
with what was done, and the resident rates it. Through the app (TestClient): a facility ticket with an engineering
work order offers no desk steps and refuses them; resolving without saying what was done, a stale page, a step the
state does not allow and the wrong roles are refused, and nothing changes. A resident's enquiry (咨询) or
suggestion (建议) is the desk's to answer whatever it mentions (a gym, a lift): no engineering work order, and the
desk's own steps on it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import psycopg
import pytest
from playwright.sync_api import expect
from psycopg_pool import ConnectionPool

from api.auth import Role, ensure_resident_user
from tests.web.clients import form_token, signed_in_client
from tickets.complaints import intake_complaint
from tickets.lifecycle import TicketEvent
from tickets.portal import Step, timeline
from tickets.requests import Clock, file_request
from tickets.transitions import transition

from .conftest import make_user, screenshot

NOISE_UNIT = "rs-b2-0502"
NOISE = "楼下装修噪音太吵"
EN = {"Accept-Language": "en"}


def _resident_of(conn: psycopg.Connection, unit: str) -> str:
    row = conn.execute("SELECT id FROM residents WHERE unit_id = %s AND active ORDER BY id LIMIT 1",
                       (unit,)).fetchone()
    assert row is not None, f"nobody lives in {unit}"
    return str(row[0])


def _file(conn: psycopg.Connection, *, unit: str, text: str, agent: str, resident: str | None = None) -> int:
    """A phone complaint taken by `agent` (who owns it, as at /desk/intake); returns its ticket."""
    now = datetime.now(UTC)
    made = intake_complaint(conn, resident_id=resident or _resident_of(conn, unit), unit_id=unit, channel="phone",
                            description=text, lang="zh-CN", reported_at=now, now=now, taken_by=agent)
    conn.commit()
    return made.ticket_id


def _ticket(conn: psycopg.Connection, ticket: int) -> tuple[str, int]:
    row = conn.execute("SELECT state, version FROM tickets WHERE id = %s", (ticket,)).fetchone()
    assert row is not None
    return str(row[0]), int(row[1])


def _live_work_orders(conn: psycopg.Connection, ticket: int) -> int:
    row = conn.execute("SELECT count(*) FROM work_orders WHERE ticket_id = %s AND status NOT IN ('done', 'cancelled')",
                       (ticket,)).fetchone()
    assert row is not None
    return int(row[0])


# --- in Chromium ------------------------------------------------------------------------------------------------

def test_an_agent_accepts_and_resolves_a_noise_complaint_and_the_resident_rates_it(web, signed_in_page):
    agent = make_user(web, Role.AGENT)
    with psycopg.connect(web.db_url) as conn:
        resident_id = _resident_of(conn, NOISE_UNIT)
        ticket = _file(conn, unit=NOISE_UNIT, text=NOISE, agent=agent.user_id, resident=resident_id)
        row = conn.execute("SELECT department_id, owner_id, state FROM tickets WHERE id = %s", (ticket,)).fetchone()
        assert row == ("security", agent.user_id, "dispatched")
        assert _live_work_orders(conn, ticket) == 0  # the office handles it itself: nobody else can move it

    page = signed_in_page(agent, lang="zh-CN", width=360)
    page.goto(f"/desk/tickets/{ticket}")
    expect(page.locator("#state")).to_have_text("已派单")
    expect(page.locator("#acknowledge-button")).to_have_text("接单")
    expect(page.locator("#resolve-form")).to_have_count(0)  # resolving follows accepting (tickets/lifecycle.py)
    screenshot(page, "desk-ticket-steps-dispatched")
    page.locator("#acknowledge-button").click()

    page.wait_for_url(f"**/desk/tickets/{ticket}?done=acknowledge")
    expect(page.locator("#state")).to_have_text("已接单")
    expect(page.locator("#acknowledge-button")).to_have_count(0)
    expect(page.locator('#timeline li[data-event="acknowledge"] strong')).to_have_text("已接单")
    expect(page.locator("#resolve-form label[for='resolve-note']")).to_have_text("处理内容")
    page.locator("#resolve-note").fill("已上门提醒楼下住户，装修只在工作日 8:00-12:00、14:00-18:00 进行")
    page.locator("#root_cause").fill("楼下装修未按规定时间施工")
    screenshot(page, "desk-ticket-steps-accepted")
    page.locator("#resolve-button").click()

    page.wait_for_url(f"**/desk/tickets/{ticket}?done=resolve")
    expect(page.locator("#state")).to_have_text("已解决")
    expect(page.locator("#steps")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("已上门提醒楼下住户")
    with psycopg.connect(web.db_url) as conn:
        assert conn.execute("SELECT state, root_cause FROM tickets WHERE id = %s", (ticket,)).fetchone() == \
            ("resolved", "楼下装修未按规定时间施工")
        actors = conn.execute("SELECT event, actor FROM ticket_events WHERE ticket_id = %s AND event IN "
                              "('acknowledge', 'resolve') ORDER BY id", (ticket,)).fetchall()
        assert actors == [("acknowledge", agent.user_id), ("resolve", agent.user_id)]

    resident = signed_in_page(make_user(web, Role.RESIDENT, resident_id=resident_id), lang="zh-CN", width=360)
    resident.goto(f"/resident/visit/{ticket}")
    for field in ("response_speed", "professionalism", "attitude", "overall"):
        resident.locator(f"input[name='{field}'][value='5']").check()
    resident.locator("form.stack button[type='submit']").click()
    resident.wait_for_url(re.compile(r".*/resident/requests/\d+\?rated=1$"))
    with psycopg.connect(web.db_url) as conn:
        assert _ticket(conn, ticket)[0] == "closed"


# --- through the app --------------------------------------------------------------------------------------------

def _noise_ticket(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        return _file(conn, unit=NOISE_UNIT, text=NOISE, agent="agent-1")


def _version(pool: ConnectionPool, ticket: int) -> int:
    """The ticket's version now, as a page loaded now would carry it."""
    with pool.connection() as conn:
        return _ticket(conn, ticket)[1]


def _step(client, ticket: int, event: str, token: str, version: int, **fields: str):
    return client.post(f"/desk/tickets/{ticket}/{event}", headers=EN,
                       data={"csrf_token": token, "seen_version": str(version)} | fields)


def test_a_facility_ticket_with_an_engineering_work_order_offers_no_desk_steps(desk):
    with desk.connection() as conn:
        ticket = _file(conn, unit="rs-b1-0101", text="厨房水管漏水", agent="agent-1")
        assert _live_work_orders(conn, ticket) == 1
        assert conn.execute("SELECT department_id FROM tickets WHERE id = %s", (ticket,)).fetchone() == \
            ("engineering",)
        before = _ticket(conn, ticket)
    with signed_in_client(desk, "agent-1") as client:
        page = client.get(f"/desk/tickets/{ticket}", headers=EN)
        assert page.status_code == 200
        assert 'id="steps"' not in page.text and 'id="acknowledge-button"' not in page.text
        assert 'id="resolve-form"' not in page.text
        assert 'id="transfer-form"' in page.text  # the rest of the page as before
        token = form_token(client, f"/desk/tickets/{ticket}")
        refused = _step(client, ticket, "acknowledge", token, before[1])
        assert refused.status_code == 409
        assert "This ticket&#39;s steps are taken on its work orders." in refused.text
    with desk.connection() as conn:
        assert _ticket(conn, ticket) == before


@pytest.mark.parametrize(("kind", "text", "clocks", "answer"), [
    ("enquiry", "When will the gym in the clubhouse reopen?", [Clock.ANSWER],
     "The gym reopens on Monday at 07:00, once the new floor has set."),
    ("suggestion", "Please put a bench by the lift on the ground floor for older residents", [Clock.RESPOND],
     "Thank you: a bench will be put by the lift in building 1 next week."),
])
def test_a_residents_enquiry_or_suggestion_is_answered_at_the_desk_not_sent_to_engineering(
        desk, kind, text, clocks, answer):
    """The walk-through's enquiry about the gym's opening hours: customer service answers it within its 2-hour
    answer clock (handbook 003 §02); the words ("gym", "lift") make it neither a repair nor an engineer's work
    order, so the desk page offers accepting, waiting, cancelling and resolving it with the answer."""
    unit = "rs-b1-0101"
    with desk.connection() as conn:
        filed = file_request(conn, kind=kind, resident_id=_resident_of(conn, unit), unit_id=unit, description=text,
                             lang="en", now=datetime.now(UTC))
        conn.commit()
        ticket = filed.ticket_id
        assert [t.clock for t in filed.limits] == clocks
        assert conn.execute("SELECT category, department_id, state FROM tickets WHERE id = %s",
                            (ticket,)).fetchone() == ("facility", "customer_service", "dispatched")
        assert _count(conn, "SELECT count(*) FROM work_orders WHERE ticket_id = %s", ticket) == 0
    with signed_in_client(desk, "agent-1") as client:
        path = f"/desk/tickets/{ticket}"
        page = client.get(path, headers=EN)
        assert page.status_code == 200
        assert 'id="acknowledge-button"' in page.text and ">Accept<" in page.text
        assert 'id="cancel"' in page.text
        token = form_token(client, path)
        assert _step(client, ticket, "acknowledge", token, _version(desk, ticket)).status_code == 303
        accepted = client.get(path, headers=EN).text
        assert 'id="resolve-form"' in accepted and 'id="wait-form"' in accepted
        done = _step(client, ticket, "resolve", token, _version(desk, ticket), note=answer)
        assert done.status_code == 303 and done.headers["location"] == f"{path}?done=resolve"
    with desk.connection() as conn:
        row = conn.execute("SELECT state, resolve_met_at <= resolve_due FROM tickets WHERE id = %s",
                           (ticket,)).fetchone()
        assert row == ("resolved", True)  # answered in time, by the desk
        assert conn.execute("SELECT actor, note FROM ticket_events WHERE ticket_id = %s AND event = 'resolve'",
                            (ticket,)).fetchone() == ("agent-1", answer)


def _count(conn: psycopg.Connection, sql: str, *args: object) -> int:
    row = conn.execute(sql, args).fetchone()
    assert row is not None
    return int(row[0])


def test_resolving_without_saying_what_was_done_is_refused(desk):
    ticket = _noise_ticket(desk)
    with signed_in_client(desk, "agent-1") as client:
        path = f"/desk/tickets/{ticket}"
        page = client.get(path, headers=EN)
        assert 'id="acknowledge-button"' in page.text and ">Accept<" in page.text
        token = form_token(client, path)
        version = _version(desk, ticket)
        accepted = _step(client, ticket, "acknowledge", token, version)
        assert accepted.status_code == 303 and accepted.headers["location"] == f"{path}?done=acknowledge"
        shown = client.get(path, headers=EN)
        assert re.search(r'id="state">Accepted<', shown.text) and 'id="resolve-form"' in shown.text
        assert "What was done" in shown.text and "Root cause" in shown.text
        version = _version(desk, ticket)
        empty = _step(client, ticket, "resolve", token, version, note="   ", root_cause="施工时间")
        assert empty.status_code == 422 and "Please write what was done." in empty.text
        assert 'value="施工时间"' in empty.text  # what was typed stays
        in_chinese = client.post(f"{path}/resolve", headers={"Accept-Language": "zh-CN"},
                                 data={"csrf_token": token, "seen_version": str(version), "note": ""})
        assert in_chinese.status_code == 422 and "请填写处理内容。" in in_chinese.text
        with desk.connection() as conn:
            assert _ticket(conn, ticket) == ("acknowledged", version)
        done = _step(client, ticket, "resolve", token, version, note="已提醒装修住户按规定时间施工")
        assert done.status_code == 303 and done.headers["location"] == f"{path}?done=resolve"
    with desk.connection() as conn:
        assert _ticket(conn, ticket)[0] == "resolved"


def _clocks(conn: psycopg.Connection, ticket: int) -> tuple:
    row = conn.execute("SELECT sla_paused_at, resolve_due FROM tickets WHERE id = %s", (ticket,)).fetchone()
    assert row is not None
    return tuple(row)


def test_waiting_for_the_resident_stops_the_clocks_until_the_work_resumes(desk):
    ticket = _noise_ticket(desk)
    with signed_in_client(desk, "agent-1") as client:
        path = f"/desk/tickets/{ticket}"
        token = form_token(client, path)
        version = _version(desk, ticket)
        assert _step(client, ticket, "acknowledge", token, version).status_code == 303
        page = client.get(path, headers=EN)
        assert 'id="wait-form"' in page.text and 'id="resume-form"' not in page.text
        assert "noise · 楼下装修噪音太吵" in page.text and "community/noise" not in page.text.replace(
            'title="community/noise', "")  # the title by the point's name; the stored one only in the tooltip
        with desk.connection() as conn:
            version = _ticket(conn, ticket)[1]
            due_before = _clocks(conn, ticket)[1]
        empty = _step(client, ticket, "wait_resident", token, version, note=" ")
        assert empty.status_code == 422 and "Please say what you are waiting for from the resident." in empty.text
        waiting = _step(client, ticket, "wait_resident", token, version, note="等住户提供楼下住户的门牌号")
        assert waiting.status_code == 303
        page = client.get(path, headers=EN)
        assert re.search(r'id="state">Waiting for the resident<', page.text) and "SLA paused" in page.text
        assert 'id="resume-form"' in page.text and 'id="wait-form"' not in page.text
        assert 'id="resolve-form"' not in page.text  # resuming comes first (tickets/lifecycle.py)
        with desk.connection() as conn:
            paused_at, due = _clocks(conn, ticket)
            assert paused_at is not None and due == due_before
            assert conn.execute("SELECT note FROM ticket_events WHERE ticket_id = %s AND event = 'wait_resident'",
                                (ticket,)).fetchone() == ("等住户提供楼下住户的门牌号",)
            # the resident is told what is needed, and reads it on their request's timeline
            told = conn.execute("SELECT resident_id, body FROM notices WHERE ticket_id = %s AND kind = 'step_waiting'",
                                (ticket,)).fetchall()
            asked = [(r, "等住户提供楼下住户的门牌号" in body) for r, body in told]
            assert asked == [(_resident_of(conn, NOISE_UNIT), True)]
            complaint = conn.execute("SELECT id FROM complaints WHERE ticket_id = %s", (ticket,)).fetchone()[0]
            steps = timeline(conn, ticket, complaint)
            assert [(s.step, s.note) for s in steps if s.note] == [(Step.WAITING_FOR_YOU, "等住户提供楼下住户的门牌号")]
            # the resident answered ten days later: working time passed meanwhile, whenever the test runs (nights,
            # weekends and the longest holiday hold none)
            conn.execute("UPDATE tickets SET sla_paused_at = sla_paused_at - interval '10 days' WHERE id = %s",
                         (ticket,))
            conn.commit()
            version = _ticket(conn, ticket)[1]
        assert _step(client, ticket, "resume", token, version).status_code == 303
    with desk.connection() as conn:
        state, _ = _ticket(conn, ticket)
        paused_at, due = _clocks(conn, ticket)
    assert state == "acknowledged" and paused_at is None
    assert due > due_before  # the resolve limit moved on by the time spent waiting (in working time)


def test_a_ticket_opened_in_error_is_cancelled_with_its_reason_and_leaves_the_queue(desk):
    ticket = _noise_ticket(desk)
    with signed_in_client(desk, "agent-1") as client:
        path = f"/desk/tickets/{ticket}"
        token = form_token(client, path)
        assert f'data-ticket="{ticket}"' in client.get("/desk").text
        version = _version(desk, ticket)
        empty = _step(client, ticket, "cancel", token, version)
        assert empty.status_code == 422 and "Please give the reason for cancelling." in empty.text
        assert re.search(r'<details id="cancel" open>', empty.text)  # the form stays open with its message
        cancelled = _step(client, ticket, "cancel", token, version, note="重复登记：与上一条投诉是同一件事")
        assert cancelled.status_code == 303 and cancelled.headers["location"] == f"{path}?done=cancel"
        page = client.get(path, headers=EN)
        assert re.search(r'id="state">Cancelled<', page.text) and 'id="steps"' not in page.text
        assert f'data-ticket="{ticket}"' not in client.get("/desk").text
    with desk.connection() as conn:
        assert _ticket(conn, ticket)[0] == "cancelled"
        assert conn.execute("SELECT actor, note FROM ticket_events WHERE ticket_id = %s AND event = 'cancel'",
                            (ticket,)).fetchone() == ("agent-1", "重复登记：与上一条投诉是同一件事")


def test_a_stale_page_is_refused_with_the_concurrency_message(desk):
    ticket = _noise_ticket(desk)
    with signed_in_client(desk, "agent-1") as client:
        path = f"/desk/tickets/{ticket}"
        token = form_token(client, path)
        with desk.connection() as conn:
            seen = _ticket(conn, ticket)[1]
            # someone else changes the ticket after the page was read (a transfer keeps it dispatched)
            transition(conn, ticket, TicketEvent.TRANSFER, actor="agent-1", now=datetime.now(UTC),
                       note="转客服中心跟进", department_id="customer_service")
            conn.commit()
            after = _ticket(conn, ticket)
        assert after == ("dispatched", seen + 1)
        stale = _step(client, ticket, "acknowledge", token, seen)
        assert stale.status_code == 409
        assert "This ticket has changed meanwhile. Reload the page and try again." in stale.text
        with desk.connection() as conn:
            assert _ticket(conn, ticket) == after
            # and someone else accepted it meanwhile: the old page's Accept is a concurrent change too
            transition(conn, ticket, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=datetime.now(UTC))
            conn.commit()
            accepted = _ticket(conn, ticket)
        again = _step(client, ticket, "acknowledge", token, after[1])
        assert again.status_code == 409 and "This ticket has changed meanwhile." in again.text
        stale_resolve = _step(client, ticket, "resolve", token, after[1], note="已处理")
        assert stale_resolve.status_code == 409 and "This ticket has changed meanwhile." in stale_resolve.text
        assert "已处理" in stale_resolve.text  # what was typed stays on the re-rendered form
        with desk.connection() as conn:
            assert _ticket(conn, ticket) == accepted


def test_a_step_the_state_does_not_allow_is_refused(desk):
    ticket = _noise_ticket(desk)
    with signed_in_client(desk, "agent-1") as client:
        path = f"/desk/tickets/{ticket}"
        token = form_token(client, path)
        with desk.connection() as conn:
            before = _ticket(conn, ticket)
        early = _step(client, ticket, "resolve", token, before[1], note="已处理")  # not accepted yet
        assert early.status_code == 409 and "This step cannot be taken in the ticket&#39;s present state." in \
            early.text
        with desk.connection() as conn:
            assert _ticket(conn, ticket) == before
        unknown = client.post("/desk/tickets/999999/acknowledge", headers=EN, data={"csrf_token": token})
        assert unknown.status_code == 404 and "There is no such ticket." in unknown.text


def test_only_the_desk_roles_with_a_csrf_token_take_steps(desk):
    ticket = _noise_ticket(desk)
    with desk.connection() as conn:
        resident = ensure_resident_user(conn, _resident_of(conn, NOISE_UNIT))
        conn.commit()
        before = _ticket(conn, ticket)
    with signed_in_client(desk, "agent-1") as client:
        assert client.post(f"/desk/tickets/{ticket}/acknowledge",
                           data={"seen_version": str(before[1])}).status_code == 403  # no CSRF token
    for user in (resident, "eng-1"):
        with signed_in_client(desk, user) as client:
            token = form_token(client, "/")  # the sign-out form in the frame
            assert _step(client, ticket, "acknowledge", token, before[1]).status_code == 403
    with desk.connection() as conn:
        assert _ticket(conn, ticket) == before
