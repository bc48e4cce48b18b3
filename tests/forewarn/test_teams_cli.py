"""`forewarn team add|list` and `--team` on `forewarn user add|set`, run as the operator runs them: a team lives in
one department, a user joins a team of their own department, and bad input is a usage error (exit 2) naming what is
wrong, never a traceback."""

from __future__ import annotations

from tests.cli_checks import assert_clean_failure
from tests.forewarn.test_cli import forewarn


def test_teams_are_made_listed_and_joined_within_their_department(estate_db_url: str) -> None:
    env = {"FOREWARN_DATABASE_URL": estate_db_url, "COLUMNS": "200"}  # the error box on one line
    assert forewarn("team", "--help", env=env).returncode == 0
    done = forewarn("team", "add", "lift", "--department", "engineering", "--name", "电梯组 Lift team", env=env)
    assert done.returncode == 0, done.stderr
    bad = forewarn("team", "add", "pipes", "--department", "plumbing", "--name", "Pipes", env=env)
    assert_clean_failure(bad, "unknown department 'plumbing'")
    assert bad.returncode == 2

    joined = forewarn("user", "add", "eng-li", "--name", "李工", "--role", "engineer", "--department", "engineering",
                      "--team", "lift", env=env)
    assert joined.returncode == 0, joined.stderr
    wrong = forewarn("user", "add", "cs-wu", "--name", "吴", "--role", "agent", "--department", "customer_service",
                     "--team", "lift", env=env)
    assert_clean_failure(wrong, "team 'lift' belongs to 'engineering', not to 'customer_service'")
    assert wrong.returncode == 2
    ghost = forewarn("user", "set", "eng-li", "--department", "engineering", "--team", "ghost", env=env)
    assert_clean_failure(ghost, "unknown team 'ghost'")
    assert ghost.returncode == 2

    listed = forewarn("team", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("lift"))
    assert "engineering" in line and "电梯组 Lift team" in line and "[eng-li]" in line
