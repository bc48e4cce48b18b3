"""docs/mqtt-contract.md says what the code does: its tables are `ingest.contract`'s, its examples decode as stated,
and its `mosquitto_pub` command publishes a reading that ingest accepts."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.contract import EVENTS, MAX_PAYLOAD_BYTES, METRICS, TOPIC_ROOT
from ingest.decode import PartialReading, PresenceChange, Reading, Rejection, decode
from ingest.reading import DeviceKind

DOC = Path(__file__).resolve().parents[2] / "docs" / "mqtt-contract.md"
TEXT = DOC.read_text(encoding="utf-8")
EXAMPLE = re.compile(r"^(?P<label>[^\n]*?)topic `(?P<topic>[^`]+)`\n\n```json\n(?P<body>.*?)\n```", re.M | re.S)
REJECTED = re.compile(r"Rejected as `(\w+)`")
PARTLY_KEPT = re.compile(r"Partly kept, `(\w+)` dropped as `(\w+)`")


def _section(kind: DeviceKind) -> str:
    start = TEXT.index(f"### {kind.value}\n")
    end = TEXT.index("\n### ", start + 1)
    return TEXT[start:end]


def _table(section: str) -> list[list[str]]:
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


@pytest.mark.parametrize("kind", list(DeviceKind))
def test_metric_tables_are_the_contract_specs(kind):
    expected = []
    for spec in METRICS[kind]:
        kind_of = "boolean" if spec.boolean else "integer" if spec.integer else "number"
        low, high = ("false", "true") if spec.boolean else (f"{spec.minimum:g}", f"{spec.maximum:g}")
        expected.append([f"`{spec.name}`", kind_of, "—" if spec.boolean else spec.unit, low, high, spec.description])
    section = _section(kind)
    assert _table(section) == expected
    events = re.search(r"^Events: (.*)\.$", section, re.M).group(1)
    assert events == ", ".join(f"`{e}`" for e in EVENTS[kind])


def test_limits_and_topic_root_are_the_contracts():
    assert f"at most **{MAX_PAYLOAD_BYTES} bytes**" in TEXT
    assert f"{TOPIC_ROOT}/{{site}}/{{kind}}/{{device}}/{{channel}}" in TEXT


def test_every_example_decodes_as_the_doc_says(demo_estate):
    known = {d.id: d.kind for d in demo_estate.devices}
    examples = list(EXAMPLE.finditer(TEXT))
    assert len(examples) == TEXT.count("```json") >= 10  # every JSON block is an example with its topic
    assert len([m for m in examples if PARTLY_KEPT.search(m["label"])]) >= 1
    for match in examples:
        payload = match["body"].encode()
        ts = datetime.fromisoformat(json.loads(payload)["ts"])
        now = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        result = decode(match["topic"], payload, now=now, known_devices=known)
        rejected = REJECTED.search(match["label"])
        partly = PARTLY_KEPT.search(match["label"])
        if rejected:
            assert isinstance(result, Rejection) and result.reason == rejected.group(1), (match["label"], result)
        elif partly:
            metric, reason = partly.groups()
            assert isinstance(result, PartialReading) and result.dropped.reason == reason, (match["label"], result)
            body = json.loads(payload)
            assert set(result.reading.values) == set(body["data"]) - {metric}
            assert result.reading.event == body["event"] and result.reading.ts == ts
            assert f'"{result.dropped.detail}"' in " ".join(TEXT.split())  # the doc quotes the detail as it is
        elif match["topic"].endswith("/status"):
            assert isinstance(result, PresenceChange), result
        else:
            assert isinstance(result, Reading), (match["topic"], result)
            assert result.ts == ts and set(result.values) == set(json.loads(payload)["data"])


def test_a_days_old_last_will_is_still_presence():
    will = b'{"v":1,"ts":"2026-11-20T07:00:00+08:00","state":"offline"}'
    now = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    result = decode("forewarn/v1/riverside/water/rs-b1-water-low/status", will, now=now)
    assert isinstance(result, PresenceChange) and result.online is False
    stale = b'{"v":1,"ts":"2026-11-20T07:00:00+08:00","seq":1,"data":{"pressure_kpa":300}}'
    assert decode("forewarn/v1/riverside/water/rs-b1-water-low/telemetry", stale, now=now).reason == "clock_skew"


def test_the_docs_mosquitto_pub_command_publishes_a_valid_reading(mosquitto, subscribe, demo_estate):
    command = re.search(r"```sh\n(mosquitto_pub .*?)\n```", TEXT, re.S).group(1)
    assert "-p 1883" in command
    sub = subscribe()
    before = datetime.now(UTC)
    subprocess.run(["bash", "-c", command.replace("-p 1883", f"-p {mosquitto.port}")], check=True, timeout=30)
    [message] = sub.wait_for(1, timeout=10)
    known = {d.id: d.kind for d in demo_estate.devices}
    result = decode(message.topic, message.payload, now=datetime.now(UTC), known_devices=known)
    assert isinstance(result, Reading), result
    assert result.device_id == "rs-b1-water-low" and result.values == {"pressure_kpa": 312.5, "flow_lpm": 41.0}
    assert before - timedelta(seconds=1) <= result.ts <= datetime.now(UTC)
    assert message.qos == 1
