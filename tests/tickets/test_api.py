"""The tickets API through FastAPI and a real database: intake, folding, role checks, transitions and return
visits, and clear 4xx answers for bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.auth import ensure_resident_user, issue_token
from api.deps import AppState
from api.routes.complaints import RATE_LIMIT_PER_HOUR
from tickets.channels import InAppChannel, MemoryChannel
from tickets.desk_intake import preview_intake
from tickets.flows import handle_alarm
from tickets.outbox import dispatch

from .conftest import SHANGHAI, make_alarm

HIGH_ZONE = "rs-b1-water-high"  # serves floors 13–25 of building 1


def deliver(conn) -> int:
    """What the scheduler's outbox job does every second: deliver what is due (gateways are fakes here)."""
    channels = {"in_app": InAppChannel(), "webhook": MemoryChannel(), "email": MemoryChannel(), "mqtt": MemoryChannel()}
    conn.commit()  # dispatch wants an idle connection: it commits each delivery as it goes
    return dispatch(conn, now=datetime.now(UTC), channels=channels)


@pytest.fixture
def client(estate_db_url, staff):
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    try:
        with TestClient(create_app(AppState(pool=pool, broker_check=lambda: True))) as c:
            yield c
    finally:
        pool.close()


@pytest.fixture
def tokens(conn, staff) -> dict[str, str]:
    upstairs, neighbour = conn.execute(
        "SELECT DISTINCT ON (r.unit_id) r.id FROM residents r JOIN units u ON u.id = r.unit_id "
        "WHERE u.building_id = 'rs-b1' AND u.floor = 15 ORDER BY r.unit_id, r.id LIMIT 2").fetchall()
    found = {"resident": upstairs[0], "neighbour": neighbour[0]}
    out = {name: issue_token(conn, ensure_resident_user(conn, rid)) for name, rid in found.items()}
    for user in ("agent-1", "eng-1", "eng-head", "mgr", "fin-1"):
        out[user] = issue_token(conn, user)
    out |= {f"{name}_id": rid for name, rid in found.items()}
    out |= {f"{name}_unit": conn.execute("SELECT unit_id FROM residents WHERE id = %s", (rid,)).fetchone()[0]
            for name, rid in found.items()}
    conn.commit()
    return out


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def complaint(unit: str, text: str, *, resident: str | None = None, channel: str = "app", lang: str = "zh-CN",
              at: datetime | None = None) -> dict:
    body = {"unit_id": unit, "channel": channel, "description": text, "lang": lang,
            "reported_at": (at or datetime.now(UTC)).isoformat()}
    return body | ({"resident_id": resident} if resident else {})


def test_a_resident_files_and_sees_only_their_own_complaints(client, tokens, conn):
    me, other = auth(tokens["resident"]), auth(tokens["neighbour"])
    made = client.post("/api/v1/complaints", headers=me,
                       json=complaint(tokens["resident_unit"], "物业费多收了一个月，账单不对"))
    assert made.status_code == 201, made.text
    assert (made.json()["category"], made.json()["severity"], made.json()["folded"]) == ("billing", "complex", False)
    theirs = client.post("/api/v1/complaints", headers=other,
                         json=complaint(tokens["neighbour_unit"], "Dog barking all night next door", lang="en"))
    assert theirs.json()["category"] == "community"
    mine = client.get("/api/v1/complaints", headers=me).json()
    assert [c["id"] for c in mine] == [made.json()["complaint_id"]]
    assert client.get(f"/api/v1/complaints/{theirs.json()['complaint_id']}", headers=me).status_code == 404
    assert client.get(f"/api/v1/complaints/{made.json()['complaint_id']}", headers=me).status_code == 200
    # Filing for someone else's unit, or as someone else, is refused.
    assert client.post("/api/v1/complaints", headers=me,
                       json=complaint(tokens["neighbour_unit"], "漏水")).status_code == 403
    assert client.post("/api/v1/complaints", headers=me, json=complaint(
        tokens["resident_unit"], "漏水", resident=tokens["neighbour_id"])).status_code == 403
    # Residents get the acknowledgement notice once it is delivered; staff-only lists stay closed to them.
    assert client.get("/api/v1/notices", headers=me).json() == []  # written, not yet delivered: not visible
    assert deliver(conn) > 0
    notices = client.get("/api/v1/notices", headers=me).json()
    assert [n["kind"] for n in notices] == ["received"]
    assert client.get("/api/v1/tickets", headers=me).status_code == 403
    assert client.get("/api/v1/work-orders", headers=me).status_code == 403


def test_the_agent_who_takes_a_complaint_owns_it(client, tokens):
    made = client.post("/api/v1/complaints", headers=auth(tokens["agent-1"]), json=complaint(
        tokens["resident_unit"], "客服态度很差，打电话没人理", resident=tokens["resident_id"], channel="phone"))
    assert made.status_code == 201, made.text
    ticket = client.get(f"/api/v1/tickets/{made.json()['ticket_id']}", headers=auth(tokens["agent-1"])).json()
    assert (ticket["owner_id"], ticket["department_id"], ticket["category"]) == \
        ("agent-1", "customer_service", "service_attitude")
    assert [e["event"] for e in ticket["events"]] == ["created", "dispatch"]


def test_a_complaint_about_a_known_outage_folds_into_its_incident(client, tokens, conn):
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "pump_failure", at=datetime.now(UTC)), now=datetime.now(UTC))
    conn.commit()
    made = client.post("/api/v1/complaints", headers=auth(tokens["resident"]),
                       json=complaint(tokens["resident_unit"], "15楼水压很小，洗澡水都出不来"))
    body = made.json()
    assert made.status_code == 201, made.text
    assert (body["folded"], body["ticket_id"], body["incident_id"], body["anticipated"]) == \
        (True, opened.ticket_id, opened.incident_id, True)
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 1
    deliver(conn)
    kinds = [n["kind"] for n in client.get("/api/v1/notices", headers=auth(tokens["resident"])).json()]
    assert sorted(kinds) == ["status", "warning"]
    status = conn.execute("SELECT body FROM notices WHERE kind = 'status'").fetchone()[0]
    # In the resident's words and language: the state as the pages name it, the estimate as a local date.
    assert f"#{opened.ticket_id}" in status and "状态：已派单" in status and "dispatched" not in status


def test_a_leaking_tap_is_not_folded_into_the_boosters_outage_and_is_not_closed_with_it(client, tokens, conn):
    """What the resident describes must be what the incident explains: a kitchen tap leaking is a repair in the home,
    not the high zone's pump failure; "no water" from the same unit is. Both before and after the detection."""
    early = client.post("/api/v1/complaints", headers=auth(tokens["resident"]), json=complaint(
        tokens["resident_unit"], "厨房水龙头一直在漏水", at=datetime.now(UTC) - timedelta(minutes=5)))
    assert early.status_code == 201, early.text
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "pump_failure", at=datetime.now(UTC)), now=datetime.now(UTC))
    conn.commit()
    tap = client.post("/api/v1/complaints", headers=auth(tokens["resident"]),
                      json=complaint(tokens["resident_unit"], "卫生间水龙头漏水，滴个不停"))
    dry = client.post("/api/v1/complaints", headers=auth(tokens["resident"]),
                      json=complaint(tokens["resident_unit"], "家里没水了，什么时候恢复？"))
    assert (tap.json()["folded"], dry.json()["folded"]) == (False, True)
    assert dry.json()["ticket_id"] == opened.ticket_id
    assert tap.json()["ticket_id"] not in (opened.ticket_id, None)
    linked = dict(conn.execute("SELECT id, incident_id FROM complaints").fetchall())
    assert linked[early.json()["complaint_id"]] is None  # the earlier leak is not merged into the outage either
    states = dict(conn.execute("SELECT id, state FROM tickets").fetchall())
    assert states[early.json()["ticket_id"]] == "dispatched"  # its own ticket, not cancelled as a duplicate


def test_water_through_the_ceiling_from_upstairs_is_not_folded_into_the_boosters_outage(client, tokens, conn):
    """The walk-through's phone call at the desk: rs-b1-1301 (the high zone) reports water seeping through the
    bathroom ceiling while the booster's supply is out. A leak from the flat above is no outage: the desk must not
    tell the caller "we already know", nor the ticket be closed with the pump. "楼上停水了" is the outage."""
    unit = "rs-b1-1301"
    resident = conn.execute("SELECT id FROM residents WHERE unit_id = %s AND active ORDER BY id LIMIT 1",
                            (unit,)).fetchone()[0]
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "supply_outage", at=datetime.now(UTC)), now=datetime.now(UTC))
    conn.commit()
    seeping, dry_text = "卫生间天花板渗水，楼上可能漏水。", "楼上停水了"
    assert preview_intake(conn, unit_id=unit, description=seeping, now=datetime.now(UTC)).fold is None
    fold = preview_intake(conn, unit_id=unit, description=dry_text, now=datetime.now(UTC)).fold
    assert fold is not None and fold.incident_id == opened.incident_id
    agent = auth(tokens["agent-1"])
    leak = client.post("/api/v1/complaints", headers=agent,
                       json=complaint(unit, seeping, resident=resident, channel="phone"))
    dry = client.post("/api/v1/complaints", headers=agent,
                      json=complaint(unit, dry_text, resident=resident, channel="phone"))
    assert leak.status_code == 201, leak.text
    assert (leak.json()["folded"], dry.json()["folded"]) == (False, True)
    assert dry.json()["ticket_id"] == opened.ticket_id
    assert leak.json()["ticket_id"] not in (opened.ticket_id, None)
    linked = dict(conn.execute("SELECT id, incident_id FROM complaints").fetchall())
    assert (linked[leak.json()["complaint_id"]], linked[dry.json()["complaint_id"]]) == (None, opened.incident_id)
    assert conn.execute("SELECT state FROM tickets WHERE id = %s", (leak.json()["ticket_id"],)).fetchone()[0] == \
        "dispatched"  # its own ticket: the ceiling is looked at whenever the pump is fixed


def test_a_complaint_before_detection_is_counted_as_missed(client, tokens, conn):
    made = client.post("/api/v1/complaints", headers=auth(tokens["resident"]), json=complaint(
        tokens["resident_unit"], "No water pressure on floor 15 for an hour", lang="en",
        at=datetime.now(UTC) - timedelta(minutes=20)))
    assert made.json()["folded"] is False
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "pump_failure"), now=datetime.now(UTC))
    conn.commit()
    row = conn.execute("SELECT incident_id, anticipated, lead_seconds, ticket_id, folded FROM complaints "
                       "WHERE id = %s", (made.json()["complaint_id"],)).fetchone()
    assert row[0] == opened.incident_id and row[1] is False and row[2] < -1000
    # Nobody had picked the complaint up yet: it joins the incident's ticket, one work order for one fault.
    assert (row[3], row[4]) == (opened.ticket_id, True)
    assert conn.execute("SELECT state FROM tickets WHERE id = %s", (made.json()["ticket_id"],)).fetchone()[0] == \
        "cancelled"
    live = conn.execute("SELECT count(*) FROM work_orders WHERE status = 'open'").fetchone()[0]
    assert live == 1
    status = client.get(f"/api/v1/complaints/{made.json()['complaint_id']}", headers=auth(tokens["resident"]))
    assert status.json()["ticket_state"] == "dispatched"


def test_a_complaint_hours_before_a_fault_began_is_not_taken_for_a_report_of_it(client, tokens, conn):
    """Weak water at 01:30, over by itself; at 04:00 the tank runs low. The earlier complaint is not about it."""
    now = datetime.now(UTC)
    made = client.post("/api/v1/complaints", headers=auth(tokens["resident"]), json=complaint(
        tokens["resident_unit"], "No water pressure on floor 15", lang="en", at=now - timedelta(hours=3)))
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "tank_low", at=now), now=now)  # began 2 minutes ago
    conn.commit()
    row = conn.execute("SELECT incident_id, ticket_id FROM complaints WHERE id = %s",
                       (made.json()["complaint_id"],)).fetchone()
    assert row == (None, made.json()["ticket_id"]) and row[1] != opened.ticket_id
    assert conn.execute("SELECT state FROM tickets WHERE id = %s", (row[1],)).fetchone()[0] != "cancelled"


def test_engineers_see_only_their_departments_work_orders(client, tokens, conn):
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "pump_failure"), now=datetime.now(UTC))
    other = client.post("/api/v1/complaints", headers=auth(tokens["resident"]),
                        json=complaint(tokens["resident_unit"], "楼道的灯坏了"))
    conn.commit()
    moved = client.post(f"/api/v1/tickets/{other.json()['ticket_id']}/transitions", headers=auth(tokens["mgr"]),
                        json={"event": "transfer", "department_id": "security", "note": "corridor lights: security"})
    assert moved.status_code == 200, moved.text
    seen = client.get("/api/v1/work-orders", headers=auth(tokens["eng-1"])).json()
    assert [w["ticket_id"] for w in seen] == [opened.ticket_id]
    assert seen[0]["evidence"]["evidence"]["summary"]
    everything = client.get("/api/v1/work-orders", headers=auth(tokens["mgr"])).json()
    assert {w["department_id"] for w in everything} == {"engineering", "security"}


def test_transitions_through_the_api_with_telemetry_check_and_return_visit(client, tokens, conn):
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "pump_failure"), now=datetime.now(UTC))
    conn.commit()
    url = f"/api/v1/tickets/{opened.ticket_id}/transitions"
    eng, agent = auth(tokens["eng-1"]), auth(tokens["agent-1"])
    assert client.post(url, headers=eng, json={"event": "acknowledge"}).status_code == 200
    blocked = client.post(url, headers=eng, json={"event": "resolve"})
    assert blocked.status_code == 409 and "still abnormal" in blocked.json()["detail"]
    assert client.post(url, headers=agent, json={"event": "resolve", "override_reason": "x"}).status_code == 403
    done = client.post(url, headers=eng, json={"event": "resolve", "override_reason": "bypass valve opened"})
    assert done.status_code == 200 and done.json()["state"] == "resolved"
    visit = f"/api/v1/tickets/{opened.ticket_id}/return-visit"
    rating = {"response_speed": 4, "professionalism": 3, "attitude": 4, "overall": 2, "comment": "still weak"}
    unhappy = client.post(visit, headers=agent, json=rating)
    assert unhappy.status_code == 201 and unhappy.json()["state"] == "dispatched"
    assert client.post(visit, headers=agent, json=rating).status_code == 422  # not resolved any more


BAD_COMPLAINTS = [
    {"unit_id": "rs-b1-1501", "channel": "fax", "description": "x", "reported_at": "2026-11-24T10:00:00+08:00"},
    {"unit_id": "rs-b1-1501", "channel": "app", "description": "", "reported_at": "2026-11-24T10:00:00+08:00"},
    {"unit_id": "rs-b1-1501", "channel": "app", "description": "x", "reported_at": "yesterday"},
    {"unit_id": "rs-b1-1501", "channel": "app", "description": "x", "reported_at": "2026-11-24T10:00:00"},
    {"unit_id": "rs-b1-1501", "channel": "app", "description": "x", "reported_at": "2026-11-24T10:00:00Z",
     "resident_id": "r-nobody"},
    {"unit_id": "rs-b9-0101", "channel": "app", "description": "x", "reported_at": "2026-11-24T10:00:00Z",
     "resident_id": "r-00001"},
    {"unit_id": "rs-b1-1501", "channel": "app", "description": "x", "reported_at": "2026-11-24T10:00:00Z",
     "lang": "fr", "resident_id": "r-00001"},
]


def test_bad_complaints_get_a_clear_4xx(client, tokens):
    for body in BAD_COMPLAINTS:
        answer = client.post("/api/v1/complaints", headers=auth(tokens["agent-1"]), json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"]
    nothing = client.get("/api/v1/complaints", headers=auth(tokens["agent-1"])).json()
    assert nothing == []


def test_bad_ticket_requests_get_a_clear_4xx(client, tokens):
    agent = auth(tokens["agent-1"])
    assert client.get("/api/v1/tickets/999999", headers=agent).status_code == 404
    assert client.post("/api/v1/tickets/999999/transitions", headers=agent, json={"event": "close"}).status_code == 404
    assert client.post("/api/v1/tickets/1/transitions", headers=agent, json={"event": "fly"}).status_code == 422
    made = client.post("/api/v1/complaints", headers=agent, json=complaint(
        tokens["resident_unit"], "停车位被占了", resident=tokens["resident_id"])).json()
    illegal = client.post(f"/api/v1/tickets/{made['ticket_id']}/transitions", headers=agent, json={"event": "close"})
    assert illegal.status_code == 409 and "cannot close a ticket that is dispatched" in illegal.json()["detail"]
    stale = client.post(f"/api/v1/tickets/{made['ticket_id']}/transitions", headers=agent,
                        json={"event": "acknowledge", "expected_version": 1})
    assert stale.status_code == 409
    fixed = client.patch(f"/api/v1/tickets/{made['ticket_id']}/classification", headers=agent,
                         json={"category": "community", "severity": "major", "note": "blocking a fire lane"})
    assert fixed.status_code == 200 and fixed.json()["severity"] == "major"
    received = datetime.fromisoformat(fixed.json()["created_at"])
    assert datetime.fromisoformat(fixed.json()["respond_due"]) - received == timedelta(minutes=15)
    assert client.patch(f"/api/v1/tickets/{made['ticket_id']}/classification", headers=agent,
                        json={"category": "weather"}).status_code == 422
    assert client.post(f"/api/v1/tickets/{made['ticket_id']}/verdict", headers=auth(tokens["eng-1"]),
                       json={"false_alarm": True}).status_code == 422  # not a device ticket
    assert client.get("/api/v1/tickets").status_code == 401


def test_the_simulators_complaint_body_is_accepted(client, tokens):
    from simulators.residents import EmulatedComplaint  # the contract the emulated residents post

    assert "api_body" in dir(EmulatedComplaint)
    body = {"resident_id": tokens["resident_id"], "unit_id": tokens["resident_unit"], "channel": "wechat",
            "description": "1号楼电梯困人了！快派人来！", "lang": "zh-CN",
            "reported_at": (datetime.now(UTC) - timedelta(hours=1)).astimezone(SHANGHAI).isoformat()}
    made = client.post("/api/v1/complaints", headers=auth(tokens["agent-1"]), json=body)
    assert made.status_code == 201, made.text
    assert (made.json()["category"], made.json()["severity"]) == ("facility", "major")




def test_review_metrics_are_for_managers(client, tokens, conn):
    handle_alarm(conn, make_alarm(HIGH_ZONE, "pump_failure"), now=datetime.now(UTC))
    conn.commit()
    span = {"since": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "until": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
    answer = client.get("/api/v1/metrics/review", headers=auth(tokens["mgr"]), params=span)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["incidents"], answer.json()["proactive_coverage"]) == (1, 1.0)
    assert client.get("/api/v1/metrics/review", headers=auth(tokens["agent-1"]), params=span).status_code == 403
    backwards = {"since": span["until"], "until": span["since"]}
    assert client.get("/api/v1/metrics/review", headers=auth(tokens["mgr"]), params=backwards).status_code == 422


def test_live_notices_stream_only_the_callers_own(client, tokens, conn):
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "pump_failure"), now=datetime.now(UTC))
    conn.commit()
    mine = conn.execute("SELECT id FROM notices WHERE resident_id = %s", (tokens["resident_id"],)).fetchone()[0]
    deliver(conn)
    with client.stream("GET", "/api/v1/notices/stream", headers=auth(tokens["resident"]),
                       params={"after": 0, "max_seconds": 0.5}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    events = [block for block in text.split("\n\n") if block.startswith("id: ")]
    assert len(events) == 1 and events[0].startswith(f"id: {mine}\nevent: notice\ndata: ")
    assert f'"incident_id": {opened.incident_id}' in events[0]
    notice = json.loads(events[0].split("data: ", 1)[1])
    assert notice["texts"]["en"]["title"].startswith("Water supply problem")
    assert "供水" in notice["texts"]["zh-CN"]["title"]
    resumed = client.get("/api/v1/notices/stream", headers=auth(tokens["resident"]) | {"Last-Event-ID": str(mine)},
                         params={"max_seconds": 0.2})
    assert "id: " not in resumed.text
    assert client.get("/api/v1/notices/stream", headers=auth(tokens["resident"]) | {"Last-Event-ID": "x"},
                      params={"max_seconds": 0.2}).status_code == 422
    assert client.get("/api/v1/notices/stream", params={"max_seconds": 0.2}).status_code == 401
    assert client.get("/api/v1/notices/stream", headers=auth("fw_bogus"), params={"max_seconds": 0.2}).status_code \
        == 401


def test_complaint_submission_is_rate_limited_per_resident(client, tokens):
    me = auth(tokens["resident"])
    for _ in range(RATE_LIMIT_PER_HOUR):
        assert client.post("/api/v1/complaints", headers=me,
                           json=complaint(tokens["resident_unit"], "楼上装修噪音太吵了")).status_code == 201
    refused = client.post("/api/v1/complaints", headers=me, json=complaint(tokens["resident_unit"], "还是很吵"))
    assert refused.status_code == 429 and "per hour" in refused.json()["detail"]
    other = client.post("/api/v1/complaints", headers=auth(tokens["neighbour"]),
                        json=complaint(tokens["neighbour_unit"], "楼上装修噪音太吵了"))
    assert other.status_code == 201


@pytest.mark.parametrize("reported_at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59+08:00",
                                         "2000-01-01T00:00:00Z"])
def test_a_reported_at_outside_the_plausible_window_is_a_clear_422(client, tokens, reported_at):
    body = {"resident_id": tokens["resident_id"], "unit_id": tokens["resident_unit"], "channel": "phone",
            "description": "电梯坏了", "reported_at": reported_at}
    answer = client.post("/api/v1/complaints", headers=auth(tokens["agent-1"]), json=body)
    assert answer.status_code == 422 and "reported_at" in answer.text
def test_a_resident_rates_the_ticket_their_complaint_was_folded_into(client, tokens, conn):
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "pump_failure", at=datetime.now(UTC)), now=datetime.now(UTC))
    conn.commit()
    made = client.post("/api/v1/complaints", headers=auth(tokens["resident"]),
                       json=complaint(tokens["resident_unit"], "15楼没水了"))
    assert made.json()["folded"] is True and made.json()["ticket_id"] == opened.ticket_id
    url = f"/api/v1/tickets/{opened.ticket_id}/transitions"
    eng = auth(tokens["eng-1"])
    assert client.post(url, headers=eng, json={"event": "acknowledge"}).status_code == 200
    assert client.post(url, headers=eng, json={"event": "resolve", "override_reason": "pump replaced"}).status_code \
        == 200
    visit = f"/api/v1/tickets/{opened.ticket_id}/return-visit"
    rating = {"response_speed": 5, "professionalism": 5, "attitude": 5, "overall": 5, "comment": "水来了"}
    # The neighbour did not complain about this ticket: it looks missing to them.
    assert client.post(visit, headers=auth(tokens["neighbour"]), json=rating).status_code == 404
    rated = client.post(visit, headers=auth(tokens["resident"]), json=rating)
    assert rated.status_code == 201, rated.text
    assert rated.json()["state"] == "closed"


def test_intake_over_rest_keeps_the_outcome_takes_the_hotline_and_joins_the_households_ticket(client, tokens):
    staff = auth(tokens["agent-1"])
    first = client.post("/api/v1/complaints", headers=auth(tokens["resident"]),
                        json=complaint(tokens["resident_unit"], "楼道的灯坏了") | {"requested_outcome": "今天修好"})
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/complaints", headers=staff, json=complaint(
        tokens["resident_unit"], "楼道的灯还是不亮", resident=tokens["resident_id"], channel="hotline"))
    assert again.status_code == 201, again.text
    assert (again.json()["joined"], again.json()["ticket_id"]) == (True, first.json()["ticket_id"])
    shown = client.get(f"/api/v1/complaints/{first.json()['complaint_id']}", headers=auth(tokens["resident"])).json()
    assert shown["requested_outcome"] == "今天修好"
    ticket = client.get(f"/api/v1/tickets/{first.json()['ticket_id']}", headers=staff).json()
    assert [(c["channel"], c["requested_outcome"]) for c in ticket["complaints"]] == \
        [("app", "今天修好"), ("hotline", None)]
    assert "complaint_joined" in [e["event"] for e in ticket["events"]]
    fax = client.post("/api/v1/complaints", headers=staff, json=complaint(
        tokens["resident_unit"], "灯坏了", resident=tokens["resident_id"], channel="fax"))
    assert fax.status_code == 422 and "hotline" in fax.text
    too_long = client.post("/api/v1/complaints", headers=auth(tokens["resident"]),
                           json=complaint(tokens["resident_unit"], "灯坏了") | {"requested_outcome": "修" * 1001})
    assert too_long.status_code == 422


def test_staff_take_a_caller_not_in_the_registry_and_link_them_later(client, tokens):
    staff = auth(tokens["agent-1"])
    nameless = client.post("/api/v1/complaints", headers=staff,
                           json=complaint(tokens["resident_unit"], "楼道的灯坏了", channel="hotline"))
    assert nameless.status_code == 422 and "caller_name and caller_phone" in nameless.text
    made = client.post("/api/v1/complaints", headers=staff, json=complaint(
        tokens["resident_unit"], "楼道的灯坏了", channel="hotline") | {"caller_name": "王先生",
                                                                         "caller_phone": "13800001111"})
    assert made.status_code == 201, made.text
    complaint_id = made.json()["complaint_id"]
    shown = client.get(f"/api/v1/complaints/{complaint_id}", headers=staff).json()
    assert (shown["resident_id"], shown["caller_name"], shown["caller_phone"]) == (None, "王先生", "13800001111")
    wrong = client.post(f"/api/v1/complaints/{complaint_id}/link", headers=staff,
                        json={"resident_id": tokens["neighbour_id"]})
    assert wrong.status_code == 422 and "does not live in unit" in wrong.text
    assert client.post(f"/api/v1/complaints/{complaint_id}/link", headers=auth(tokens["resident"]),
                       json={"resident_id": tokens["resident_id"]}).status_code == 403
    linked = client.post(f"/api/v1/complaints/{complaint_id}/link", headers=staff,
                         json={"resident_id": tokens["resident_id"]})
    assert linked.status_code == 200, linked.text
    mine = client.get(f"/api/v1/complaints/{complaint_id}", headers=auth(tokens["resident"]))
    assert mine.status_code == 200 and mine.json()["resident_id"] == tokens["resident_id"]
