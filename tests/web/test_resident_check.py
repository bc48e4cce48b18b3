"""The resident confirms or disputes a repair on their request page (issue #16 point 9), through the app
(FastAPI's TestClient, no browser) on a real database: the form appears only once the repair is reported done, it
needs its CSRF token, a dispute needs a reason and reopens the ticket with it, a confirmation is recorded, and
another resident cannot answer for someone else's request."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from api.auth import Role, create_user
from tests.web.clients import form_token, resident_client
from tests.web.test_resident_forms import app_pool  # noqa: F401 - `app_pool` is a fixture
from tickets.lifecycle import TicketEvent
from tickets.workorders import act


def _repair_done(conn: psycopg.Connection, ticket_id: int) -> None:
    """The engineer takes the ticket's work order and reports the repair done."""
    row = conn.execute("SELECT id FROM work_orders WHERE ticket_id = %s AND status NOT IN ('done', 'cancelled')",
                       (ticket_id,)).fetchone()
    assert row is not None
    act(conn, row[0], TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=datetime.now(UTC))
    act(conn, row[0], TicketEvent.RESOLVE, user_id="eng-1", now=datetime.now(UTC))
    conn.commit()


def test_the_resident_disputes_then_confirms_a_repair_on_the_request_page(app_pool):  # noqa: F811
    with app_pool.connection() as conn:
        create_user(conn, user_id="eng-1", name="Engineer 1", role=Role.ENGINEER, department_id="engineering")
    with resident_client(app_pool, "r-00001") as client:
        token = form_token(client, "/resident/report")
        made = client.post("/resident/report", data={"csrf_token": token, "kind": "repair",
                                                     "description": "楼道的灯坏了"})
        page = made.headers["location"].split("?")[0]
        complaint_id = int(page.split("/")[-1])
        with app_pool.connection() as conn:
            ticket_id = conn.execute("SELECT ticket_id FROM complaints WHERE id = %s", (complaint_id,)).fetchone()[0]
        assert "修好了吗" not in client.get(page).text  # nothing to check before the repair is done
        early = client.post(f"{page}/confirm", data={"csrf_token": token})
        assert early.status_code == 409 and "此请求已不在等待您确认的状态" in early.text

        with app_pool.connection() as conn:
            _repair_done(conn, ticket_id)
        assert client.get(f"/resident/check/{ticket_id}").headers["location"] == f"{page}#check"
        shown = client.get(page).text
        assert "修好了吗" in shown and f'action="{page}/dispute"' in shown
        assert client.post(f"{page}/dispute", data={"reason": "灯还是不亮"}).status_code == 403  # no CSRF token
        empty = client.post(f"{page}/dispute", data={"csrf_token": token, "reason": "  "})
        assert empty.status_code == 422 and "请说明还有什么问题" in empty.text
        with resident_client(app_pool, "r-00003") as other:  # not their request: the not-found page, nothing changes
            theirs = other.post(f"{page}/dispute", data={"csrf_token": form_token(other, "/resident/report"),
                                                         "reason": "我来捣乱"})
            assert theirs.status_code == 404
        disputed = client.post(f"{page}/dispute", data={"csrf_token": token, "reason": "灯还是不亮"})
        assert disputed.status_code == 303 and disputed.headers["location"] == f"{page}?disputed=1"
        assert "我们已重新打开您的请求" in client.get(disputed.headers["location"]).text
        with app_pool.connection() as conn:
            assert conn.execute("SELECT state, reopen_count FROM tickets WHERE id = %s",
                                (ticket_id,)).fetchone() == ("dispatched", 1)
            assert conn.execute("SELECT note FROM ticket_events WHERE ticket_id = %s AND event = 'reopen'",
                                (ticket_id,)).fetchone() == ("disputed by the resident: 灯还是不亮",)
            _repair_done(conn, ticket_id)
        confirmed = client.post(f"{page}/confirm", data={"csrf_token": token})
        assert confirmed.status_code == 303
        after = client.get(confirmed.headers["location"]).text
        assert "谢谢，您已确认维修结果" in after and f"/resident/visit/{ticket_id}" in after  # the rating still open
        assert "本次维修保修至" in after  # resolved: its warranty runs from now
        with app_pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM ticket_events WHERE ticket_id = %s "
                                "AND event = 'resident_confirmed'", (ticket_id,)).fetchone() == (1,)
