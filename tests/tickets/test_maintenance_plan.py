"""Recurring maintenance (issue #16 point 10; 001: each lift every two weeks): with a controlled clock, a 14-day plan
opens its work orders on day 0, 14 and 28 — not before, and exactly once each however often the job runs, also in
two schedulers at once; its completion tells the units the lift serves, and nobody else."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from forewarn.cli_device import device_app
from forewarn.configs import BrokerEndpoint
from forewarn.db import StorageMode
from forewarn.settings import load_settings
from forewarn.wiring import RoleContext, scheduler_jobs
from tickets.channels import InAppChannel
from tickets.config import DEFAULT_CONFIG
from tickets.errors import InvalidInput
from tickets.lifecycle import TicketEvent
from tickets.maintenance_plan import add_plan, list_plans, parse_every, run_due_plans, stop_plan
from tickets.transitions import transition

from .conftest import NOW, residents_served

LIFT = "rs-b1-elev-a"
runner = CliRunner()


def work_orders(conn) -> list[tuple]:
    return conn.execute(
        """SELECT t.created_at, t.source, t.state, t.device_id, w.department_id, w.status, r.due_at
           FROM maintenance_runs r JOIN tickets t ON t.id = r.ticket_id JOIN work_orders w ON w.ticket_id = t.id
           ORDER BY t.id""").fetchall()


def run(conn, at) -> list[int]:
    conn.commit()
    return run_due_plans(conn, now=at, config=DEFAULT_CONFIG)


def test_a_two_weekly_plan_opens_its_work_orders_on_days_0_14_and_28_exactly_once(conn, staff):
    add_plan(conn, device_id=LIFT, every_days=14, first_due=NOW, created_by="eng-head", now=NOW - timedelta(days=1))
    assert run(conn, NOW - timedelta(minutes=1)) == []  # not due yet
    day = timedelta(days=1)
    for offset in (0, 14, 28):
        due = NOW + offset * day
        assert run(conn, due - timedelta(seconds=1)) == []  # not a second early
        opened = run(conn, due)
        assert len(opened) == 1, offset  # on time
        assert run(conn, due) == [] and run(conn, due + timedelta(minutes=1)) == []  # the job again: nothing more
    orders = work_orders(conn)
    assert [o[0] for o in orders] == [NOW, NOW + 14 * day, NOW + 28 * day]
    assert [o[6] for o in orders] == [NOW, NOW + 14 * day, NOW + 28 * day]
    assert {o[1:6] for o in orders} == {("preventive", "dispatched", LIFT, "engineering", "open")}
    assert list_plans(conn)[0].next_due == NOW + 42 * day
    stop_plan(conn, list_plans(conn)[0].id)
    assert run(conn, NOW + 42 * day) == []  # a stopped plan opens nothing more


def test_two_schedulers_running_the_job_at_once_open_one_work_order(estate_db_url, conn, staff):
    add_plan(conn, device_id=LIFT, every_days=14, first_due=NOW, created_by="eng-head", now=NOW)
    conn.commit()
    barrier, results, errors = threading.Barrier(2), [], []

    def scheduler() -> None:
        try:
            with psycopg.connect(estate_db_url) as own:
                barrier.wait()
                results.append(run_due_plans(own, now=NOW + timedelta(minutes=1), config=DEFAULT_CONFIG))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 1]
    assert len(work_orders(conn)) == 1


def test_a_missed_due_date_opens_one_work_order_and_the_plan_moves_past_now(conn, staff):
    add_plan(conn, device_id=LIFT, every_days=14, first_due=NOW, created_by="eng-head", now=NOW)
    assert len(run(conn, NOW + timedelta(days=30))) == 1  # down for a month: one visit now, not three at once
    assert [o[6] for o in work_orders(conn)] == [NOW + timedelta(days=28)]
    assert list_plans(conn)[0].next_due == NOW + timedelta(days=42)


def test_a_kind_plan_opens_one_work_order_per_lift_of_the_site(conn, staff):
    lifts = {r[0] for r in conn.execute(
        "SELECT id FROM devices WHERE site_id = 'riverside' AND kind = 'elevator' AND active")}
    add_plan(conn, site_id="riverside", device_kind="elevator", every_days=14, first_due=NOW, created_by="mgr",
             now=NOW)
    assert len(run(conn, NOW)) == len(lifts) > 1
    assert {o[3] for o in work_orders(conn)} == lifts


def test_completion_tells_the_units_the_lift_serves_and_nobody_else(conn, staff):
    add_plan(conn, device_id=LIFT, every_days=14, first_due=NOW, created_by="eng-head", now=NOW)
    (ticket,) = run(conn, NOW)
    for i, event in enumerate((TicketEvent.ACKNOWLEDGE, TicketEvent.ARRIVE, TicketEvent.RESOLVE)):
        transition(conn, ticket, event, actor="eng-1", now=NOW + timedelta(hours=i + 1))
    conn.commit()
    assert work_orders(conn)[0][5] == "done"
    told = conn.execute("SELECT resident_id, title, body FROM notices WHERE kind = 'maintenance_done'").fetchall()
    assert {r[0] for r in told} == residents_served(conn, LIFT) and len(told) == len(residents_served(conn, LIFT))
    zh = conn.execute("SELECT title, body FROM notices WHERE kind = 'maintenance_done' AND lang = 'zh-CN' LIMIT 1"
                      ).fetchone()
    assert "电梯定期保养已完成" in zh[0] and "2026-11-24 13:00" in zh[1]
    # Reopened and resolved again: the same visit, no second notice.
    transition(conn, ticket, TicketEvent.REOPEN, actor="mgr", now=NOW + timedelta(hours=5))
    transition(conn, ticket, TicketEvent.DISPATCH, actor="mgr", now=NOW + timedelta(hours=5))
    for event in (TicketEvent.ACKNOWLEDGE, TicketEvent.ARRIVE, TicketEvent.RESOLVE):
        transition(conn, ticket, event, actor="eng-1", now=NOW + timedelta(hours=6))
    assert conn.execute("SELECT count(*) FROM notices WHERE kind = 'maintenance_done'").fetchone()[0] == len(told)


def test_bad_plans_are_refused(conn, staff):
    with pytest.raises(InvalidInput, match="unknown device 'nope'"):
        add_plan(conn, device_id="nope", every_days=14, first_due=NOW, created_by="x", now=NOW)
    with pytest.raises(InvalidInput, match="one device, or for a device kind"):
        add_plan(conn, every_days=14, first_due=NOW, created_by="x", now=NOW, site_id="riverside")
    with pytest.raises(InvalidInput, match="unknown department 'kitchen'"):
        add_plan(conn, device_id=LIFT, every_days=14, first_due=NOW, created_by="x", now=NOW,
                 department_id="kitchen")
    with pytest.raises(InvalidInput, match="bad interval 'fortnightly'"):
        parse_every("fortnightly")
    assert parse_every("14d") == parse_every("14") == 14


def test_the_cli_adds_and_lists_plans(estate_db_url, staff):
    added = runner.invoke(device_app, ["maintenance-plan", "add", LIFT, "--every", "14d", "--first",
                                       "2026-12-01T09:00+08:00", "--by", "eng-head", "--db", estate_db_url])
    assert added.exit_code == 0, added.output
    assert "rs-b1-elev-a" in added.output and "every 14 d, next due 2026-12-01 01:00Z" in added.output
    listed = runner.invoke(device_app, ["maintenance-plan", "list", "--db", estate_db_url])
    assert listed.exit_code == 0 and "every 14 d" in listed.output
    stopped = runner.invoke(device_app, ["maintenance-plan", "stop", "1", "--db", estate_db_url])
    assert stopped.exit_code == 0 and "plan stopped: #1" in stopped.output
    listed = runner.invoke(device_app, ["maintenance-plan", "list", "--db", estate_db_url])
    assert listed.output.strip() == "no maintenance plans"
    again = runner.invoke(device_app, ["maintenance-plan", "stop", "1", "--db", estate_db_url])
    assert again.exit_code == 1 and "no active maintenance plan 1" in again.output
    for args, message in ((["add", LIFT, "--every", "two weeks"], "bad interval 'two weeks'"),
                          (["add", LIFT], "give the interval"),
                          (["add", "--site", "riverside", "--every", "14d"], "needs both --site and --kind"),
                          (["add", "ghost", "--every", "14d"], "unknown device 'ghost'")):
        bad = runner.invoke(device_app, ["maintenance-plan", *args, "--db", estate_db_url])
        assert bad.exit_code == 2 and message in bad.output, (args, bad.output)


def test_a_plan_that_fails_is_left_due_and_does_not_hold_up_the_others(conn, staff):
    other_lift = conn.execute("SELECT id FROM devices WHERE kind = 'elevator' AND id <> %s ORDER BY id LIMIT 1",
                              (LIFT,)).fetchone()[0]
    add_plan(conn, device_id=LIFT, every_days=14, first_due=NOW - timedelta(hours=1), created_by="x", now=NOW)
    add_plan(conn, device_id=other_lift, every_days=14, first_due=NOW, created_by="x", now=NOW)
    # The database refuses the first plan's visit (as a constraint would), until the trigger is dropped.
    conn.execute(f"""CREATE FUNCTION refuse_run() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                         IF NEW.device_id = '{LIFT}' THEN RAISE check_violation USING MESSAGE = 'refused'; END IF;
                         RETURN NEW; END $$;
                     CREATE TRIGGER refuse_run BEFORE INSERT ON maintenance_runs
                         FOR EACH ROW EXECUTE FUNCTION refuse_run()""")
    assert len(run(conn, NOW)) == 1
    assert [o[3] for o in work_orders(conn)] == [other_lift]
    conn.execute("DROP TRIGGER refuse_run ON maintenance_runs")
    assert len(run(conn, NOW + timedelta(minutes=1))) == 1  # still due: opened on the next run
    assert {o[3] for o in work_orders(conn)} == {LIFT, other_lift}


def test_the_schedulers_job_on_a_controlled_clock_opens_them_on_time(estate_db_url, pool, staff):
    """The job as the scheduler role wires it (forewarn/wiring.py), on the platform's clock set by the test."""
    clock = [NOW - timedelta(days=1)]
    ctx = RoleContext(settings=load_settings(environ={}), pool=pool, database_url=estate_db_url,
                      mode=StorageMode(timescale=True, reason="test"), broker=BrokerEndpoint("127.0.0.1", 1),
                      clock=lambda: clock[0], tickets=DEFAULT_CONFIG)
    (job,) = [j for j in scheduler_jobs(ctx, {"in_app": InAppChannel()}) if j.name == "maintenance-plans"]
    with pool.connection() as conn:
        add_plan(conn, device_id=LIFT, every_days=14, first_due=NOW, created_by="eng-head", now=clock[0])
    for day in range(0, 30):
        for minute in (0, 1):  # the job runs every minute: twice on each day here
            clock[0] = NOW + timedelta(days=day, minutes=minute)
            job.run()
    with pool.connection() as conn:
        assert [o[0] for o in work_orders(conn)] == [NOW, NOW + timedelta(days=14), NOW + timedelta(days=28)]
