"""Alarms become incidents, preventive tickets, work orders and notices to exactly the affected residents;
concurrent workers agree on one incident; closure waits for the device to recover; a returning fault reopens."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import psycopg
import pytest

from detectors.alarm import AlarmState, Severity
from tickets.errors import ClosureBlocked
from tickets.flows import handle_alarm, pending_labels, record_verdict
from tickets.lifecycle import TicketEvent
from tickets.review.proactive import review_metrics
from tickets.transitions import transition

from .conftest import NOW, make_alarm, notice_recipients, residents_served

DEVICE = "rs-b1-water-high"  # serves floors 13–25 of building 1


def test_the_residents_warning_says_what_the_fault_means_in_their_language_not_the_detectors_evidence(conn, staff):
    one = sorted(residents_served(conn, DEVICE))[0]
    conn.execute("UPDATE residents SET language = 'en' WHERE id = %s", (one,))
    result = handle_alarm(conn, make_alarm(DEVICE, "pump_failure"), now=NOW)
    rows = conn.execute("SELECT resident_id, lang, body FROM notices WHERE incident_id = %s AND kind = 'warning'",
                        (result.incident_id,)).fetchall()
    words = {"en": "booster pump has failed: low water pressure on upper floors", "zh-CN": "加压水泵故障，楼层水压不足"}
    assert one in {r for r, lang, _ in rows if lang == "en"} and {lang for _, lang, _ in rows} == set(words)
    assert all(words[lang] in body for _, lang, body in rows)
    assert not any("pressure at zero" in body for _, _, body in rows)  # the evidence is the engineers'


def test_a_reader_that_reads_no_card_warns_the_doors_residents_as_a_failed_reader_does(conn, staff):
    door = "rs-b1-door-lobby"
    result = handle_alarm(conn, make_alarm(door, "reader_silent", severity=Severity.WARNING), now=NOW)
    recipients = set(notice_recipients(conn, result.incident_id, "warning"))
    assert recipients and recipients == residents_served(conn, door)
    words = {"en": "the card reader is not reading cards", "zh-CN": "门禁刷卡暂时失灵"}
    rows = conn.execute("SELECT lang, body FROM notices WHERE incident_id = %s", (result.incident_id,)).fetchall()
    assert rows and all(words[lang] in body for lang, body in rows)


def test_raised_alarm_opens_incident_ticket_work_order_and_warns_exactly_the_served_residents(conn, staff):
    result = handle_alarm(conn, make_alarm(DEVICE, "pump_failure"), now=NOW)
    conn.commit()
    assert result.action == "opened"
    ticket = conn.execute("SELECT source, state, category, severity, owner_id, department_id, device_id "
                          "FROM tickets WHERE id = %s", (result.ticket_id,)).fetchone()
    assert ticket == ("preventive", "dispatched", "facility", "major", "eng-1", "engineering", DEVICE)
    order = conn.execute("SELECT status, assignee_id, evidence FROM work_orders WHERE ticket_id = %s",
                         (result.ticket_id,)).fetchone()
    assert order[0:2] == ("open", "eng-1")
    assert order[2]["evidence"]["summary"] == "pressure at zero for 90 s"
    assert order[2]["location"] and order[2]["since"] and order[2]["device_kind"] == "water"
    expected = residents_served(conn, DEVICE)
    all_building = {r[0] for r in conn.execute(
        "SELECT r.id FROM residents r JOIN units u ON u.id = r.unit_id WHERE u.building_id = 'rs-b1'")}
    assert expected and expected < all_building  # the high zone only, not the whole building
    recipients = notice_recipients(conn, result.incident_id, "warning")
    assert sorted(set(recipients)) == recipients and set(recipients) == expected
    assert result.notices == len(expected)
    outbox = conn.execute("SELECT count(*) FROM outbox o JOIN notices n ON n.id = o.notice_id "
                          "WHERE n.incident_id = %s", (result.incident_id,)).fetchone()[0]
    assert outbox == len(expected)
    # Each in their own language.
    wrong = conn.execute("SELECT count(*) FROM notices n JOIN residents r ON r.id = n.resident_id "
                         "WHERE n.lang <> r.language").fetchone()[0]
    titles = dict(conn.execute("SELECT lang, min(title) FROM notices GROUP BY lang").fetchall())
    assert wrong == 0 and set(titles) == {"zh-CN", "en"}
    assert "water supply" in titles["en"].lower() and "供水" in titles["zh-CN"]


def test_repeated_raise_joins_the_open_incident_without_new_notices(conn, staff):
    first = handle_alarm(conn, make_alarm(DEVICE, "pump_failure"), now=NOW)
    again = handle_alarm(conn, make_alarm(DEVICE, "pump_failure"), now=NOW + timedelta(minutes=1))
    conn.commit()
    assert (again.action, again.incident_id, again.ticket_id, again.notices) == \
        ("joined", first.incident_id, first.ticket_id, 0)
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 1


def test_two_workers_racing_on_the_same_alarm_make_one_incident_and_one_ticket(estate_db_url, staff):
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker() -> None:
        try:
            with psycopg.connect(estate_db_url) as own:
                own.execute("SELECT 1")
                barrier.wait(timeout=10)
                results.append(handle_alarm(own, make_alarm(DEVICE, "pump_failure"), now=NOW))
                own.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sorted(r.action for r in results) == ["joined", "opened"]
    with psycopg.connect(estate_db_url) as check:
        counts = check.execute("SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM tickets), "
                               "(SELECT count(*) FROM work_orders), "
                               "(SELECT count(*) FROM notices WHERE resident_id IS NOT NULL), "
                               "(SELECT count(DISTINCT resident_id) FROM notices)").fetchone()
        assert counts[:3] == (1, 1, 1)
        assert counts[3] == counts[4] == len(residents_served(check, DEVICE))


def test_update_notifies_only_when_severity_goes_up(conn, staff):
    opened = handle_alarm(conn, make_alarm(DEVICE, "slow_leak", severity=Severity.WARNING), now=NOW)
    same = handle_alarm(conn, make_alarm(DEVICE, "slow_leak", AlarmState.UPDATED, Severity.WARNING,
                                         summary="night flow 4.1 l/min"), now=NOW + timedelta(minutes=5))
    worse = handle_alarm(conn, make_alarm(DEVICE, "slow_leak", AlarmState.UPDATED, Severity.CRITICAL,
                                          summary="night flow 12 l/min"), now=NOW + timedelta(minutes=10))
    conn.commit()
    assert same.notices == 0
    assert worse.notices == len(residents_served(conn, DEVICE))
    evidence = conn.execute("SELECT severity, evidence->>'summary' FROM incidents WHERE id = %s",
                            (opened.incident_id,)).fetchone()
    assert evidence == ("critical", "night flow 12 l/min")


def test_cleared_alarm_recovers_incident_and_tells_everyone_who_was_warned(conn, staff):
    opened = handle_alarm(conn, make_alarm(DEVICE, "pump_failure"), now=NOW)
    cleared = handle_alarm(conn, make_alarm(DEVICE, "pump_failure", AlarmState.CLEARED),
                           now=NOW + timedelta(hours=1))
    conn.commit()
    assert cleared.action == "recovered"
    assert conn.execute("SELECT status FROM incidents WHERE id = %s", (opened.incident_id,)).fetchone()[0] == \
        "recovered"
    assert notice_recipients(conn, opened.incident_id, "restored") == \
        notice_recipients(conn, opened.incident_id, "warning")
    again = handle_alarm(conn, make_alarm(DEVICE, "pump_failure", AlarmState.CLEARED), now=NOW + timedelta(hours=2))
    assert again.action == "ignored"


def test_a_correlated_alarm_attaches_to_the_root_incident(conn, staff):
    root = handle_alarm(conn, make_alarm("rs-water-main", "supply_outage"), now=NOW)
    child = handle_alarm(conn, make_alarm(DEVICE, "pump_failure", parent="rs-water-main"),
                         now=NOW + timedelta(seconds=30))
    conn.commit()
    assert (child.action, child.ticket_id, child.incident_id) == ("attached", root.ticket_id, root.incident_id)
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 1
    # Residents already told about the site-wide outage are not told twice.
    assert child.notices == 0
    per_resident = conn.execute("SELECT max(c) FROM (SELECT count(*) c FROM notices WHERE incident_id = %s "
                                "GROUP BY resident_id) x", (root.incident_id,)).fetchone()[0]
    assert per_resident == 1


def test_a_child_still_failing_after_its_root_is_over_gets_its_own_ticket_and_its_residents_are_not_told_restored(
        conn, staff):
    """A booster pump fails during the site outage; the outage ends, the pump does not. The detectors re-home the pump
    alarm (UPDATED, no parent) before the outage clears: it leaves the outage's ticket for one of its own, its
    residents are warned about the pump, and they alone do not hear "restored" when the outage ends."""
    root = handle_alarm(conn, make_alarm("rs-water-main", "supply_outage"), now=NOW)
    child = handle_alarm(conn, make_alarm(DEVICE, "pump_failure", parent="rs-water-main"),
                         now=NOW + timedelta(minutes=5))
    later = NOW + timedelta(hours=1)
    rehomed = handle_alarm(conn, make_alarm(DEVICE, "pump_failure", AlarmState.UPDATED, at=later,
                                            summary="pump stopped; still so after the outage"), now=later)
    over = handle_alarm(conn, make_alarm("rs-water-main", "supply_outage", AlarmState.CLEARED, at=later), now=later)
    conn.commit()
    pump_residents = residents_served(conn, DEVICE)
    assert child.action == "attached" and rehomed.action == "opened"
    assert rehomed.ticket_id != root.ticket_id and rehomed.incident_id != root.incident_id
    assert conn.execute("SELECT root_incident_id, ticket_id FROM incidents WHERE device_id = %s AND status = 'open'",
                        (DEVICE,)).fetchone() == (None, rehomed.ticket_id)
    assert set(notice_recipients(conn, rehomed.incident_id, "warning")) == pump_residents
    restored = set(notice_recipients(conn, root.incident_id, "restored"))
    assert over.action == "recovered" and restored
    assert restored == residents_served(conn, "rs-water-main") - pump_residents
    events = [r[0] for r in conn.execute("SELECT event FROM ticket_events WHERE ticket_id = %s ORDER BY id",
                                         (root.ticket_id,))]
    assert "alarm_detached" in events
    # When the pump is fixed, its residents hear it is over.
    fixed = handle_alarm(conn, make_alarm(DEVICE, "pump_failure", AlarmState.CLEARED, at=later + timedelta(hours=1)),
                         now=later + timedelta(hours=1))
    conn.commit()
    assert fixed.action == "recovered"
    assert set(notice_recipients(conn, rehomed.incident_id, "restored")) == pump_residents


def _work(conn, ticket_id: int) -> None:
    transition(conn, ticket_id, TicketEvent.ACKNOWLEDGE, actor="eng-1", now=NOW + timedelta(minutes=5))
    transition(conn, ticket_id, TicketEvent.ARRIVE, actor="eng-1", now=NOW + timedelta(minutes=12))


def test_resolution_is_blocked_while_the_device_is_abnormal_unless_overridden(conn, staff):
    opened = handle_alarm(conn, make_alarm(DEVICE, "pump_failure"), now=NOW)
    _work(conn, opened.ticket_id)
    conn.commit()
    with pytest.raises(ClosureBlocked, match="still abnormal"):
        transition(conn, opened.ticket_id, TicketEvent.RESOLVE, actor="eng-1", now=NOW + timedelta(minutes=30))
    conn.rollback()
    ticket = transition(conn, opened.ticket_id, TicketEvent.RESOLVE, actor="eng-1", now=NOW + timedelta(minutes=30),
                        override_reason="sensor cable cut; pump verified running by hand")
    conn.commit()
    assert (ticket.state, ticket.override_reason) == ("resolved", "sensor cable cut; pump verified running by hand")
    assert conn.execute("SELECT status FROM work_orders WHERE ticket_id = %s", (ticket.id,)).fetchone()[0] == "done"


def test_resolution_after_recovery_and_auto_reopen_when_the_fault_returns(conn, staff):
    opened = handle_alarm(conn, make_alarm(DEVICE, "pump_failure"), now=NOW)
    _work(conn, opened.ticket_id)
    handle_alarm(conn, make_alarm(DEVICE, "pump_failure", AlarmState.CLEARED), now=NOW + timedelta(minutes=40))
    resolved = transition(conn, opened.ticket_id, TicketEvent.RESOLVE, actor="eng-1", now=NOW + timedelta(hours=1),
                          root_cause="worn impeller replaced")
    assert resolved.override_reason is None
    back = handle_alarm(conn, make_alarm(DEVICE, "pump_failure", at=NOW + timedelta(days=3)),
                        now=NOW + timedelta(days=3))
    conn.commit()
    assert (back.action, back.ticket_id) == ("reopened", opened.ticket_id)
    row = conn.execute("SELECT state, reopen_count, incident_id FROM tickets WHERE id = %s",
                       (back.ticket_id,)).fetchone()
    assert row == ("dispatched", 1, back.incident_id)
    orders = conn.execute("SELECT status FROM work_orders WHERE ticket_id = %s ORDER BY id",
                          (back.ticket_id,)).fetchall()
    assert [o[0] for o in orders] == ["done", "open"]
    # A new incident: residents are warned again about the returning fault.
    assert back.notices == len(residents_served(conn, DEVICE))


def test_a_fault_that_joined_a_ticket_reopens_that_ticket_when_it_returns(conn, staff):
    """Out of service, and the car also stopping off its landings (joined: one ticket, one visit); repaired; two days
    later it stops off its landings again. That repair did not hold: the same ticket reopens, a repeat fault in the
    review, and its new work order is for what came back."""
    lift = "rs-b1-elev-a"
    opened = handle_alarm(conn, make_alarm(lift, "out_of_service", severity=Severity.WARNING), now=NOW)
    drift = handle_alarm(conn, make_alarm(lift, "levelling_drift", severity=Severity.WARNING,
                                          at=NOW + timedelta(minutes=2)), now=NOW + timedelta(minutes=2))
    assert (drift.action, drift.ticket_id) == ("joined", opened.ticket_id)
    for fault in ("levelling_drift", "out_of_service"):
        handle_alarm(conn, make_alarm(lift, fault, AlarmState.CLEARED, at=NOW + timedelta(minutes=30)),
                     now=NOW + timedelta(minutes=30))
    _work(conn, opened.ticket_id)
    transition(conn, opened.ticket_id, TicketEvent.RESOLVE, actor="eng-1", now=NOW + timedelta(hours=1))
    again = NOW + timedelta(days=2)
    back = handle_alarm(conn, make_alarm(lift, "levelling_drift", severity=Severity.WARNING, at=again,
                                         summary="stops 31 mm off floor 3 again"), now=again)
    conn.commit()
    assert (back.action, back.ticket_id) == ("reopened", opened.ticket_id)
    state, reopens, title = conn.execute("SELECT state, reopen_count, title FROM tickets WHERE id = %s",
                                         (opened.ticket_id,)).fetchone()
    assert (state, reopens) == ("dispatched", 1) and title.startswith("elevator levelling_drift @ ")
    fault, evidence = conn.execute("""SELECT fault, evidence FROM work_orders WHERE ticket_id = %s
                                      AND status NOT IN ('done', 'cancelled')""", (opened.ticket_id,)).fetchone()
    assert fault == "levelling_drift" and evidence["evidence"]["summary"] == "stops 31 mm off floor 3 again"


def test_a_fault_returning_after_the_window_opens_a_new_ticket(conn, staff):
    opened = handle_alarm(conn, make_alarm(DEVICE, "pump_failure"), now=NOW)
    handle_alarm(conn, make_alarm(DEVICE, "pump_failure", AlarmState.CLEARED), now=NOW + timedelta(minutes=40))
    _work(conn, opened.ticket_id)
    transition(conn, opened.ticket_id, TicketEvent.RESOLVE, actor="eng-1", now=NOW + timedelta(hours=1))
    later = handle_alarm(conn, make_alarm(DEVICE, "pump_failure"), now=NOW + timedelta(days=30))
    assert later.action == "opened" and later.ticket_id != opened.ticket_id


def test_false_alarm_verdict_is_a_label_and_cancels_the_ticket(conn, staff):
    opened = handle_alarm(conn, make_alarm(DEVICE, "slow_leak", severity=Severity.WARNING), now=NOW)
    label_id = record_verdict(conn, opened.ticket_id, false_alarm=True, by_user="eng-1",
                              note="irrigation timer, not a leak", now=NOW + timedelta(hours=1))
    conn.commit()
    labels = pending_labels(conn, 0)
    assert [(x.id, x.device_id, x.fault, x.false_alarm, x.ticket_id, x.by) for x in labels] == \
        [(label_id, DEVICE, "slow_leak", True, opened.ticket_id, "eng-1")]
    assert pending_labels(conn, label_id) == []
    assert conn.execute("SELECT state FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone()[0] == "cancelled"


def test_a_verdict_labels_every_fault_on_the_devices_ticket_and_counts_each_for_its_own_detector(conn, staff):
    lift = "rs-b1-elev-a"
    opened = handle_alarm(conn, replace(make_alarm(lift, "out_of_service", severity=Severity.WARNING),
                                        detector="elevator_rules"), now=NOW)
    later = NOW + timedelta(minutes=5)
    unusual = handle_alarm(conn, replace(make_alarm(lift, "unusual_behaviour", severity=Severity.WARNING, at=later),
                                         detector="learned"), now=later)
    assert (unusual.action, unusual.ticket_id) == ("joined", opened.ticket_id)
    label_id = record_verdict(conn, opened.ticket_id, false_alarm=True, by_user="eng-1",
                              note="the car was parked for a test", now=NOW + timedelta(hours=1))
    conn.commit()
    # Both detectors hear the engineer (each doubles its own delay, each clears its own alarm), the ticket's own
    # fault first; the returned label is that one.
    labels = pending_labels(conn, 0)
    assert [(x.device_id, x.fault, x.false_alarm) for x in labels] == [(lift, "out_of_service", True),
                                                                        (lift, "unusual_behaviour", True)]
    assert labels[0].id == label_id
    metrics = review_metrics(conn, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1))
    assert metrics.detector_precision == {"elevator_rules": 0.0, "learned": 0.0}
    assert conn.execute("SELECT state FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone()[0] == "cancelled"


def test_several_faults_of_one_device_at_once_are_one_ticket_and_one_work_order(conn, staff):
    lift = "rs-b1-elev-a"
    first = handle_alarm(conn, make_alarm(lift, "entrapment"), now=NOW)
    also = handle_alarm(conn, make_alarm(lift, "out_of_service", at=NOW + timedelta(seconds=20)),
                        now=NOW + timedelta(seconds=20))
    lesser = handle_alarm(conn, make_alarm(lift, "levelling_drift", severity=Severity.WARNING,
                                           at=NOW + timedelta(seconds=40)), now=NOW + timedelta(seconds=40))
    conn.commit()
    assert (also.action, lesser.action) == ("joined", "joined")
    assert first.ticket_id == also.ticket_id == lesser.ticket_id
    assert len({first.incident_id, also.incident_id, lesser.incident_id}) == 3  # each fault is still its own incident
    assert conn.execute("SELECT count(*) FROM tickets WHERE device_id = %s", (lift,)).fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM work_orders WHERE ticket_id = %s", (first.ticket_id,)).fetchone() == (1,)
    # The residents were warned once; a fault no worse than the one they know of is not news.
    assert first.notices == len(residents_served(conn, lift)) and also.notices == lesser.notices == 0
    events = [r[0] for r in conn.execute(
        "SELECT note FROM ticket_events WHERE ticket_id = %s AND event = 'alarm_joined' ORDER BY id",
        (first.ticket_id,))]
    assert [e.split(":")[0] for e in events] == ["also out_of_service", "also levelling_drift"]


def test_a_new_fault_after_the_residents_heard_the_service_was_back_is_told_on_the_same_ticket(conn, staff):
    """The lift's ticket stays open for the engineers after its out-of-service episode is over and the residents
    were told it is back; an entrapment on it next evening joins that ticket and is news: they are warned again."""
    lift = "rs-b1-elev-a"
    first = handle_alarm(conn, make_alarm(lift, "out_of_service"), now=NOW)
    back = NOW + timedelta(minutes=40)
    over = handle_alarm(conn, make_alarm(lift, "out_of_service", AlarmState.CLEARED, at=back), now=back)
    again = NOW + timedelta(hours=26)
    stuck = handle_alarm(conn, make_alarm(lift, "entrapment", at=again), now=again)
    conn.commit()
    served = residents_served(conn, lift)
    assert over.notices == first.notices == len(served)  # warned, then told it is back
    assert (stuck.action, stuck.ticket_id) == ("joined", first.ticket_id)
    assert set(notice_recipients(conn, stuck.incident_id, "warning")) == served


def test_service_restored_is_told_only_when_every_fault_of_the_device_is_over(conn, staff):
    lift = "rs-b1-elev-a"
    first = handle_alarm(conn, make_alarm(lift, "entrapment"), now=NOW)
    handle_alarm(conn, make_alarm(lift, "out_of_service"), now=NOW)
    later = NOW + timedelta(minutes=30)
    one = handle_alarm(conn, make_alarm(lift, "entrapment", AlarmState.CLEARED, at=later), now=later)
    assert one.notices == 0  # the lift is still out of service
    last = handle_alarm(conn, make_alarm(lift, "out_of_service", AlarmState.CLEARED, at=later), now=later)
    conn.commit()
    assert last.notices == len(residents_served(conn, lift)) == first.notices
