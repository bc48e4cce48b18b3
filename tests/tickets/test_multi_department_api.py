"""Work across departments over REST, through FastAPI and a real database: `POST /api/v1/tickets/{id}/work-orders`
for agents, department heads and managers (403 for residents and other engineers, 409 for a second live work order
of a department, 404 for an unknown ticket, 422 for an unknown department), and a resolve refused with 409 while a
work order is open."""

from __future__ import annotations

from datetime import datetime

import psycopg

from tickets.flows import handle_alarm
from tickets.workorders import live_work_order_of

from .conftest import NOW, make_alarm
from .test_api import auth, client, tokens  # noqa: F401 - fixtures shared with the tickets API tests

PUMP = "rs-b1-water-high"


def test_bringing_security_in_over_rest(client, tokens, conn: psycopg.Connection):  # noqa: F811
    made = handle_alarm(conn, make_alarm(PUMP, "pump_failure"), now=NOW)
    engineering = live_work_order_of(conn, made.ticket_id)
    conn.commit()
    url = f"/api/v1/tickets/{made.ticket_id}/work-orders"
    body = {"department_id": "security", "reason": "the pump room door was forced"}

    assert client.post(url, headers=auth(tokens["resident"]), json=body).status_code == 403
    not_head = client.post(url, headers=auth(tokens["eng-1"]), json=body)
    assert not_head.status_code == 403 and "department head" in not_head.json()["detail"]
    assert client.post("/api/v1/tickets/999999/work-orders", headers=auth(tokens["agent-1"]),
                       json=body).status_code == 404
    unknown = client.post(url, headers=auth(tokens["agent-1"]), json={"department_id": "plumbing"})
    assert unknown.status_code == 422 and "no department 'plumbing'" in unknown.json()["detail"]

    added = client.post(url, headers=auth(tokens["agent-1"]), json=body)
    assert added.status_code == 201, added.text
    order = added.json()
    assert (order["department_id"], order["status"], order["reason"]) == ("security", "open", body["reason"])
    assert datetime.fromisoformat(order["respond_due"]) < datetime.fromisoformat(order["resolve_due"])
    again = client.post(url, headers=auth(tokens["mgr"]), json=body)
    assert again.status_code == 409 and f"security already has work order {order['id']}" in again.json()["detail"]
    assert client.post(url, headers=auth(tokens["eng-head"]),
                       json={"department_id": "cleaning"}).status_code == 201  # a department head may

    shown = client.get(f"/api/v1/tickets/{made.ticket_id}", headers=auth(tokens["agent-1"])).json()
    assert shown["owner_id"] == "eng-1"  # the first-responsibility owner stays the owner
    assert [(w["id"], w["department_id"]) for w in shown["work_orders"]][:2] == [
        (engineering, "engineering"), (order["id"], "security")]
    assert [w["department_id"] for w in shown["work_orders"]] == ["engineering", "security", "cleaning"]
    assert all(w["respond_due"] and w["resolve_due"] for w in shown["work_orders"])
    assert [e["event"] for e in shown["events"]].count("work_order_added") == 2

    transitions = f"/api/v1/tickets/{made.ticket_id}/transitions"
    assert client.post(transitions, headers=auth(tokens["eng-1"]),
                       json={"event": "acknowledge"}).status_code == 200
    refused = client.post(transitions, headers=auth(tokens["mgr"]),
                          json={"event": "resolve", "override_reason": "pump restarted"})
    assert refused.status_code == 409
    assert "work orders are open: engineering" in refused.json()["detail"]
    assert "security" in refused.json()["detail"] and "cleaning" in refused.json()["detail"]
    assert client.get(f"/api/v1/tickets/{made.ticket_id}",
                      headers=auth(tokens["agent-1"])).json()["state"] == "acknowledged"
