"""Who is responsible where — department members and heads, grid owners, site managers — set from the estate file
and from the CLI, then used by routing: a preventive ticket goes to the grid's owner, and the escalation ladder
climbs to the head and the site manager. Loading is idempotent; an unknown user or grid is an error naming the
line, and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from api.auth import Role, create_user
from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from forewarn.estate import load_estate
from ingest.estate_file import EstateFileError, parse_estate
from tests.cli_checks import assert_clean_failure
from tests.forewarn.test_cli import forewarn
from tickets.flows import handle_alarm
from tickets.routing import grid_owner, site_manager, supervisor_of

ESTATE = """\
version: 1
sites:
  - id: hill
    name: Hill Court
    manager: mgr-wang
    grids:
      H1: {engineering: eng-li, customer_service: cs-chen}
    buildings:
      - id: hill-b1
        name: Building 1
        floors: 3
        grid: H1
        units:
          - {id: hill-b1-101, floor: 1, number: "101",
             residents: [{id: hill-r1, name: 张伟}]}
    devices:
      - {id: hill-b1-water, kind: water, building: hill-b1, location: pump room, serves: {building: hill-b1}}
departments:
  - id: engineering
    head: eng-head
    members: [eng-li]
  - id: customer_service
    members: [cs-chen]
"""

STAFF = [("eng-li", Role.ENGINEER), ("eng-head", Role.ENGINEER), ("cs-chen", Role.AGENT),
         ("mgr-wang", Role.MANAGER), ("eng-zhao", Role.ENGINEER)]


@pytest.fixture
def staffed(conn: psycopg.Connection) -> psycopg.Connection:
    for user_id, role in STAFF:
        create_user(conn, user_id=user_id, name=user_id, role=role)  # no department yet
    conn.commit()
    return conn


def line_of(text: str, needle: str) -> int:
    """The last line holding `needle` (the repeated member is the second one)."""
    return max(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def responsibilities(conn: psycopg.Connection) -> tuple[list[tuple], list[tuple], list[tuple]]:
    return (conn.execute("SELECT grid, department_id, user_id FROM grid_owners ORDER BY 1, 2").fetchall(),
            conn.execute("SELECT site_id, user_id FROM site_managers ORDER BY 1").fetchall(),
            conn.execute("SELECT id, department_id, supervisor_id FROM users WHERE id LIKE 'eng-%%' "
                         "OR id LIKE 'cs-%%' ORDER BY id").fetchall())


def test_the_estate_file_sets_owners_heads_and_managers_and_routing_follows_them(staffed):
    conn = staffed
    counts = load_estate(conn, parse_estate(ESTATE, "hill.yaml"))
    assert (counts["grid owners"], counts["site managers"], counts["department members"]) == (2, 1, 3)
    first = responsibilities(conn)
    load_estate(conn, parse_estate(ESTATE, "hill.yaml"))  # loading again changes nothing
    assert responsibilities(conn) == first
    assert first[0] == [("H1", "customer_service", "cs-chen"), ("H1", "engineering", "eng-li")]
    assert first[1] == [("hill", "mgr-wang")]
    assert ("eng-li", "engineering", "eng-head") in first[2] and ("cs-chen", "customer_service", None) in first[2]

    # What an operator checks: the ticket of a fault in grid H1 belongs to its engineering owner, whose ladder
    # climbs to the department head, then to the site manager.
    now = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    alarm = Alarm(device_id="hill-b1-water", fault="supply_outage", state=AlarmState.RAISED,
                  severity=Severity.CRITICAL, since=now - timedelta(minutes=1), ts=now, detector="test",
                  evidence=Evidence("no pressure"))
    handle_alarm(conn, alarm, now=now)
    owner = conn.execute("SELECT owner_id FROM tickets WHERE device_id = 'hill-b1-water'").fetchone()[0]
    assert owner == "eng-li" == grid_owner(conn, "hill-b1", "engineering")
    assert supervisor_of(conn, owner) == "eng-head"
    assert site_manager(conn, "hill") == "mgr-wang"


@pytest.mark.parametrize(("change", "needle", "message"), [
    (("head: eng-head", "head: eng-nobody"), "head: eng-nobody", "unknown staff user 'eng-nobody'"),
    (("manager: mgr-wang", "manager: eng-li"), "manager: eng-li", "a site manager must be a manager"),
    (("- id: customer_service", "- id: laundry"), "- id: laundry", "unknown department 'laundry'"),
])
def test_an_unknown_user_or_department_names_its_line_and_changes_nothing(staffed, change, needle, message):
    conn = staffed
    text = ESTATE.replace(*change)
    before = responsibilities(conn)
    with pytest.raises(EstateFileError, match=message) as raised:
        load_estate(conn, parse_estate(text, "hill.yaml"))  # its own transaction: rolled back whole
    assert raised.value.line == line_of(text, needle)
    assert responsibilities(conn) == before
    assert conn.execute("SELECT count(*) FROM sites WHERE id = 'hill'").fetchone()[0] == 0  # the master data too


@pytest.mark.parametrize(("change", "needle", "message"), [
    (("      H1: {engineering", "      H9: {engineering"), "H9:", "no building of hill is in grid 'H9'"),
    (("members: [cs-chen]", "members: [eng-li]"), "members: [eng-li]", "already a member"),
])
def test_a_grid_without_buildings_or_a_member_twice_is_refused_before_the_database(change, needle, message):
    text = ESTATE.replace(*change)
    with pytest.raises(EstateFileError, match=message) as raised:
        parse_estate(text, "hill.yaml")
    assert raised.value.line == line_of(text, needle)


def test_the_cli_sets_owners_managers_and_departments(staffed, estate_db_url):
    env = {"FOREWARN_DATABASE_URL": estate_db_url}
    grid = staffed.execute("SELECT grid FROM buildings WHERE id = 'rs-b1'").fetchone()[0]
    done = forewarn("estate", "owner", "set", "eng-zhao", "--department", "engineering", "--building", "rs-b1",
                    env=env)
    assert done.returncode == 0, done.stderr
    assert_clean_failure(forewarn("estate", "owner", "set", "eng-ghost", "--department", "engineering",
                                  "--grid", grid, env=env), "unknown staff user 'eng-ghost'")
    assert_clean_failure(forewarn("estate", "manager", "set", "riverside", "eng-li", env=env),
                         "is engineer")
    assert forewarn("estate", "manager", "set", "riverside", "mgr-wang", env=env).returncode == 0
    assert forewarn("user", "set", "eng-zhao", "--department", "engineering", "--supervisor", "eng-head",
                    env=env).returncode == 0
    staffed.rollback()  # see what the other processes committed
    assert grid_owner(staffed, "rs-b1", "engineering") == "eng-zhao"
    assert site_manager(staffed, "riverside") == "mgr-wang"
    assert supervisor_of(staffed, "eng-zhao") == "eng-head"
    listed = forewarn("estate", "owner", "list", env=env)
    assert f"{grid}" in listed.stdout and "eng-zhao" in listed.stdout
