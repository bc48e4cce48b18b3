"""The 7×24 on-call roster (issue #16 point 7): outside working hours an urgent repair reaches the department's
on-call first line and escalates at breach to its on-call supervisor, on their phone channel; inside working hours
routing is the daytime one; an empty rota falls back to the daytime owner with a warning. Real PostgreSQL; the
SMS/WeChat gateway is the outbox's webhook channel (a recording channel stands in for the gateway's HTTP server)."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.auth import Role, create_user, issue_token
from api.deps import AppState
from tickets.channels import InAppChannel, MemoryChannel
from tickets.complaints import reclassify
from tickets.config import DEFAULT_CONFIG
from tickets.errors import InvalidInput
from tickets.lifecycle import TicketEvent
from tickets.on_call import OtherDepartment, Rung, add_shift, is_working_time, on_duty
from tickets.outbox import dispatch
from tickets.requests import RequestKind, file_request
from tickets.staff_push import set_staff_contact
from tickets.sweeps import sla_sweep
from tickets.transitions import transition

from .conftest import NOW, SHANGHAI

SATURDAY_2AM = datetime(2026, 11, 28, 2, 0, tzinfo=SHANGHAI)  # an ordinary Saturday, no adjusted working day
BURST = "卫生间水管爆漏，到处是水"  # an urgent repair: on site within 30 minutes


@pytest.fixture
def rota(conn: psycopg.Connection, staff: dict[str, str]) -> dict[str, str]:
    """The weekend rota of engineering (Friday 17:30 to Monday 08:30): a night engineer reached by SMS, a
    supervisor by WeChat; the daytime owner eng-1 and the site manager are reachable by SMS too."""
    create_user(conn, user_id="eng-night", name="值班工程师", role=Role.ENGINEER, department_id="engineering",
                supervisor_id="eng-head")
    create_user(conn, user_id="sup-night", name="值班主管", role=Role.SUPERVISOR, department_id="engineering")
    set_staff_contact(conn, "eng-night", channel="sms", phone="13800000001")
    set_staff_contact(conn, "sup-night", channel="wechat", phone="13800000002")
    set_staff_contact(conn, "eng-1", channel="sms", phone="13800000003")
    set_staff_contact(conn, "eng-head", channel="sms", phone="13800000004")
    set_staff_contact(conn, "mgr", channel="sms", phone="13800000005")
    weekend = (datetime(2026, 11, 27, 17, 30, tzinfo=SHANGHAI), datetime(2026, 11, 30, 8, 30, tzinfo=SHANGHAI))
    add_shift(conn, department_id="engineering", user_id="eng-night", starts_at=weekend[0], ends_at=weekend[1])
    add_shift(conn, department_id="engineering", user_id="sup-night", starts_at=weekend[0], ends_at=weekend[1],
              rung=Rung.SUPERVISOR)
    conn.commit()
    return staff | {"on_call": "eng-night", "on_call_supervisor": "sup-night"}


def _resident(conn: psycopg.Connection) -> tuple[str, str]:
    """A resident of building rs-b1 (grid rs-G1, whose engineering owner by day is eng-1)."""
    row = conn.execute("""SELECT r.id, r.unit_id FROM residents r JOIN units u ON u.id = r.unit_id
                          WHERE u.building_id = 'rs-b1' AND r.active ORDER BY r.id LIMIT 1""").fetchone()
    assert row is not None
    return row[0], row[1]


def _repair(conn: psycopg.Connection, at: datetime) -> int:
    resident, unit = _resident(conn)
    receipt = file_request(conn, kind=RequestKind.REPAIR, resident_id=resident, unit_id=unit, description=BURST,
                           lang="zh-CN", now=at)
    conn.commit()
    return receipt.ticket_id


def _owner_and_assignee(conn: psycopg.Connection, ticket_id: int) -> tuple[str, str]:
    row = conn.execute("""SELECT t.owner_id, w.assignee_id FROM tickets t JOIN work_orders w ON w.ticket_id = t.id
                          WHERE t.id = %s""", (ticket_id,)).fetchone()
    assert row is not None
    return row[0], row[1]


def _told(conn: psycopg.Connection, ticket_id: int) -> set[str]:
    """Every staff member who got a notice about the ticket."""
    return {r[0] for r in conn.execute("SELECT user_id FROM notices WHERE ticket_id = %s AND user_id IS NOT NULL",
                                       (ticket_id,))}


def _gateway(conn: psycopg.Connection, at: datetime) -> list[tuple[str | None, str | None, str, str]]:
    """Deliver what is due and return what the SMS/WeChat gateway received: (user, phone, medium, kind)."""
    gateway = MemoryChannel()
    dispatch(conn, now=at, channels={"in_app": InAppChannel(), "webhook": gateway})
    return [(m.user_id, m.address, m.medium, m.kind) for m in gateway.sent]


def _events(conn: psycopg.Connection, ticket_id: int) -> list[tuple[str, dict]]:
    return conn.execute("SELECT event, detail FROM ticket_events WHERE ticket_id = %s ORDER BY id",
                        (ticket_id,)).fetchall()


def _notes(conn: psycopg.Connection, ticket_id: int, event: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT note FROM ticket_events WHERE ticket_id = %s AND event = %s ORDER BY id",
                                       (ticket_id, event))]


def test_saturday_2am_urgent_repair_reaches_the_on_call_engineer_and_escalates_to_the_on_call_supervisor(conn, rota):
    ticket = _repair(conn, SATURDAY_2AM)
    # The on-call engineer owns it and has its work order; by day customer service (agent-1) would own it and the
    # grid's engineer (eng-1) take the work order: neither is paged.
    assert _owner_and_assignee(conn, ticket) == ("eng-night", "eng-night")
    assert _gateway(conn, SATURDAY_2AM) == [("eng-night", "13800000001", "sms", "work_order")]
    assert _told(conn, ticket) == {"eng-night"}
    routed = [d for e, d in _events(conn, ticket) if e == "routed_on_call"]
    assert routed == [{"department": "engineering", "on_call": "eng-night", "daytime_owner": "agent-1"}]
    # ... and the timeline says so in words: the department and the engineer by name, not their ids.
    names = dict(conn.execute("SELECT id, name FROM departments UNION ALL SELECT id, name FROM users").fetchall())
    assert _notes(conn, ticket, "routed_on_call") == [f"{names['engineering']}：{names['eng-night']}"]

    # Nobody on site by 02:30 (the urgent repair's 30 minutes): the on-call supervisor hears of it on WeChat.
    sla_sweep(conn, now=SATURDAY_2AM + timedelta(minutes=31))
    assert _gateway(conn, SATURDAY_2AM + timedelta(minutes=31)) == [
        ("sup-night", "13800000002", "wechat", "sla")]
    breach = [d for e, d in _events(conn, ticket) if e == "sla_breach"]
    assert [(d["recipient"], d["channel"]) for d in breach] == [("sup-night", "wechat")]
    assert conn.execute("""SELECT o.channel, o.address FROM outbox o JOIN notices n ON n.id = o.notice_id
                           WHERE n.ticket_id = %s AND n.user_id = 'sup-night' ORDER BY o.id""",
                        (ticket,)).fetchall() == [("in_app", None), ("webhook", "13800000002")]
    # Half as long again past the deadline: the site manager, on the phone too; never the daytime chain.
    sla_sweep(conn, now=SATURDAY_2AM + timedelta(minutes=46))
    assert _gateway(conn, SATURDAY_2AM + timedelta(minutes=46)) == [("mgr", "13800000005", "sms", "sla")]
    assert _told(conn, ticket) == {"eng-night", "sup-night", "mgr"}  # the 50 % / 80 % reminders went in-app


def test_inside_working_hours_routing_and_escalation_are_the_daytime_ones(conn, rota):
    # A shift that also covers Tuesday morning changes nothing inside working hours.
    add_shift(conn, department_id="engineering", user_id="eng-night", starts_at=NOW - timedelta(hours=1),
              ends_at=NOW + timedelta(hours=2))
    add_shift(conn, department_id="engineering", user_id="sup-night", starts_at=NOW - timedelta(hours=1),
              ends_at=NOW + timedelta(hours=2), rung=Rung.SUPERVISOR)
    conn.commit()
    ticket = _repair(conn, NOW)
    assert _owner_and_assignee(conn, ticket) == ("agent-1", "eng-1")  # the grid's customer service and engineer
    assert "routed_on_call" not in [e for e, _ in _events(conn, ticket)]
    sla_sweep(conn, now=NOW + timedelta(minutes=31))
    assert [d["recipient"] for e, d in _events(conn, ticket) if e == "sla_breach"] == ["cs-head"]
    assert "sup-night" not in _told(conn, ticket) and "eng-night" not in _told(conn, ticket)


def test_nobody_on_call_falls_back_to_the_daytime_owner_with_a_warning(conn, staff):
    ticket = _repair(conn, SATURDAY_2AM)
    assert _owner_and_assignee(conn, ticket) == ("agent-1", "eng-1")
    missing = [d for e, d in _events(conn, ticket) if e == "on_call_missing"]
    assert missing == [{"department": "engineering", "owner": "agent-1"}]
    [note] = _notes(conn, ticket, "on_call_missing")
    department = conn.execute("SELECT name FROM departments WHERE id = 'engineering'").fetchone()[0]
    assert note.startswith(f"{department} 无人值班") and "engineering" not in note
    # Its breach goes up the daytime ladder: the owner's head.
    sla_sweep(conn, now=SATURDAY_2AM + timedelta(minutes=31))
    assert [d["recipient"] for e, d in _events(conn, ticket) if e == "sla_breach"] == ["cs-head"]


def test_an_ordinary_repair_at_night_waits_for_the_daytime_owner(conn, rota):
    resident, unit = _resident(conn)
    receipt = file_request(conn, kind=RequestKind.REPAIR, resident_id=resident, unit_id=unit,
                           description="楼道灯不亮了", lang="zh-CN", now=SATURDAY_2AM)
    conn.commit()
    owner = conn.execute("SELECT owner_id, severity FROM tickets WHERE id = %s", (receipt.ticket_id,)).fetchone()
    assert owner is not None and owner[1] != "major" and owner[0] != "eng-night"


def test_working_time_follows_the_calendar_and_the_hours():
    assert is_working_time(NOW, DEFAULT_CONFIG)  # Tuesday 10:00
    assert not is_working_time(NOW.replace(hour=8, minute=29), DEFAULT_CONFIG)
    assert not is_working_time(NOW.replace(hour=17, minute=30), DEFAULT_CONFIG)
    assert not is_working_time(SATURDAY_2AM.replace(hour=10), DEFAULT_CONFIG)
    assert not is_working_time(datetime(2026, 10, 2, 10, 0, tzinfo=SHANGHAI), DEFAULT_CONFIG)  # National Day
    assert is_working_time(datetime(2026, 9, 20, 10, 0, tzinfo=SHANGHAI), DEFAULT_CONFIG)  # adjusted Sunday


def test_a_later_shift_takes_over_and_a_disabled_user_is_not_on_call(conn, rota):
    add_shift(conn, department_id="engineering", user_id="eng-2", starts_at=SATURDAY_2AM - timedelta(hours=1),
              ends_at=SATURDAY_2AM + timedelta(hours=5))
    assert on_duty(conn, "engineering", SATURDAY_2AM) == "eng-2"
    conn.execute("UPDATE users SET active = false WHERE id = 'eng-2'")
    assert on_duty(conn, "engineering", SATURDAY_2AM) == "eng-night"
    assert on_duty(conn, "engineering", SATURDAY_2AM, Rung.SUPERVISOR) == "sup-night"
    assert on_duty(conn, "security", SATURDAY_2AM) is None


@pytest.mark.parametrize(("change", "message"), [
    ({"department_id": "nowhere"}, "unknown department 'nowhere'"),
    ({"user_id": "nobody"}, "no staff user 'nobody'"),
    ({"ends_at": SATURDAY_2AM - timedelta(hours=1)}, "before it starts"),
    ({"user_id": "agent-1"}, "'agent-1' is staff of customer_service, not of engineering"),
    ({"user_id": "mgr"}, "'mgr' is staff of management, not of engineering"),
])
def test_a_bad_shift_is_refused(conn, staff, change, message):
    shift = {"department_id": "engineering", "user_id": "eng-1", "starts_at": SATURDAY_2AM,
             "ends_at": SATURDAY_2AM + timedelta(hours=8)} | change
    with pytest.raises(InvalidInput, match=message):
        add_shift(conn, **shift)


def test_someone_of_another_department_goes_on_the_rota_only_as_cover(conn, staff):
    """A guard answering for engineering at night is cover, asked for explicitly; then `on_duty` answers them."""
    create_user(conn, user_id="guard-night", name="夜班保安", role=Role.AGENT, department_id="security")
    night = {"department_id": "engineering", "user_id": "guard-night", "starts_at": SATURDAY_2AM - timedelta(hours=1),
             "ends_at": SATURDAY_2AM + timedelta(hours=5)}
    with pytest.raises(OtherDepartment):
        add_shift(conn, **night)
    assert on_duty(conn, "engineering", SATURDAY_2AM) is None
    add_shift(conn, **night, cover=True)
    assert on_duty(conn, "engineering", SATURDAY_2AM) == "guard-night"


def test_the_on_call_supervisor_heads_the_departments_work_orders_in_the_api(estate_db_url, conn, rota):
    """Paged at night, the supervisor opens the API: sees engineering's work orders and hands the urgent one to
    another engineer; a supervisor of another department may not."""
    ticket = _repair(conn, SATURDAY_2AM)
    create_user(conn, user_id="sup-sec", name="保安主管", role=Role.SUPERVISOR, department_id="security")
    tokens = {user: issue_token(conn, user) for user in ("sup-night", "sup-sec")}
    conn.commit()
    work_order = conn.execute("SELECT id FROM work_orders WHERE ticket_id = %s", (ticket,)).fetchone()
    assert work_order is not None
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=2, open=True)
    try:
        with TestClient(create_app(AppState(pool=pool, broker_check=lambda: True))) as client:
            def as_(user: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[user]}"}

            listed = client.get("/api/v1/work-orders", headers=as_("sup-night"))
            assert listed.status_code == 200, listed.text
            assert [w["ticket_id"] for w in listed.json()] == [ticket]
            assert client.get("/api/v1/work-orders", headers=as_("sup-sec")).json() == []  # security's: none
            refused = client.post(f"/api/v1/work-orders/{work_order[0]}/assign", json={"engineer_id": "eng-2"},
                                  headers=as_("sup-sec"))
            assert refused.status_code == 403, refused.text
            moved = client.post(f"/api/v1/work-orders/{work_order[0]}/assign", json={"engineer_id": "eng-2"},
                                headers=as_("sup-night"))
            assert moved.status_code == 200, moved.text
            assert moved.json()["assignee_id"] == "eng-2"
    finally:
        pool.close()


def _light_repair(conn: psycopg.Connection, at: datetime) -> int:
    """A repair that is not urgent as filed: the corridor light."""
    resident, unit = _resident(conn)
    receipt = file_request(conn, kind=RequestKind.REPAIR, resident_id=resident, unit_id=unit,
                           description="楼道灯不亮了", lang="zh-CN", now=at)
    conn.commit()
    return receipt.ticket_id


def test_a_repair_the_desk_makes_urgent_at_night_goes_to_the_on_call_engineer(conn, rota):
    """The caller rings back at 02:10: the light is out because wires are sparking. The agent raises it to major;
    the daytime engineer is asleep, so the work order goes to the night engineer, on their phone, and a breach to
    the night supervisor, as if it had come in urgent."""
    ticket = _light_repair(conn, SATURDAY_2AM)
    assert _owner_and_assignee(conn, ticket)[1] == "eng-1"
    at = SATURDAY_2AM + timedelta(minutes=10)
    reclassify(conn, ticket, category=None, severity="major", by_user="agent-1", note="电线冒火花", now=at)
    conn.commit()
    assert _owner_and_assignee(conn, ticket)[1] == "eng-night"
    assert "eng-night" in _told(conn, ticket)
    [routed] = [d for e, d in _events(conn, ticket) if e == "routed_on_call"]
    assert (routed["on_call"], routed["daytime_assignee"]) == ("eng-night", "eng-1")
    deadline = conn.execute("SELECT respond_due FROM tickets WHERE id = %s", (ticket,)).fetchone()[0]
    sla_sweep(conn, now=max(deadline, at) + timedelta(minutes=1))
    assert [d["recipient"] for e, d in _events(conn, ticket) if e == "sla_breach"] == ["sup-night"]


def test_a_repair_made_urgent_in_working_hours_stays_with_the_daytime_engineer(conn, rota):
    add_shift(conn, department_id="engineering", user_id="eng-night", starts_at=NOW - timedelta(hours=1),
              ends_at=NOW + timedelta(hours=2))
    ticket = _light_repair(conn, NOW)
    reclassify(conn, ticket, category=None, severity="major", by_user="agent-1", note="", now=NOW)
    conn.commit()
    assert _owner_and_assignee(conn, ticket)[1] == "eng-1"
    assert "routed_on_call" not in [e for e, _ in _events(conn, ticket)]


def test_an_urgent_repair_transferred_at_night_goes_to_the_new_departments_on_call(conn, rota):
    """A burst pipe turns out to be the neighbour's flat above, the security team's to open up: at 02:05 the
    ticket moves to security, whose night guard is on call, and the work order is theirs at once."""
    create_user(conn, user_id="guard-night", name="夜班保安", role=Role.AGENT, department_id="security")
    add_shift(conn, department_id="security", user_id="guard-night", starts_at=SATURDAY_2AM - timedelta(hours=1),
              ends_at=SATURDAY_2AM + timedelta(hours=5))
    ticket = _repair(conn, SATURDAY_2AM)
    transition(conn, ticket, TicketEvent.TRANSFER, actor="agent-1", now=SATURDAY_2AM + timedelta(minutes=5),
               department_id="security")
    conn.commit()
    row = conn.execute("SELECT department_id, assignee_id FROM work_orders WHERE ticket_id = %s "
                       "AND status NOT IN ('done', 'cancelled')", (ticket,)).fetchone()
    assert row == ("security", "guard-night")
