"""Root causes and improvement actions: a why-chain comes back in order, an action's metric is shown before and
after its start (lift-fault complaints 10 → 6 a month is −40 %), status changes follow the table, and bad input is
a clear error, in the package and on the command line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from tests.cli_checks import assert_clean_failure
from tickets.errors import InvalidInput, NotFound
from tickets.review import actions as act
from tickets.review import report
from tickets.review.actions import Status
from tickets.review.cli import app
from tickets.review.compute import Slice, compute_review
from tickets.review.periods import parse_period

from .conftest import SHANGHAI, _units

runner = CliRunner()
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
LIFT_CHAIN = ["电梯门反复故障", "门机皮带磨损", "保养没有检查皮带", "保养合同未列此项", "合同模板多年未更新"]


def write_lift_history(conn: psycopg.Connection, per_month: dict[str, int], building: str = "rs-b1") -> None:
    """Lift-fault complaint tickets in `building`, so many a month (plus 5 noise complaints a month that the
    action's slice must not count)."""
    units = _units(conn, building)
    for month, lifts in per_month.items():
        first = datetime.fromisoformat(f"{month}-02T10:00").replace(tzinfo=SHANGHAI)
        for i, point in enumerate(["elevator"] * lifts + ["noise"] * 5):
            unit, resident = units[i % len(units)]
            at = first + timedelta(days=i)
            category = "facility" if point == "elevator" else "community"
            row = conn.execute(
                """INSERT INTO tickets (source, state, category, subcategory, severity, title, site_id, building_id,
                       unit_id, resident_id, department_id, reported_at, created_at)
                   VALUES ('complaint', 'acknowledged', %s, %s, 'general', %s, 'riverside', %s, %s, %s,
                       'engineering', %s, %s) RETURNING id""",
                (category, point, point, building, unit, resident, at, at)).fetchone()
            assert row is not None
            conn.execute("""INSERT INTO complaints (ticket_id, resident_id, unit_id, channel, description, lang,
                                category, severity, reported_at, received_at)
                            VALUES (%s, %s, %s, 'app', %s, 'zh-CN', %s, 'general', %s, %s)""",
                         (row[0], resident, unit, point, category, at, at))
    conn.commit()


TEN_THEN_SIX = {"2026-04": 10, "2026-05": 10, "2026-06": 10, "2026-07": 6, "2026-08": 6, "2026-09": 6}


def _lift_action(conn: psycopg.Connection, **extra: object) -> act.Action:
    fields: dict[str, object] = {
        "by": "mgr", "now": datetime(2026, 6, 20, tzinfo=UTC), "title": "更换门机皮带并修订保养合同",
        "department_id": "engineering", "owner": "王工", "deadline": date(2026, 7, 31), "metric": "complaints",
        "starts_on": date(2026, 7, 1), "where": Slice(building="rs-b1", point="elevator")} | extra
    return act.add_action(conn, **fields)  # type: ignore[arg-type]


def test_lift_complaints_falling_from_10_to_6_a_month_show_minus_40_percent(conn: psycopg.Connection) -> None:
    write_lift_history(conn, TEN_THEN_SIX)
    action = _lift_action(conn)
    effect = act.effect(conn, action, as_of=NOW, tz=SHANGHAI)
    assert [(m.month, m.side, m.value) for m in effect.months] == [
        ("2026-04", "before", 10.0), ("2026-05", "before", 10.0), ("2026-06", "before", 10.0),
        ("2026-07", "after", 6.0), ("2026-08", "after", 6.0), ("2026-09", "after", 6.0)]
    assert (effect.before, effect.after, effect.change_pct, effect.improved, effect.pending) == (10, 6, -40.0, True, 0)
    assert effect.slice == "building=rs-b1, point=elevator"


def test_the_monthly_report_shows_each_action_before_and_after(conn: psycopg.Connection) -> None:
    write_lift_history(conn, TEN_THEN_SIX)
    _lift_action(conn)
    act.add_cause(conn, by="mgr", now=datetime(2026, 9, 5, tzinfo=UTC), point="elevator", building_id="rs-b1",
                  what="电梯门故障", whys=LIFT_CHAIN[:2])
    period = parse_period("2026-09", SHANGHAI)
    review = act.attach_actions(conn, compute_review(conn, period), period)
    data = json.loads(report.to_json(review))
    assert data["actions"][0]["effect"]["change_pct"] == -40.0
    # JSON keeps the codes, for other tools; what people read names the department and the slice
    assert (data["actions"][0]["department_id"], data["actions"][0]["effect"]["slice"]) == (
        "engineering", "building=rs-b1, point=elevator")
    assert report.action_rows(review, "en")[0][5:] == [
        "planned", "complaints", "1号楼 Building 1 · lift fault", "10", "6", "-40.0 %"]
    row = report.action_rows(review, "zh-CN")[0]
    assert (row[2], row[7]) == ("工程部 Engineering", "1号楼 Building 1 · 电梯故障")
    assert "<td>工程部 Engineering</td>" in report.actions_html(review, "zh-CN")
    html = report.to_html(review, "en")
    assert '<tr class="green">' in html and "<td>-40.0 %</td>" in html
    assert "<td>lift fault · 1号楼 Building 1</td><td>电梯门故障</td>" in html
    assert "电梯门反复故障 → 门机皮带磨损" in html
    assert "rs-b1" not in html and "engineering" not in html
    assert [c["whys"] for c in data["causes"]] == [LIFT_CHAIN[:2]]
    book = load_workbook(io.BytesIO(report.to_xlsx(review, "en")))
    assert list(book["actions"].iter_rows(min_row=2, values_only=True))[0][-3:] == ("10", "6", "-40.0 %")
    assert list(book["causes"].iter_rows(min_row=2, values_only=True))[0][1:3] == (
        "lift fault · 1号楼 Building 1", "电梯门故障")
    assert list(book["actions"].iter_rows(min_row=2, values_only=True))[0][2] == "工程部 Engineering"
    pdf = " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(report.to_pdf(review, "zh-CN"))).pages)
                   .split())
    assert "改进措施" in pdf and "更换门机皮带并修订保养合同" in pdf and "-40.0 %" in pdf and "根本原因" in pdf
    assert "1号楼 Building 1 · 电梯故障" in pdf and "rs-b1" not in pdf
    assert act.attach_actions(conn, compute_review(conn, period.previous(), compare=False),
                              period.previous()).causes == []  # recorded in September, not in August
    # in August's report only July and August are over: the change so far, with one month still to come
    august = parse_period("2026-08", SHANGHAI)
    partial = act.attach_actions(conn, compute_review(conn, august, compare=False), august).actions[0]["effect"]
    assert (partial["after"], partial["pending"]) == (6.0, 1)


def test_an_action_started_mid_month_leaves_that_month_out(conn: psycopg.Connection) -> None:
    write_lift_history(conn, TEN_THEN_SIX | {"2026-10": 6})
    action = _lift_action(conn, starts_on=date(2026, 6, 15))
    effect = act.effect(conn, action, as_of=NOW, tz=SHANGHAI)
    assert [m.month for m in effect.months] == ["2026-03", "2026-04", "2026-05", "2026-07", "2026-08", "2026-09"]


def test_a_chain_of_whys_comes_back_in_order(conn: psycopg.Connection) -> None:
    cause = act.add_cause(conn, by="mgr", now=NOW, point="elevator", building_id="rs-b1", whys=LIFT_CHAIN,
                          what="电梯困人投诉占设施投诉30%", where="1号楼", why="保养合同缺项")
    again = act.get_cause(conn, cause.id)
    assert again.whys == tuple(LIFT_CHAIN)
    assert again.as_dict()["where"] == "1号楼" and again.as_dict()["what"].startswith("电梯困人")
    ticket = conn.execute("SELECT id FROM tickets LIMIT 1").fetchone()
    if ticket is None:
        write_lift_history(conn, {"2026-10": 1})
        ticket = conn.execute("SELECT id FROM tickets LIMIT 1").fetchone()
    assert ticket is not None
    on_ticket = act.add_cause(conn, by="eng", now=NOW, ticket_id=ticket[0], whys=["b", "a"])
    assert [c.whys for c in act.list_causes(conn, ticket_id=ticket[0])] == [("b", "a")]
    assert on_ticket.point is None
    # an action on the point's cause watches that point and building unless told otherwise
    action = act.add_action(conn, by="mgr", now=NOW, title="t", department_id="engineering", owner="o",
                            deadline=date(2026, 12, 31), metric="complaints", cause_id=cause.id)
    assert action.slice == Slice(building="rs-b1", point="elevator")


def test_bad_input_is_a_clear_error(conn: psycopg.Connection) -> None:
    with pytest.raises(InvalidInput, match="unknown metric 'lift_complaints': use one of tickets, complaints"):
        _lift_action(conn, metric="lift_complaints")
    with pytest.raises(InvalidInput, match="unknown department 'lifts'"):
        _lift_action(conn, department_id="lifts")
    with pytest.raises(InvalidInput, match="deadline 2026-06-01 is before the start 2026-07-01"):
        _lift_action(conn, deadline=date(2026, 6, 1))
    with pytest.raises(NotFound, match="no ticket 999999"):
        act.add_cause(conn, by="m", now=NOW, ticket_id=999999, what="x")
    with pytest.raises(InvalidInput, match="exactly one"):
        act.add_cause(conn, by="m", now=NOW, what="x")
    with pytest.raises(InvalidInput, match="why in the chain is empty"):
        act.add_cause(conn, by="m", now=NOW, point="water", whys=["a", " "])


def test_status_changes_follow_the_table_and_are_kept(conn: psycopg.Connection) -> None:
    action = _lift_action(conn)
    with pytest.raises(act.IllegalActionStatus, match="planned cannot become done; .* in_progress"):
        act.update_action(conn, action.id, by="m", now=NOW, status="done")
    act.update_action(conn, action.id, by="m", now=NOW, status="in_progress")
    done = act.update_action(conn, action.id, by="m", now=NOW, status="done", note="皮带已换")
    assert done.status == "done" and done.version == 3
    events = act.action_events(conn, action.id)
    assert [(e["event"], e["from_status"], e["to_status"]) for e in events] == [
        ("created", None, "planned"), ("status", "planned", "in_progress"), ("status", "in_progress", "done")]
    assert events[-1]["detail"] == {"note": "皮带已换"}
    with pytest.raises(InvalidInput, match="unknown status 'finished'"):
        act.update_action(conn, action.id, by="m", now=NOW, status="finished")


@given(st.lists(st.sampled_from([*Status, "finished"]), max_size=12))
def test_a_status_moves_only_along_the_table(asked: list[str]) -> None:
    """From planned, any sequence of requests ends where the allowed ones lead; the others change nothing."""
    state = Status.PLANNED
    for wanted in asked:
        allowed = wanted in act.TRANSITIONS[state] or wanted == state
        try:
            state = act.next_status(state, wanted)
        except act.IllegalActionStatus:
            assert not allowed and wanted in set(Status)
        except InvalidInput:
            assert wanted == "finished"
        else:
            assert allowed and state == wanted
    assert all(act.TRANSITIONS[s] and s not in act.TRANSITIONS[s] for s in Status)  # no dead end, no self-loop


def test_the_command_line(conn: psycopg.Connection, estate_db_url: str) -> None:
    write_lift_history(conn, TEN_THEN_SIX)
    db = ["--db", estate_db_url]
    args = ["--point", "elevator", "--building", "rs-b1", "--what", "电梯故障多"]
    for why in LIFT_CHAIN:
        args += ["--why-chain", why]
    added = runner.invoke(app, ["cause", "add", *args, "--json", *db])
    assert added.exit_code == 0, added.output
    cause_id = json.loads(added.output)["id"]
    shown = runner.invoke(app, ["cause", "show", str(cause_id), *db])
    assert [line.split(": ", 1)[1] for line in shown.output.splitlines() if "why " in line] == LIFT_CHAIN

    base = ["action", "add", "--title", "换皮带", "--department", "engineering", "--owner", "王工",
            "--metric", "complaints", "--start", "2026-07-01", "--cause", str(cause_id), *db]
    made = runner.invoke(app, [*base, "--deadline", "2026-07-31", "--json"])
    assert made.exit_code == 0, made.output
    action = json.loads(made.output)
    assert action["effect"]["change_pct"] == -40.0 and action["slice_point"] == "elevator"

    bad_date = runner.invoke(app, [*base, "--deadline", "31/07/2026"])
    assert bad_date.exit_code == 2 and "use YYYY-MM-DD" in bad_date.output
    bad_metric = runner.invoke(app, [*base, "--deadline", "2026-07-31", "--metric", "lifts"])
    assert bad_metric.exit_code == 2 and "unknown metric 'lifts'" in bad_metric.output
    no_ticket = runner.invoke(app, ["cause", "add", "--ticket", "999999", "--what", "x", *db])
    assert no_ticket.exit_code == 1 and "no ticket 999999" in no_ticket.output

    illegal = runner.invoke(app, ["action", "update", str(action["id"]), "--status", "done", *db])
    assert illegal.exit_code == 2 and "cannot become done" in illegal.output
    moved = runner.invoke(app, ["action", "update", str(action["id"]), "--status", "in_progress", *db])
    assert moved.exit_code == 0, moved.output
    listed = runner.invoke(app, ["action", "list", "--status", "in_progress", *db])
    assert "换皮带" in listed.output and "change -40.0 %" in listed.output
    shown_action = runner.invoke(app, ["action", "show", str(action["id"]), *db])
    assert "2026-04 before 10" in shown_action.output and "planned→in_progress" in shown_action.output


def test_every_subcommand_has_help() -> None:
    for typer_info in app.registered_groups:
        assert typer_info.typer_instance is not None
        for command in typer_info.typer_instance.registered_commands:
            assert command.callback is not None and command.callback.__doc__, command.name


def test_bad_input_to_the_real_command_is_one_clear_line(estate_db_url: str) -> None:
    """As the operator runs it (a process, through `forewarn`): a wrong date or metric, an unknown ticket."""
    def forewarn(*args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
        return subprocess.run([sys.executable, "-m", "forewarn", "review", *args, "--db", estate_db_url],
                              capture_output=True, text=True, env=env, timeout=120)

    base = ("action", "add", "--title", "t", "--department", "engineering", "--owner", "o")
    assert_clean_failure(forewarn(*base, "--deadline", "2026/07/31", "--metric", "complaints"),
                         "use YYYY-MM-DD")
    assert_clean_failure(forewarn(*base, "--deadline", "2026-07-31", "--metric", "lifts"), "unknown metric 'lifts'")
    assert_clean_failure(forewarn("cause", "add", "--ticket", "999999", "--what", "x"), "no ticket 999999")
    assert_clean_failure(forewarn("action", "show", "424242"), "no improvement action 424242")
