"""The desk's mediation page (api/web/desk_mediation_pages.py) through the app on a real database: it shows what
`tickets.mediation` holds, starting one pauses the ticket's SLA clock and ending it resumes it with the deadlines
moved, and the back end's refusals (a second open mediation, an end before the start, a future time, an agreed
outcome without the agreement) re-render the form with the message; residents and engineers get 403."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from psycopg_pool import ConnectionPool

from api.auth import Role, create_user, ensure_resident_user
from api.web.desk_forms import input_value
from api.web.staff_format import local_time
from tests.web.clients import form_token, signed_in_client
from tickets.complaints import intake_complaint
from tickets.config import DEFAULT_CONFIG
from tickets.mediation import end_mediation, mediations, start_mediation
from tickets.service import get_ticket
from tickets.transitions import resume_clocks

EN = {"Accept-Language": "en"}


@pytest.fixture
def desk(estate_db_url: str) -> Iterator[tuple[ConnectionPool, int]]:
    """A billing dispute filed three hours ago, and an agent and an engineer."""
    now = datetime.now(UTC).replace(microsecond=0)
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    with pool.connection() as conn:
        create_user(conn, user_id="agent-1", name="Agent Wang", role=Role.AGENT, department_id="customer_service")
        create_user(conn, user_id="eng-1", name="Engineer", role=Role.ENGINEER, department_id="engineering")
        unit = conn.execute("SELECT unit_id FROM residents WHERE id = 'r-00002'").fetchone()[0]
        made = intake_complaint(conn, resident_id="r-00002", unit_id=unit, channel="app",
                                description="物业费分摊有争议，要求居委会调解", lang="zh-CN",
                                reported_at=now - timedelta(hours=3), now=now - timedelta(hours=3))
        conn.commit()
    yield pool, made.ticket_id
    pool.close()


def test_the_page_shows_the_ticket_s_mediations_as_the_back_end_holds_them(desk):
    pool, ticket = desk
    now = datetime.now(UTC)
    with pool.connection() as conn:
        start_mediation(conn, ticket, party="mediator", name="滨江人民调解委员会", now=now,
                        at=now - timedelta(hours=2), by="agent-1")
        end_mediation(conn, ticket, outcome="agreed", agreement="按面积分摊，物业退还多收部分", now=now,
                      at=now - timedelta(hours=1), by="agent-1")
        conn.commit()
    with signed_in_client(pool, "agent-1") as client:
        assert f'href="/desk/tickets/{ticket}/mediation"' in client.get(f"/desk/tickets/{ticket}").text
        page = client.get(f"/desk/tickets/{ticket}/mediation", headers=EN)
    assert page.status_code == 200
    assert "滨江人民调解委员会" in page.text and "Professional mediator" in page.text
    assert "Agreed" in page.text and "按面积分摊，物业退还多收部分" in page.text
    assert "pauses the ticket's SLA clocks while it lasts" in unescape(page.text)
    assert 'id="start-form"' in page.text and 'id="end-form"' not in page.text  # none open: another may start


def test_starting_pauses_the_clock_and_ending_resumes_it_with_the_deadlines_moved(desk):
    pool, ticket = desk
    with pool.connection() as conn:
        before = get_ticket(conn, ticket)
    started = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    path = f"/desk/tickets/{ticket}/mediation"
    with signed_in_client(pool, "agent-1") as client:
        token = form_token(client, path)
        made = client.post(f"{path}/start", data={"csrf_token": token, "party": "residents_committee",
                                                  "name": "滨江社区居委会", "started_at": input_value(started)})
        assert made.status_code == 303 and made.headers["location"] == f"{path}?done=start"
        with pool.connection() as conn:
            paused = get_ticket(conn, ticket)
            [row] = mediations(conn, ticket)
        assert paused.sla_paused_at == started
        assert (row.party_kind, row.party_name, row.started_at, row.ended_at, row.recorded_by) == (
            "residents_committee", "滨江社区居委会", started, None, "agent-1")
        shown = client.get(path, headers=EN)
        assert "The SLA clock is paused since" in shown.text and 'id="end-form"' in shown.text
        assert 'id="start-form"' not in shown.text

        ended = started + timedelta(hours=1)
        done = client.post(f"{path}/end", data={"csrf_token": token, "outcome": "agreed",
                                                "agreement": "双方同意按户分摊", "ended_at": input_value(ended)})
        assert done.status_code == 303 and done.headers["location"] == f"{path}?done=end"
    with pool.connection() as conn:
        after = get_ticket(conn, ticket)
        [row] = mediations(conn, ticket)
    assert after.sla_paused_at is None
    assert (row.ended_at, row.outcome, row.agreement, row.ended_by) == (ended, "agreed", "双方同意按户分摊", "agent-1")
    moved = resume_clocks(paused, ended, DEFAULT_CONFIG)  # the paused hour given back, in working time
    assert (after.respond_due, after.resolve_due) == (moved["respond_due"], moved["resolve_due"])
    assert before.resolve_due is not None and after.resolve_due is not None
    assert after.resolve_due >= before.resolve_due


def test_the_open_mediation_shows_when_it_is_to_be_followed_up_and_whether_that_has_passed(desk):
    pool, _ = desk
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with pool.connection() as conn:
        units = dict(conn.execute("SELECT id, unit_id FROM residents WHERE id IN ('r-00002', 'r-00003')").fetchall())
        old = intake_complaint(conn, resident_id="r-00003", unit_id=units["r-00003"], channel="phone",
                               description="物业费分摊有争议", lang="zh-CN", reported_at=now - timedelta(days=20),
                               now=now - timedelta(days=20)).ticket_id
        recent = intake_complaint(conn, resident_id="r-00002", unit_id=units["r-00002"], channel="phone",
                                  description="停车费收费标准有争议", lang="zh-CN",
                                  reported_at=now - timedelta(hours=1), now=now - timedelta(hours=1)).ticket_id
        conn.commit()
        for ticket, started in ((old, now - timedelta(days=16)), (recent, now - timedelta(minutes=30))):
            start_mediation(conn, ticket, party="committee", name="滨江社区居委会", at=started, now=now)
        conn.commit()
    with signed_in_client(pool, "agent-1") as client:
        overdue = client.get(f"/desk/tickets/{old}/mediation")
        running = client.get(f"/desk/tickets/{recent}/mediation", headers=EN)
    due = local_time(now - timedelta(days=2))  # 16 days ago plus the default 14
    assert f"跟进期限 {due}" in overdue.text and 'id="follow-up" class="overdue"' in overdue.text
    assert f"Follow up by {local_time(now + timedelta(days=14) - timedelta(minutes=30))}" in running.text
    assert 'id="follow-up">' in running.text  # not passed: no overdue mark


def test_the_back_end_s_refusals_re_render_the_form_with_the_message(desk):
    pool, ticket = desk
    path = f"/desk/tickets/{ticket}/mediation"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with signed_in_client(pool, "agent-1") as client:
        token = form_token(client, path)
        future = client.post(f"{path}/start", data={"csrf_token": token, "party": "mediator", "name": "调解员老李",
                                                     "started_at": input_value(now + timedelta(days=1))},
                             headers=EN)
        assert future.status_code == 422 and "is in the future" in future.text
        assert 'value="调解员老李"' in future.text  # the form as typed
        nameless = client.post(f"{path}/start", data={"csrf_token": token, "party": "mediator", "name": " ",
                                                       "started_at": input_value(now)}, headers=EN)
        assert nameless.status_code == 422 and "name the mediating party" in nameless.text
        garbled = client.post(f"{path}/start", data={"csrf_token": token, "party": "mediator", "name": "x",
                                                      "started_at": "yesterday"}, headers=EN)
        assert garbled.status_code == 422 and "Give the time as date and time" in garbled.text
        with pool.connection() as conn:
            assert mediations(conn, ticket) == [] and get_ticket(conn, ticket).sla_paused_at is None

        assert client.post(f"{path}/start", data={"csrf_token": token, "party": "mediator", "name": "调解员老李",
                                                  "started_at": input_value(now - timedelta(hours=1))}
                           ).status_code == 303
        second = client.post(f"{path}/start", data={"csrf_token": token, "party": "street_office", "name": "街道",
                                                     "started_at": input_value(now)}, headers=EN)
        assert second.status_code == 409 and "already has an open mediation" in second.text
        early = client.post(f"{path}/end", data={"csrf_token": token, "outcome": "not_agreed", "agreement": "",
                                                 "ended_at": input_value(now - timedelta(hours=2))}, headers=EN)
        assert early.status_code == 422 and "before the mediation started" in early.text
        unwritten = client.post(f"{path}/end", data={"csrf_token": token, "outcome": "agreed", "agreement": "",
                                                     "ended_at": input_value(now)}, headers=EN)
        assert unwritten.status_code == 422 and "needs the agreement" in unwritten.text
    with pool.connection() as conn:
        [open_one] = mediations(conn, ticket)
        assert open_one.ended_at is None and get_ticket(conn, ticket).sla_paused_at is not None


def test_residents_engineers_and_unknown_tickets(desk):
    pool, ticket = desk
    with pool.connection() as conn:
        resident = ensure_resident_user(conn, "r-00002")
        conn.commit()
    for user in (resident, "eng-1"):
        with signed_in_client(pool, user) as client:
            assert client.get(f"/desk/tickets/{ticket}/mediation").status_code == 403
            token = form_token(client, "/")
            refused = client.post(f"/desk/tickets/{ticket}/mediation/start", data={
                "csrf_token": token, "party": "mediator", "name": "x", "started_at": ""})
            assert refused.status_code == 403
    with pool.connection() as conn:
        assert mediations(conn, ticket) == []
    with signed_in_client(pool, "agent-1") as client:
        assert client.get("/desk/tickets/999999/mediation").status_code == 404
