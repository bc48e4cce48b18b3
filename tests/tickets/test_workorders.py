"""Engineers' work orders against a real PostgreSQL: my work orders due first, the push when one is opened or
(re)assigned (staff notice through the outbox, forewarn_events NOTIFY), a supervisor's assignment and its refusals,
accept / on site / resolve through the lifecycle, and the three verdicts reaching detector_labels."""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg
import pytest

from detectors.alarm import AlarmState, Severity
from tickets.errors import ClosureBlocked, InvalidInput, NotAllowed
from tickets.flows import Verdict, handle_alarm, pending_labels, record_verdict
from tickets.lifecycle import TicketEvent
from tickets.transitions import transition
from tickets.workorders import (
    act,
    assign,
    department_work_orders,
    get_work_order,
    live_work_order_of,
    my_work_orders,
)

from .conftest import NOW, make_alarm

B1_PUMP = "rs-b1-water-high"  # building 1, grid rs-G1: eng-1 owns it for engineering
B1_LIFT = "rs-b1-elev-a"
B2_LIFT = "rs-b2-elev-a"  # building 2, grid rs-G2: eng-2


def _open(conn: psycopg.Connection, device: str, fault: str, severity: Severity = Severity.CRITICAL,
          minutes: int = 0) -> int:
    result = handle_alarm(conn, make_alarm(device, fault, severity=severity), now=NOW + timedelta(minutes=minutes))
    assert result.ticket_id is not None
    work_order = live_work_order_of(conn, result.ticket_id)
    assert work_order is not None
    conn.commit()
    return work_order


def test_my_work_orders_are_mine_and_due_first(conn: psycopg.Connection, staff: dict[str, str]) -> None:
    slow = _open(conn, B1_LIFT, "levelling_drift", Severity.WARNING)  # general tier: respond within a day
    urgent = _open(conn, B1_PUMP, "pump_failure", minutes=5)  # major: respond at once, opened later
    elsewhere = _open(conn, B2_LIFT, "entrapment")

    mine = my_work_orders(conn, "eng-1")
    assert [w.id for w in mine] == [urgent, slow]
    assert all(w.due is not None for w in mine) and mine[0].due < mine[1].due  # type: ignore[operator]
    assert mine[0].due_clock == "respond" and mine[0].seconds_left(NOW) is not None
    assert [w.id for w in my_work_orders(conn, "eng-2")] == [elsewhere]
    # The department head sees the whole department's queue; an engineer may not.
    assert {w.id for w in department_work_orders(conn, "eng-head")} == {slow, urgent, elsewhere}
    with pytest.raises(NotAllowed):
        department_work_orders(conn, "eng-1")


def test_unassigned_work_order_is_every_department_engineers_and_accepting_takes_it(
        conn: psycopg.Connection, staff: dict[str, str]) -> None:
    wo = _open(conn, B1_PUMP, "pump_failure")
    conn.execute("UPDATE work_orders SET assignee_id = NULL WHERE id = %s", (wo,))
    assert wo in {w.id for w in my_work_orders(conn, "eng-2")}
    act(conn, wo, TicketEvent.ACKNOWLEDGE, user_id="eng-2", now=NOW + timedelta(minutes=3))
    detail = get_work_order(conn, wo)
    assert detail.summary.assignee_id == "eng-2" and detail.summary.status == "acknowledged"
    assert wo not in {w.id for w in my_work_orders(conn, "eng-1")}
    assert [e.event for e in detail.timeline][-2:] == ["assigned", "acknowledge"]


def test_a_new_work_order_is_pushed_to_its_engineer(conn: psycopg.Connection, estate_db_url: str,
                                                    staff: dict[str, str]) -> None:
    conn.execute("UPDATE users SET notify_channel = 'sms', phone = '13800000001' WHERE id = 'eng-1'")
    conn.commit()
    with psycopg.connect(estate_db_url, autocommit=True) as listener:
        listener.execute("LISTEN forewarn_events")
        wo = _open(conn, B1_PUMP, "pump_failure")
        events = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
    assert events == [{"type": "work_order", "id": wo, "user_id": "eng-1", "action": "new"}]
    rows = conn.execute(
        """SELECT n.user_id, n.title, o.channel, o.address FROM notices n JOIN outbox o ON o.notice_id = n.id
           WHERE n.kind = 'work_order' ORDER BY o.channel""").fetchall()
    assert [(r[0], r[2], r[3]) for r in rows] == [("eng-1", "in_app", None), ("eng-1", "webhook", "13800000001")]
    assert f"#{wo}" in rows[0][1]


def test_supervisor_assigns_to_a_named_engineer_of_the_department(
        conn: psycopg.Connection, estate_db_url: str, staff: dict[str, str]) -> None:
    wo = _open(conn, B1_PUMP, "pump_failure")
    with pytest.raises(NotAllowed):  # an engineer is not a supervisor
        assign(conn, wo, engineer_id="eng-2", by_user="eng-1", now=NOW)
    conn.rollback()
    with pytest.raises(InvalidInput, match="eng-1, eng-2, eng-head"):  # not an engineer of engineering
        assign(conn, wo, engineer_id="agent-1", by_user="eng-head", now=NOW)
    conn.rollback()
    with psycopg.connect(estate_db_url, autocommit=True) as listener:
        listener.execute("LISTEN forewarn_events")
        summary = assign(conn, wo, engineer_id="eng-2", by_user="eng-head", now=NOW + timedelta(minutes=1))
        conn.commit()
        events = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
    assert summary.assignee_id == "eng-2"
    assert events == [{"type": "work_order", "id": wo, "user_id": "eng-2", "action": "assigned"}]
    event = conn.execute("SELECT actor, event, detail FROM ticket_events WHERE ticket_id = %s ORDER BY id DESC LIMIT 1",
                         (summary.ticket_id,)).fetchone()
    assert event is not None and event[:2] == ("eng-head", "reassigned")
    assert event[2] == {"work_order_id": wo, "from": "eng-1", "to": "eng-2"}
    pushed = conn.execute("SELECT user_id FROM notices WHERE kind = 'work_order' AND title LIKE '%%assigned to you%%'"
                          ).fetchall()
    assert pushed == [("eng-2",)]
    assert wo in {w.id for w in my_work_orders(conn, "eng-2")}
    assert wo not in {w.id for w in my_work_orders(conn, "eng-1")}


def test_transfer_pushes_to_the_new_department(conn: psycopg.Connection, staff: dict[str, str]) -> None:
    wo = _open(conn, B1_PUMP, "pump_failure")
    ticket = get_work_order(conn, wo).summary.ticket_id
    from api.auth import Role, create_user
    create_user(conn, user_id="sec-eng", name="Security engineer", role=Role.ENGINEER, department_id="security")
    transition(conn, ticket, TicketEvent.TRANSFER, actor="eng-head", now=NOW, department_id="security")
    told = conn.execute("SELECT user_id FROM notices WHERE kind = 'work_order' AND title LIKE '%%moved%%'").fetchall()
    assert told == [("sec-eng",)]


def test_engineer_steps_through_the_lifecycle(conn: psycopg.Connection, staff: dict[str, str]) -> None:
    wo = _open(conn, B1_PUMP, "pump_failure")
    with pytest.raises(NotAllowed, match="Engineer 1"):
        act(conn, wo, TicketEvent.ACKNOWLEDGE, user_id="eng-2", now=NOW)
    act(conn, wo, TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW + timedelta(minutes=2))
    act(conn, wo, TicketEvent.ARRIVE, user_id="eng-1", now=NOW + timedelta(minutes=10))
    with pytest.raises(ClosureBlocked):  # the pump is still abnormal
        act(conn, wo, TicketEvent.RESOLVE, user_id="eng-1", now=NOW + timedelta(minutes=40), note="replaced")
    handle_alarm(conn, make_alarm(B1_PUMP, "pump_failure", AlarmState.CLEARED, at=NOW + timedelta(minutes=45)),
                 now=NOW + timedelta(minutes=45))
    ticket = act(conn, wo, TicketEvent.RESOLVE, user_id="eng-1", now=NOW + timedelta(minutes=50),
                 note="replaced the contactor", root_cause="burnt contactor", detail={"attachments": [7, 8]})
    assert ticket.state == "resolved" and ticket.root_cause == "burnt contactor"
    detail = get_work_order(conn, wo)
    assert detail.summary.status == "done"
    assert detail.timeline[-1].event == "work_order_resolve" and detail.timeline[-1].detail["attachments"] == [7, 8]
    with pytest.raises(InvalidInput):
        act(conn, wo, TicketEvent.ARRIVE, user_id="eng-1", now=NOW + timedelta(minutes=55))


def test_evidence_explains_the_alarm(conn: psycopg.Connection, staff: dict[str, str]) -> None:
    wo = _open(conn, B1_PUMP, "pump_failure")
    explanation = get_work_order(conn, wo).explanation
    assert explanation.summary == "pressure at zero for 90 s"
    assert explanation.metric == "pressure_kpa" and explanation.value == 0.0 and explanation.baseline == 320.0
    assert explanation.since == NOW - timedelta(minutes=2) and explanation.detector == "water_rules"


@pytest.mark.parametrize("verdict, false_alarm, state", [
    (Verdict.FALSE_ALARM, True, "cancelled"),
    (Verdict.PLANNED_MAINTENANCE, False, "cancelled"),
    (Verdict.REAL_FAULT, False, "dispatched"),
])
def test_verdicts_reach_detector_labels(conn: psycopg.Connection, staff: dict[str, str], verdict: Verdict,
                                        false_alarm: bool, state: str) -> None:
    wo = _open(conn, B1_PUMP, "pump_failure")
    ticket = get_work_order(conn, wo).summary.ticket_id
    record_verdict(conn, ticket, verdict=verdict, by_user="eng-1", note="checked", now=NOW + timedelta(minutes=5))
    label = conn.execute("SELECT device_id, fault, verdict, false_alarm, by FROM detector_labels").fetchone()
    assert label == (B1_PUMP, "pump_failure", verdict.value, false_alarm, "eng-1")
    assert [lb.false_alarm for lb in pending_labels(conn, 0)] == [false_alarm]
    assert conn.execute("SELECT state FROM tickets WHERE id = %s", (ticket,)).fetchone() == (state,)
    with pytest.raises(InvalidInput, match="unknown verdict"):
        record_verdict(conn, ticket, verdict="maybe", by_user="eng-1", now=NOW)


def test_the_staff_push_leaves_through_the_gateway_webhook(conn: psycopg.Connection, staff: dict[str, str]) -> None:
    from tickets.channels import WebhookChannel
    from tickets.outbox import dispatch

    from .test_outbox import SECRET, Gateway

    conn.execute("UPDATE users SET notify_channel = 'wechat', phone = '13800000002' WHERE id = 'eng-1'")
    conn.commit()
    wo = _open(conn, B1_PUMP, "pump_failure")
    with Gateway(fail_first=0) as gateway:
        dispatch(conn, now=NOW, channels={"webhook": WebhookChannel(gateway.url, SECRET)})
    staff_messages = [m for m in gateway.accepted if m["user_id"] == "eng-1"]
    assert len(staff_messages) == 1 and gateway.bad_signatures == 0
    message = staff_messages[0]
    assert message["medium"] == "wechat" and message["address"] == "13800000002" and f"#{wo}" in message["title"]
    # The engineer reads it on a phone, away from the pages: the fault and the tier by name, in both languages.
    assert "加压水泵故障 @ " in message["title"] and "Booster pump failure @ " in message["title"]
    assert "pump_failure" not in message["title"]
    tier = conn.execute("SELECT severity FROM work_orders w JOIN tickets t ON t.id = w.ticket_id WHERE w.id = %s",
                        (wo,)).fetchone()[0]
    assert {"major": "重大 Major", "general": "一般 General"}[tier] in message["body"]
