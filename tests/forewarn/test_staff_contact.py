"""`forewarn user contact`, run as an operator runs it: a staff member's pushes leave by SMS once a phone is given;
a channel without its address, an unknown user and an unknown channel are clear failures that change nothing."""

from __future__ import annotations

import psycopg

from api.auth import Role, create_user
from tests.cli_checks import assert_clean_failure

from .test_cli import forewarn


def test_staff_contact_from_the_command_line(estate_db_url: str) -> None:
    with psycopg.connect(estate_db_url) as conn:
        create_user(conn, user_id="eng-li", name="李工", role=Role.ENGINEER, department_id="engineering")
    env = {"FOREWARN_DATABASE_URL": estate_db_url}
    assert_clean_failure(forewarn("user", "contact", "eng-li", "--channel", "sms", env=env),
                         "sms needs an address: give --phone")
    assert_clean_failure(forewarn("user", "contact", "nobody", "--channel", "app", env=env), "no staff user 'nobody'")
    assert_clean_failure(forewarn("user", "contact", "eng-li", "--channel", "pager", env=env), "unknown channel")
    with psycopg.connect(estate_db_url) as conn:
        assert conn.execute("SELECT notify_channel, phone FROM users WHERE id = 'eng-li'").fetchone() == ("app", None)
    done = forewarn("user", "contact", "eng-li", "--channel", "sms", "--phone", "13800000007", env=env)
    assert done.returncode == 0, done.stderr
    assert "by sms" in done.stdout
    with psycopg.connect(estate_db_url) as conn:
        assert conn.execute("SELECT notify_channel, phone FROM users WHERE id = 'eng-li'").fetchone() == (
            "sms", "13800000007")
