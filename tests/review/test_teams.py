"""Teams in the review, on the fixture month (200 engineering complaint tickets): engineering has a lift team
(eng-1, owning the 60 lift faults) and a water team (eng-2 owning the next 90 tickets, eng-head the last 50). What a
manager checks: the two team cards and the team-sliced figures add up to engineering's, a person's slice is exactly
that person's tickets, and a team can only hold people of its own department."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import psycopg
import pytest
from typer.testing import CliRunner

from api.auth import set_department
from tickets.errors import InvalidInput
from tickets.review.actions import add_action, effect
from tickets.review.cli import app
from tickets.review.compute import Slice, compute_review, figure_of
from tickets.review.periods import parse_period
from tickets.review.scorecards import department_scorecards, person_scorecards, team_scorecards
from tickets.teams import TeamError, add_team, list_teams, set_team

from .conftest import SHANGHAI, add_work_orders

OCTOBER = parse_period("2026-10", SHANGHAI)


@pytest.fixture
def teams(conn: psycopg.Connection, month: list[int], staff: dict[str, str]) -> list[int]:
    add_team(conn, "lift", "engineering", "电梯组 Lift team")
    add_team(conn, "water", "engineering", "给排水组 Water team")
    for user, team in (("eng-1", "lift"), ("eng-2", "water"), ("eng-head", "water")):
        set_team(conn, user, team)
    for owner, ids in (("eng-1", month[:60]), ("eng-2", month[60:150]), ("eng-head", month[150:])):
        conn.execute("UPDATE tickets SET owner_id = %s WHERE id = ANY(%s)", (owner, ids))
    conn.execute("UPDATE tickets SET transfers = 1 WHERE id = ANY(%s)", (month[55:65],))  # 5 lift, 5 water
    conn.commit()
    add_work_orders(conn, month[:70], done=65)  # the lift faults' 60 all done, 10 water ones of which 5 done
    conn.execute("""UPDATE work_orders SET assignee_id = CASE WHEN ticket_id = ANY(%s) THEN 'eng-1' ELSE 'eng-2' END
                    WHERE ticket_id = ANY(%s)""", (month[:60], month[:70]))
    conn.commit()
    return month


def test_team_cards_add_up_to_the_department_card(conn: psycopg.Connection, teams: list[int]) -> None:
    engineering = {c.who: c for c in department_scorecards(conn, OCTOBER)}["engineering"]
    cards = {c.who: c for c in team_scorecards(conn, OCTOBER)}
    assert set(cards) == {"lift", "water"}
    lift, water = cards["lift"], cards["water"]
    assert (lift.tickets, water.tickets) == (60, 140) and lift.tickets + water.tickets == engineering.tickets
    assert (lift.resolution_rate, water.resolution_rate, engineering.resolution_rate) == (100.0, 92.9, 95.0)
    assert (lift.satisfaction_rate, water.satisfaction_rate) == (100.0, 86.7)  # 60 of 60; 78 of 90
    assert lift.ratings + water.ratings == engineering.ratings == 150
    assert (lift.transfers, water.transfers) == (5, 5) and lift.transfers + water.transfers == engineering.transfers
    assert lift.reopens + water.reopens == engineering.reopens
    assert (lift.work_orders_from_complaints, lift.work_orders_done) == (60, 60)
    assert (water.work_orders_from_complaints, water.work_orders_done) == (10, 5)
    assert (engineering.work_orders_from_complaints, engineering.work_orders_done) == (70, 65)
    assert lift.response_24h == water.response_24h == 100.0 and lift.resolve_sla == 100.0


def test_a_one_person_team_card_is_that_persons_card(conn: psycopg.Connection, teams: list[int]) -> None:
    person = {c.who: c for c in person_scorecards(conn, OCTOBER)}["eng-1"]
    team = {c.who: c for c in team_scorecards(conn, OCTOBER)}["lift"]
    assert person.as_dict() | {"who": "lift", "work_orders_from_complaints": 60, "work_orders_done": 60} \
        == team.as_dict()


def test_team_slices_add_up_to_the_department_slice(conn: psycopg.Connection, teams: list[int]) -> None:
    whole = compute_review(conn, OCTOBER, Slice(department="engineering"))
    lift = compute_review(conn, OCTOBER, Slice(team="lift"))
    water = compute_review(conn, OCTOBER, Slice(team="water"))
    assert (lift.slice, water.slice) == ("team=lift", "team=water")
    for key in ("complaints", "tickets"):
        assert (lift.figure(key).value, water.figure(key).value, whole.figure(key).value) == (60, 140, 200), key
    for key in ("resolution_rate", "closed_loop_rate", "satisfaction_rate", "transfer_share", "response_24h"):
        parts = [r.figure(key) for r in (lift, water)]
        assert sum(f.numerator or 0 for f in parts) == whole.figure(key).numerator, key
        assert sum(f.denominator or 0 for f in parts) == whole.figure(key).denominator, key
    assert lift.volume["building"] == {"rs-b1": 60} and lift.points[0].point == "elevator"
    assert (water.figure("closed_loop_rate").value, water.figure("satisfaction_rate").value) == (89.3, 86.7)
    assert figure_of(conn, "resolution_rate", OCTOBER, Slice(team="water")).value == 92.9


def test_a_persons_slice_is_exactly_their_tickets(conn: psycopg.Connection, teams: list[int]) -> None:
    owned = conn.execute("""SELECT count(*), count(*) FILTER (WHERE resolved_at IS NOT NULL),
                                   count(*) FILTER (WHERE state = 'closed') FROM tickets
                            WHERE owner_id = 'eng-head' AND created_at >= %s AND created_at < %s""",
                         (OCTOBER.since, OCTOBER.until)).fetchone()
    assert owned == (50, 40, 35)
    mine = compute_review(conn, OCTOBER, Slice(person="eng-head"))
    assert mine.slice == "person=eng-head"
    assert mine.figure("complaints").value == 50
    assert (mine.figure("resolution_rate").numerator, mine.figure("resolution_rate").denominator) == (40, 50)
    assert mine.figure("closed_loop_rate").numerator == 35
    assert mine.unclosed["complaint"] == {"resolved": 5, "acknowledged": 10}
    assert compute_review(conn, OCTOBER, Slice(person="agent-1")).figure("complaints").value == 0


def test_team_slices_compare_with_the_previous_month_and_last_year(conn: psycopg.Connection,
                                                                  teams: list[int]) -> None:
    november = parse_period("2026-11", SHANGHAI)
    lift = compute_review(conn, november, Slice(team="lift"))
    assert lift.figure("complaints").value == 0
    assert (lift.previous["complaints"], lift.previous["resolution_rate"]) == (60, 100.0)
    assert compute_review(conn, november, Slice(person="eng-2")).previous["complaints"] == 90
    assert lift.last_year["complaints"] == 0


def test_review_cli_slices_by_team_and_person(conn: psycopg.Connection, teams: list[int],
                                              estate_db_url: str) -> None:
    runner = CliRunner()
    got = runner.invoke(app, ["month", "2026-10", "--team", "water", "--db", estate_db_url])
    assert got.exit_code == 0, got.output
    data = json.loads(got.output)
    assert data["slice"] == "team=water" and data["figures"]["complaint"]["complaints"]["value"] == 140
    got = runner.invoke(app, ["quarter", "2026Q4", "--person", "eng-1", "--db", estate_db_url])
    assert got.exit_code == 0, got.output
    assert json.loads(got.output)["figures"]["complaint"]["complaints"]["value"] == 60
    for option, value, message in (("--team", "ghost", "unknown team 'ghost'"),
                                   ("--person", "nobody", "unknown person 'nobody'")):
        bad = runner.invoke(app, ["month", "2026-10", option, value, "--db", estate_db_url])
        assert bad.exit_code == 2 and message in bad.output and "Traceback" not in bad.output


def test_a_team_holds_only_people_of_its_department(conn: psycopg.Connection, teams: list[int]) -> None:
    with pytest.raises(TeamError, match="team 'lift' belongs to 'engineering', not to 'customer_service'"):
        set_team(conn, "agent-1", "lift")
    with pytest.raises(TeamError, match="unknown team 'ghost'"):
        set_team(conn, "eng-1", "ghost")
    with pytest.raises(TeamError, match="unknown department 'plumbing'"):
        add_team(conn, "pipes", "plumbing", "Pipes")
    with pytest.raises(TeamError, match="belongs to 'engineering'"):
        add_team(conn, "lift", "security", "Lift")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):  # the database refuses it too
        conn.execute("UPDATE users SET team_id = 'lift' WHERE id = 'agent-1'")
    conn.rollback()
    set_department(conn, user_id="eng-2", department_id="customer_service")  # moving department leaves the team
    conn.commit()
    assert {t.id: t.members for t in list_teams(conn, "engineering")} == {"lift": ("eng-1",), "water": ("eng-head",)}


def test_an_improvement_action_can_watch_a_team(conn: psycopg.Connection, teams: list[int]) -> None:
    action = add_action(conn, by="mgr", now=datetime(2026, 11, 2, tzinfo=UTC), title="给排水组回访培训",
                        department_id="engineering", owner="eng-head", deadline=date(2026, 12, 31),
                        metric="complaints", starts_on=date(2026, 11, 1), where=Slice(team="water"))
    assert action.slice == Slice(team="water")
    shown = effect(conn, action, as_of=datetime(2026, 11, 2, tzinfo=UTC), tz=SHANGHAI)
    assert shown.slice == "team=water"
    assert [(m.month, m.value) for m in shown.months if m.side == "before"][-1] == ("2026-10", 140.0)
    with pytest.raises(InvalidInput, match="unknown team 'ghost'"):
        add_action(conn, by="mgr", now=datetime(2026, 11, 2, tzinfo=UTC), title="x", department_id="engineering",
                   owner="eng-head", deadline=date(2026, 12, 31), metric="complaints", where=Slice(team="ghost"))
