"""Work across departments (issue #16 point 5) against a real PostgreSQL: a major ticket with engineering and
security work orders cannot resolve while either is open and resolves when both are done; one live work order per
department; the first-responsibility owner stays the owner; each work order runs its own clock."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from api.auth import Role, create_user
from detectors.alarm import AlarmState, Severity
from tickets import sla
from tickets.cli import app
from tickets.config import DEFAULT_CONFIG
from tickets.dispatch import add_work_order, ticket_work_orders
from tickets.errors import InvalidInput, NotAllowed, WorkOrderExists, WorkOrdersOpen
from tickets.flows import handle_alarm
from tickets.lifecycle import TicketEvent
from tickets.service import get_ticket
from tickets.sweeps import sla_sweep
from tickets.transitions import transition
from tickets.work_order_sweep import LADDER
from tickets.workorders import act, get_work_order, live_work_order_of, my_work_orders, work_order_steps

from .conftest import NOW, make_alarm

PUMP = "rs-b1-water-high"  # building 1, grid rs-G1: eng-1 owns it for engineering


@pytest.fixture
def security(conn: psycopg.Connection, staff: dict[str, str]) -> str:
    """A security officer (security department, under its head) for the security work orders."""
    create_user(conn, user_id="sec-head", name="Security head", role=Role.ENGINEER, department_id="security")
    create_user(conn, user_id="sec-1", name="Guard 1", role=Role.ENGINEER, department_id="security",
                supervisor_id="sec-head")
    conn.commit()
    return "sec-1"


def _major_ticket(conn: psycopg.Connection) -> tuple[int, int]:
    """A major preventive ticket (a pump failure) with its engineering work order: (ticket, work order)."""
    made = handle_alarm(conn, make_alarm(PUMP, "pump_failure"), now=NOW)
    assert made.ticket_id is not None
    work_order = live_work_order_of(conn, made.ticket_id)
    assert work_order is not None
    conn.commit()
    assert get_ticket(conn, made.ticket_id).severity == "major"
    return made.ticket_id, work_order


def _statuses(conn: psycopg.Connection, ticket_id: int) -> dict[str, str]:
    return {w.department_id: w.status for w in ticket_work_orders(conn, ticket_id)}


def test_major_ticket_with_engineering_and_security_work_orders_cannot_resolve_while_either_is_open(
        conn: psycopg.Connection, security: str) -> None:
    ticket_id, engineering = _major_ticket(conn)
    owner = get_ticket(conn, ticket_id).owner_id
    guard = add_work_order(conn, ticket_id, "security", by_user="agent-1", now=NOW + timedelta(minutes=5),
                           reason="the pump room door was forced: check the CCTV").id
    assert get_ticket(conn, ticket_id).owner_id == owner == "eng-1"  # the owner stays the owner

    act(conn, engineering, TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW + timedelta(minutes=6))
    act(conn, guard, TicketEvent.ACKNOWLEDGE, user_id=security, now=NOW + timedelta(minutes=7))
    assert get_ticket(conn, ticket_id).state == "acknowledged"
    handle_alarm(conn, make_alarm(PUMP, "pump_failure", AlarmState.CLEARED, at=NOW + timedelta(minutes=20)),
                 now=NOW + timedelta(minutes=20))  # the device recovered: only the work orders hold it open

    with pytest.raises(WorkOrdersOpen, match=r"engineering \(work order \d+, acknowledged\), security") as both:
        transition(conn, ticket_id, TicketEvent.RESOLVE, actor="agent-1", now=NOW + timedelta(minutes=30))
    assert both.value.departments == ["engineering", "security"]

    # Engineering is done; the ticket stays in progress while security's work order is open.
    after = act(conn, engineering, TicketEvent.RESOLVE, user_id="eng-1", now=NOW + timedelta(minutes=40),
                note="pump replaced")
    assert after.state == "acknowledged" and after.resolved_at is None
    assert _statuses(conn, ticket_id) == {"engineering": "done", "security": "acknowledged"}
    with pytest.raises(WorkOrdersOpen, match="security") as one:
        transition(conn, ticket_id, TicketEvent.RESOLVE, actor="mgr", now=NOW + timedelta(minutes=41))
    assert one.value.departments == ["security"]
    assert get_ticket(conn, ticket_id).state == "acknowledged"

    # Security done last: the ticket resolves, its owner unchanged.
    resolved = act(conn, guard, TicketEvent.RESOLVE, user_id=security, now=NOW + timedelta(minutes=50),
                   note="CCTV checked, door repaired")
    assert resolved.state == "resolved" and resolved.owner_id == "eng-1"
    assert _statuses(conn, ticket_id) == {"engineering": "done", "security": "done"}
    events = [r[0] for r in conn.execute("SELECT event FROM ticket_events WHERE ticket_id = %s ORDER BY id",
                                         (ticket_id,))]
    assert "work_order_added" in events and "work_order_done" in events and events[-1] == "resolve"


def test_with_security_done_first_the_ticket_still_waits_for_engineering(conn: psycopg.Connection,
                                                                          security: str) -> None:
    ticket_id, engineering = _major_ticket(conn)
    guard = add_work_order(conn, ticket_id, "security", by_user="mgr", now=NOW).id
    act(conn, guard, TicketEvent.ACKNOWLEDGE, user_id=security, now=NOW + timedelta(minutes=1))
    act(conn, guard, TicketEvent.RESOLVE, user_id=security, now=NOW + timedelta(minutes=2))
    assert get_ticket(conn, ticket_id).state == "acknowledged"  # security's accept answered the resident

    # Resolving the ticket itself does not sweep engineering's open work order along.
    with pytest.raises(WorkOrdersOpen, match=r"engineering \(work order \d+, open\)"):
        transition(conn, ticket_id, TicketEvent.RESOLVE, actor="agent-1", now=NOW + timedelta(minutes=3),
                   override_reason="pump restarted by hand")
    assert _statuses(conn, ticket_id) == {"engineering": "open", "security": "done"}
    act(conn, engineering, TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW + timedelta(minutes=4))
    resolved = act(conn, engineering, TicketEvent.RESOLVE, user_id="eng-1", now=NOW + timedelta(minutes=5),
                   override_reason="pump restarted by hand; sensor still settling")
    assert resolved.state == "resolved"


def test_one_live_work_order_per_department(conn: psycopg.Connection, security: str) -> None:
    ticket_id, engineering = _major_ticket(conn)
    first = add_work_order(conn, ticket_id, "security", by_user="agent-1", now=NOW)
    with pytest.raises(WorkOrderExists, match=rf"security already has work order {first.id} \(open\)"):
        add_work_order(conn, ticket_id, "security", by_user="agent-1", now=NOW)
    with pytest.raises(WorkOrderExists, match=rf"engineering already has work order {engineering}"):
        add_work_order(conn, ticket_id, "engineering", by_user="mgr", now=NOW)
    with pytest.raises(InvalidInput, match="no department 'plumbing'; choose one of: .*security"):
        add_work_order(conn, ticket_id, "plumbing", by_user="mgr", now=NOW)
    with pytest.raises(NotAllowed):  # an engineer who heads no department
        add_work_order(conn, ticket_id, "cleaning", by_user="eng-1", now=NOW)
    # A department head may bring another department in.
    assert add_work_order(conn, ticket_id, "cleaning", by_user="eng-head", now=NOW).department_id == "cleaning"
    # Once security's order is over, security may be called again.
    act(conn, first.id, TicketEvent.ACKNOWLEDGE, user_id=security, now=NOW)
    act(conn, first.id, TicketEvent.RESOLVE, user_id=security, now=NOW + timedelta(minutes=1))
    again = add_work_order(conn, ticket_id, "security", by_user="agent-1", now=NOW + timedelta(minutes=2))
    assert again.id != first.id and again.status == "open"
    # The database itself refuses a second live one, whatever the code path.
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("""INSERT INTO work_orders (ticket_id, department_id, status, created_at)
                        VALUES (%s, 'security', 'open', now())""", (ticket_id,))
    conn.rollback()


def test_work_orders_are_added_only_to_a_ticket_being_worked_on(conn: psycopg.Connection, security: str) -> None:
    ticket_id, engineering = _major_ticket(conn)
    act(conn, engineering, TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW)
    act(conn, engineering, TicketEvent.RESOLVE, user_id="eng-1", now=NOW, override_reason="restarted by hand")
    with pytest.raises(InvalidInput, match="is resolved"):
        add_work_order(conn, ticket_id, "security", by_user="agent-1", now=NOW)
    with pytest.raises(Exception, match="no ticket 999999"):
        add_work_order(conn, 999999, "security", by_user="agent-1", now=NOW)


def test_each_work_order_runs_its_own_clock(conn: psycopg.Connection, security: str) -> None:
    ticket_id, engineering = _major_ticket(conn)
    ticket = get_ticket(conn, ticket_id)
    policy = DEFAULT_CONFIG.policy(ticket.category, ticket.severity, ticket.sla_profile)
    later = NOW + timedelta(hours=2)
    guard = add_work_order(conn, ticket_id, "security", by_user="agent-1", now=later)
    conn.commit()
    orders = {w.department_id: w for w in ticket_work_orders(conn, ticket_id)}
    # Engineering's clock started with the ticket; security's when it was brought in, on the same tier's limits.
    assert orders["engineering"].respond_due == ticket.respond_due == sla.deadline(NOW, policy.respond)
    assert orders["engineering"].resolve_due == ticket.resolve_due
    assert guard.respond_due == sla.deadline(later, policy.respond)
    assert guard.resolve_due == sla.deadline(later, policy.resolve)
    assert guard.respond_due is not None and ticket.respond_due is not None and guard.respond_due > ticket.respond_due

    # The engineer's page shows the work order's own deadline: on a major ticket, respond (be on site) until the
    # order is on site, then resolve; accepting it does not meet the on-site clock.
    shown = get_work_order(conn, guard.id).summary
    assert (shown.due, shown.due_clock, shown.respond_milestone) == (guard.respond_due, "respond", "on_site")
    assert [(w.id, w.due) for w in my_work_orders(conn, security)] == [(guard.id, guard.respond_due)]
    act(conn, guard.id, TicketEvent.ACKNOWLEDGE, user_id=security, now=later + timedelta(minutes=1))
    shown = get_work_order(conn, guard.id).summary
    assert (shown.due, shown.due_clock) == (guard.respond_due, "respond")
    act(conn, guard.id, TicketEvent.ARRIVE, user_id=security, now=later + timedelta(minutes=9))
    shown = get_work_order(conn, guard.id).summary
    assert (shown.due, shown.due_clock) == (guard.resolve_due, "resolve")
    assert get_work_order(conn, engineering).summary.due == ticket.respond_due  # engineering is not on site


def test_waiting_on_the_resident_moves_every_work_orders_clock(conn: psycopg.Connection, security: str) -> None:
    ticket_id, engineering = _major_ticket(conn)
    guard = add_work_order(conn, ticket_id, "security", by_user="agent-1", now=NOW)
    act(conn, engineering, TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW)
    transition(conn, ticket_id, TicketEvent.WAIT_RESIDENT, actor="agent-1", now=NOW + timedelta(minutes=10))
    assert work_order_steps("open", "waiting_resident") == []  # nothing to accept while the ticket waits
    transition(conn, ticket_id, TicketEvent.RESUME, actor="agent-1", now=NOW + timedelta(minutes=40))
    moved = {w.department_id: w for w in ticket_work_orders(conn, ticket_id)}
    assert moved["security"].respond_due == guard.respond_due + timedelta(minutes=30)  # type: ignore[operator]
    assert moved["security"].resolve_due == guard.resolve_due + timedelta(minutes=30)  # type: ignore[operator]
    # ... and where its clock started, so that its reminders fall at shares of the time it ran.
    assert conn.execute("SELECT respond_from, resolve_from FROM work_orders WHERE id = %s",
                        (guard.id,)).fetchone() == (NOW + timedelta(minutes=30), NOW + timedelta(minutes=30))


def test_transfer_moves_the_tickets_own_work_order_only(conn: psycopg.Connection, security: str) -> None:
    ticket_id, engineering = _major_ticket(conn)
    add_work_order(conn, ticket_id, "cleaning", by_user="agent-1", now=NOW)
    with pytest.raises(InvalidInput, match="cleaning already has an open work order"):
        transition(conn, ticket_id, TicketEvent.TRANSFER, actor="agent-1", now=NOW, department_id="cleaning")
    transition(conn, ticket_id, TicketEvent.TRANSFER, actor="agent-1", now=NOW, department_id="security")
    assert sorted(_statuses(conn, ticket_id)) == ["cleaning", "security"]
    assert get_work_order(conn, engineering).summary.department_id == "security"


def test_cancelling_the_ticket_ends_every_work_order(conn: psycopg.Connection, security: str) -> None:
    ticket_id, _ = _major_ticket(conn)
    add_work_order(conn, ticket_id, "security", by_user="agent-1", now=NOW)
    transition(conn, ticket_id, TicketEvent.CANCEL, actor="mgr", now=NOW, note="duplicate")
    assert _statuses(conn, ticket_id) == {"engineering": "cancelled", "security": "cancelled"}


def test_the_command_line_adds_and_lists_work_orders(conn: psycopg.Connection, security: str,
                                                     estate_db_url: str) -> None:
    runner = CliRunner()
    ticket_id, _ = _major_ticket(conn)
    base = ["work-order", "add", str(ticket_id), "--db", estate_db_url]
    added = runner.invoke(app, [*base, "--department", "security", "--reason", "door forced", "--by", "agent-1"])
    assert added.exit_code == 0, added.output
    assert "for security on ticket" in added.output and "respond by" in added.output
    again = runner.invoke(app, [*base, "--department", "security"])
    assert again.exit_code == 1 and "security already has work order" in again.output
    unknown = runner.invoke(app, [*base, "--department", "plumbing"])
    assert unknown.exit_code == 1 and "no department 'plumbing'" in unknown.output
    refused = runner.invoke(app, [*base, "--department", "cleaning", "--by", "eng-1"])
    assert refused.exit_code == 1 and "department head" in refused.output
    usage = runner.invoke(app, ["work-order", "add", str(ticket_id), "--db", estate_db_url])
    assert usage.exit_code == 2  # --department is required
    listed = runner.invoke(app, ["work-order", "list", str(ticket_id), "--db", estate_db_url])
    assert listed.exit_code == 0
    assert [line.split()[1] for line in listed.output.splitlines()] == ["engineering", "security"]
    assert "door forced" in listed.output
    assert runner.invoke(app, ["work-order", "list", "999999", "--db", estate_db_url]).exit_code == 1
    conn.rollback()
    assert get_ticket(conn, ticket_id).owner_id == "eng-1"


def test_the_sla_sweep_reminds_and_escalates_each_added_work_order_on_its_own_clock(
        conn: psycopg.Connection, security: str) -> None:
    ticket_id, engineering = _major_ticket(conn)
    later = NOW + timedelta(hours=1)
    guard = add_work_order(conn, ticket_id, "security", by_user="agent-1", now=later)
    act(conn, engineering, TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=later)  # the ticket's respond clock met
    conn.commit()
    assert guard.respond_due is not None and guard.assignee_id is not None
    sla_sweep(conn, now=guard.respond_due - timedelta(seconds=1), config=DEFAULT_CONFIG)

    def alerts() -> list[tuple[str, str, str | None]]:
        return [(c, lv, r) for c, lv, r in conn.execute(
            "SELECT clock, level, recipient FROM work_order_alerts WHERE work_order_id = %s ORDER BY at, level",
            (guard.id,))]

    assert alerts() == [("respond", "remind_50", guard.assignee_id), ("respond", "remind_80", guard.assignee_id)]
    sla_sweep(conn, now=guard.respond_due + timedelta(seconds=1), config=DEFAULT_CONFIG)
    assert alerts()[-1] == ("respond", "breach", "sec-head")  # the security department's head
    assert sla_sweep(conn, now=guard.respond_due + timedelta(seconds=1), config=DEFAULT_CONFIG) == 0  # once only
    told = conn.execute("SELECT body FROM notices WHERE user_id = 'sec-head' AND ticket_id = %s",
                        (ticket_id,)).fetchall()
    assert len(told) == 1
    # The head reads which order in words: the fault and the department by name, not their codes.
    department = conn.execute("SELECT name FROM departments WHERE id = 'security'").fetchone()[0]
    assert "加压水泵故障 @ " in told[0][0] and f"({department} #{guard.id})" in told[0][0], told[0][0]
    notes = [r[0] for r in conn.execute("SELECT note FROM ticket_events WHERE ticket_id = %s AND event LIKE "
                                        "'work_order_sla_%%' ORDER BY id", (ticket_id,))]
    assert notes and all(n == f"{department} #{guard.id}：响应时限 / respond clock" for n in notes), notes
    # The ticket's own department's work order runs on the ticket's clocks: not swept twice.
    assert conn.execute("SELECT count(*) FROM work_order_alerts WHERE work_order_id = %s",
                        (engineering,)).fetchone() == (0,)


def test_an_added_work_order_escalated_hours_later_is_chased_from_its_escalation(
        conn: psycopg.Connection, security: str) -> None:
    """A lift out of service with a guard brought in to keep people off it; five hours on, passengers are trapped.
    The guard's order takes the rescue's 30-minute clock from the alarm: reminded at half of it, not at once."""
    lift = "rs-b1-elev-a"
    made = handle_alarm(conn, make_alarm(lift, "out_of_service", severity=Severity.WARNING), now=NOW)
    assert made.ticket_id is not None and get_ticket(conn, made.ticket_id).severity == "general"
    guard = add_work_order(conn, made.ticket_id, "security", by_user="agent-1", now=NOW + timedelta(hours=1))
    at = NOW + timedelta(hours=5)
    handle_alarm(conn, make_alarm(lift, "entrapment", at=at), now=at)
    conn.commit()
    [due] = conn.execute("SELECT respond_due FROM work_orders WHERE id = %s", (guard.id,)).fetchone()
    assert due is not None and at < due <= at + timedelta(minutes=30)
    half = at + (due - at) / 2

    def alerts() -> list[str]:
        return [level for (level,) in conn.execute(
            "SELECT level FROM work_order_alerts WHERE work_order_id = %s AND clock = 'respond' AND due = %s",
            (guard.id, due))]

    sla_sweep(conn, now=at + timedelta(minutes=1), config=DEFAULT_CONFIG)
    assert alerts() == []
    sla_sweep(conn, now=half + timedelta(seconds=1), config=DEFAULT_CONFIG)
    assert alerts() == ["remind_50"]


def test_an_added_order_accepted_on_a_major_ticket_is_chased_until_it_is_on_site(
        conn: psycopg.Connection, security: str) -> None:
    """A guard brought in to a pump failure accepts at once but does not come: the order's on-site clock is still
    chased (reminded at half of it, its breach to the department's head), and arriving stops it. Before, accepting
    moved the order onto its resolve clock, hours away."""
    ticket_id, _ = _major_ticket(conn)
    guard = add_work_order(conn, ticket_id, "security", by_user="agent-1", now=NOW)
    act(conn, guard.id, TicketEvent.ACKNOWLEDGE, user_id=security, now=NOW + timedelta(minutes=1))
    conn.commit()
    assert guard.respond_due is not None
    half = NOW + (guard.respond_due - NOW) / 2

    def alerts() -> list[str]:
        return [level for (level,) in conn.execute(
            "SELECT level FROM work_order_alerts WHERE work_order_id = %s AND clock = 'respond' "
            "ORDER BY at, array_position(%s, level)", (guard.id, [level for level, _, _ in LADDER]))]

    sla_sweep(conn, now=half + timedelta(seconds=1), config=DEFAULT_CONFIG)
    assert alerts() == ["remind_50"]
    sla_sweep(conn, now=guard.respond_due + timedelta(seconds=1), config=DEFAULT_CONFIG)
    assert alerts() == ["remind_50", "remind_80", "breach"]
    act(conn, guard.id, TicketEvent.ARRIVE, user_id=security, now=guard.respond_due + timedelta(minutes=2))
    conn.commit()
    sla_sweep(conn, now=guard.respond_due + timedelta(hours=3), config=DEFAULT_CONFIG)
    assert alerts() == ["remind_50", "remind_80", "breach"]  # on site: the manager's rung is not sent
