"""The operator's commands, run as the operator runs them (a real process): clear messages, non-zero exits, no
tracebacks on bad input; idempotent estate loading; staff accounts whose tokens work."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from forewarn.embedded import free_port
from tests.cli_checks import assert_clean_failure

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "forewarn" / "data" / "demo-estate.yaml"


def forewarn(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "forewarn", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=ROOT)



def test_every_command_has_help():
    result = forewarn("--help")
    assert result.returncode == 0
    for command in ("db", "estate", "user", "run", "demo", "ingest", "mqtt", "detect", "simulate", "tickets"):
        assert command in result.stdout
    for group in ("db", "estate", "user"):
        sub = forewarn(group, "--help")
        assert sub.returncode == 0 and "Commands" in sub.stdout, sub.stdout


def test_a_malformed_estate_file_names_the_line_and_the_field(tmp_path):
    bad = tmp_path / "estate.yaml"
    text = DEMO.read_text(encoding="utf-8").replace("kind: elevator", "kind: escalator", 1)
    bad.write_text(text, encoding="utf-8")
    line = text.splitlines().index(next(x for x in text.splitlines() if "kind: escalator" in x)) + 1
    result = forewarn("estate", "check", str(bad))
    assert_clean_failure(result, f"line {line}", "kind", "escalator")


def test_a_missing_estate_file_is_a_clear_error(tmp_path):
    assert_clean_failure(forewarn("estate", "check", str(tmp_path / "nope.yaml")), "cannot read")


def test_a_missing_demo_scenario_is_a_clear_error_before_anything_starts(tmp_path):
    result = forewarn("demo", "--scenario", str(tmp_path / "nope.yaml"), timeout=60)
    assert_clean_failure(result, "--scenario", "cannot be read")


def test_a_wrong_dsn_fails_fast_with_the_password_hidden():
    port = free_port()
    result = forewarn("db", "info", env={"FOREWARN_DATABASE_URL": f"postgresql://u:s3cret@127.0.0.1:{port}/x"},
                      timeout=60)
    assert_clean_failure(result, str(port))
    assert "s3cret" not in result.stdout + result.stderr


def test_an_invalid_setting_is_named():
    result = forewarn("db", "info", env={"FOREWARN_API_PORT": "eighty"})
    assert_clean_failure(result, "api_port")


def test_estate_load_is_idempotent_and_db_info_names_the_mode(db_url, storage_mode):
    env = {"FOREWARN_DATABASE_URL": db_url}
    first = forewarn("estate", "load", str(DEMO), env=env)
    assert first.returncode == 0, first.stderr
    with psycopg.connect(db_url) as conn:
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("sites", "buildings", "units", "residents", "devices", "device_units")]
    again = forewarn("estate", "load", str(DEMO), env=env)
    assert again.returncode == 0, again.stderr
    with psycopg.connect(db_url) as conn:
        assert counts == [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                          for t in ("sites", "buildings", "units", "residents", "devices", "device_units")]
    assert counts[:5] == [2, 6, 600, 1214, 57]
    info = forewarn("db", "info", env=env)
    assert info.returncode == 0, info.stderr
    assert ("TimescaleDB" if storage_mode.timescale else "plain PostgreSQL") in info.stdout
    if storage_mode.timescale:
        assert "licence" in info.stdout


def test_run_refuses_a_port_in_use(db_url, mosquitto, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {"FOREWARN_DATABASE_URL": db_url, "FOREWARN_MQTT_URL": mosquitto.url,
               "FOREWARN_API_PORT": str(port), "FOREWARN_DATA_DIR": str(tmp_path)}
        result = forewarn("run", "--role", "api", env=env)
    assert_clean_failure(result, f"port {port} is in use")


@pytest.mark.parametrize("role", ["admin", "resident"])
def test_user_add_rejects_bad_input(db_url, role):
    env = {"FOREWARN_DATABASE_URL": db_url}
    if role == "resident":
        result = forewarn("user", "add", "r1", "--name", "R", "--role", "resident", env=env)
        assert_clean_failure(result, "resident")
    else:
        result = forewarn("user", "add", "a1", "--name", "A", "--role", "admin", "--department", "nowhere", env=env)
        assert_clean_failure(result, "unknown department")


def test_demo_history_writes_to_the_configured_database_without_db(estate_db_url):
    # The demo's own command line names no --db: the configured database is the one written.
    result = forewarn("demo", "history", "--months", "1", "--per-day", "1", "--until", "2026-11-01T00:00:00",
                      env={"FOREWARN_DATABASE_URL": estate_db_url}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("history: 30 days to 2026-11-01")
    with psycopg.connect(estate_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM complaints").fetchone()[0] >= 30
