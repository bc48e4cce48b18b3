"""Root causes and improvement actions over REST: a manager records the lift's chain of whys and an action, and reads
it back with its metric before and after (−40 %); bad input is a 422 that names the problem; an illegal status
change is a 409; a department head may use the routes; a resident, agent or engineer gets 403."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
from fastapi.testclient import TestClient

from api.auth import Role, create_user, issue_token
from tests.review.test_actions import LIFT_CHAIN, TEN_THEN_SIX, write_lift_history

from .conftest import bearer

ACTION = {"title": "更换门机皮带", "department_id": "engineering", "owner": "王工", "deadline": "2026-07-31",
          "metric": "complaints", "starts_on": "2026-07-01", "building_id": "rs-b1", "point": "elevator",
          "measures": "全部电梯检查门机皮带；保养合同加入皮带检查"}
ROUTES = (("post", "/api/v1/review/causes", {"point": "elevator", "what": "x"}), ("get", "/api/v1/review/causes", None),
          ("get", "/api/v1/review/causes/1", None), ("post", "/api/v1/review/actions", ACTION),
          ("get", "/api/v1/review/actions", None), ("get", "/api/v1/review/actions/1", None),
          ("patch", "/api/v1/review/actions/1", {"status": "in_progress"}))


def test_a_manager_records_the_chain_and_sees_the_action_move_the_metric(
        client: TestClient, tokens: dict[str, str], conn: psycopg.Connection) -> None:
    write_lift_history(conn, TEN_THEN_SIX)
    manager = bearer(tokens["manager"])
    made = client.post("/api/v1/review/causes", headers=manager,
                       json={"point": "elevator", "building_id": "rs-b1", "what": "电梯故障占投诉30%",
                             "whys": LIFT_CHAIN})
    assert made.status_code == 201, made.text
    cause = client.get(f"/api/v1/review/causes/{made.json()['id']}", headers=manager).json()
    assert cause["whys"] == LIFT_CHAIN and cause["what"] == "电梯故障占投诉30%"

    created = client.post("/api/v1/review/actions", headers=manager, json=ACTION | {"cause_id": cause["id"]})
    assert created.status_code == 201, created.text
    action = created.json()
    assert action["status"] == "planned" and action["events"][0]["event"] == "created"
    assert (action["effect"]["before"], action["effect"]["after"], action["effect"]["change_pct"]) == (10, 6, -40)
    assert action["effect"]["improved"] is True

    moved = client.patch(f"/api/v1/review/actions/{action['id']}", headers=manager,
                         json={"status": "in_progress", "note": "开工"})
    assert moved.status_code == 200 and moved.json()["status"] == "in_progress"
    illegal = client.patch(f"/api/v1/review/actions/{action['id']}", headers=manager, json={"status": "planned"})
    assert illegal.status_code == 409 and "cannot become planned" in illegal.json()["detail"]
    listed = client.get("/api/v1/review/actions?status=in_progress", headers=manager).json()
    assert [a["id"] for a in listed] == [action["id"]]

    review = client.get("/api/v1/review?period=2026-09", headers=manager).json()
    assert review["actions"][0]["effect"]["change_pct"] == -40.0
    # the cause was recorded today: it is in this (local) month's review
    recorded = f"{datetime.fromisoformat(cause['created_at']).astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m}"
    assert client.get(f"/api/v1/review?period={recorded}", headers=manager).json()["causes"][0]["whys"] == LIFT_CHAIN


def test_bad_input_is_a_422_that_says_what_was_wrong(client: TestClient, tokens: dict[str, str]) -> None:
    manager = bearer(tokens["manager"])
    metric = client.post("/api/v1/review/actions", headers=manager, json=ACTION | {"metric": "lift_complaints"})
    assert metric.status_code == 422 and "unknown metric 'lift_complaints'" in metric.json()["detail"]
    deadline = client.post("/api/v1/review/actions", headers=manager, json=ACTION | {"deadline": "31/07/2026"})
    assert deadline.status_code == 422 and deadline.json()["detail"][0]["loc"] == ["body", "deadline"]
    department = client.post("/api/v1/review/actions", headers=manager, json=ACTION | {"department_id": "lifts"})
    assert department.status_code == 422 and "unknown department 'lifts'" in department.json()["detail"]
    ticket = client.post("/api/v1/review/causes", headers=manager, json={"ticket_id": 999999, "what": "x"})
    assert ticket.status_code == 422 and ticket.json()["detail"] == "no ticket 999999"
    both = client.post("/api/v1/review/causes", headers=manager, json={"ticket_id": 1, "point": "water"})
    assert both.status_code == 422 and "exactly one" in both.json()["detail"]
    assert client.get("/api/v1/review/actions/424242", headers=manager).status_code == 404


def test_only_managers_and_department_heads_may(client: TestClient, tokens: dict[str, str],
                                                conn: psycopg.Connection) -> None:
    for role in ("resident", "agent", "engineer"):
        for method, path, body in ROUTES:
            answer = client.request(method, path, headers=bearer(tokens[role]), json=body)
            assert answer.status_code == 403, (role, method, path)
    create_user(conn, user_id="head-eng", name="head", role=Role.ENGINEER, department_id="engineering")
    create_user(conn, user_id="eng-2", name="eng", role=Role.ENGINEER, department_id="engineering",
                supervisor_id="head-eng")
    head = bearer(issue_token(conn, "head-eng"))
    conn.commit()
    assert client.post("/api/v1/review/actions", headers=head, json=ACTION).status_code == 201
    assert client.get("/api/v1/review/actions", headers=head).status_code == 200
