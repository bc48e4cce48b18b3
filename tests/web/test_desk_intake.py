"""The desk's intake page (api/web/desk_intake_pages.py) through the app (TestClient) on a real database: the
registry search, the check before filing (the suggested classification; the open incident it would fold into),
filing (with the agent's correction recorded), a caller not in the registry filed and then linked from the ticket
page, bad input re-rendering the form with a message, and the page closed to residents and engineers. The
journey in Chromium: test_desk_intake_journey.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from psycopg_pool import ConnectionPool

from api.auth import ensure_resident_user
from tests.tickets.conftest import make_alarm
from tests.web.clients import form_token, signed_in_client
from tickets.complaints import intake_complaint
from tickets.flows import handle_alarm
from tickets.requests import file_request

EN = {"Accept-Language": "en"}


def _count(pool: ConnectionPool, sql: str, *args: object) -> int:
    with pool.connection() as conn:
        row = conn.execute(sql, args).fetchone()
        assert row is not None
        return int(row[0])


def _form(token: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": token, "channel": "phone", "kind": "complaint", "resident_id": "", "caller_name": "",
            "caller_phone": "", "unit_id": "", "description": "", "requested_outcome": ""} | fields


def test_the_registry_search_finds_residents_by_unit_room_and_phone(desk):
    with signed_in_client(desk, "agent-1") as client:
        token = form_token(client, "/desk/intake")
        for query in ("rs-b1-0101", "rs-b1 0101", "1号楼 0101", "161-7470-1753"):
            page = client.post("/desk/intake", data=_form(token, step="search", q=query), headers=EN)
            assert page.status_code == 200, query
            found = set(re.findall(r'data-resident="([^"]+)"', page.text))
            assert "r-00001" in found and "李静" in page.text, query
            if query != "1号楼 0101":  # every site has a building 1 (1号楼): their rooms 0101 are listed too
                assert found <= {"r-00001", "r-00002"}, query
            assert "(rs-b2-0101)" not in page.text
        nobody = client.post("/desk/intake", data=_form(token, step="search", q="rs-b9-9999"), headers=EN)
        assert nobody.status_code == 200 and "No resident of the registry matches" in nobody.text
        assert client.get("/desk/intake", params={"q": "17269126563"}).text.count('data-resident="r-00003"') == 1


def test_a_phone_complaint_about_a_trapped_lift_suggests_facility_elevator_major(desk):
    with signed_in_client(desk, "agent-1") as client:
        token = form_token(client, "/desk/intake")
        page = client.post("/desk/intake", data=_form(token, step="check", resident_id="r-00001",
                                                      description="电梯困人", requested_outcome="马上派人"))
    assert page.status_code == 200
    assert 'id="suggested-category" data-value="facility"' in page.text
    assert re.search(r'id="suggested-point" data-value="elevator">电梯故障<', page.text)  # the point by name
    assert 'id="suggested-severity" data-value="major"' in page.text
    assert 'id="file-button"' in page.text and "马上派人" in page.text  # what was typed is kept
    assert 'value="r-00001" checked' in page.text
    assert _count(desk, "SELECT count(*) FROM complaints") == 0  # checking files nothing


def test_a_complaint_matching_an_open_incident_shows_it_and_folds_into_it(desk):
    now = datetime.now(UTC)
    with desk.connection() as conn:
        opened = handle_alarm(conn, make_alarm("rs-b1-elev-a", "entrapment", at=now), now=now)
        conn.commit()
    assert opened.ticket_id is not None
    with signed_in_client(desk, "agent-1") as client:
        token = form_token(client, "/desk/intake")
        fields = _form(token, resident_id="r-00001", description="电梯停了，有人困在里面")
        check = client.post("/desk/intake", data=fields | {"step": "check"}, headers=EN)
        assert check.status_code == 200
        assert f'id="fold" data-ticket="{opened.ticket_id}"' in check.text
        assert f"open incident #{opened.incident_id}" in check.text
        assert f'href="/desk/tickets/{opened.ticket_id}" id="fold-link"' in check.text
        filed = client.post("/desk/intake", data=fields | {"step": "file", "category": "facility",
                                                           "severity": "major"})
        assert filed.status_code == 303
        location = filed.headers["location"]
        assert location.startswith(f"/desk/tickets/{opened.ticket_id}?filed=")
        banner = client.get(location, headers=EN).text
    assert 'id="filed"' in banner and "we already know about this fault" in banner
    assert 'data-clock="back"' in banner and "Expected back by" in banner
    with desk.connection() as conn:
        row = conn.execute("SELECT ticket_id, incident_id, folded, channel, taken_by FROM complaints").fetchone()
    assert row == (opened.ticket_id, opened.incident_id, True, "phone", "agent-1")
    assert _count(desk, "SELECT count(*) FROM tickets") == 1


def test_the_households_open_ticket_on_the_same_fault_point_is_shown_and_joined(desk):
    now = datetime.now(UTC)
    with desk.connection() as conn:
        first = intake_complaint(conn, resident_id="r-00002", unit_id="rs-b1-0101", channel="app",
                                 description="厨房水管漏水", lang="zh-CN", reported_at=now, now=now)
        conn.commit()
    with signed_in_client(desk, "agent-1") as client:
        token = form_token(client, "/desk/intake")
        fields = _form(token, resident_id="r-00001", description="厨房的水管还在漏水", channel="counter")
        check = client.post("/desk/intake", data=fields | {"step": "check"}, headers=EN)
        assert f'id="fold" data-ticket="{first.ticket_id}"' in check.text
        assert "This household already has an open ticket on this fault point" in check.text
        other = client.post("/desk/intake", data=_form(token, step="check", resident_id="r-00003",
                                                       description="厨房的水管还在漏水"))
        assert 'id="fold"' not in other.text  # the neighbours' unit has no such ticket
        filed = client.post("/desk/intake", data=fields | {"step": "file"})
        assert filed.headers["location"].startswith(f"/desk/tickets/{first.ticket_id}?filed=")
    assert _count(desk, "SELECT count(*) FROM complaints WHERE ticket_id = %s", first.ticket_id) == 2


def test_an_enquiry_by_phone_stays_with_the_desk_and_a_repair_after_it_still_reaches_engineering(desk):
    """An enquiry (咨询) taken by phone about the lift is customer service's to answer within 2 hours (handbook 003
    §02), not a repair: the check says so, it does not join the household's open lift repair, and its ticket has no
    work order and the desk's own steps. The household's next lift repair joins that repair, not the enquiry, so it
    still reaches an engineer."""
    now = datetime.now(UTC)
    with desk.connection() as conn:
        repair = file_request(conn, kind="repair", resident_id="r-00002", unit_id="rs-b1-0101",
                              description="电梯按钮坏了", lang="zh-CN", now=now)
        conn.commit()
    with signed_in_client(desk, "agent-1") as client:
        token = form_token(client, "/desk/intake")
        fields = _form(token, kind="enquiry", resident_id="r-00001", description="电梯什么时候做年检？")
        check = client.post("/desk/intake", data=fields | {"step": "check"}, headers=EN)
        assert check.status_code == 200
        assert 'id="suggested-category" data-value="facility"' in check.text
        assert re.search(r'id="suggested-department">客服中心 Customer service<', check.text)
        assert 'id="fold"' not in check.text  # a question of its own, not the household's repair
        filed = client.post("/desk/intake", data=fields | {"step": "file"})
        assert filed.status_code == 303
        enquiry = int(re.search(r"/desk/tickets/(\d+)", filed.headers["location"]).group(1))
        assert enquiry != repair.ticket_id
        page = client.get(filed.headers["location"], headers=EN).text
        assert 'data-clock="answer"' in page and 'id="acknowledge-button"' in page
        again = client.post("/desk/intake", data=_form(token, step="file", kind="repair", resident_id="r-00001",
                                                       description="电梯又坏了，按钮没反应"))
        assert again.headers["location"].startswith(f"/desk/tickets/{repair.ticket_id}?filed=")
    with desk.connection() as conn:
        assert conn.execute("SELECT department_id, owner_id FROM tickets WHERE id = %s", (enquiry,)).fetchone() == \
            ("customer_service", "agent-1")
    assert _count(desk, "SELECT count(*) FROM work_orders WHERE ticket_id = %s", enquiry) == 0
    assert _count(desk, "SELECT count(*) FROM work_orders WHERE ticket_id = %s", repair.ticket_id) == 1
    assert _count(desk, "SELECT count(*) FROM complaints WHERE ticket_id = %s", repair.ticket_id) == 2


def test_the_same_intake_filed_twice_is_one_complaint_and_a_changed_one_is_refused(desk):
    """A double click on "File it", or the browser's back and "File it" again, files once; the same form changed
    after filing is refused with a way on (a fresh key), and files when sent again."""
    with signed_in_client(desk, "agent-1") as client:
        page = client.get("/desk/intake").text
        token, key = form_token(client, "/desk/intake"), re.search(r'name="submission" value="([^"]+)"', page)
        assert key is not None
        fields = _form(token, step="file", resident_id="r-00001", description="楼道的灯坏了", submission=key.group(1))
        first, again = client.post("/desk/intake", data=fields), client.post("/desk/intake", data=fields)
        assert first.status_code == again.status_code == 303
        assert again.headers["location"] == first.headers["location"]
        changed = client.post("/desk/intake", data=fields | {"description": "地下室的灯也坏了"}, headers=EN)
        assert changed.status_code == 409 and "already filed with other details" in changed.text
        fresh = re.search(r'name="submission" value="([^"]+)"', changed.text)
        assert fresh is not None and fresh.group(1) != key.group(1)
        later = client.post("/desk/intake", data=fields | {"description": "地下室的灯也坏了",
                                                           "submission": fresh.group(1)})
        assert later.status_code == 303
    assert _count(desk, "SELECT count(*) FROM complaints") == 2
    assert _count(desk, "SELECT count(*) FROM complaints WHERE description = '楼道的灯坏了'") == 1


def test_a_caller_not_in_the_registry_is_filed_then_linked_from_the_ticket_page(desk):
    with signed_in_client(desk, "agent-1") as client:
        token = form_token(client, "/desk/intake")
        filed = client.post("/desk/intake", data=_form(
            token, step="file", channel="counter", kind="repair", caller_name="张先生", caller_phone="138 0000 1111",
            unit_id="rs-b1-0102", description="楼道里的灯坏了", requested_outcome="今天修好"))
        assert filed.status_code == 303, filed.text
        location = filed.headers["location"]
        ticket = int(re.search(r"/desk/tickets/(\d+)", location).group(1))
        page = client.get(location, headers=EN).text
        assert "Caller not in the registry: 张先生, 138 0000 1111" in page
        assert 'data-clock="resolve"' in page  # an ordinary repair: dealt with by …
        queue = client.get("/desk", headers=EN).text
        row = re.search(rf'<tr data-ticket="{ticket}".*?</tr>', queue, re.S)
        assert row is not None and "caller not in the registry" in row.group(0)
        complaint = int(re.search(r'action="/desk/complaints/(\d+)/link"', page).group(1))
        wrong = client.post(f"/desk/complaints/{complaint}/link",
                            data={"csrf_token": token, "resident_id": "r-00001", "ticket_id": str(ticket)}, headers=EN)
        assert wrong.status_code == 422 and "could not be linked" in wrong.text
        linked = client.post(f"/desk/complaints/{complaint}/link",
                             data={"csrf_token": token, "resident_id": "r-00003", "ticket_id": str(ticket)})
        assert linked.status_code == 303 and linked.headers["location"] == f"/desk/tickets/{ticket}?done=link"
        assert "Caller not in the registry" not in client.get(f"/desk/tickets/{ticket}", headers=EN).text
    with desk.connection() as conn:
        assert conn.execute("SELECT resident_id, caller_name, channel, request_kind, requested_outcome "
                            "FROM complaints WHERE id = %s", (complaint,)).fetchone() == \
            ("r-00003", "张先生", "counter", "repair", "今天修好")
        assert conn.execute("SELECT actor FROM ticket_events WHERE ticket_id = %s AND event = 'caller_linked'",
                            (ticket,)).fetchall() == [("agent-1",)]


def test_the_agents_correction_of_the_suggestion_is_recorded(desk):
    with signed_in_client(desk, "agent-1") as client:
        token = form_token(client, "/desk/intake")
        filed = client.post("/desk/intake", data=_form(token, step="file", resident_id="r-00001",
                                                       description="厨房水管漏水", category="facility",
                                                       severity="major"))
        assert filed.status_code == 303
    ticket = int(re.search(r"/desk/tickets/(\d+)", filed.headers["location"]).group(1))
    with desk.connection() as conn:
        assert conn.execute("SELECT category, severity, owner_id FROM tickets WHERE id = %s",
                            (ticket,)).fetchone()[:2] == ("facility", "major")
        event = conn.execute("SELECT actor, detail FROM ticket_events WHERE ticket_id = %s AND event = "
                             "'reclassified'", (ticket,)).fetchone()
    assert event[0] == "agent-1"
    assert event[1]["before"]["severity"] == "general" and event[1]["after"]["severity"] == "major"
    # The text edited after a check that suggested major: the choice left as shown is no correction.
    with signed_in_client(desk, "agent-1") as client:
        token = form_token(client, "/desk/intake")
        kept = client.post("/desk/intake", data=_form(
            token, step="file", resident_id="r-00003", description="楼道里的灯坏了", category="facility",
            severity="major", suggested_category="facility", suggested_severity="major"))
    other = int(re.search(r"/desk/tickets/(\d+)", kept.headers["location"]).group(1))
    assert _count(desk, "SELECT count(*) FROM ticket_events WHERE ticket_id = %s AND event = 'reclassified'",
                  other) == 0
    assert _count(desk, "SELECT count(*) FROM tickets WHERE id = %s AND severity = 'general'", other) == 1


@pytest.mark.parametrize(("fields", "message"), [
    ({"resident_id": "r-00001", "description": "   "}, "Please say what the problem is."),
    ({"resident_id": "r-99999", "description": "电梯困人"}, "There is no such resident in the registry."),
    ({"caller_name": "王", "caller_phone": "12", "unit_id": "rs-b1-0101", "description": "电梯困人"},
     "The phone number is not valid"),
    ({"caller_name": "王", "caller_phone": "13800001111", "unit_id": "nowhere", "description": "电梯困人"},
     "There is no such unit."),
    ({"description": "电梯困人"}, "Choose the resident, or give the caller&#39;s name and phone."),
    ({"resident_id": "r-00001", "description": "电梯困人", "channel": "telepathy"}, "Choose the channel"),
])
def test_bad_input_shows_the_form_again_with_a_message(desk, fields, message):
    with signed_in_client(desk, "agent-1") as client:
        token = form_token(client, "/desk/intake")
        for step in ("check", "file"):
            page = client.post("/desk/intake", data=_form(token, step=step, **fields), headers=EN)
            assert page.status_code == 422 and message in page.text, (step, page.text[-2000:])
            assert 'id="intake-form"' in page.text
        zh = client.post("/desk/intake", data=_form(token, step="check", **fields))
        assert zh.status_code == 422 and 'role="alert"' in zh.text and 'lang="zh-CN"' in zh.text
    assert _count(desk, "SELECT count(*) FROM complaints") == 0


def test_a_form_without_its_csrf_token_is_shown_again_and_files_nothing(desk):
    with signed_in_client(desk, "agent-1") as client:
        page = client.post("/desk/intake", data=_form("", step="file", resident_id="r-00001",
                                                      description="电梯困人"), headers=EN)
    assert page.status_code == 403 and "This form has expired" in page.text
    assert 'id="intake-form"' in page.text and "电梯困人" in page.text
    assert _count(desk, "SELECT count(*) FROM complaints") == 0


def test_residents_and_engineers_may_not_take_complaints_at_the_desk(desk):
    with desk.connection() as conn:
        resident = ensure_resident_user(conn, "r-00001")
        conn.commit()
    for user in (resident, "eng-1"):
        with signed_in_client(desk, user) as client:
            assert client.get("/desk/intake").status_code == 403
            token = form_token(client, "/")
            refused = client.post("/desk/intake", data=_form(token, step="file", resident_id="r-00001",
                                                             description="电梯困人"))
            assert refused.status_code == 403
            assert client.post("/desk/complaints/1/link", data={"csrf_token": token, "resident_id": "r-00001"}
                               ).status_code == 403
    assert _count(desk, "SELECT count(*) FROM complaints") == 0
