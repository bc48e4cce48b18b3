"""Group risk and sensitivity (issue #16 point 8), on the demo estate in a real PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.auth import issue_token
from api.deps import AppState
from tickets.complaints import intake_complaint, reclassify
from tickets.config import DEFAULT_CONFIG
from tickets.flows import handle_alarm
from tickets.sensitivity import sensitivity
from tickets.transitions import transition

from .conftest import NOW, make_alarm

PRESSURE = "水压太低，洗澡都没法洗"


def _households(conn: psycopg.Connection, building: str, n: int) -> list[tuple[str, str]]:
    """(resident, unit) for `n` residents of `building`, each of a different unit."""
    rows = conn.execute(
        """SELECT DISTINCT ON (r.unit_id) r.id, r.unit_id FROM residents r JOIN units u ON u.id = r.unit_id
           WHERE u.building_id = %s AND r.active ORDER BY r.unit_id, r.id""", (building,)).fetchall()
    assert len(rows) >= n
    return [(r[0], r[1]) for r in rows[:n]]


def _complain(conn: psycopg.Connection, who: tuple[str, str], text: str, minutes: int) -> int:
    at = NOW + timedelta(minutes=minutes)
    result = intake_complaint(conn, resident_id=who[0], unit_id=who[1], channel="app", description=text,
                              lang="zh-CN", reported_at=at, now=at)
    conn.commit()
    return result.ticket_id


def _flags(conn: psycopg.Connection) -> list[tuple[str, str, int, int]]:
    return conn.execute("SELECT building_id, point, households, ticket_id FROM group_risks ORDER BY id").fetchall()


def _notices(conn: psycopg.Connection, kind: str) -> list[tuple[str, int]]:
    return conn.execute("SELECT user_id, ticket_id FROM notices WHERE kind = %s ORDER BY id", (kind,)).fetchall()


def test_five_households_in_an_hour_raise_one_flag_one_notice_and_a_major_ticket(conn, staff):
    tickets = [_complain(conn, who, PRESSURE, 10 * i) for i, who in enumerate(_households(conn, "rs-b1", 6))]
    flags = _flags(conn)
    assert flags == [("rs-b1", "water", 5, tickets[0])]  # the sixth household raised no second flag
    assert _notices(conn, "group_risk") == [(staff["manager"], tickets[0])]
    # The manager reads it on a phone: the building and the fault point by name, not their codes.
    body = conn.execute("SELECT body FROM notices WHERE kind = 'group_risk'").fetchone()[0]
    building = conn.execute("SELECT name FROM buildings WHERE id = 'rs-b1'").fetchone()[0]
    assert body.startswith(f"{building}｜供水问题 water supply｜") and "rs-b1" not in body
    lead = conn.execute("SELECT severity, group_risk_id, respond_due, created_at FROM tickets WHERE id = %s",
                        (tickets[0],)).fetchone()
    assert lead is not None and lead[0] == "major" and lead[1] is not None
    major = DEFAULT_CONFIG.policy("facility", "major")
    assert lead[2] - lead[3] == major.respond.span  # the clock follows the major tier
    events = [r[0] for r in conn.execute("SELECT event FROM ticket_events WHERE ticket_id = %s", (tickets[0],))]
    assert "group_risk" in events and "reclassified" in events
    linked = {r[0] for r in conn.execute("SELECT id FROM tickets WHERE group_risk_id = %s", (lead[1],))}
    assert linked == set(tickets)


def test_two_concurrent_fifth_households_raise_one_flag(estate_db_url, conn, staff):
    people = _households(conn, "rs-b1", 6)
    for i, who in enumerate(people[:4]):
        _complain(conn, who, PRESSURE, i)
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def worker(who: tuple[str, str]) -> None:
        try:
            with psycopg.connect(estate_db_url) as own:
                own.execute("SELECT 1")
                barrier.wait(timeout=10)
                _complain(own, who, PRESSURE, 10)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(who,)) for who in people[4:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(_flags(conn)) == 1
    assert len(_notices(conn, "group_risk")) == 1


def _close(conn: psycopg.Connection, ticket_id: int, minutes: int) -> None:
    at = NOW + timedelta(minutes=minutes)
    owner = conn.execute("SELECT owner_id FROM tickets WHERE id = %s", (ticket_id,)).fetchone()[0]
    for event in ("acknowledge", "resolve", "close"):
        transition(conn, ticket_id, event, actor=owner, now=at)
    conn.commit()


def test_the_flag_lives_as_long_as_its_lead_ticket_and_a_burst_after_it_is_closed_is_a_new_one(conn, staff):
    people = _households(conn, "rs-b1", 11)
    first = [_complain(conn, who, PRESSURE, 10 * i) for i, who in enumerate(people[:5])]
    [(_, _, _, lead)] = _flags(conn)
    assert lead == first[0]

    # Three days on, the riser is still being fixed: a sixth household joins the flag, far outside its 24 h window.
    late = _complain(conn, people[5], PRESSURE, 3 * 24 * 60)
    assert [f[3] for f in _flags(conn)] == [lead]
    flag = conn.execute("SELECT group_risk_id FROM tickets WHERE id = %s", (lead,)).fetchone()[0]
    assert conn.execute("SELECT group_risk_id FROM tickets WHERE id = %s", (late,)).fetchone()[0] == flag
    assert len(_notices(conn, "group_risk")) == 1  # the manager was told once

    # The lead is closed; the next day five other households complain again: a new flag, and the manager is told.
    _close(conn, lead, 3 * 24 * 60 + 30)
    again = [_complain(conn, who, PRESSURE, 4 * 24 * 60 + 10 * i) for i, who in enumerate(people[6:11])]
    flags = _flags(conn)
    assert [f[3] for f in flags] == [lead, again[0]]
    assert flags[1][2] == 5  # the five new households, none of those the closed flag counted
    assert _notices(conn, "group_risk") == [(staff["manager"], lead), (staff["manager"], again[0])]


def test_four_households_raise_nothing(conn, staff):
    for i, who in enumerate(_households(conn, "rs-b1", 4)):
        _complain(conn, who, PRESSURE, i)
    assert _flags(conn) == []
    assert _notices(conn, "group_risk") == []


def test_five_households_over_two_buildings_raise_nothing(conn, staff):
    people = _households(conn, "rs-b1", 3) + _households(conn, "rs-b2", 2)
    for i, who in enumerate(people):
        _complain(conn, who, PRESSURE, i)
    assert _flags(conn) == []


def test_households_beyond_the_window_are_not_counted(conn, staff):
    for i, who in enumerate(_households(conn, "rs-b1", 5)):
        _complain(conn, who, PRESSURE, i * 60 * 7)  # seven hours apart: 28 h from first to last
    assert _flags(conn) == []


def test_complaints_folded_into_a_detected_incident_do_not_count(conn, staff):
    handle_alarm(conn, make_alarm("rs-b1-water-high", "pump_failure"), now=NOW)
    conn.commit()
    for i, who in enumerate(_households(conn, "rs-b1", 6)):
        _complain(conn, who, PRESSURE, i)
    assert conn.execute("SELECT count(*) FILTER (WHERE folded) FROM complaints").fetchone() == (6,)
    assert _flags(conn) == []
    assert _notices(conn, "group_risk") == []


@pytest.mark.parametrize("text", ["我要找媒体曝光", "I will call a journalist", "再不修我就找記者來曝光",
                                  "我们业主要联名投诉到12345", "My lawyer will sue you"])
def test_threats_flag_the_complaint_sensitive_with_a_shorter_clock_and_one_alert(conn, staff, text):
    ticket = _complain(conn, ("r-00001", "rs-b1-0101"), text, 0)
    row = conn.execute("SELECT sensitive, respond_due, created_at FROM tickets WHERE id = %s", (ticket,)).fetchone()
    assert row is not None and row[0] is True
    assert row[1] - row[2] <= DEFAULT_CONFIG.sensitive_respond
    assert conn.execute("SELECT sensitive FROM complaints WHERE ticket_id = %s", (ticket,)).fetchone() == (True,)
    # agent-1 owns it (grid owner); their supervisor is told, once.
    assert _notices(conn, "sensitive") == [("cs-head", ticket)]
    # ... in words: the complaint's point by name and the resident's words, not the title's category code.
    stored = conn.execute("SELECT title FROM tickets WHERE id = %s", (ticket,)).fetchone()[0]
    told = conn.execute("SELECT title FROM notices WHERE kind = 'sensitive'").fetchone()[0]
    assert told.startswith(f"敏感投诉 #{ticket}：") and text in told and stored not in told


def test_an_ordinary_complaint_is_not_sensitive(conn, staff):
    ticket = _complain(conn, ("r-00001", "rs-b1-0101"), "楼道灯坏了，请尽快修理", 0)
    row = conn.execute("SELECT sensitive, respond_due, created_at FROM tickets WHERE id = %s", (ticket,)).fetchone()
    assert row is not None and row[0] is False
    assert row[1] - row[2] > DEFAULT_CONFIG.sensitive_respond
    assert _notices(conn, "sensitive") == []


def test_a_sensitive_ticket_keeps_its_short_clock_when_staff_reclassify_it(conn, staff):
    ticket = _complain(conn, ("r-00001", "rs-b1-0101"), "物业费乱收，我要请律师起诉你们", 0)
    before = conn.execute("SELECT respond_due FROM tickets WHERE id = %s", (ticket,)).fetchone()
    reclassify(conn, ticket, category="billing", severity="complex", by_user="agent-1", note="billing dispute",
               now=NOW + timedelta(minutes=5))
    after = conn.execute("SELECT severity, respond_due FROM tickets WHERE id = %s", (ticket,)).fetchone()
    assert before is not None and after == ("complex", before[0])


@pytest.mark.parametrize(("text", "rules"), [
    ("我要找媒体曝光", ("media",)), ("我要找媒體曝光", ("media",)), ("I will call a journalist", ("media",)),
    ("請律師起訴你們", ("legal",)), ("we will sue", ("legal",)), ("拉橫幅", ("collective",)),
    ("投诉到12345", ("hotline",)), ("this issue again", ()), ("social pressure in the pipes", ()),
])
def test_sensitivity_rules_read_simplified_traditional_and_english(text, rules):
    assert sensitivity(text).rules == rules


def test_the_tickets_api_shows_the_flag_and_sensitivity(estate_db_url, conn, staff):
    tickets = [_complain(conn, who, PRESSURE + ("，我要找媒体曝光" if i == 0 else ""), i)
               for i, who in enumerate(_households(conn, "rs-b1", 5))]
    token = issue_token(conn, "mgr")
    conn.commit()
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=2, open=True)
    try:
        with TestClient(create_app(AppState(pool=pool, broker_check=lambda: True))) as client:
            lead = client.get(f"/api/v1/tickets/{tickets[0]}", headers={"Authorization": f"Bearer {token}"}).json()
            other = client.get(f"/api/v1/tickets/{tickets[1]}", headers={"Authorization": f"Bearer {token}"}).json()
    finally:
        pool.close()
    assert lead["sensitive"] is True and lead["severity"] == "major"
    assert lead["group_risk"]["households"] == 5 and lead["group_risk"]["point"] == "water"
    assert lead["group_risk_id"] == other["group_risk_id"] == lead["group_risk"]["id"]
    assert lead["complaints"][0]["sensitive"] is True and lead["complaints"][0]["sensitive_matched"] == ["媒体", "曝光"]
    assert other["sensitive"] is False and other["severity"] == "general"
