"""`forewarn tickets …` commands: help on every command, list/show/sweep against a real database."""

from __future__ import annotations

from typer.testing import CliRunner

from tickets.classify import Tier
from tickets.cli import app, type_rows
from tickets.config import TicketConfig
from tickets.flows import handle_alarm
from tickets.lifecycle import mermaid
from tickets.sla import Limit, Unit

from .conftest import NOW, make_alarm

runner = CliRunner()


def test_every_command_has_help():
    for command in app.registered_commands:
        assert command.callback.__doc__, command.name


def test_list_show_and_sweep(conn, staff, estate_db_url):
    opened = handle_alarm(conn, make_alarm("rs-b1-water-high", "pump_failure"), now=NOW)
    conn.commit()
    listed = runner.invoke(app, ["list", "--db", estate_db_url])
    assert listed.exit_code == 0, listed.output
    assert f"#{opened.ticket_id}" in listed.output and "dispatched" in listed.output
    narrowed = runner.invoke(app, ["list", "--state", "dispatched", "--db", estate_db_url])
    assert narrowed.exit_code == 0 and f"#{opened.ticket_id}" in narrowed.output
    bogus = runner.invoke(app, ["list", "--state", "bogus", "--db", estate_db_url])  # not an empty list
    assert bogus.exit_code == 2 and "unknown state 'bogus'" in bogus.output and "dispatched" in bogus.output
    shown = runner.invoke(app, ["show", str(opened.ticket_id), "--db", estate_db_url])
    assert shown.exit_code == 0 and "created" in shown.output and "dispatch" in shown.output
    missing = runner.invoke(app, ["show", "99999", "--db", estate_db_url])
    assert missing.exit_code == 1 and "no ticket 99999" in missing.output
    # Now is long after both clocks of the major ticket (on site in 15 min, a plan in 24 h): each runs its whole
    # ladder, since acknowledging or not no longer decides which one runs (tickets/milestones.py).
    swept = runner.invoke(app, ["sweep", "--db", estate_db_url])
    assert swept.exit_code == 0 and "8 SLA alerts sent" in swept.output


def test_diagram_and_classify():
    assert runner.invoke(app, ["diagram"]).output == mermaid()
    out = runner.invoke(app, ["classify", "电梯困人了"]).output
    assert "category=facility severity=major" in out and "device_kind=elevator" in out


def test_types_prints_every_request_kind_and_tier_with_its_clocks():
    lines = runner.invoke(app, ["types"]).output.splitlines()
    assert lines[0].startswith("SLA profile 001:") and lines[0].endswith("(the default)")
    assert len(lines) == 1 + 12 + 1  # the profile, then 4 kinds x 3 tiers, then what meets each milestone
    assert lines[-1].startswith("met by: respond = acknowledged, or any later step;")
    assert "complaint   major    on_site: 15 min, plan: 24 h" in lines  # 001: on site in 15 min, a plan in 24 h
    assert "complaint   complex  progress: 7 working days, resolve: 15 working days" in lines
    assert "suggestion  major    respond: 15 min" in lines  # a reply, however pressing the words
    assert "repair      major    on_site: 30 min, resolve: 24 h" in lines  # handbook 003: urgent on site in 30 min
    assert "enquiry     general  answer: 2 h" in lines


def test_types_follow_the_operators_sla_limits():
    config = TicketConfig(sla_limits={(Tier.MAJOR, "respond"): Limit(10, Unit.MINUTES),
                                      (Tier.MAJOR, "resolve"): Limit(12 * 60, Unit.MINUTES)})
    rows = {(kind, tier): shown for kind, tier, shown in type_rows(config)}
    assert rows[("complaint", "major")] == "on_site: 10 min, plan: 12 h"
    assert rows[("repair", "major")] == "on_site: 30 min, resolve: 24 h"  # the kind's own clock, not the tier's


def test_classify_names_the_fault_point_and_department_in_traditional_chinese():
    out = runner.invoke(app, ["classify", "樓道保潔不到位"]).output
    assert "category=environment severity=general subcategory=cleaning" in out and "department=cleaning" in out
