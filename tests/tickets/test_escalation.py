"""Passengers trapped in a lift that is already out of service on a routine order: the order becomes the rescue.

The lift's out-of-service ticket is general-tier, with a routine clock and its work order with the grid's engineer;
the entrapment that joins it must not wait on that clock, and its engineer must hear of it at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detectors.alarm import AlarmState, Severity
from tickets.config import DEFAULT_CONFIG
from tickets.errors import IllegalWorkOrderStep
from tickets.flows import handle_alarm
from tickets.lifecycle import TicketEvent
from tickets.on_call import add_shift
from tickets.sla import deadline
from tickets.sweeps import LADDER, sla_sweep
from tickets.workorders import act, get_work_order, work_order_steps

from .conftest import NOW, make_alarm

LIFT = "rs-b1-elev-a"  # building 1, grid rs-G1: eng-1's
TRAPPED = "car stopped near floor 7 with its door closed and the in-car alarm button pressed"


def _order(conn, ticket_id: int) -> tuple:
    return conn.execute(
        """SELECT id, fault, assignee_id, respond_due, resolve_due, escalated_at, evidence FROM work_orders
           WHERE ticket_id = %s""", (ticket_id,)).fetchall()


def _pushes(conn, user_id: str) -> list[tuple[str, bool]]:
    return conn.execute("SELECT title, critical FROM notices WHERE user_id = %s AND kind = 'work_order' ORDER BY id",
                        (user_id,)).fetchall()


def _urgent_for_the_motor(conn) -> tuple[int, int]:
    """A lift's ticket made urgent by its motor's overheating turning critical, its engineer on site at +25 min:
    (ticket, work order)."""
    opened = handle_alarm(conn, make_alarm(LIFT, "motor_overheat", severity=Severity.WARNING), now=NOW)
    handle_alarm(conn, make_alarm(LIFT, "motor_overheat", AlarmState.UPDATED, at=NOW + timedelta(minutes=10)),
                 now=NOW + timedelta(minutes=10))
    [(order_id, *_)] = _order(conn, opened.ticket_id)
    act(conn, order_id, TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW + timedelta(minutes=12))
    act(conn, order_id, TicketEvent.ARRIVE, user_id="eng-1", now=NOW + timedelta(minutes=25))
    assert opened.ticket_id is not None
    return opened.ticket_id, order_id


def test_an_entrapment_joining_an_out_of_service_ticket_makes_its_work_order_the_urgent_rescue(conn, staff):
    opened = handle_alarm(conn, make_alarm(LIFT, "out_of_service", severity=Severity.WARNING,
                                           summary="the controller reports the car out of normal service"), now=NOW)
    ticket = conn.execute("SELECT severity, respond_due FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone()
    assert ticket[0] == "general"
    [(order_id, fault, assignee, respond_before, resolve_before, escalated, _)] = _order(conn, opened.ticket_id)
    assert (fault, assignee, escalated) == ("out_of_service", "eng-1", None)
    assert [critical for _, critical in _pushes(conn, "eng-1")] == [False]

    at = NOW + timedelta(minutes=3)
    stuck = handle_alarm(conn, make_alarm(LIFT, "entrapment", at=at, summary=TRAPPED), now=at)
    conn.commit()

    assert (stuck.action, stuck.ticket_id) == ("joined", opened.ticket_id)
    major = DEFAULT_CONFIG.policy("facility", "major")
    severity, respond_due, resolve_due = conn.execute(
        "SELECT severity, respond_due, resolve_due FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone()
    assert severity == "major"
    assert respond_due == min(respond_before, deadline(at, major.respond, DEFAULT_CONFIG.tz)) < respond_before
    assert resolve_due <= resolve_before
    # Still one work order, now the rescue: the entrapment, its evidence, its clocks, when it became urgent.
    [(same_id, fault, assignee, order_respond, order_resolve, escalated, evidence)] = _order(conn, opened.ticket_id)
    assert (same_id, fault, assignee, escalated) == (order_id, "entrapment", "eng-1", at)
    assert (order_respond, order_resolve) == (min(respond_before, respond_due), min(resolve_before, resolve_due))
    assert evidence["evidence"]["summary"] == TRAPPED
    # Its engineer is told at once, loudly, of what changed.
    pushes = _pushes(conn, "eng-1")
    assert len(pushes) == 2 and pushes[-1][1] is True
    assert "升级为紧急：困人" in pushes[-1][0] and "now urgent: Passengers trapped" in pushes[-1][0]
    assert "entrapment" not in pushes[-1][0]  # read on a phone: the fault by name, not its code
    delivered = conn.execute(
        """SELECT count(*) FROM outbox o JOIN notices n ON n.id = o.notice_id
           WHERE n.user_id = 'eng-1' AND n.kind = 'work_order' AND n.critical""").fetchone()[0]
    assert delivered >= 1
    [(note, detail)] = conn.execute(
        "SELECT note, detail FROM ticket_events WHERE ticket_id = %s AND event = 'made_urgent'",
        (opened.ticket_id,)).fetchall()
    assert note.startswith("entrapment: ") and (detail["from"], detail["to"]) == ("general", "major")
    assert detail["work_orders"] == [order_id] and detail["told"] == ["eng-1"]
    # The desk's queue and the engineer's order name the rescue, not the routine fault; the old title is kept.
    title = conn.execute("SELECT title FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone()[0]
    assert title.startswith("elevator entrapment @ ") and detail["title_was"].startswith("elevator out_of_service @ ")
    # ... and a work order opened on it later (another department's) carries the entrapment and its evidence.
    assert conn.execute("SELECT fault, incident_id FROM tickets WHERE id = %s",
                        (opened.ticket_id,)).fetchone() == ("entrapment", stuck.incident_id)
    assert detail["fault_was"] == "out_of_service"


def test_at_night_the_escalated_order_goes_to_whoever_is_on_call(conn, staff):
    night = NOW.replace(hour=23)
    add_shift(conn, department_id="engineering", user_id="eng-2", starts_at=night - timedelta(hours=2),
              ends_at=night + timedelta(hours=9))
    opened = handle_alarm(conn, make_alarm(LIFT, "out_of_service", severity=Severity.WARNING, at=night), now=night)
    assert _order(conn, opened.ticket_id)[0][2] == "eng-1"  # routine: the grid's engineer, in the morning
    at = night + timedelta(minutes=5)
    handle_alarm(conn, make_alarm(LIFT, "entrapment", at=at, summary=TRAPPED), now=at)
    conn.commit()
    assert _order(conn, opened.ticket_id)[0][1:3] == ("entrapment", "eng-2")
    assert [critical for _, critical in _pushes(conn, "eng-2")] == [True]
    # routed on call: a breach of the rescue's clock goes to the on-call supervisor, not the daytime chain
    assert conn.execute("SELECT routed_on_call FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone() == (True,)


def test_a_lesser_fault_joining_an_urgent_ticket_changes_nothing(conn, staff):
    opened = handle_alarm(conn, make_alarm(LIFT, "entrapment", summary=TRAPPED), now=NOW)
    before = _order(conn, opened.ticket_id)
    at = NOW + timedelta(minutes=2)
    handle_alarm(conn, make_alarm(LIFT, "out_of_service", severity=Severity.WARNING, at=at), now=at)
    conn.commit()
    assert _order(conn, opened.ticket_id) == before
    assert len(_pushes(conn, "eng-1")) == 1
    assert conn.execute("SELECT severity FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone() == ("major",)
    assert conn.execute("SELECT count(*) FROM ticket_events WHERE event = 'made_urgent'").fetchone() == (0,)


def test_a_warning_that_turns_critical_escalates_its_own_work_order(conn, staff):
    """A motor's overheating warning (a routine order), then critical: the car is about to be taken out of service."""
    opened = handle_alarm(conn, make_alarm(LIFT, "motor_overheat", severity=Severity.WARNING,
                                           summary="motor 96 °C, usually 60 °C at this load"), now=NOW)
    [(order_id, _, _, respond_before, _, _, _)] = _order(conn, opened.ticket_id)
    at = NOW + timedelta(minutes=10)
    worse = handle_alarm(conn, make_alarm(LIFT, "motor_overheat", AlarmState.UPDATED, at=at,
                                          summary="motor 112 °C: out of service to cool"), now=at)
    conn.commit()
    assert (worse.action, worse.ticket_id) == ("updated", opened.ticket_id)
    assert conn.execute("SELECT severity FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone() == ("major",)
    [(same_id, fault, _, respond_due, _, escalated, evidence)] = _order(conn, opened.ticket_id)
    assert (same_id, fault, escalated) == (order_id, "motor_overheat", at) and respond_due < respond_before
    assert evidence["evidence"]["summary"] == "motor 112 °C: out of service to cool"
    assert [critical for _, critical in _pushes(conn, "eng-1")] == [False, True]


def test_an_urgent_fault_attached_to_a_root_cause_hurries_the_root_order_but_leaves_it_its_own_fault(conn, staff):
    """A leak on the site's main (a routine order on the main); then a booster pump fails critically because of
    it. The root's order gets the urgent clocks; it is still the main's order, with the main's evidence."""
    root = handle_alarm(conn, make_alarm("rs-water-main", "slow_leak", severity=Severity.WARNING,
                                         summary="main pressure at 60 % of usual"), now=NOW)
    [(order_id, _, _, respond_before, _, _, before)] = _order(conn, root.ticket_id)
    at = NOW + timedelta(minutes=5)
    child = handle_alarm(conn, make_alarm("rs-b1-water-high", "pump_failure", at=at, parent="rs-water-main"),
                         now=at)
    conn.commit()
    assert (child.action, child.ticket_id) == ("attached", root.ticket_id)
    [(same_id, fault, _, respond_due, _, escalated, evidence)] = _order(conn, root.ticket_id)
    assert (same_id, fault, escalated) == (order_id, "slow_leak", at) and respond_due < respond_before
    assert evidence == before and evidence["evidence"]["summary"] == "main pressure at 60 % of usual"
    title = conn.execute("SELECT title FROM tickets WHERE id = %s", (root.ticket_id,)).fetchone()[0]
    assert " slow_leak @ " in title  # still the main's ticket


def test_passengers_trapped_hours_after_an_overheating_made_the_ticket_urgent_get_their_own_rescue(conn, staff):
    """The ticket turned urgent for a motor at 115 °C; the engineer came, the motor cooled; the ticket stays open.
    Five hours later passengers are trapped: the order was the motor's, its on-site clock met long ago. It becomes
    the rescue, with an on-site clock from now, and the engineer is told."""
    ticket_id, order_id = _urgent_for_the_motor(conn)
    handle_alarm(conn, make_alarm(LIFT, "motor_overheat", AlarmState.CLEARED, at=NOW + timedelta(hours=1)),
                 now=NOW + timedelta(hours=1))
    conn.commit()
    assert conn.execute("SELECT respond_met_at FROM tickets WHERE id = %s",
                        (ticket_id,)).fetchone()[0] == NOW + timedelta(minutes=25)
    assert [critical for _, critical in _pushes(conn, "eng-1")] == [False, True]

    at = NOW + timedelta(hours=5)
    stuck = handle_alarm(conn, make_alarm(LIFT, "entrapment", at=at, summary=TRAPPED), now=at)
    conn.commit()
    assert (stuck.action, stuck.ticket_id) == ("joined", ticket_id)
    [(same_id, fault, _, respond_due, _, escalated, evidence)] = _order(conn, ticket_id)
    on_site = deadline(at, DEFAULT_CONFIG.policy("facility", "major").respond, DEFAULT_CONFIG.tz)
    assert (same_id, fault, escalated, respond_due) == (order_id, "entrapment", at, on_site)
    assert evidence["evidence"]["summary"] == TRAPPED
    ticket_due, met = conn.execute("SELECT respond_due, respond_met_at FROM tickets WHERE id = %s",
                                   (ticket_id,)).fetchone()
    assert (ticket_due, met) == (on_site, None)  # someone on site for the motor is not on site for the rescue
    pushes = _pushes(conn, "eng-1")
    assert [critical for _, critical in pushes] == [False, True, True] and "困人" in pushes[-1][0]


def test_the_rescues_clock_is_chased_from_when_passengers_were_trapped(conn, staff):
    """The re-armed on-site clock of the order urgent for the motor five hours before: the SLA sweep reminds at
    half of its 30 minutes, not at once, and climbs to the site manager a quarter of an hour after the breach."""
    ticket_id, _ = _urgent_for_the_motor(conn)
    at = NOW + timedelta(hours=5)
    handle_alarm(conn, make_alarm(LIFT, "entrapment", at=at, summary=TRAPPED), now=at)
    conn.commit()
    on_site = deadline(at, DEFAULT_CONFIG.policy("facility", "major").respond, DEFAULT_CONFIG.tz)
    half = at + (on_site - at) / 2

    def chased(now) -> list[str]:
        sla_sweep(conn, now=now)
        conn.commit()
        return [level for (level,) in conn.execute(
            "SELECT level FROM sla_alerts WHERE ticket_id = %s AND clock = 'respond' AND due = %s "
            "ORDER BY at, array_position(%s, level)",
            (ticket_id, on_site, [level for level, _, _ in LADDER]))]

    assert chased(at + timedelta(minutes=1)) == []
    assert chased(half + timedelta(seconds=1)) == ["remind_50"]
    assert chased(on_site + timedelta(seconds=1)) == ["remind_50", "remind_80", "breach"]
    assert chased(on_site + (on_site - at) / 2 + timedelta(seconds=1)) == ["remind_50", "remind_80", "breach",
                                                                          "breach_manager"]


def test_the_engineer_on_site_for_the_motor_reports_arriving_for_the_rescue(conn, staff):
    """The order on site for the motor shows the rescue's on-site deadline and takes an arrival for it, which meets
    the ticket's on-site clock; before, its engineer was shown the resolve deadline, hours away, and nothing short of
    resolving the ticket met the rescue's clock, which climbed the ladder while the engineer was at the car."""
    ticket_id, order_id = _urgent_for_the_motor(conn)
    at = NOW + timedelta(hours=5)
    handle_alarm(conn, make_alarm(LIFT, "entrapment", at=at, summary=TRAPPED), now=at)
    conn.commit()
    on_site = deadline(at, DEFAULT_CONFIG.policy("facility", "major").respond, DEFAULT_CONFIG.tz)
    shown = get_work_order(conn, order_id).summary
    assert (shown.status, shown.due, shown.due_clock, shown.respond_milestone) == \
        ("on_site", on_site, "respond", "on_site")
    assert TicketEvent.ARRIVE in work_order_steps(shown.status, shown.ticket_state, shown.due_clock)

    there = at + timedelta(minutes=12)
    assert shown.assignee_id is not None
    act(conn, order_id, TicketEvent.ARRIVE, user_id=shown.assignee_id, now=there)
    conn.commit()
    shown = get_work_order(conn, order_id).summary
    assert (shown.status, shown.due_clock) == ("on_site", "resolve")
    assert conn.execute("SELECT respond_met_at FROM tickets WHERE id = %s", (ticket_id,)).fetchone() == (there,)
    sla_sweep(conn, now=on_site + timedelta(hours=1))
    assert conn.execute("SELECT count(*) FROM sla_alerts WHERE ticket_id = %s AND clock = 'respond' AND due = %s",
                        (ticket_id, on_site)).fetchone() == (0,)
    with pytest.raises(IllegalWorkOrderStep, match="allowed from on_site: resolve$"):
        act(conn, order_id, TicketEvent.ARRIVE, user_id=shown.assignee_id, now=there + timedelta(minutes=1))


def test_passengers_trapped_again_after_their_release_are_a_new_rescue(conn, staff):
    opened = handle_alarm(conn, make_alarm(LIFT, "entrapment", summary=TRAPPED), now=NOW)
    handle_alarm(conn, make_alarm(LIFT, "entrapment", AlarmState.CLEARED, at=NOW + timedelta(minutes=10)),
                 now=NOW + timedelta(minutes=10))
    at = NOW + timedelta(minutes=40)
    again = handle_alarm(conn, make_alarm(LIFT, "entrapment", at=at, summary="stuck again near floor 3"), now=at)
    conn.commit()
    assert (again.action, again.ticket_id) == ("joined", opened.ticket_id)
    [(_, fault, _, respond_due, _, escalated, evidence)] = _order(conn, opened.ticket_id)
    # The order was the rescue already (no escalation time: it was opened for it); it carries the new evidence and
    # an on-site clock from now, and its engineer is told again.
    assert (fault, escalated) == ("entrapment", None)
    assert respond_due == deadline(at, DEFAULT_CONFIG.policy("facility", "major").respond, DEFAULT_CONFIG.tz)
    assert evidence["evidence"]["summary"] == "stuck again near floor 3"
    assert [critical for _, critical in _pushes(conn, "eng-1")] == [True, True]


def test_a_motor_turning_critical_while_passengers_are_trapped_leaves_the_rescue_alone(conn, staff):
    opened = handle_alarm(conn, make_alarm(LIFT, "entrapment", summary=TRAPPED), now=NOW)
    before = _order(conn, opened.ticket_id)
    handle_alarm(conn, make_alarm(LIFT, "motor_overheat", severity=Severity.WARNING, at=NOW + timedelta(minutes=2)),
                 now=NOW + timedelta(minutes=2))
    handle_alarm(conn, make_alarm(LIFT, "motor_overheat", AlarmState.UPDATED, at=NOW + timedelta(minutes=5)),
                 now=NOW + timedelta(minutes=5))
    conn.commit()
    assert _order(conn, opened.ticket_id) == before  # still the rescue, on its own clock
    assert len(_pushes(conn, "eng-1")) == 1
    assert conn.execute("SELECT count(*) FROM ticket_events WHERE event = 'made_urgent'").fetchone() == (0,)
