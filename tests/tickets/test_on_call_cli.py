"""`forewarn user add --role supervisor` and `forewarn roster add|show`, run as an operator runs them: a supervisor
account heads its department's work orders; the roster says who is on call when; bad input is a usage error (exit
2) that changes nothing."""

from __future__ import annotations

import psycopg

from api.auth import Role, create_user
from tests.cli_checks import assert_clean_failure
from tests.forewarn.test_cli import forewarn
from tickets.workorders import actor


def test_user_add_supervisor_and_the_roster_from_the_command_line(estate_db_url: str) -> None:
    env = {"FOREWARN_DATABASE_URL": estate_db_url}
    with psycopg.connect(estate_db_url) as conn:
        create_user(conn, user_id="eng-li", name="李工", role=Role.ENGINEER, department_id="engineering")
    added = forewarn("user", "add", "sup-wang", "--name", "王主管", "--role", "supervisor", "--department",
                     "engineering", env=env)
    assert added.returncode == 0, added.stderr
    assert "sup-wang (supervisor) ready" in added.stdout
    with psycopg.connect(estate_db_url) as conn:
        assert conn.execute("SELECT role, department_id FROM users WHERE id = 'sup-wang'").fetchone() == (
            "supervisor", "engineering")
        head = actor(conn, "sup-wang")  # heads engineering's work orders, as a department head does
        assert head.heads("engineering") and not head.heads("security")

    night = forewarn("roster", "add", "--department", "engineering", "--user", "eng-li", "--from",
                     "2026-11-27T17:30", "--to", "2026-11-30T08:30", env=env)
    assert night.returncode == 0, night.stderr
    assert "eng-li on call for engineering as first line, 2026-11-27 17:30 to 2026-11-30 08:30" in night.stdout
    boss = forewarn("roster", "add", "--department", "engineering", "--user", "sup-wang", "--supervisor", "--from",
                    "2026-11-27T09:30:00Z", "--to", "2026-11-30T00:30:00Z", env=env)
    assert boss.returncode == 0, boss.stderr
    assert "as supervisor, 2026-11-27 17:30 to 2026-11-30 08:30" in boss.stdout  # UTC shown in local time

    shown = forewarn("roster", "show", "--department", "engineering", "--at", "2026-11-28T02:00", env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == 2 and "first_line" in lines[0] and "eng-li" in lines[0]
    assert "supervisor" in lines[1] and "sup-wang" in lines[1]
    monday = forewarn("roster", "show", "--at", "2026-11-30T10:00", env=env)
    assert monday.returncode == 0 and "nobody on call at 2026-11-30 10:00" in monday.stdout

    for args, message in [
        (("--department", "nowhere", "--user", "eng-li", "--from", "2026-12-01T18:00", "--to", "2026-12-02T08:30"),
         "unknown department 'nowhere'"),
        (("--department", "engineering", "--user", "nobody", "--from", "2026-12-01T18:00", "--to",
          "2026-12-02T08:30"), "no staff user 'nobody'"),
        (("--department", "engineering", "--user", "eng-li", "--from", "2026-12-02T08:30", "--to",
          "2026-12-01T18:00"), "before it starts"),
        (("--department", "engineering", "--user", "eng-li", "--from", "tonight", "--to", "2026-12-01T18:00"),
         "'tonight' is not a time"),
    ]:
        failed = forewarn("roster", "add", *args, env=env)
        assert_clean_failure(failed, message)
        assert failed.returncode == 2
    with psycopg.connect(estate_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM on_call").fetchone() == (2,)


def test_roster_add_refuses_another_departments_staff_unless_they_cover(estate_db_url: str) -> None:
    """A customer-service agent put on engineering's rota by mistake is refused, saying whose staff they are and
    how to add them if they really cover for engineering; with --cover they go on it."""
    env = {"FOREWARN_DATABASE_URL": estate_db_url}
    with psycopg.connect(estate_db_url) as conn:
        create_user(conn, user_id="cs-zhang", name="张客服", role=Role.AGENT, department_id="customer_service")
    shift = ("--department", "engineering", "--user", "cs-zhang", "--from", "2026-12-01T18:00", "--to",
             "2026-12-02T08:30")
    refused = forewarn("roster", "add", *shift, env=env)
    assert_clean_failure(refused, "'cs-zhang' is staff of customer_service, not of engineering", "--cover")
    assert refused.returncode == 2
    with psycopg.connect(estate_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM on_call").fetchone() == (0,)
    covering = forewarn("roster", "add", *shift, "--cover", env=env)
    assert covering.returncode == 0, covering.stderr
    assert "cs-zhang on call for engineering as first line" in covering.stdout
