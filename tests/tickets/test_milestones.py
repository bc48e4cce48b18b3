"""Each SLA milestone is met by its own event (issue #16 point 1; tickets/milestones.py): a major complaint under 001
owes someone on site in 15 minutes and a written plan in 24 hours, whatever is clicked meanwhile; a complex one a
progress report in 7 working days. On the demo estate (Riverside runs on 001), through the functions the desk calls."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

import forewarn.migrations
from tickets.cli import app
from tickets.complaints import intake_complaint, reclassify
from tickets.config import DEFAULT_CONFIG
from tickets.desk import desk_queue
from tickets.errors import InvalidInput, NotFound
from tickets.lifecycle import TicketEvent
from tickets.plans import record_plan, report_progress
from tickets.requests import file_request
from tickets.review.compute import compute_review
from tickets.review.periods import parse_period
from tickets.service import get_ticket
from tickets.service_report import service_report
from tickets.sla import add_working_time
from tickets.sweeps import sla_sweep
from tickets.transitions import transition
from tickets.workorders import act

from .conftest import NOW, SHANGHAI

ME, MY_UNIT = "r-00001", "rs-b1-0101"
_SEPARATE = replace(DEFAULT_CONFIG, join_window=timedelta(0))
runner = CliRunner()


def _complaint(conn: psycopg.Connection, text: str, now: datetime = NOW) -> int:
    made = intake_complaint(conn, resident_id=ME, unit_id=MY_UNIT, channel="app", description=text, lang="zh-CN",
                            reported_at=now, now=now, taken_by="agent-1", config=_SEPARATE)
    conn.commit()
    return made.ticket_id


def _major(conn: psycopg.Connection) -> int:
    ticket_id = _complaint(conn, "电梯困人了，快来")
    ticket = get_ticket(conn, ticket_id)
    assert (ticket.severity, ticket.sla_profile) == ("major", "001")
    assert (ticket.respond_milestone, ticket.resolve_milestone) == ("on_site", "plan")
    assert (ticket.respond_due, ticket.resolve_due) == (NOW + timedelta(minutes=15), NOW + timedelta(hours=24))
    return ticket_id


def _alerts(conn: psycopg.Connection, ticket_id: int) -> list[tuple[str, str]]:
    return conn.execute("SELECT clock, level FROM sla_alerts WHERE ticket_id = %s ORDER BY at, clock, level",
                        (ticket_id,)).fetchall()


def _work_order(conn: psycopg.Connection, ticket_id: int) -> int:
    row = conn.execute("SELECT id FROM work_orders WHERE ticket_id = %s AND status NOT IN ('done', 'cancelled')",
                       (ticket_id,)).fetchone()
    assert row is not None
    return int(row[0])


def test_an_acknowledged_major_complaint_with_nobody_on_site_escalates_on_the_on_site_clock(conn, staff):
    ticket_id = _major(conn)
    transition(conn, ticket_id, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW + timedelta(minutes=1))
    conn.commit()
    assert get_ticket(conn, ticket_id).respond_met_at is None  # acknowledging is not being there
    [row] = [r for r in desk_queue(conn) if r.id == ticket_id]  # the desk still counts down to someone on site
    assert (row.due_kind, row.due) == ("respond", NOW + timedelta(minutes=15))
    sla_sweep(conn, now=NOW + timedelta(minutes=16))
    conn.commit()
    assert ("respond", "breach") in _alerts(conn, ticket_id)
    note, detail = conn.execute("""SELECT note, detail FROM ticket_events WHERE ticket_id = %s
                                   AND event = 'sla_breach'""", (ticket_id,)).fetchone()
    assert note == "到场时限 / on site clock" and detail["milestone"] == "on_site" and detail["clock"] == "respond"
    body = conn.execute("SELECT body FROM notices WHERE ticket_id = %s AND user_id IS NOT NULL AND kind = 'sla' "
                        "ORDER BY id DESC",
                        (ticket_id,)).fetchone()
    assert body is not None and "on site clock" in body[0]


def test_a_work_order_on_site_meets_the_on_site_clock_and_nothing_escalates(conn, staff):
    ticket_id = _major(conn)
    act(conn, _work_order(conn, ticket_id), TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW + timedelta(minutes=1))
    act(conn, _work_order(conn, ticket_id), TicketEvent.ARRIVE, user_id="eng-1", now=NOW + timedelta(minutes=12))
    conn.commit()
    ticket = get_ticket(conn, ticket_id)
    assert ticket.respond_met_at == NOW + timedelta(minutes=12) and ticket.resolve_met_at is None
    sla_sweep(conn, now=NOW + timedelta(minutes=16))
    conn.commit()
    assert [a for a in _alerts(conn, ticket_id) if a[0] == "respond"] == []
    # The service report measures the same clocks: on site met at 12 min, the written plan still pending.
    report = service_report(conn, ticket_id)
    assert (report.respond_milestone, report.respond_met, report.respond_met_at) == ("on_site", True,
                                                                                      NOW + timedelta(minutes=12))
    assert (report.resolve_milestone, report.resolve_met) == ("plan", None)


def test_a_complaint_staff_reclassify_as_major_runs_its_on_site_clock_again_though_acknowledged(conn, staff):
    ticket_id = _complaint(conn, "楼道灯坏了")
    ticket = get_ticket(conn, ticket_id)
    assert ticket.severity != "major" and ticket.respond_milestone == "respond"
    transition(conn, ticket_id, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW + timedelta(minutes=1))
    conn.commit()
    assert get_ticket(conn, ticket_id).respond_met_at == NOW + timedelta(minutes=1)
    reclassify(conn, ticket_id, category=None, severity="major", by_user="agent-1", note="a child trapped",
               now=NOW + timedelta(minutes=2))
    ticket = get_ticket(conn, ticket_id)
    assert (ticket.severity, ticket.respond_milestone, ticket.resolve_milestone) == ("major", "on_site", "plan")
    assert ticket.respond_met_at is None  # acknowledged is not on site: that clock runs again
    assert ticket.respond_due == NOW + timedelta(minutes=15)  # counted from when the complaint was received
    act(conn, _work_order(conn, ticket_id), TicketEvent.ARRIVE, user_id="eng-1", now=NOW + timedelta(minutes=9))
    conn.commit()
    assert get_ticket(conn, ticket_id).respond_met_at == NOW + timedelta(minutes=9)


def test_the_plan_clock_is_met_by_the_written_plan_not_by_acknowledging(conn, staff):
    ticket_id = _major(conn)
    transition(conn, ticket_id, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW + timedelta(minutes=1))
    transition(conn, ticket_id, TicketEvent.ARRIVE, actor="agent-1", now=NOW + timedelta(minutes=10))
    conn.commit()
    assert get_ticket(conn, ticket_id).resolve_met_at is None
    sla_sweep(conn, now=NOW + timedelta(hours=13))  # half of the 24-hour plan clock: the owner is reminded
    conn.commit()
    assert _alerts(conn, ticket_id) == [("resolve", "remind_50")]
    met = record_plan(conn, ticket_id, text="更换曳引机制动器，明天18:00前完成", by="agent-1",
                      now=NOW + timedelta(hours=20))
    conn.commit()
    assert met == {"resolve": "plan"}
    assert get_ticket(conn, ticket_id).resolve_met_at == NOW + timedelta(hours=20)
    assert sla_sweep(conn, now=NOW + timedelta(hours=30)) == 0  # nothing runs any more
    row = conn.execute("SELECT note, detail FROM ticket_events WHERE ticket_id = %s AND event = 'plan_recorded'",
                       (ticket_id,)).fetchone()
    assert row[0] == "更换曳引机制动器，明天18:00前完成" and row[1]["met"] == {"resolve": "plan"}


def test_a_complex_complaints_progress_clock_is_met_by_a_progress_report_with_one_notice(conn, staff):
    ticket_id = _complaint(conn, "物业收费争议，公摊费用不透明")
    ticket = get_ticket(conn, ticket_id)
    assert (ticket.severity, ticket.respond_milestone, ticket.resolve_milestone) == ("complex", "progress",
                                                                                     "resolve")
    assert ticket.respond_due == add_working_time(NOW, timedelta(days=7), SHANGHAI)
    transition(conn, ticket_id, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW + timedelta(hours=1))
    conn.commit()
    assert get_ticket(conn, ticket_id).respond_met_at is None  # acknowledging is no progress report
    before = conn.execute("SELECT count(*) FROM notices WHERE ticket_id = %s AND resident_id IS NOT NULL",
                          (ticket_id,)).fetchone()[0]
    later = NOW + timedelta(days=3)
    assert report_progress(conn, ticket_id, text="已调取近三年公摊账目，正在核对", by="agent-1",
                           now=later) == {"respond": "progress"}
    conn.commit()
    assert get_ticket(conn, ticket_id).respond_met_at == later
    notices = conn.execute("SELECT resident_id, kind, body FROM notices WHERE ticket_id = %s "
                           "AND resident_id IS NOT NULL ORDER BY id",
                           (ticket_id,)).fetchall()[before:]
    assert [(r, k) for r, k, _ in notices] == [(ME, "progress_report")]
    assert "已调取近三年公摊账目，正在核对" in notices[0][2]
    # A second report is a second notice, and meets nothing more.
    assert report_progress(conn, ticket_id, text="账目核对完毕，下周答复", by="agent-1",
                           now=later + timedelta(days=1)) == {}
    conn.commit()
    assert conn.execute("SELECT count(*) FROM notices WHERE ticket_id = %s AND kind = 'progress_report'",
                        (ticket_id,)).fetchone()[0] == 2


def test_plans_and_reports_refuse_empty_text_closed_and_unknown_tickets(conn, staff):
    ticket_id = _major(conn)
    with pytest.raises(InvalidInput, match="needs its text"):
        record_plan(conn, ticket_id, text="  ", by="agent-1", now=NOW)
    with pytest.raises(NotFound, match="no ticket 999999"):
        report_progress(conn, 999999, text="x", by="agent-1", now=NOW)
    transition(conn, ticket_id, TicketEvent.CANCEL, actor="agent-1", now=NOW, note="duplicate")
    conn.commit()
    with pytest.raises(InvalidInput, match="is cancelled"):
        record_plan(conn, ticket_id, text="a plan", by="agent-1", now=NOW)


def test_resolving_meets_the_clocks_still_running_and_a_reopen_starts_them_again(conn, staff):
    ticket_id = _major(conn)
    transition(conn, ticket_id, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW + timedelta(minutes=1))
    done = NOW + timedelta(minutes=30)
    transition(conn, ticket_id, TicketEvent.RESOLVE, actor="agent-1", now=done)
    conn.commit()
    ticket = get_ticket(conn, ticket_id)
    assert (ticket.respond_met_at, ticket.resolve_met_at) == (done, done)
    reopened = transition(conn, ticket_id, TicketEvent.REOPEN, actor="agent-1", now=done + timedelta(hours=1))
    conn.commit()
    assert (reopened.respond_met_at, reopened.resolve_met_at) == (None, None)
    assert reopened.respond_due == done + timedelta(hours=1, minutes=15)


def test_the_reviews_sla_by_tier_counts_an_acknowledged_major_nobody_reached_as_an_on_site_breach(conn, staff):
    missed = _major(conn)
    transition(conn, missed, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW + timedelta(minutes=1))
    reached = _major(conn)
    act(conn, _work_order(conn, reached), TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW + timedelta(minutes=1))
    act(conn, _work_order(conn, reached), TicketEvent.ARRIVE, user_id="eng-1", now=NOW + timedelta(minutes=14))
    conn.commit()
    review = compute_review(conn, parse_period("2026-11", SHANGHAI), compare=False)
    assert review.sla_by_tier["major"]["respond"] == 50.0
    assert [(b["ticket"], b["clock"], b["milestone"]) for b in review.breaches if b["clock"] == "respond"] == [
        (missed, "respond", "on_site")]


def test_the_commands_record_a_plan_and_refuse_empty_text_and_unknown_tickets(conn, staff, estate_db_url):
    ticket_id = _major(conn)
    empty = runner.invoke(app, ["plan", str(ticket_id), "--text", " ", "--db", estate_db_url])
    assert empty.exit_code == 2 and "needs its text" in empty.output
    unknown = runner.invoke(app, ["progress", "999999", "--text", "x", "--db", estate_db_url])
    assert unknown.exit_code == 1 and "no ticket 999999" in unknown.output
    done = runner.invoke(app, ["plan", str(ticket_id), "--text", "今晚更换制动器", "--by", "agent-1",
                               "--db", estate_db_url])
    assert done.exit_code == 0, done.output
    assert f"plan recorded on ticket #{ticket_id}: resolve clock (plan) met" in done.output
    assert get_ticket(conn, ticket_id).resolve_met_at is not None


def test_the_migrations_backfill_gives_old_tickets_their_old_meaning(conn, staff):
    ticket_id = _major(conn)
    transition(conn, ticket_id, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW + timedelta(minutes=1))
    transition(conn, ticket_id, TicketEvent.RESOLVE, actor="agent-1", now=NOW + timedelta(hours=2))
    conn.execute("""UPDATE tickets SET respond_milestone = NULL, resolve_milestone = NULL, respond_met_at = NULL,
                    resolve_met_at = NULL WHERE id = %s""", (ticket_id,))  # as a ticket opened before 0101
    migration = (Path(forewarn.migrations.__file__).parent / "0101_sla_milestones.sql").read_text(encoding="utf-8")
    conn.execute(migration[migration.index("UPDATE tickets"):])
    ticket = get_ticket(conn, ticket_id)
    assert (ticket.respond_milestone, ticket.resolve_milestone) == ("respond", "resolve")
    assert (ticket.respond_met_at, ticket.resolve_met_at) == (NOW + timedelta(minutes=1), NOW + timedelta(hours=2))


@pytest.mark.parametrize(("kind", "text", "milestones"), [
    ("repair", "电梯困人了，快来", ("on_site", "resolve")),  # urgent repair: on site in 30 min, fixed in 24 h
    ("repair", "厨房水龙头滴水，麻烦来修一下", ("respond", "resolve")),  # ordinary repair: fixed in 24 h
    ("enquiry", "请问物业费怎么交", ("answer", "answer")),  # enquiry: answered in 2 h (both clauses, 003 §02)
    ("suggestion", "电梯困人了，建议加装应急电话", ("respond", "resolve")),  # a reply, not someone on site
])
def test_a_request_kinds_clocks_are_met_by_what_the_resident_was_promised(conn, staff, kind, text, milestones):
    # An urgent repair's 24-hour clock is "resolved", not a written plan (its tier's clause under the profile).
    receipt = file_request(conn, kind=kind, resident_id=ME, unit_id=MY_UNIT, description=text, lang="zh-CN",
                           now=NOW, config=_SEPARATE)
    conn.commit()
    ticket = get_ticket(conn, receipt.ticket_id)
    assert (ticket.respond_milestone, ticket.resolve_milestone) == milestones
    record_plan(conn, receipt.ticket_id, text="先派人查看", by="agent-1", now=NOW + timedelta(minutes=5))
    conn.commit()
    assert get_ticket(conn, receipt.ticket_id).resolve_met_at is None  # a plan resolves nothing
