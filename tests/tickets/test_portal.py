"""The resident's view: the services reaching my unit (normal, or the fault with what we are doing and when it is
expected back), my notices, my requests with their clocks and a timeline in resident words, the "done" notice that
opens the return visit; and nobody else's."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from detectors.alarm import AlarmState, Severity
from tickets.channels import InAppChannel, MqttPushChannel
from tickets.errors import NotFound
from tickets.flows import handle_alarm
from tickets.lifecycle import TicketEvent
from tickets.outbox import dispatch
from tickets.plans import report_progress
from tickets.portal import (
    Progress,
    Step,
    request_on_ticket,
    resident_notice,
    resident_notices,
    resident_request,
    resident_requests,
    unit_services,
)
from tickets.requests import Clock, RequestKind, file_request, rules
from tickets.transitions import transition
from tickets.visits import Rating, record_return_visit

from .conftest import NOW, SHANGHAI, make_alarm

HIGH_ZONE = "rs-b1-water-high"  # serves floors 13–25 of building 1


def _resident_on(conn, floor: int, nth: int = 0) -> tuple[str, str]:
    """(resident, unit) of the nth resident living on `floor` of building 1."""
    row = conn.execute(
        """SELECT r.id, r.unit_id FROM residents r JOIN units u ON u.id = r.unit_id
           WHERE u.building_id = 'rs-b1' AND u.floor = %s ORDER BY r.id OFFSET %s LIMIT 1""", (floor, nth)).fetchone()
    return row[0], row[1]


def test_my_services_are_the_devices_serving_my_unit_and_show_an_outage_with_progress_and_eta(conn, staff):
    _, high_unit = _resident_on(conn, 15)
    _, low_unit = _resident_on(conn, 3)
    served = {r[0] for r in conn.execute("SELECT device_id FROM device_units WHERE unit_id = %s", (high_unit,))}
    before = unit_services(conn, high_unit)
    assert {s.device_id for s in before} == served
    assert [s.kind for s in before] == sorted((s.kind for s in before),
                                              key=["elevator", "water", "access_door"].index)
    assert all(s.normal for s in before)

    result = handle_alarm(conn, make_alarm(HIGH_ZONE, "supply_outage"), now=NOW)
    conn.commit()
    water = {s.device_id: s for s in unit_services(conn, high_unit)}[HIGH_ZONE]
    due = conn.execute("SELECT resolve_due FROM tickets WHERE id = %s", (result.ticket_id,)).fetchone()[0]
    assert (water.normal, water.fault, water.progress, water.expected_back) == (
        False, "supply_outage", Progress.ASSIGNED, due)
    assert all(s.normal for s in unit_services(conn, low_unit))  # the low zone has water

    transition(conn, result.ticket_id, TicketEvent.ACKNOWLEDGE, actor="eng-1", now=NOW + timedelta(minutes=5))
    assert {s.device_id: s for s in unit_services(conn, high_unit)}[HIGH_ZONE].progress is Progress.ACCEPTED
    transition(conn, result.ticket_id, TicketEvent.ARRIVE, actor="eng-1", now=NOW + timedelta(minutes=12))
    assert {s.device_id: s for s in unit_services(conn, high_unit)}[HIGH_ZONE].progress is Progress.ON_SITE

    handle_alarm(conn, make_alarm(HIGH_ZONE, "supply_outage", AlarmState.CLEARED, at=NOW + timedelta(minutes=30)),
                 now=NOW + timedelta(minutes=30))
    assert all(s.normal for s in unit_services(conn, high_unit))


def _deliver(conn, now: datetime) -> None:
    """What the scheduler's outbox does every second: residents see a notice once it is delivered."""
    dispatch(conn, now=now, channels={"in_app": InAppChannel(), "mqtt": MqttPushChannel(lambda *a, **k: None)},
             unconfigured=["webhook", "email"])


def test_a_fault_residents_do_not_notice_leaves_the_service_normal(conn, staff):
    _, unit = _resident_on(conn, 15)
    handle_alarm(conn, make_alarm("rs-b1-door-lobby", "held_open", severity=Severity.WARNING), now=NOW)
    assert all(s.normal for s in unit_services(conn, unit))


def test_my_notices_newest_first_in_pages_and_nobody_elses(conn, staff):
    me, _ = _resident_on(conn, 15)
    neighbour, _ = _resident_on(conn, 16)
    handle_alarm(conn, make_alarm(HIGH_ZONE, "supply_outage", severity=Severity.WARNING), now=NOW)
    handle_alarm(conn, make_alarm(HIGH_ZONE, "supply_outage", AlarmState.UPDATED), now=NOW + timedelta(minutes=1))
    handle_alarm(conn, make_alarm(HIGH_ZONE, "supply_outage", AlarmState.CLEARED), now=NOW + timedelta(minutes=9))
    assert resident_notices(conn, me).items == []  # written is not delivered: nothing to show yet
    _deliver(conn, NOW + timedelta(minutes=9))
    first = resident_notices(conn, me, limit=2)
    assert [n.kind for n in first.items] == ["restored", "update"]
    assert first.older is not None
    rest = resident_notices(conn, me, before=first.older, limit=2)
    assert ([n.kind for n in rest.items], rest.older) == (["warning"], None)
    assert resident_notice(conn, me, first.items[0].id).title == first.items[0].title
    theirs = resident_notices(conn, neighbour).items[0].id
    with pytest.raises(NotFound):
        resident_notice(conn, me, theirs)


def test_each_kind_of_request_is_told_its_own_clocks_and_the_ticket_runs_on_them(conn, staff):
    me, unit = _resident_on(conn, 3)
    repair = file_request(conn, kind="repair", resident_id=me, unit_id=unit, description="厨房水龙头漏水",
                          lang="zh-CN", now=NOW)
    urgent = file_request(conn, kind="repair", resident_id=me, unit_id=unit, description="卫生间水管爆了，到处是水",
                          lang="zh-CN", now=NOW)
    enquiry = file_request(conn, kind="enquiry", resident_id=me, unit_id=unit,
                           description="When is the lawn being mowed?", lang="en", now=NOW)
    conn.commit()
    assert [(t.clock, t.due) for t in repair.limits] == [(Clock.RESOLVE, NOW + timedelta(hours=24))]
    assert [(t.clock, t.due) for t in urgent.limits] == [(Clock.ON_SITE, NOW + timedelta(minutes=30)),
                                                          (Clock.RESOLVE, NOW + timedelta(hours=24))]
    assert [(t.clock, t.due) for t in enquiry.limits] == [(Clock.ANSWER, NOW + timedelta(hours=2))]
    # What the resident was told is what the ticket's clocks are (the SLA sweep chases these).
    ticket = conn.execute("SELECT respond_due, resolve_due, department_id FROM tickets WHERE id = %s",
                          (urgent.ticket_id,)).fetchone()
    assert ticket == (NOW + timedelta(minutes=30), NOW + timedelta(hours=24), "engineering")
    kinds = {r.complaint_id: r.kind for r in resident_requests(conn, me, "nobody")}
    assert kinds == {repair.complaint_id: "repair", urgent.complaint_id: "repair", enquiry.complaint_id: "enquiry"}


def test_a_complaint_before_national_day_is_due_on_the_adjusted_working_saturday(conn, staff):
    """Filed on the eve of National Day 2026: three working days skip 1–7 October and end on Saturday 10 October,
    an adjusted working day in the State Council's calendar."""
    me, unit = _resident_on(conn, 3)
    eve = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    made = file_request(conn, kind="complaint", resident_id=me, unit_id=unit, description="楼道的灯坏了三天了",
                        lang="zh-CN", now=eve)
    assert [(t.clock, t.due) for t in made.limits] == [
        (Clock.RESPOND, eve + timedelta(hours=24)),
        (Clock.RESOLVE, datetime(2026, 10, 10, 10, 0, tzinfo=SHANGHAI))]


def test_the_form_rules_name_every_kind():
    kinds = {(r.kind, r.urgent, r.clock) for r in rules()}
    assert (RequestKind.REPAIR, True, Clock.ON_SITE) in kinds
    assert (RequestKind.ENQUIRY, False, Clock.ANSWER) in kinds
    assert {r.kind for r in rules()} == set(RequestKind)
    urgent_repair = next(r for r in rules() if r.kind is RequestKind.REPAIR and r.urgent and r.clock is Clock.ON_SITE)
    assert urgent_repair.limit.span == timedelta(minutes=30)


def test_my_request_timeline_in_my_words_then_done_notice_rating_and_closed(conn, staff):
    me, unit = _resident_on(conn, 3)
    made = file_request(conn, kind="repair", resident_id=me, unit_id=unit, description="厨房水龙头漏水",
                        lang="zh-CN", now=NOW)
    user = "u-" + me
    conn.execute("INSERT INTO users (id, name, role, resident_id) VALUES (%s, 'me', 'resident', %s)", (user, me))
    transition(conn, made.ticket_id, TicketEvent.ACKNOWLEDGE, actor="eng-1", now=NOW + timedelta(minutes=20))
    transition(conn, made.ticket_id, TicketEvent.ARRIVE, actor="eng-1", now=NOW + timedelta(minutes=50))
    transition(conn, made.ticket_id, TicketEvent.RESOLVE, actor="eng-1", now=NOW + timedelta(hours=2),
               root_cause="washer replaced")
    detail = resident_request(conn, me, user, made.complaint_id)
    assert [s.step for s in detail.timeline] == [Step.RECEIVED, Step.ASSIGNED, Step.ACCEPTED, Step.ON_SITE,
                                                 Step.DONE]
    assert detail.timeline[1].department_id == "engineering"
    assert (detail.request.can_rate, detail.request.rated) == (True, False)

    _deliver(conn, NOW + timedelta(hours=2))
    done = [n for n in resident_notices(conn, me).items if n.kind == "done"]
    assert len(done) == 1 and done[0].ticket_id == made.ticket_id and done[0].can_rate
    assert request_on_ticket(conn, me, user, made.ticket_id).complaint_id == made.complaint_id

    record_return_visit(conn, made.ticket_id, Rating(5, 4, 5, 5, "quick"), by_user=user, now=NOW + timedelta(hours=5))
    after = resident_request(conn, me, user, made.complaint_id)
    assert (after.request.can_rate, after.request.rated, after.timeline[-1].step) == (False, True, Step.CLOSED)
    assert not [n for n in resident_notices(conn, me).items if n.kind == "done"][0].can_rate


def test_a_report_of_a_known_fault_is_linked_and_told_when_it_is_back(conn, staff):
    me, unit = _resident_on(conn, 15)
    other, other_unit = _resident_on(conn, 17)
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "supply_outage"), now=NOW)
    later = NOW + timedelta(minutes=10)
    theirs = file_request(conn, kind="complaint", resident_id=other, unit_id=other_unit, description="家里没水了",
                          lang="zh-CN", now=later)
    mine = file_request(conn, kind="repair", resident_id=me, unit_id=unit, description="停水了，水龙头一点水都没有",
                        lang="zh-CN", now=later)
    due = conn.execute("SELECT resolve_due FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone()[0]
    assert (mine.folded, mine.ticket_id, [(t.clock, t.due) for t in mine.limits]) == (
        True, opened.ticket_id, [(Clock.BACK, due)])
    steps = [s.step for s in resident_request(conn, me, "x", mine.complaint_id).timeline]
    assert steps[:3] == [Step.DETECTED, Step.ASSIGNED, Step.LINKED]
    assert steps.count(Step.LINKED) == 1  # the neighbour's report is theirs, not a step of mine
    assert theirs.folded


def test_back_to_normal_only_once_every_device_of_the_fault_is(conn, staff):
    """A booster's outage with a basement flood sensor attached to it: the sensor drying out while the water is still
    off is not "back to normal" on the resident's timeline; the booster recovering is."""
    me, unit = _resident_on(conn, 15)
    opened = handle_alarm(conn, make_alarm(HIGH_ZONE, "supply_outage"), now=NOW)
    handle_alarm(conn, make_alarm("rs-b1-leak-basement", "pipe_burst", parent=HIGH_ZONE,
                                  at=NOW + timedelta(minutes=1)), now=NOW + timedelta(minutes=1))
    mine = file_request(conn, kind="repair", resident_id=me, unit_id=unit, description="停水了，一点水都没有",
                        lang="zh-CN", now=NOW + timedelta(minutes=5))
    assert mine.ticket_id == opened.ticket_id
    handle_alarm(conn, make_alarm("rs-b1-leak-basement", "pipe_burst", AlarmState.CLEARED,
                                  at=NOW + timedelta(minutes=8)), now=NOW + timedelta(minutes=8))
    steps = [s.step for s in resident_request(conn, me, "x", mine.complaint_id).timeline]
    assert Step.BACK_TO_NORMAL not in steps
    handle_alarm(conn, make_alarm(HIGH_ZONE, "supply_outage", AlarmState.CLEARED, at=NOW + timedelta(minutes=20)),
                 now=NOW + timedelta(minutes=20))
    steps = [s.step for s in resident_request(conn, me, "x", mine.complaint_id).timeline]
    assert steps.count(Step.BACK_TO_NORMAL) == 1 and steps[-1] is Step.BACK_TO_NORMAL


def test_another_residents_request_or_ticket_is_not_found(conn, staff):
    me, unit = _resident_on(conn, 3)
    other, _ = _resident_on(conn, 4)
    made = file_request(conn, kind="suggestion", resident_id=me, unit_id=unit, description="建议在大堂放把伞架",
                        lang="zh-CN", now=NOW)
    with pytest.raises(NotFound):
        resident_request(conn, other, "x", made.complaint_id)
    with pytest.raises(NotFound):
        request_on_ticket(conn, other, "x", made.ticket_id)
    assert resident_requests(conn, other, "x") == []


def test_my_notices_are_shown_in_the_pages_language_with_the_dates_written_its_way(conn, staff):
    """A resident registered in Chinese who reads the pages in English finds the notices in English too: the warning
    in its English words and the acknowledgement's deadline as an English date. The notice sent stays Chinese, and
    one kept in one language only (written before `notices.texts`) is shown as it was sent."""
    me, unit = _resident_on(conn, 15)
    conn.execute("UPDATE residents SET language = 'zh-CN' WHERE id = %s", (me,))
    handle_alarm(conn, make_alarm(HIGH_ZONE, "supply_outage"), now=NOW)
    file_request(conn, kind="repair", resident_id=me, unit_id=unit, description="厨房水龙头漏水", lang="zh-CN",
                 now=NOW)
    _deliver(conn, NOW + timedelta(minutes=1))

    sent = {n.kind: n for n in resident_notices(conn, me).items}
    assert set(sent) >= {"warning", "received"}
    assert "供水" in sent["warning"].title and "年" in sent["received"].body
    assert conn.execute("SELECT DISTINCT lang FROM notices WHERE resident_id = %s", (me,)).fetchall() == [("zh-CN",)]
    english = {n.kind: n for n in resident_notices(conn, me, lang="en").items}
    assert english["warning"].title.startswith("Water supply problem") and "supply has stopped" in \
        english["warning"].body
    assert re.search(r"\b[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} 20\d\d, \d\d:\d\d", english["received"].body)
    assert not re.search(r"[\u4e00-\u9fff]", english["received"].title + english["received"].body)
    assert resident_notices(conn, me, lang="zh-CN").items == resident_notices(conn, me).items
    assert resident_notice(conn, me, english["warning"].id, "en") == english["warning"]

    conn.execute("UPDATE notices SET texts = NULL WHERE id = %s", (sent["warning"].id,))
    assert resident_notice(conn, me, sent["warning"].id, "en").title == sent["warning"].title


def test_my_request_timeline_shows_what_staff_told_me_and_nothing_of_their_own_notes(conn, staff):
    me, unit = _resident_on(conn, 3)
    made = file_request(conn, kind="complaint", resident_id=me, unit_id=unit, description="楼下装修噪音太吵",
                        lang="zh-CN", now=NOW)
    transition(conn, made.ticket_id, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW + timedelta(minutes=5),
               note="内部：先联系楼下业主")
    report_progress(conn, made.ticket_id, text="已联系楼下业主，明早9点前停止施工", by="agent-1",
                    now=NOW + timedelta(hours=1))
    transition(conn, made.ticket_id, TicketEvent.WAIT_RESIDENT, actor="agent-1", now=NOW + timedelta(hours=2),
               note="请提供噪音出现的时间段")
    steps = resident_request(conn, me, "nobody", made.complaint_id).timeline
    assert [(s.step, s.note) for s in steps if s.step in (Step.ACCEPTED, Step.PROGRESS, Step.WAITING_FOR_YOU)] == [
        (Step.ACCEPTED, None), (Step.PROGRESS, "已联系楼下业主，明早9点前停止施工"),
        (Step.WAITING_FOR_YOU, "请提供噪音出现的时间段")]
