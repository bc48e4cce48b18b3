"""The operator's account commands, run as the operator runs them (a real process, a real database): invitations
printed when no gateway is configured, moving out disabling an account and its sessions, staff passwords."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import psycopg
import yaml

from api.auth import Role, create_user, ensure_resident_user
from api.web.accounts import find_account, password_matches, set_password
from api.web.sessions import session_principal, start_session
from tests.cli_checks import assert_clean_failure
from tests.forewarn.test_cli import DEMO, ROOT


def forewarn(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "forewarn", *args], capture_output=True, text=True, input=stdin,
                          env=full_env, timeout=120, cwd=ROOT)


def test_invite_prints_each_residents_code_and_link_when_no_gateway_is_configured(estate_db_url):
    with psycopg.connect(estate_db_url) as conn:
        residents = {r[0]: r[1] for r in conn.execute(
            "SELECT id, name FROM residents WHERE unit_id = 'rs-b1-0101' AND active")}
    result = forewarn("estate", "invite", "--unit", "rs-b1-0101", env={"FOREWARN_DATABASE_URL": estate_db_url,
                                                                        "COLUMNS": "250"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"invited {len(residents)} residents: 0 sent by their channel, {len(residents)} to hand over" \
        in result.stdout
    codes = re.findall(r"\b(\d{6})\b", result.stdout)
    links = re.findall(r"(http://127\.0\.0\.1:8000/signup\?code=[\w-]+)", result.stdout)
    assert len(codes) == len(links) == len(residents) >= 2
    for name in residents.values():
        assert name in result.stdout
    with psycopg.connect(estate_db_url) as conn:
        stored = conn.execute("SELECT count(*), count(*) FILTER (WHERE expires_at > now() + interval '71 hours') "
                              "FROM signin_codes WHERE purpose = 'signup' AND used_at IS NULL").fetchone()
        digests = [bytes(r[0]) for r in conn.execute("SELECT code_sha256 FROM signin_codes")]
    assert stored == (len(residents), len(residents))  # one live invitation each, valid 72 h
    assert not any(code.encode() in digest for code in codes for digest in digests)  # stored hashed
    again = forewarn("estate", "invite", "--unit", "rs-b1-0101", env={"FOREWARN_DATABASE_URL": estate_db_url})
    assert again.returncode == 0
    with psycopg.connect(estate_db_url) as conn:
        live = conn.execute("SELECT count(*) FROM signin_codes WHERE used_at IS NULL").fetchone()[0]
    assert live == len(residents)  # re-inviting replaced the old invitations


def test_invite_needs_a_place_that_has_residents(estate_db_url):
    env = {"FOREWARN_DATABASE_URL": estate_db_url}
    assert_clean_failure(forewarn("estate", "invite", env=env), "--unit")
    assert_clean_failure(forewarn("estate", "invite", "--building", "no-such-building", env=env),
                         "no active residents", "no-such-building")


def test_moving_out_disables_the_account_and_ends_its_sessions(estate_db_url, tmp_path):
    estate = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    unit = estate["sites"][0]["buildings"][0]["units"][0]
    leaving = unit["residents"].pop(0)
    moved = tmp_path / "estate.yaml"
    moved.write_text(yaml.safe_dump(estate, allow_unicode=True, sort_keys=False), encoding="utf-8")
    now = datetime.now(UTC)
    with psycopg.connect(estate_db_url) as conn:
        user_id = ensure_resident_user(conn, leaving["id"])
        set_password(conn, user_id, "moving out soon")
        session = start_session(conn, user_id, now=now, days=14)
    result = forewarn("estate", "load", str(moved), env={"FOREWARN_DATABASE_URL": estate_db_url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "moved out: 1 resident accounts disabled" in result.stdout and user_id in result.stdout
    with psycopg.connect(estate_db_url) as conn:
        assert session_principal(conn, session, now=now) is None
        assert find_account(conn, leaving["phone"]) is None  # cannot sign in any more
        assert conn.execute("SELECT active FROM users WHERE id = %s", (user_id,)).fetchone() == (False,)
        neighbour = unit["residents"][0]["id"] if unit["residents"] else None
        if neighbour:
            assert conn.execute("SELECT active FROM residents WHERE id = %s", (neighbour,)).fetchone() == (True,)


def test_user_passwd_reads_the_password_from_stdin_never_the_command_line(estate_db_url):
    with psycopg.connect(estate_db_url) as conn:
        create_user(conn, user_id="eng-pw", name="Eng", role=Role.ENGINEER, department_id="engineering")
    env = {"FOREWARN_DATABASE_URL": estate_db_url}
    result = forewarn("user", "passwd", "eng-pw", "--password-stdin", env=env, stdin="a long enough secret\n")
    assert result.returncode == 0, result.stdout + result.stderr
    with psycopg.connect(estate_db_url) as conn:
        account = find_account(conn, "eng-pw")
    assert account is not None and password_matches(account, "a long enough secret")
    assert_clean_failure(forewarn("user", "passwd", "eng-pw", "--password-stdin", env=env, stdin="short\n"),
                         "at least 8")
    assert_clean_failure(forewarn("user", "passwd", "nobody", "--password-stdin", env=env, stdin="long enough!\n"),
                         "no user 'nobody'")
    added = forewarn("user", "add", "agent-pw", "--name", "Agent", "--role", "agent", "--department",
                     "customer_service", "--password-stdin", env=env, stdin="another good one\n")
    assert added.returncode == 0, added.stdout + added.stderr
    with psycopg.connect(estate_db_url) as conn:
        agent = find_account(conn, "agent-pw")
    assert agent is not None and password_matches(agent, "another good one")
