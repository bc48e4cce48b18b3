"""`forewarn simulate` as a tester runs it: clear output, clean failures, nothing half-published."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from simulators.cli import app
from simulators.faults import FAULTS
from simulators.labels import read_labels
from tests.cli_checks import assert_clean_failure

ROOT = Path(__file__).resolve().parents[2]


def simulate(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "forewarn", "simulate", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=ROOT)


def in_process(*args: str) -> subprocess.CompletedProcess:
    """The same command in this process (without the `forewarn` wrapper's settings): much faster to start."""
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)



def test_faults_lists_each_fault_on_one_line_with_whether_residents_notice():
    result = in_process("faults")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    for name, spec in FAULTS.items():
        assert name in lines, f"{name} missing from:\n{result.stdout}"
        assert (" yes" in lines[name]) is spec.resident_visible
        assert spec.summary in lines[name]
    assert "ordinary life (scenario `nuisance:` entries, as `fault:`): door_holds (elevator): passengers hold" in (
        result.stdout.replace("\n", " "))


def test_scenarios_lists_the_bundled_files():
    result = in_process("scenarios")
    assert result.returncode == 0, result.stderr
    for name in ("quiet-day", "entrapment", "burst-pipe-night", "bearing-wear-week", "demo"):
        assert re.search(rf"^{name}\s", result.stdout, re.MULTILINE), result.stdout


def test_run_publishes_and_writes_labels(mosquitto, subscribe, tmp_path):
    sub = subscribe()
    labels = tmp_path / "labels.jsonl"
    result = simulate("run", "entrapment", "--speed", "max", "--seed", "3", "--labels", str(labels),
                      "--broker", mosquitto.url, "--no-progress")
    assert result.returncode == 0, result.stdout + result.stderr
    count = int(re.search(r"([\d,]+) messages", result.stdout).group(1).replace(",", ""))
    assert len(sub.wait_for(count)) == count > 1000
    records = read_labels(labels)
    assert records[0]["record"] == "run" and records[0]["seed"] == 3
    assert [r["fault"] for r in records if r["record"] == "fault"] == ["entrapment"]


def test_default_label_file_goes_to_the_data_dir(mosquitto, write_scenario, tmp_path):
    path = write_scenario("estate: demo\nduration: 1m\ndevices: [rs-b1-water-low]\nspeed: max\n", "tiny.yaml")
    result = simulate("run", str(path), "--broker", mosquitto.url, "--no-progress",
                      env={"FOREWARN_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 0, result.stdout + result.stderr
    written = list((tmp_path / "data" / "labels").glob("tiny-0-*.jsonl"))
    assert len(written) == 1 and read_labels(written[0])[0]["scenario"] == "tiny"


BAD = {
    "unknown device": ("faults:\n  - {device: rs-b9-elev-z, fault: entrapment, start: 1m, duration: 5m}\n",
                       8, "faults[0].device", "rs-b9-elev-z"),
    "unknown fault": ("faults:\n  - device: rs-b1-elev-a\n    fault: levitation\n    start: 1m\n    duration: 5m\n",
                      9, "faults[0].fault", "levitation"),
    "negative duration": ("faults:\n  - {device: rs-b1-elev-a, fault: door_fault, start: 1m, duration: 1m}\n"
                          "  - device: rs-b1-elev-b\n    fault: entrapment\n    start: 2m\n    duration: -5m\n",
                          12, "faults[1].duration", "-5m"),
}


def test_bad_scenarios_fail_before_publishing_naming_file_line_and_field(mosquitto, subscribe, write_scenario):
    sub = subscribe()
    head = "name: bad\nestate: demo\nseed: 1\nspeed: max\nduration: 1h\ndevices: [rs-b1-*]\n"
    for i, (case, (faults, line, field, value)) in enumerate(BAD.items()):
        path = write_scenario(head + faults, f"{case.replace(' ', '-')}.yaml")
        command = simulate if i == 0 else in_process  # one real process; the rest in this one, to save time
        result = command("run", str(path), "--broker", mosquitto.url, "--no-progress")
        assert_clean_failure(result, f"{path}, line {line}: {field}:", value)
    assert sub.messages == []  # nothing at all reached the broker


def test_bad_options_fail_cleanly(tmp_path):
    assert_clean_failure(in_process("run", "entrapment", "--speed", "fast"), "--speed")
    assert_clean_failure(in_process("run", "no-such-scenario"), "no-such-scenario", "cannot be read")
    assert_clean_failure(in_process("run", "entrapment", "--broker", "http://x"), "mqtt://")
    refused = in_process("run", "entrapment", "--broker", "mqtt://127.0.0.1:1", "--labels", str(tmp_path / "l"))
    assert_clean_failure(refused, "cannot reach the MQTT broker at 127.0.0.1:1")


def test_ctrl_c_stops_the_run_cleanly(mosquitto, subscribe, write_scenario, tmp_path):
    sub = subscribe("forewarn/v1/+/+/+/status")
    path = write_scenario("estate: demo\nduration: 1h\ndevices: [rs-b1-water-*]\nspeed: 1\n", "long.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
    process = subprocess.Popen([sys.executable, "-m", "forewarn", "simulate", "run", str(path), "--broker",
                                mosquitto.url, "--no-progress", "--labels", str(tmp_path / "l.jsonl")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    sub.wait_for(2, timeout=30)  # both devices online: the run is under way
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stdout + stderr
    assert "stopped early" in stdout and "Traceback" not in stderr
    states = [json.loads(m.payload)["state"] for m in sub.wait_for(4, timeout=10)]
    assert states == ["online", "online", "offline", "offline"]
