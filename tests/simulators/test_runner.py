"""The runner against a real Mosquitto: what a tester sees on the broker and in the label file."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ingest.decode import PresenceChange, Reading, decode
from simulators.labels import read_labels
from simulators.publisher import PublisherError
from simulators.residents import MemoryComplaintSink
from simulators.runner import run_scenario

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 7, 30, tzinfo=SH)  # a Monday morning rush


def _run(scenario, mosquitto, **kw):
    kw.setdefault("labels_path", None)
    return run_scenario(scenario, broker_host="127.0.0.1", broker_port=mosquitto.port, **kw)


def _pairs(messages):
    return [(m.topic, m.payload) for m in messages]


def test_every_message_arrives_in_sequence_order_per_device(scenario, mosquitto, subscribe, demo_estate):
    sub = subscribe()
    play = scenario(duration="15m")
    summary = _run(play, mosquitto, start=START)
    received = sub.wait_for(summary.messages)
    assert len(received) == summary.messages > 900
    known = {d.id: d.kind for d in demo_estate.devices}
    seqs: dict[str, list[int]] = defaultdict(list)
    presence: dict[str, list[bool]] = defaultdict(list)
    for message in received:
        result = decode(message.topic, message.payload, now=START + timedelta(minutes=15), known_devices=known)
        if isinstance(result, PresenceChange):
            presence[result.device_id].append(result.online)
        else:
            assert isinstance(result, Reading), result
            seqs[result.device_id].append(result.seq)
    assert set(seqs) == set(play.device_ids) == set(presence)
    for device, numbers in seqs.items():
        assert numbers == list(range(1, len(numbers) + 1)), f"{device} sequence out of order"
        assert summary.last_seq[device] == numbers[-1]
        assert presence[device] == [True, False]  # online at the start, offline at the end


def test_status_is_retained_offline_after_the_run(scenario, mosquitto, subscribe):
    play = scenario(duration="2m")
    _run(play, mosquitto, start=START)
    late = subscribe("forewarn/v1/+/+/+/status")  # joins after the run: sees only retained messages
    received = late.wait_for(len(play.device_ids), timeout=10, retained=True)
    assert {m.topic.split("/")[4] for m in received} == set(play.device_ids)
    assert {json.loads(m.payload)["state"] for m in received} == {"offline"}


def test_same_seed_same_messages_different_seed_different(scenario, mosquitto, subscribe):
    streams = []
    for seed in (7, 7, 8):
        sub = subscribe()
        summary = _run(scenario(duration="10m", seed=seed), mosquitto, start=START)
        streams.append(_pairs(sub.wait_for(summary.messages)))
        sub.close()
    assert len(streams[0]) > 500
    assert streams[0] == streams[1]
    assert streams[0] != streams[2]


def test_payload_timestamps_follow_the_simulated_clock(scenario, mosquitto, subscribe):
    sub = subscribe()
    play = scenario(duration="2h", devices="[rs-b1-water-low]")
    began = time.monotonic()
    summary = _run(play, mosquitto, start=START)
    wall = time.monotonic() - began
    stamps = [datetime.fromisoformat(json.loads(p)["ts"]) for _, p in _pairs(sub.wait_for(summary.messages))]
    assert wall < 30  # two simulated hours, published as fast as possible
    assert stamps == sorted(stamps)
    assert stamps[0] == START and stamps[-1] == START + timedelta(hours=2)
    assert all(s.utcoffset() == timedelta(hours=8) for s in stamps)  # RFC 3339 with the site's offset
    gaps = {round((b - a).total_seconds()) for a, b in zip(stamps[1:-2], stamps[2:-1], strict=True)}
    assert gaps == {5}  # the water telemetry interval, in simulated seconds


def test_speed_paces_the_run_on_the_wall_clock(scenario, mosquitto):
    play = scenario(duration="60s", devices="[rs-b1-water-low]")
    paced = _run(play, mosquitto, start=START, speed=30)  # 60 simulated seconds at 30x: 2 wall seconds
    fast = _run(play, mosquitto, start=START, speed=float("inf"))
    assert 1.8 <= paced.wall_seconds <= 4.0
    assert fast.wall_seconds < 1.0
    assert paced.messages == fast.messages


def test_stop_ends_the_run_and_leaves_devices_offline(scenario, mosquitto, subscribe):
    sub = subscribe()
    play = scenario(duration="1h", devices="[rs-b1-water-*]", speed="1")
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    summary = _run(play, mosquitto, stop=stop)
    assert summary.stopped
    assert summary.wall_seconds < 3
    received = sub.wait_for(summary.messages)
    last = {}
    for m in received:
        if m.topic.endswith("/status"):
            last[m.topic] = json.loads(m.payload)["state"]
    assert sorted(last.values()) == ["offline", "offline"]


def test_label_file_and_complaints_on_the_simulated_clock(scenario, mosquitto, tmp_path):
    faults = "[{device: rs-b1-elev-a, fault: entrapment, start: 10m, duration: 40m}]"
    play = scenario(duration="1h", faults=faults)
    sink = MemoryComplaintSink()
    labels = tmp_path / "labels.jsonl"
    summary = _run(play, mosquitto, start=START, labels_path=labels, complaint_sink=sink)
    records = read_labels(labels)
    assert summary.labels_written == len(records)
    run, fault = records[0], records[1]
    assert run["record"] == "run" and run["seed"] == 7
    assert fault == {
        "record": "fault", "device": "rs-b1-elev-a", "kind": "elevator", "site": "riverside",
        "fault": "entrapment", "start": "2026-03-02T07:40:00+08:00", "end": "2026-03-02T08:20:00+08:00",
        "resident_visible": True, "visible_at": "2026-03-02T07:40:00+08:00",
        "shape": {"amplitude": 1.0, "ramp_s": 0.0, "variant": "", "alarm_after_s": None},
    }
    complaints = [r for r in records if r["record"] == "complaint"]
    assert complaints and len(complaints) == len(sink.received) == summary.complaints_submitted
    for record, complaint in zip(complaints, sink.received, strict=True):
        assert record["delivered"] is True and record["resident_id"] == complaint.resident_id
        minutes = (complaint.reported_at - datetime.fromisoformat(fault["visible_at"])).total_seconds() / 60
        assert 1 <= minutes <= 8  # people trapped in a lift call within minutes
        assert complaint.unit_id in play.estate.device("rs-b1-elev-a").serves


def test_losing_the_broker_fails_loudly(scenario, mosquitto):
    play = scenario(duration="1h", devices="[rs-b1-water-*]", speed="1")
    threading.Timer(1.0, mosquitto.stop).start()
    began = time.monotonic()
    with pytest.raises(PublisherError, match="closed the connection|lost the MQTT broker"):
        _run(play, mosquitto)
    assert time.monotonic() - began < 5


def test_an_unreachable_broker_fails_before_any_label_is_written(scenario, tmp_path):
    labels = tmp_path / "labels.jsonl"
    with pytest.raises(PublisherError, match="cannot reach the MQTT broker at 127.0.0.1:1"):
        run_scenario(scenario(duration="1m"), broker_host="127.0.0.1", broker_port=1, labels_path=labels)
    assert not labels.exists()
