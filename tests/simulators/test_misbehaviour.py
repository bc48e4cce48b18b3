"""Misbehaving devices on request: each mode does what it says, and ingest's decoder makes of it what the label says."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ingest.decode import PartialReading, PresenceChange, Reading, Rejection, decode
from simulators.generator import Simulation
from simulators.misbehaviour import EXPECTED_REASON, MODES, PARTLY_KEPT

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
BEGIN, END = START + timedelta(minutes=10), START + timedelta(minutes=20)
DEVICES = {"water": "rs-b1-water-low", "elevator": "rs-b1-elev-a", "access_door": "rs-b1-door-east"}


def _messages(scenario, mode: str, device: str = DEVICES["water"]):
    misbehaviour = f"misbehaviour:\n  - {{device: {device}, mode: {mode}, start: 10m, duration: 10m}}\n"
    sim = Simulation(scenario(duration="30m", devices=f"[{device}]", extra=misbehaviour), START)
    labels = [r for r in sim.labels() if r["record"] == "misbehaviour"]
    assert labels == [{"record": "misbehaviour", "device": device, "mode": mode, "start": BEGIN.isoformat(),
                       "end": END.isoformat(), "expected_reason": EXPECTED_REASON[mode]}]
    return [m for m in sim.messages() if not m.topic.endswith("/status")]


def _decoded(messages):
    return [(m, decode(m.topic, m.payload, now=m.at)) for m in messages]


REJECTING = [mode for mode, reason in EXPECTED_REASON.items() if reason is not None]


def _reason(result) -> str | None:
    """The dead letter's reason of a decoded message: its rejection's, or its dropped values'; None if clean."""
    if isinstance(result, Rejection):
        return result.reason
    return result.dropped.reason if isinstance(result, PartialReading) else None


@pytest.mark.parametrize("kind", list(DEVICES))
@pytest.mark.parametrize("mode", REJECTING)
def test_broken_payloads_are_dead_lettered_for_the_stated_reason(scenario, mode, kind):
    results = _decoded(_messages(scenario, mode, DEVICES[kind]))
    inside = [r for m, r in results if BEGIN <= m.at < END]
    outside = [r for m, r in results if not BEGIN <= m.at < END]
    assert inside and outside
    assert {_reason(r) for r in inside} == {EXPECTED_REASON[mode]}  # no message of the window passes clean
    assert all(isinstance(r, Reading) for r in outside)
    partial = [r for r in inside if isinstance(r, PartialReading)]
    if mode not in PARTLY_KEPT:  # the message itself is broken: nothing of it is kept
        assert not partial, partial[:3]


@pytest.mark.parametrize("kind", list(DEVICES))
@pytest.mark.parametrize("mode", ["out_of_range", "wrong_unit"])
def test_one_broken_value_costs_only_that_value(scenario, mode, kind):
    """The watched metric broken, the message's other values are stored; only a message that carried nothing else
    is rejected whole."""
    messages = [m for m in _messages(scenario, mode, DEVICES[kind]) if BEGIN <= m.at < END]
    for message, result in _decoded(messages):
        data = json.loads(message.payload)["data"]
        if len(data) == 1 and "event" not in json.loads(message.payload):
            assert isinstance(result, Rejection), result
            continue
        assert isinstance(result, PartialReading), result
        assert len(result.reading.values) == len(data) - 1
        [(dropped, value)] = [(name, v) for name, v in data.items() if name not in result.reading.values]
        assert f"{dropped}={value} is outside" in result.dropped.detail
        assert result.dropped.detail.startswith(f"kept {len(data) - 1} of {len(data)} values")
    assert any(isinstance(r, PartialReading) for _, r in _decoded(messages))


def test_wrong_types_reject_telemetry_whole_and_keep_only_the_event_of_an_event(scenario):
    results = [(m, r) for m, r in _decoded(_messages(scenario, "wrong_type", DEVICES["access_door"]))
               if BEGIN <= m.at < END]
    telemetry = [r for m, r in results if m.topic.endswith("/telemetry")]
    events = [r for m, r in results if m.topic.endswith("/event")]
    assert telemetry and events
    assert all(isinstance(r, Rejection) and r.reason == "bad_type" for r in telemetry)
    assert all(isinstance(r, PartialReading) and not r.reading.values and r.reading.event for r in events)


def test_duplicates_repeat_the_same_message(scenario):
    messages = _messages(scenario, "duplicate_seq")
    inside = [m.payload for m in messages if BEGIN <= m.at < END]
    counts = Counter(inside)
    assert inside and set(counts.values()) == {2}  # each sent twice, byte for byte: same ts, same seq
    assert all(isinstance(r, Reading) for _, r in _decoded(messages))


def test_out_of_order_swaps_sequence_numbers_and_loses_nothing(scenario):
    seqs = [r.seq for _, r in _decoded(_messages(scenario, "out_of_order_seq"))]
    assert seqs != sorted(seqs)
    assert sorted(seqs) == list(range(1, len(seqs) + 1))


def test_burst_holds_messages_back_and_releases_them_at_once(scenario):
    silent = _messages(scenario, "silent")  # the same run without the window's messages
    messages = _messages(scenario, "burst")
    assert not [m for m in messages if BEGIN <= m.at < END]
    released = [m for m in messages if m.at == min(m.at for m in messages if m.at >= END)]
    held = [m for m in messages if BEGIN <= datetime.fromisoformat(json.loads(m.payload)["ts"]) < END]
    assert len(released) > 100 and set(map(id, held)) <= set(map(id, released))
    assert len(messages) == len(silent) + len(held)
    seqs = [json.loads(m.payload)["seq"] for m in messages]
    assert seqs == sorted(seqs)  # held, not reordered


def test_silent_device_publishes_nothing_during_the_window(scenario):
    messages = _messages(scenario, "silent")
    assert not [m for m in messages if BEGIN <= m.at < END]
    gaps = [(b.at - a.at) for a, b in zip(messages, messages[1:], strict=False)]
    assert max(gaps) >= timedelta(minutes=9, seconds=50)


def test_every_mode_is_described_and_has_an_expected_reason():
    assert set(MODES) == set(EXPECTED_REASON)
    assert all(MODES.values())


def test_a_disconnected_device_goes_offline_by_its_will_and_comes_back(scenario):
    misbehaviour = "misbehaviour:\n  - {device: rs-b1-water-low, mode: disconnected, start: 10m, duration: 10m}\n"
    sim = Simulation(scenario(duration="30m", devices="[rs-b1-water-low]", extra=misbehaviour), START)
    messages = list(sim.messages())
    presence = [(m.at, r.online) for m in messages
                if isinstance(r := decode(m.topic, m.payload, now=m.at), PresenceChange)]
    assert presence == [(START, True), (BEGIN, False), (END, True), (START + timedelta(minutes=30), False)]
    assert all(m.topic.endswith("/status") for m in messages if BEGIN <= m.at < END)
    assert all(m.retain for m in messages if m.topic.endswith("/status"))
    seqs = [json.loads(m.payload)["seq"] for m in messages if not m.topic.endswith("/status")]
    gaps = [b - a for a, b in zip(seqs, seqs[1:], strict=False)]
    assert min(gaps) == 1 and sorted(gaps)[-1] == 10 * 60 // 5 + 1  # the window's messages are lost: one gap
    assert sorted(gaps)[-2] == 1
