"""Tokens that end (issue #21, finding 11): each token expires (FOREWARN_API_TOKEN_DAYS, stored per token), an
operator lists and revokes tokens from the CLI, and a disabled user's tokens stop working."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg

from api.auth import Role as UserRole
from api.auth import create_user, disable_user, issue_token, list_tokens

from .conftest import bearer

ROOT = Path(__file__).resolve().parents[2]


def forewarn(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")} | {"FOREWARN_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "forewarn", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)


def test_a_token_back_dated_five_years_is_refused(client, estate_db_url, tokens):
    assert client.get("/api/v1/devices", headers=bearer(tokens["agent"])).status_code == 200
    with psycopg.connect(estate_db_url) as conn:
        conn.execute("UPDATE api_tokens SET created_at = created_at - interval '5 years', "
                     "expires_at = expires_at - interval '5 years' WHERE user_id = 'agent-t'")
    refused = client.get("/api/v1/devices", headers=bearer(tokens["agent"]))
    assert refused.status_code == 401


def test_a_token_expires_after_its_lifetime(client, estate_db_url):
    with psycopg.connect(estate_db_url) as conn:
        create_user(conn, user_id="agent-short", name="Short", role=UserRole.AGENT)
        token = issue_token(conn, "agent-short", lifetime=timedelta(days=30))
        (info,) = list_tokens(conn, "agent-short")
        assert timedelta(days=29, hours=23) < info.expires_at - info.created_at <= timedelta(days=30, seconds=5)
        conn.commit()
        assert client.get("/api/v1/devices", headers=bearer(token)).status_code == 200
        conn.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = %s", (info.id,))
    assert client.get("/api/v1/devices", headers=bearer(token)).status_code == 401


def test_a_disabled_user_is_refused_and_stays_refused(client, estate_db_url, tokens):
    with psycopg.connect(estate_db_url) as conn:
        assert disable_user(conn, "eng-t") == 1
        assert [t.usable for t in list_tokens(conn, "eng-t")] == [False]
    assert client.get("/api/v1/work-orders", headers=bearer(tokens["engineer"])).status_code == 401


def test_the_cli_lists_revokes_and_disables(estate_db_url, tokens, client):
    listed = forewarn(estate_db_url, "user", "tokens", "list", "agent-t")
    assert listed.returncode == 0, listed.stderr
    assert "agent-t" in listed.stdout and "yes" in listed.stdout
    assert tokens["agent"] not in listed.stdout  # a token is never shown again
    with psycopg.connect(estate_db_url) as conn:
        (agent_token,) = list_tokens(conn, "agent-t")
    revoked = forewarn(estate_db_url, "user", "tokens", "revoke", str(agent_token.id))
    assert revoked.returncode == 0, revoked.stderr
    assert client.get("/api/v1/devices", headers=bearer(tokens["agent"])).status_code == 401
    again = forewarn(estate_db_url, "user", "tokens", "revoke", str(agent_token.id))
    assert again.returncode != 0 and "no unrevoked token" in again.stderr + again.stdout
    disabled = forewarn(estate_db_url, "user", "disable", "mgr-t")
    assert disabled.returncode == 0 and "1 token(s) revoked" in disabled.stdout, disabled.stdout + disabled.stderr
    assert client.get("/api/v1/tickets", headers=bearer(tokens["manager"])).status_code == 401
    unknown = forewarn(estate_db_url, "user", "disable", "nobody")
    assert unknown.returncode != 0 and "no user 'nobody'" in unknown.stdout + unknown.stderr
    assert "Traceback" not in unknown.stderr
