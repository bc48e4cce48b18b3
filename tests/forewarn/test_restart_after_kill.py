"""`forewarn run` killed with SIGKILL leaves its embedded servers running; the next start finds and handles them."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from forewarn.embedded import BROKER_PID_FILE, EmbeddedPostgres, free_port, port_is_free
from tests.conftest import ROOT


class ForewarnRun:
    """`python -m forewarn run` as a real child process on its own data dir and ports."""

    def __init__(self, data_dir: Path) -> None:
        self.env = os.environ | {
            "PYTHONPATH": str(ROOT), "FOREWARN_DATA_DIR": str(data_dir), "FOREWARN_DB_MODE": "plain",
            "FOREWARN_EMBEDDED_DB_PORT": str(free_port()), "FOREWARN_EMBEDDED_MQTT_PORT": str(free_port()),
            "FOREWARN_API_PORT": str(free_port()),
        }
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 120.0) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "forewarn", "run", "--role", "scheduler"], cwd=ROOT,
                                        env=self.env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self.process.stdout is not None
        output = self.output
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            line = self.process.stdout.readline() if ready else ""
            output.append(line)
            if line.startswith("running"):  # the banner, not e.g. "PostgreSQL already running"
                # keep reading: a pipe nobody empties fills up, and a process blocked writing its log to it cannot
                # stop on Ctrl-C (a CI run once waited 180 s for one)
                threading.Thread(target=self._drain, args=(self.process,), daemon=True).start()
                return
            if not line and self.process.poll() is not None:
                break
        pytest.fail("forewarn run did not start:\n" + "".join(output))

    def _drain(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> bool:
        """SIGINT, as Ctrl-C; whether the process stopped by itself (False: it had to be killed after 180 s, which
        leaves its embedded broker running)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(180)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGUSR1)  # every thread's stack into the output, for the failure
                time.sleep(2)
                self.process.kill()
                self.process.wait(10)
                return False
        return True

    def port(self, name: str) -> int:
        return int(self.env[name])


def _gone(pid: int) -> bool:
    try:  # a zombie (exited, not yet reaped by whoever adopted it) has an empty command line
        return not Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return True


def _released(port: int, within: float = 20.0) -> bool:
    """Whether the port is free within `within` seconds: a broker told to stop may take a few seconds to save its
    sessions and exit on a loaded machine (a CI run once found the port still held right after `forewarn run` ended)."""
    deadline = time.monotonic() + within
    while not port_is_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fw-restart-") as workdir:
        yield Path(workdir)


def test_forewarn_run_starts_again_after_a_sigkill(data_dir):
    run = ForewarnRun(data_dir)
    try:
        run.start()
        broker_pid = int((data_dir / "broker" / BROKER_PID_FILE).read_text())
        run.kill()  # the embedded broker and PostgreSQL outlive their parent, holding their ports
        assert not port_is_free(run.port("FOREWARN_EMBEDDED_MQTT_PORT"))
        run.start()  # finds them: the broker left behind is stopped, PostgreSQL reused
        new_pid = int((data_dir / "broker" / BROKER_PID_FILE).read_text())
        assert new_pid != broker_pid and _gone(broker_pid)
        assert run.stop(), "forewarn run did not stop within 180 s of Ctrl-C:\n" + "".join(run.output[-60:])
        assert _released(run.port("FOREWARN_EMBEDDED_MQTT_PORT"))
        assert _released(run.port("FOREWARN_EMBEDDED_DB_PORT"))
        assert not (data_dir / "broker" / BROKER_PID_FILE).exists()
    finally:
        run.stop()
        EmbeddedPostgres(data_dir / "postgres", run.port("FOREWARN_EMBEDDED_DB_PORT")).stop()


def test_a_pid_file_naming_someone_elses_process_is_left_alone(data_dir, tmp_path):
    from forewarn.embedded import EmbeddedBroker

    bystander = subprocess.Popen(["sleep", "60"])
    try:
        broker_dir = data_dir / "broker"
        broker_dir.mkdir()
        (broker_dir / BROKER_PID_FILE).write_text(f"{bystander.pid}\n")
        broker = EmbeddedBroker(broker_dir, free_port(), implementation="mosquitto")
        broker.start()
        broker.stop()
        assert bystander.poll() is None  # not ours: not signalled
    finally:
        bystander.kill()
        bystander.wait(5)
