"""A deadline that has not passed yet is not a miss (docs/review-metrics.md, "Counting"): the review, the
dashboard's figures of today and the scorecards count an SLA clock once it is settled — met, on time or late, or
its deadline passed unmet by the moment the figures are computed — and leave a clock still running towards a
deadline ahead out of both numerator and denominator. What a manager saw on a fresh demo: nothing overdue, yet the
resolution SLA a red 0.0 %; a reopened ticket's response SLA at 0.0 % minutes after the reopen."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.complaints import intake_complaint
from tickets.flows import handle_alarm
from tickets.lifecycle import TicketEvent
from tickets.review.compute import compute_review
from tickets.review.dashboard import Site, build_dashboard
from tickets.review.periods import parse_period
from tickets.review.scorecards import department_scorecards, person_scorecards, team_scorecards
from tickets.service import get_ticket
from tickets.transitions import transition
from tickets.workorders import act

from .conftest import SHANGHAI

NOW = datetime(2026, 12, 7, 16, 55, tzinfo=SHANGHAI)
RIVERSIDE = Site("riverside", "滨江花园 Riverside Gardens")


def _complain(conn: psycopg.Connection, n: int, text: str, at: datetime) -> int:
    unit, resident = conn.execute("""SELECT r.unit_id, r.id FROM residents r JOIN units u ON u.id = r.unit_id
                                     JOIN buildings b ON b.id = u.building_id
                                     WHERE b.site_id = 'riverside' AND r.active
                                     ORDER BY r.id OFFSET %s LIMIT 1""", (n,)).fetchone()  # type: ignore[misc]
    return intake_complaint(conn, resident_id=resident, unit_id=unit, channel="app", description=text,
                            lang="zh-CN", reported_at=at, now=at).ticket_id


def _fault(conn: psycopg.Connection, device: str, fault: str, severity: Severity, at: datetime) -> int:
    result = handle_alarm(conn, Alarm(device_id=device, fault=fault, state=AlarmState.RAISED, severity=severity,
                                      since=at, ts=at, detector="test_rules", evidence=Evidence("test evidence")),
                          now=at)
    assert result.ticket_id is not None
    return result.ticket_id


def _work_order(conn: psycopg.Connection, ticket_id: int) -> int:
    row = conn.execute("SELECT id FROM work_orders WHERE ticket_id = %s AND status NOT IN ('done', 'cancelled')",
                       (ticket_id,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_fresh_days_tickets_not_yet_due_are_not_counted_as_missed_on_the_dashboard(conn, staff) -> None:
    """The walk-through: a few tickets opened in the last hour, none due. Nothing is overdue, so no SLA figure may be
    a red 0.0 %: the clocks still running are left out (no figure yet, no mark) until met or due."""
    waiting = _complain(conn, 0, "楼下装修噪音太吵", NOW - timedelta(minutes=50))
    answered = _complain(conn, 1, "车位被占了", NOW - timedelta(minutes=40))
    door = _fault(conn, "rs-b1-elev-a", "door_fault", Severity.WARNING, NOW - timedelta(minutes=30))
    transition(conn, answered, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW - timedelta(minutes=35))
    conn.commit()
    assert {t: get_ticket(conn, t).resolve_due > NOW for t in (waiting, answered, door)} == dict.fromkeys(
        (waiting, answered, door), True)
    board = build_dashboard(conn, RIVERSIDE, now=NOW, tz=SHANGHAI)
    assert board.overdue == []
    complaint, preventive = board.today["complaint"], board.today["preventive"]
    assert (complaint["tickets"].value, preventive["tickets"].value) == (2.0, 1.0)
    for figures in (complaint, preventive):
        assert figures["resolve_sla"].value is None and figures["resolve_sla"].ok is None  # not "0.0 %", not red
        assert figures["resolve_sla"].denominator == 0
    # The one acknowledged in time counts as met; the one not yet acknowledged is not counted either way.
    assert (complaint["respond_sla"].value, complaint["respond_sla"].numerator,
            complaint["respond_sla"].denominator) == (100.0, 1, 1)
    assert complaint["respond_sla"].ok is True and preventive["respond_sla"].value is None


def test_a_deadline_that_passed_unmet_is_a_miss_on_the_dashboard_as_in_overdue(conn, staff) -> None:
    """The other side: a clock whose deadline passed unmet counts as missed at once, as the overdue list shows it."""
    trapped = _complain(conn, 2, "电梯困人了，快来", NOW - timedelta(minutes=30))  # major: on site within 15 min
    _complain(conn, 3, "车位被占了", NOW - timedelta(minutes=20))
    conn.commit()
    board = build_dashboard(conn, RIVERSIDE, now=NOW, tz=SHANGHAI)
    assert [(item.ticket, item.clock) for item in board.overdue] == [(trapped, "respond")]
    respond = board.today["complaint"]["respond_sla"]
    assert (respond.value, respond.numerator, respond.denominator, respond.ok) == (0.0, 0, 1, False)
    # A minute before that deadline, the same clock was still running: no figure.
    earlier = build_dashboard(conn, RIVERSIDE, now=NOW - timedelta(minutes=16), tz=SHANGHAI)
    assert earlier.today["complaint"]["respond_sla"].value is None  # at 16:39 the 16:40 deadline was still ahead


def test_a_reopened_tickets_response_clock_runs_again_and_is_not_a_miss_before_its_new_deadline(conn, staff) -> None:
    """The walk-through's preventive ticket: a major fault at 16:50 (someone on site by 17:05), the engineer accepts
    at 16:54 and completes it; the resident disputes it, which reopens it at 16:54 with new deadlines (on site by
    17:09). At 16:55 the month's review reads 24-h response 100 % — the first acknowledgement, which a reopen keeps —
    and no response SLA figure yet: the reopened clock is running, not missed. Once 17:09 passes with nobody on
    site, it is a miss (the reopen starts both clocks again: docs/lifecycle.md); someone on site in time, a hit."""
    opened = datetime(2026, 12, 7, 16, 50, tzinfo=SHANGHAI)
    ticket_id = _fault(conn, "rs-b1-water-high", "supply_outage", Severity.CRITICAL, opened)
    assert get_ticket(conn, ticket_id).respond_due == opened + timedelta(minutes=15)
    accepted = datetime(2026, 12, 7, 16, 54, tzinfo=SHANGHAI)
    order = _work_order(conn, ticket_id)
    act(conn, order, TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=accepted)
    act(conn, order, TicketEvent.RESOLVE, user_id="eng-1", now=accepted + timedelta(seconds=20),
        override_reason="supply back")
    assert get_ticket(conn, ticket_id).respond_met_at == accepted + timedelta(seconds=20)  # resolving met it
    transition(conn, ticket_id, TicketEvent.REOPEN, actor="resident", now=accepted + timedelta(seconds=40),
               note="还是没水")
    transition(conn, ticket_id, TicketEvent.DISPATCH, actor="forewarn", now=accepted + timedelta(seconds=40))
    conn.commit()
    reopened = get_ticket(conn, ticket_id)
    assert reopened.respond_met_at is None and reopened.respond_due > NOW
    december = parse_period("2026-12", SHANGHAI)

    review = compute_review(conn, december, compare=False, now=NOW)
    figures = review.figures["preventive"]
    assert figures["response_24h"].value == 100.0
    assert figures["respond_sla"].value is None and figures["respond_sla"].denominator == 0  # not 0.0 %
    assert figures["resolve_sla"].value is None
    assert review.breaches == [] and review.sla_by_tier["major"] == {"respond": None, "resolve": None}
    assert review.sla_by_type["preventive"] == {"respond": None, "resolve": None}

    late = compute_review(conn, december, compare=False, now=reopened.respond_due + timedelta(minutes=1))
    assert late.figures["preventive"]["respond_sla"].value == 0.0
    assert [(b["ticket"], b["clock"], b["milestone"]) for b in late.breaches] == [(ticket_id, "respond", "on_site")]

    act(conn, _work_order(conn, ticket_id), TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW)
    act(conn, _work_order(conn, ticket_id), TicketEvent.ARRIVE, user_id="eng-1", now=NOW + timedelta(minutes=5))
    conn.commit()
    reached = compute_review(conn, december, compare=False, now=NOW + timedelta(hours=1))
    assert reached.figures["preventive"]["respond_sla"].value == 100.0 and reached.breaches == []


def test_scorecards_leave_a_resolution_clock_not_yet_due_out(conn, staff) -> None:
    """The cards' resolution SLA counts like the review's: the desk agent who took two complaints an hour ago (and
    owns them: 首问负责制) has no resolution SLA figure yet, not 0 %; once one is resolved in time, 100 %."""
    first = _complain(conn, 0, "楼道灯不亮", NOW - timedelta(hours=1))
    second = _complain(conn, 1, "垃圾没有清运", NOW - timedelta(minutes=50))
    conn.execute("UPDATE tickets SET owner_id = 'agent-1' WHERE id = ANY(%s)", ([first, second],))
    conn.commit()
    december = parse_period("2026-12", SHANGHAI)
    card = {c.who: c for c in person_scorecards(conn, december, now=NOW)}["agent-1"]
    assert (card.tickets, card.resolve_sla) == (2, None)
    assert all(c.resolve_sla is None for c in department_scorecards(conn, december, now=NOW))
    assert all(c.resolve_sla is None for c in team_scorecards(conn, december, now=NOW))
    transition(conn, first, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW - timedelta(minutes=30))
    transition(conn, first, TicketEvent.RESOLVE, actor="agent-1", now=NOW - timedelta(minutes=10))
    conn.commit()
    card = {c.who: c for c in person_scorecards(conn, december, now=NOW)}["agent-1"]
    assert card.resolve_sla == 100.0
