"""Work orders over REST through FastAPI and a real database: my work orders due first, and assignment by the
department head only, to an engineer of the department only, with the planned-maintenance verdict beside them."""

from __future__ import annotations

import psycopg

from api.auth import issue_token
from tickets.flows import handle_alarm

from .conftest import NOW, make_alarm
from .test_api import auth, client, tokens  # noqa: F401 - fixtures shared with the tickets API tests

PUMP = "rs-b1-water-high"  # building 1: eng-1 owns its grid for engineering


def test_my_work_orders_and_assignment_over_rest(client, tokens, conn: psycopg.Connection):  # noqa: F811
    made = handle_alarm(conn, make_alarm(PUMP, "pump_failure"), now=NOW)
    tokens["eng-2"] = issue_token(conn, "eng-2")
    conn.commit()
    mine = client.get("/api/v1/work-orders/mine", headers=auth(tokens["eng-1"]))
    assert mine.status_code == 200
    assert [(w["ticket_id"], w["assignee_id"], w["due_clock"]) for w in mine.json()] == [
        (made.ticket_id, "eng-1", "respond")]
    work_order = mine.json()[0]["id"]
    assert client.get("/api/v1/work-orders/mine", headers=auth(tokens["agent-1"])).status_code == 403

    by_engineer = client.post(f"/api/v1/work-orders/{work_order}/assign", headers=auth(tokens["eng-1"]),
                              json={"engineer_id": "eng-2"})
    assert by_engineer.status_code == 403 and "head of engineering" in by_engineer.json()["detail"]
    to_agent = client.post(f"/api/v1/work-orders/{work_order}/assign", headers=auth(tokens["eng-head"]),
                           json={"engineer_id": "agent-1"})
    assert to_agent.status_code == 422 and "choose one of: eng-1, eng-2, eng-head" in to_agent.json()["detail"]
    done = client.post(f"/api/v1/work-orders/{work_order}/assign", headers=auth(tokens["eng-head"]),
                       json={"engineer_id": "eng-2"})
    assert done.status_code == 200 and done.json()["assignee_id"] == "eng-2"
    assert client.get("/api/v1/work-orders/mine", headers=auth(tokens["eng-1"])).json() == []
    assert client.post("/api/v1/work-orders/999999/assign", headers=auth(tokens["eng-head"]),
                       json={"engineer_id": "eng-2"}).status_code == 404

    verdict = client.post(f"/api/v1/tickets/{made.ticket_id}/verdict", headers=auth(tokens["eng-2"]),
                          json={"verdict": "planned_maintenance", "note": "pump swap was scheduled"})
    assert verdict.status_code == 201 and verdict.json()["verdict"] == "planned_maintenance"
    assert verdict.json()["false_alarm"] is False
    assert client.get(f"/api/v1/tickets/{made.ticket_id}", headers=auth(tokens["eng-head"])).json()["state"] == \
        "cancelled"
