"""What a user checks of a command that was given bad input: a non-zero exit, a message, never a traceback."""

from __future__ import annotations

import subprocess


def assert_clean_failure(result: subprocess.CompletedProcess, *needles: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle in output, output
