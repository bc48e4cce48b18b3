"""The complaint-handling group and external mediation (issue #16 point 6; handbook 003 投诉处理组, 第三方调解介入):
billing disputes and complex complaints route to the group; a mediation records the party, the dates, the outcome
and the agreement, and pauses the ticket's SLA clocks while it lasts. Real PostgreSQL, the real SLA sweep."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool
from typer.testing import CliRunner

from api.app import create_app
from api.auth import Role, create_user, ensure_resident_user, issue_token
from api.deps import AppState
from forewarn.configs import ticket_config
from forewarn.settings import load_settings
from tickets import sla
from tickets.cli import app as tickets_cli
from tickets.complaints import intake_complaint
from tickets.errors import InvalidInput
from tickets.mediation import MediationConflict, end_mediation, mediations, start_mediation
from tickets.service import get_ticket
from tickets.sweeps import sla_sweep
from tickets.transitions import transition

from .conftest import NOW, SHANGHAI

BILLING = "物业费多收了两百元，账单对不上"  # 收费争议: billing, complex tier
SEEPAGE = "外墙渗水，卧室墙面发霉"  # house quality, complex tier
ATTITUDE = "保安态度很差，还骂人"  # service attitude, general tier
MONDAY = NOW.replace(day=30)  # 2026-11-30 10:00, after an ordinary weekend


@pytest.fixture
def group(conn: psycopg.Connection, staff: dict[str, str]) -> dict[str, str]:
    """The complaint-handling group: its head and a member who owns grid rs-G1 for it."""
    create_user(conn, user_id="ch-head", name="投诉处理组组长", role=Role.SUPERVISOR,
                department_id="complaint_handling")
    create_user(conn, user_id="ch-1", name="投诉专员", role=Role.AGENT, department_id="complaint_handling",
                supervisor_id="ch-head")
    create_user(conn, user_id="ch-2", name="投诉专员二", role=Role.AGENT, department_id="complaint_handling",
                supervisor_id="ch-head")
    conn.execute("INSERT INTO grid_owners (grid, department_id, user_id) VALUES ('rs-G1', 'complaint_handling', "
                 "'ch-2')")
    conn.commit()
    return staff | {"group_owner": "ch-2"}


def _residents(conn: psycopg.Connection, n: int) -> list[tuple[str, str]]:
    """`n` residents of building rs-b1 (grid rs-G1), each in a different unit."""
    return [(r[0], r[1]) for r in conn.execute(
        """SELECT DISTINCT ON (r.unit_id) r.id, r.unit_id FROM residents r JOIN units u ON u.id = r.unit_id
           WHERE u.building_id = 'rs-b1' AND r.active ORDER BY r.unit_id, r.id LIMIT %s""", (n,))]


def _complaint(conn: psycopg.Connection, text: str, who: tuple[str, str]) -> int:
    made = intake_complaint(conn, resident_id=who[0], unit_id=who[1], channel="phone", description=text,
                            lang="zh-CN", reported_at=NOW, now=NOW)
    conn.commit()
    return made.ticket_id


def _alerts(conn: psycopg.Connection, ticket_id: int) -> list[str]:
    """The reminders and escalations of the ticket's own clocks (the mediation's own are `_told`'s)."""
    return [r[0] for r in conn.execute("""SELECT level FROM sla_alerts WHERE ticket_id = %s AND clock <> 'mediation'
                                          ORDER BY level""", (ticket_id,))]


def test_billing_disputes_and_complex_complaints_route_to_the_group(conn, group):
    billing, seepage, attitude = (_complaint(conn, text, who) for text, who in
                                  zip((BILLING, SEEPAGE, ATTITUDE), _residents(conn, 3), strict=True))
    for ticket_id in (billing, seepage):
        ticket = get_ticket(conn, ticket_id)
        assert (ticket.state, ticket.department_id, ticket.owner_id) == ("dispatched", "complaint_handling", "ch-2")
        assert ticket.severity == "complex"
    ordinary = get_ticket(conn, attitude)
    assert (ordinary.department_id, ordinary.owner_id) == ("customer_service", "agent-1")
    assert conn.execute("SELECT name FROM departments WHERE id = 'complaint_handling'").fetchone()[0].startswith(
        "投诉处理组")


def test_without_a_grid_owner_the_groups_first_member_owns_it(conn, group):
    conn.execute("DELETE FROM grid_owners WHERE department_id = 'complaint_handling'")
    ticket = get_ticket(conn, _complaint(conn, BILLING, _residents(conn, 1)[0]))
    assert (ticket.department_id, ticket.owner_id) == ("complaint_handling", "ch-1")


def test_mediation_pauses_the_clock_and_ending_it_moves_the_deadlines_by_the_paused_working_time(conn, group):
    mediated_resident, control_resident = _residents(conn, 2)
    mediated = _complaint(conn, BILLING, mediated_resident)
    control = _complaint(conn, BILLING, control_resident)
    before = get_ticket(conn, mediated)
    started, ended = NOW + timedelta(hours=1), MONDAY + timedelta(hours=1)  # Tue 11:00 to the next Mon 11:00
    start_mediation(conn, mediated, party="committee", name="滨江社区居委会", at=started, by="ch-2",
                    now=started, note="物业费分摊争议")
    assert get_ticket(conn, mediated).sla_paused_at == started

    # Far past both tickets' original deadlines: the control ticket is reminded and escalated, the mediated one not.
    late = before.resolve_due + timedelta(days=10)
    assert late > before.respond_due
    sla_sweep(conn, now=late)
    assert _alerts(conn, mediated) == []
    assert "breach" in _alerts(conn, control)

    done = end_mediation(conn, mediated, outcome="agreed", agreement="物业费按面积重新分摊，多收部分下月抵扣",
                         at=ended, by="ch-2", now=late)
    after = get_ticket(conn, mediated)
    paused = sla.working_time_between(started, ended, SHANGHAI)
    assert paused == timedelta(days=4)  # six days of wall time, the weekend not counted (working-day clocks)
    assert after.sla_paused_at is None
    assert sla.working_time_between(before.resolve_due, after.resolve_due, SHANGHAI) == paused
    assert after.resolve_due == sla.add_working_time(before.resolve_due, paused, SHANGHAI)
    assert after.respond_due == sla.add_working_time(before.respond_due, paused, SHANGHAI)
    assert done.outcome == "agreed"

    # The clock runs again: once past the moved deadline the sweep escalates it.
    sla_sweep(conn, now=after.resolve_due + timedelta(days=20))
    assert "breach" in _alerts(conn, mediated)


def _told(conn: psycopg.Connection, ticket_id: int) -> list[tuple[str, str]]:
    """Who was told what about the ticket by the sweep: (staff member, notice body), oldest first."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT user_id, body FROM notices WHERE ticket_id = %s AND kind = 'sla' ORDER BY id", (ticket_id,))]


def test_a_mediation_that_drags_on_is_chased_up_the_ladder_until_it_ends(conn, group):
    """The ticket's clocks are paused while the committee mediates; the mediation's own clock (14 days by default)
    reminds the owner at 7 and 11.2 days, tells the group's head at 14 and the site manager at 21."""
    ticket = _complaint(conn, BILLING, _residents(conn, 1)[0])
    started = NOW + timedelta(hours=1)
    start_mediation(conn, ticket, party="committee", name="滨江社区居委会", at=started, by="ch-2", now=started)

    sla_sweep(conn, now=started + timedelta(days=6, hours=23))
    assert _told(conn, ticket) == []

    sla_sweep(conn, now=started + timedelta(days=7, minutes=1))
    [(who, body)] = _told(conn, ticket)
    assert who == "ch-2" and "调解时限" in body and "50%" in body
    sla_sweep(conn, now=started + timedelta(days=7, minutes=2))  # a second run sends nothing twice
    assert len(_told(conn, ticket)) == 1

    sla_sweep(conn, now=started + timedelta(days=14, minutes=1))
    told = _told(conn, ticket)
    assert [who for who, _ in told] == ["ch-2", "ch-2", "ch-head"]  # 80 % to the owner, then the breach to the head
    assert "调解时限" in told[-1][1] and "升级至主管" in told[-1][1]
    chased = conn.execute("""SELECT note, detail->>'recipient' FROM ticket_events
                             WHERE ticket_id = %s AND event LIKE 'sla_%%' ORDER BY id""", (ticket,)).fetchall()
    assert [note for note, _ in chased] == ["调解时限 / mediation clock"] * 3
    assert [r[0] for r in conn.execute("SELECT clock FROM sla_alerts WHERE ticket_id = %s", (ticket,))] == [
        "mediation"] * 3

    end_mediation(conn, ticket, outcome="agreed", agreement="物业费按面积重新分摊", by="ch-2",
                  now=started + timedelta(days=15))
    before = len(_told(conn, ticket))
    sla_sweep(conn, now=started + timedelta(days=21, minutes=1))  # the manager's rung, had it stayed open
    # Ended: nothing more about the mediation (the ticket's own clocks run again and may remind, as before it).
    assert not any("调解时限" in body for _, body in _told(conn, ticket)[before:])
    assert conn.execute("SELECT count(*) FROM sla_alerts WHERE ticket_id = %s AND clock = 'mediation'",
                        (ticket,)).fetchone()[0] == 3


def test_a_second_mediation_has_its_own_clock_and_the_setting_sets_it(conn, group):
    ticket = _complaint(conn, BILLING, _residents(conn, 1)[0])
    start_mediation(conn, ticket, party="committee", name="滨江社区居委会", now=NOW)
    sla_sweep(conn, now=NOW + timedelta(days=8))
    end_mediation(conn, ticket, outcome="not_agreed", now=NOW + timedelta(days=8))
    assert len(_told(conn, ticket)) == 1

    again = NOW + timedelta(days=9)
    start_mediation(conn, ticket, party="mediator", name="区人民调解委员会", now=again)
    config = ticket_config(load_settings(environ={"FOREWARN_MEDIATION_REVIEW_DAYS": "2"}))
    sla_sweep(conn, now=again + timedelta(hours=23), config=config)
    assert len(_told(conn, ticket)) == 1
    sla_sweep(conn, now=again + timedelta(days=2, minutes=1), config=config)
    assert [who for who, _ in _told(conn, ticket)] == ["ch-2", "ch-2", "ch-2", "ch-head"]


def test_party_dates_outcome_and_agreement_are_recorded_and_on_the_timeline(conn, group):
    ticket = _complaint(conn, BILLING, _residents(conn, 1)[0])
    start_mediation(conn, ticket, party="mediator", name="区人民调解委员会 王调解员", at=NOW + timedelta(hours=2),
                    by="ch-1", now=NOW + timedelta(hours=3))
    end_mediation(conn, ticket, outcome="not_agreed", agreement="", at=NOW + timedelta(days=1), by="ch-head",
                  now=NOW + timedelta(days=1, hours=1))
    [m] = mediations(conn, ticket)
    assert (m.party_kind, m.party_name, m.started_at, m.ended_at, m.outcome, m.recorded_by, m.ended_by) == (
        "mediator", "区人民调解委员会 王调解员", NOW + timedelta(hours=2), NOW + timedelta(days=1), "not_agreed",
        "ch-1", "ch-head")
    timeline = conn.execute(
        """SELECT event, actor, detail FROM ticket_events WHERE ticket_id = %s AND event LIKE 'mediation%%'
           ORDER BY id""", (ticket,)).fetchall()
    assert [(e, a) for e, a, _ in timeline] == [("mediation_started", "ch-1"), ("mediation_ended", "ch-head")]
    assert timeline[0][2]["party_name"] == "区人民调解委员会 王调解员"
    assert timeline[1][2]["outcome"] == "not_agreed"


def test_a_second_open_mediation_and_a_resolved_ticket_are_refused(conn, group):
    ticket = _complaint(conn, BILLING, _residents(conn, 1)[0])
    start_mediation(conn, ticket, party="owners_committee", name="滨江花园业委会", now=NOW)
    with pytest.raises(MediationConflict, match="already has an open mediation"):
        start_mediation(conn, ticket, party="mediator", name="another", now=NOW + timedelta(hours=1))
    with pytest.raises(InvalidInput, match="needs the agreement"):
        end_mediation(conn, ticket, outcome="agreed", now=NOW + timedelta(hours=1))
    with pytest.raises(InvalidInput, match="party 'lawyer' is not one of"):
        start_mediation(conn, ticket, party="lawyer", name="x", now=NOW)
    end_mediation(conn, ticket, outcome="withdrawn", now=NOW + timedelta(hours=2))
    with pytest.raises(MediationConflict, match="no open mediation"):
        end_mediation(conn, ticket, outcome="withdrawn", now=NOW + timedelta(hours=3))
    transition(conn, ticket, "acknowledge", actor="ch-2", now=NOW + timedelta(hours=3))
    transition(conn, ticket, "resolve", actor="ch-2", now=NOW + timedelta(hours=4))
    conn.commit()
    with pytest.raises(MediationConflict, match="is resolved"):
        start_mediation(conn, ticket, party="mediator", name="again", now=NOW + timedelta(hours=5))


def test_waiting_on_the_resident_during_a_mediation_counts_the_pause_once(conn, group):
    """Waiting on the resident and resuming while the mediation is open: the clocks stay paused, and the
    deadlines move by the mediation's time only (each paused minute counted once)."""
    ticket = _complaint(conn, BILLING, _residents(conn, 1)[0])
    before = get_ticket(conn, ticket)
    transition(conn, ticket, "acknowledge", actor="ch-2", now=NOW)
    start_mediation(conn, ticket, party="committee", name="居委会", now=NOW + timedelta(hours=1))
    transition(conn, ticket, "wait_resident", actor="ch-2", now=NOW + timedelta(hours=2))
    transition(conn, ticket, "resume", actor="ch-2", now=NOW + timedelta(hours=3))
    assert get_ticket(conn, ticket).sla_paused_at is not None  # the mediation still holds the clocks
    end_mediation(conn, ticket, outcome="agreed", agreement="书面道歉并退还多收费用", now=NOW + timedelta(hours=5))
    after = get_ticket(conn, ticket)
    assert after.sla_paused_at is None
    assert sla.working_time_between(before.resolve_due, after.resolve_due, SHANGHAI) == timedelta(hours=4)


@pytest.fixture
def client(estate_db_url, group):
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=2, open=True)
    try:
        with TestClient(create_app(AppState(pool=pool, broker_check=lambda: True, clock=lambda: NOW))) as c:
            yield c
    finally:
        pool.close()


def test_the_api_records_mediation_for_staff_and_refuses_residents(conn, group, client):
    resident = _residents(conn, 1)[0]
    ticket = _complaint(conn, BILLING, resident)
    tokens = {u: issue_token(conn, u) for u in ("ch-2", "eng-1", "ch-head")}
    tokens["resident"] = issue_token(conn, ensure_resident_user(conn, resident[0]))
    conn.commit()

    def post(who: str, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
        answer = client.post(f"/api/v1/tickets/{ticket}/mediation{path}", json=body,
                             headers={"Authorization": f"Bearer {tokens[who]}"})
        return answer.status_code, answer.json()

    start = {"party": "residents_committee", "name": "滨江社区居委会"}
    assert post("resident", "", start)[0] == 403
    assert post("eng-1", "", start)[0] == 403
    assert post("ch-2", "", start | {"party": "lawyer"})[0] == 422
    status, made = post("ch-2", "", start)
    assert status == 201, made
    assert (made["party_kind"], made["recorded_by"], made["ended_at"]) == ("residents_committee", "ch-2", None)
    status, refused = post("ch-head", "", start)
    assert status == 409 and "already has an open mediation" in str(refused["detail"])
    assert post("ch-2", "/end", {"outcome": "maybe"})[0] == 422
    assert post("resident", "/end", {"outcome": "withdrawn"})[0] == 403
    status, done = post("ch-head", "/end", {"outcome": "agreed", "agreement": "退还多收的两百元"})
    assert status == 200, done
    assert post("ch-head", "/end", {"outcome": "agreed", "agreement": "again"})[0] == 409
    history = client.get(f"/api/v1/tickets/{ticket}/mediation",
                         headers={"Authorization": f"Bearer {tokens['ch-2']}"})
    assert [(m["outcome"], m["agreement"], m["ended_by"]) for m in history.json()] == [
        ("agreed", "退还多收的两百元", "ch-head")]
    assert client.get(f"/api/v1/tickets/{ticket}/mediation",
                      headers={"Authorization": f"Bearer {tokens['resident']}"}).status_code == 403
    assert client.get("/api/v1/tickets/999999/mediation",
                      headers={"Authorization": f"Bearer {tokens['ch-2']}"}).status_code == 404


def test_the_cli_starts_ends_and_shows_a_mediation(conn, group, estate_db_url):
    ticket = _complaint(conn, BILLING, _residents(conn, 1)[0])
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(tickets_cli, ["mediation", *args, "--db", estate_db_url])
        return result.exit_code, result.output

    code, out = run("start", str(ticket), "--party", "committee", "--name", "滨江社区居委会",
                    "--at", "2026-11-24T11:00")
    assert code == 0, out
    assert "paused" in out
    code, out = run("start", str(ticket), "--party", "committee", "--name", "again")
    assert code == 1 and "already has an open mediation" in out
    code, out = run("start", str(ticket), "--party", "lawyer", "--name", "x")
    assert code == 2 and "is not one of" in out
    code, out = run("end", str(ticket), "--outcome", "agreed", "--agreement", "按面积分摊")
    assert code == 0, out
    code, out = run("show", str(ticket))
    assert code == 0, out
    assert "residents_committee 滨江社区居委会, 2026-11-24 11:00+0800" in out and "agreed: 按面积分摊" in out
    assert run("show", "999999")[0] == 1
