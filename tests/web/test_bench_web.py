"""`python -m bench.web` runs end to end at a small scale (one day of history, a few users and streams): every
stream opens and stays open, every timed alarm's notice reaches an open stream, and the RESULT lines are printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_web_small_run(estate_db_url):
    run = subprocess.run(
        [sys.executable, "-m", "bench.web", "--db", estate_db_url, "--days", "1", "--users", "4", "--rounds", "3",
         "--streams", "20", "--alarms", "3"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    results = dict(re.findall(r"^RESULT (\w+)=([\d.]+)", run.stdout, flags=re.M))
    assert set(results) >= {"page_p95_ms", "streams_open", "p95_with_streams_ms", "notice_visible_p99_ms"}
    assert results["streams_open"] == "20"
    assert "notices seen: 3/3" in run.stdout and "errors (non-200): 0 without streams, 0 with" in run.stdout
