"""`forewarn demo` as a newcomer runs it: on the embedded defaults, a preventive ticket, its work order and the
residents' notices appear within two minutes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from forewarn.embedded import free_port, timescaledb_installed

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_shows_a_preventive_ticket_and_notices_within_two_minutes(tmp_path, storage_mode):
    timescale = timescaledb_installed() if os.environ.get("TEST_DATABASE_URL") else storage_mode.timescale
    mode = "timescale" if timescale else "plain"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    env.update({
        "FOREWARN_DATA_DIR": str(tmp_path / "data"),
        "FOREWARN_EMBEDDED_DB_PORT": str(free_port()),
        "FOREWARN_EMBEDDED_MQTT_PORT": str(free_port()),
        "FOREWARN_API_PORT": str(free_port()),
        # The demo always runs its own embedded server: in the mode of this test run, or, when the suite runs
        # against an external TEST_DATABASE_URL, in whatever mode the embedded server supports.
        "FOREWARN_DB_MODE": mode,
        "COLUMNS": "200",
    })
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "forewarn", "demo", "--exit-after-notices", "--duration", "120"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=240,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output, output
    assert "preventive ticket #" in output and "work order #" in output and "resident notice(s)" in output, output
    assert ("storage    timescaledb" if timescale else "storage    plain:") in output, output
    # The pages' address and ready sign-ins for a resident (a one-time code) and the demo engineer (a password).
    assert "/login" in output and "resident" in output and "one-time code" in output, output
    assert "demo-engineer" in output and "password" in output, output
    assert elapsed < 150, f"the demo took {elapsed:.0f} s to show its ticket and notices"
