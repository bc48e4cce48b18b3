"""Survey waves over REST, as an integrator sees them (riverside: 3 buildings × 100 = 300 households): a manager opens
a wave and sees it listed with its sample; the report's coverage per building; the desk's worklist of sampled
households; an answer recorded by an agent leaves the worklist and counts in the report; a second answer, an
answer to a closed wave and closing twice are 409s; an out-of-range or missing score is a 422; an unknown wave a
404; residents and engineers get 403 on every route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from api.auth import Role, create_user, issue_token
from tickets.survey_template import ITEM_KEYS

from .conftest import bearer

WAVES = "/api/v1/survey-waves"
OPEN = {"site_id": "riverside", "kind": "routine", "sample": 0.10, "seed": 7, "reason": "2026 Q4"}


def _answer(unit_id: str, score: int = 4, **extra: Any) -> dict[str, Any]:
    return {"unit_id": unit_id, "scores": dict.fromkeys(ITEM_KEYS, score), "overall": 8, "recommend": 9,
            "mode": "phone", "comment": "楼道很干净"} | extra


def _open(client: TestClient, manager: dict[str, str], **body: Any) -> dict[str, Any]:
    made = client.post(WAVES, headers=manager, json=OPEN | body)
    assert made.status_code == 201, made.text
    wave: dict[str, Any] = made.json()
    return wave


def test_a_wave_opened_answered_and_closed(client: TestClient, tokens: dict[str, str]) -> None:
    manager, agent = bearer(tokens["manager"]), bearer(tokens["agent"])
    wave = _open(client, manager)
    assert (wave["site_id"], wave["status"], wave["households"], wave["seed"]) == ("riverside", "open", 300, 7)
    assert wave["plan"] == {"online": 18, "in_person": 9, "phone": 3} and wave["opened_by"] == "mgr-t"

    listed = client.get(WAVES, headers=manager, params={"site_id": "riverside", "status": "open"}).json()
    assert [(w["id"], w["sampled"], w["answered"], w["reason"]) for w in listed] == [(wave["id"], 30, 0, "2026 Q4")]
    assert client.get(WAVES, headers=manager, params={"status": "closed"}).json() == []

    url = f"{WAVES}/{wave['id']}"
    report = client.get(url, headers=manager).json()
    assert report["wave"]["id"] == wave["id"] and report["responses"] == 0
    assert [(c["building"], c["households"], c["responded"]) for c in report["coverage"]] == [
        ("rs-b1", 100, 0), ("rs-b2", 100, 0), ("rs-b3", 100, 0)]
    assert sum(c["sampled"] for c in report["coverage"]) == 30

    todo = client.get(f"{url}/worklist", headers=agent).json()
    assert len(todo) == 30 and {c["planned_mode"] for c in todo} == {"online", "in_person", "phone"}
    first = todo[0]
    assert first["unit_id"] and first["building_id"] and first["resident_id"] and first["name"]

    recorded = client.post(f"{url}/responses", headers=agent,
                           json=_answer(first["unit_id"], resident_id=first["resident_id"]))
    assert recorded.status_code == 201, recorded.text
    assert [c["unit_id"] for c in client.get(f"{url}/worklist", headers=agent).json()] == [
        c["unit_id"] for c in todo[1:]]
    report = client.get(url, headers=manager).json()
    assert report["responses"] == 1 and report["assisted"] == 1 and report["collected"]["phone"] == 1
    assert sum(c["responded"] for c in report["coverage"]) == 1
    assert client.get(WAVES, headers=manager).json()[0]["answered"] == 1

    again = client.post(f"{url}/responses", headers=agent, json=_answer(first["unit_id"]))
    assert again.status_code == 409 and "already answered" in again.json()["detail"]
    outside = client.post(f"{url}/responses", headers=agent, json=_answer("no-such-unit"))
    assert outside.status_code == 409 and "not in the sample" in outside.json()["detail"]
    too_high = client.post(f"{url}/responses", headers=agent, json=_answer(todo[1]["unit_id"], score=6))
    assert too_high.status_code == 422, too_high.text
    missing = _answer(todo[1]["unit_id"])
    del missing["scores"]["cleaning"]
    refused = client.post(f"{url}/responses", headers=agent, json=missing)
    assert refused.status_code == 422 and "missing: cleaning" in refused.json()["detail"]

    closed = client.post(f"{url}/close", headers=manager)
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["closed_at"]
    twice = client.post(f"{url}/close", headers=manager)
    assert twice.status_code == 409 and "already closed" in twice.json()["detail"]
    late = client.post(f"{url}/responses", headers=agent, json=_answer(todo[1]["unit_id"]))
    assert late.status_code == 409 and "closed" in late.json()["detail"]
    assert client.post(f"{url}/invitations", headers=manager).status_code == 409
    assert [w["id"] for w in client.get(WAVES, headers=manager, params={"status": "closed"}).json()] == [wave["id"]]


def test_links_top_ups_and_refusals(client: TestClient, tokens: dict[str, str], conn: psycopg.Connection) -> None:
    manager = bearer(tokens["manager"])
    wave = _open(client, manager)
    url = f"{WAVES}/{wave['id']}"
    sent = client.post(f"{url}/invitations", headers=manager).json()
    assert sent["sent"] >= wave["plan"]["online"] and sent["notices"] == sent["sent"]
    assert client.post(f"{url}/invitations", headers=manager).json()["sent"] == 0  # a rerun sends none
    assert client.post(f"{url}/invitations/renew", headers=manager).json()["renewed"] == 0  # none expired yet
    topped = client.post(f"{url}/top-up", headers=manager, json={"building_id": "rs-b1"})
    assert topped.status_code == 200 and topped.json()["added"] == 10  # rs-b1 has none of its 10 answers yet
    todo = client.get(f"{url}/worklist", headers=manager).json()
    phoned = {c["unit_id"] for c in todo if c["planned_mode"] == "phone"}
    assert set(topped.json()["unit_ids"]) <= phoned and all(u.startswith("rs-b1-") for u in topped.json()["unit_ids"])
    assert client.post(f"{url}/top-up", headers=manager, json={"building_id": "nowhere"}).status_code == 422

    for body, status in (({"kind": "yearly"}, 422), ({"sample": 0.05}, 422), ({"sample": 0}, 422),
                         ({"site_id": "nowhere"}, 404), ({"kind": "special", "incident_id": 999999}, 404)):
        answer = client.post(WAVES, headers=manager, json=OPEN | body)
        assert answer.status_code == status, (body, answer.text)
    at = datetime.now(UTC) - timedelta(days=1)
    incident = conn.execute("""INSERT INTO incidents (device_id, fault, status, severity, since, detected_at,
                                   updated_at, recovered_at)
                               VALUES ('rs-b1-water-high', 'pump_failure', 'recovered', 'critical', %s, %s, %s, %s)
                               RETURNING id""", (at, at, at, at + timedelta(hours=3))).fetchone()[0]  # type: ignore[index]
    conn.commit()
    special = _open(client, manager, kind="special", incident_id=incident)
    assert special["incident_id"] == incident and special["households"] < 300
    second = client.post(WAVES, headers=manager, json=OPEN | {"kind": "special", "incident_id": incident})
    assert second.status_code == 409 and f"wave {special['id']}" in second.json()["detail"]

    for method, path in (("get", ""), ("post", "/close"), ("get", "/worklist"), ("post", "/invitations")):
        assert client.request(method, f"{WAVES}/999999{path}", headers=manager).status_code == 404
    assert client.post(f"{WAVES}/999999/responses", headers=manager, json=_answer("rs-b1-0101")).status_code == 404


def test_who_may_call_which_route(client: TestClient, tokens: dict[str, str], conn: psycopg.Connection) -> None:
    create_user(conn, user_id="sup-t", name="sup-t", role=Role.SUPERVISOR, department_id="customer_service")
    supervisor = bearer(issue_token(conn, "sup-t"))
    conn.commit()
    wave = _open(client, bearer(tokens["manager"]))
    url = f"{WAVES}/{wave['id']}"
    manager_only = [("get", WAVES, None), ("post", WAVES, OPEN), ("get", url, None), ("post", f"{url}/close", None),
                    ("post", f"{url}/top-up", {}), ("post", f"{url}/invitations", None),
                    ("post", f"{url}/invitations/renew", None)]
    desk = [("get", f"{url}/worklist", None), ("post", f"{url}/responses", _answer("rs-b1-0101"))]
    for role in ("resident", "engineer"):
        for method, path, body in manager_only + desk:
            answer = client.request(method, path, headers=bearer(tokens[role]), json=body)
            assert answer.status_code == 403, (role, method, path, answer.text)
    for method, path, body in manager_only:
        assert client.request(method, path, headers=bearer(tokens["agent"]), json=body).status_code == 403, path
    worklist = client.get(f"{url}/worklist", headers=supervisor)
    assert worklist.status_code == 200 and len(worklist.json()) == 30
    answered = client.post(f"{url}/responses", headers=supervisor,
                           json=_answer(worklist.json()[0]["unit_id"], mode="in_person"))
    assert answered.status_code == 201, answered.text
    entered = conn.execute("SELECT entered_by, mode, assisted FROM survey_wave_responses WHERE id = %s",
                           (answered.json()["id"],)).fetchone()
    assert entered == ("sup-t", "in_person", True)
    assert client.get(WAVES).status_code == 401
