"""The engine's decisions on a fixed simulator stream are exactly those recorded from main (see below for when).

Speed work on the per-reading path (issue #19) must not change any detector's decisions. `bench.engine_cost.stream()`
(seed 1: 6 h of the Riverside site with every acute and sensor fault, then 2.25 days of degradation faults, ~137 000
readings) is replayed through `DetectorEngine` as the runtime drives it, and compared with figures recorded from
commit cb27476's detectors on the same stream:
- every alarm transition in order as (time, device, fault, state, severity), listed below, and a SHA-256 over the
  full `repr` of every `Alarm` (evidence sentences, numbers and the last readings included);
- a SHA-256 over every device's whole detector state at the end of each run (learned normal per slot, river's
  EWVar/EWMean/PageHinkley, absence counts, presence, sensor health, hysteresis tracks, rule baselines), so a change
  that moves a learned value without yet changing an alarm fails too.

Recorded at commit cb27476; the two hashes re-recorded at 12bd1f4, when the water rules changed on purpose (the
pressure-flow curve, the sudden-step burst: new evidence sentences and state, the same transitions on this stream),
and checked equal for the speed work merged after it; all three re-recorded when a motor 30 °C over its own usual
temperature became an overheat (branch `motor`: its raise moved earlier on this stream, nothing else); the state hash
re-recorded when a water supply's slide under its curve became an outage (`hydraulics.Slide`: new state, the same
transitions and alarms on this stream), and again when a water device's usual flow learnt through surges at hours of
the day it had not yet seen (the same transitions and alarms); all three when an entrapment became an alarm at its
first report (rs-b1-elev-a's entrapment raised 5 s earlier, at the report that showed it; nothing else moved); the
state hash when the absence of usual activity began to add up the events due since the last one (the same
transitions and alarms), and again when its hour slots began to judge after two days instead of three (the same
transitions and alarms); all three when a lock failure came to want six closed, unlocked reports over 2.5 minutes
instead of two 30 s apart (rs-b1-door-west's lock_failure raised 2 minutes later, with a new evidence sentence;
nothing else moved); the state hash when the absence of use began to judge a device's second day under the pace of
its last two hours (the same transitions and alarms); all three when a door fault came to want several long cycles
among the car's last seven, as many as this car's passengers holding its door would not bring together (the
night-time door fault of rs-b1-elev-b, one trip with one cycle over 20 s, is no longer raised; nothing else moved);
all three when a lift's levelling came to be judged per stop instead of per report (rs-b1-elev-a's levelling_drift
while it stood trapped between floors, one stop reported for half an hour, is no longer raised; rs-b2-elev-a's
degrading levelling is raised 27 minutes later, at 03:46, and no longer cleared while its drift goes on); all three
when a lift's wear came to read each travelling vibration through the median of it and the two before, so that a
glitching sensor does not call a sound bearing (rs-b1-elev-a's wear raised 5 minutes later, at 22:50 after a day of
wear, and critical 41 minutes sooner, at 05:14, with one 20-second step back to warning at 05:55; nothing else moved);
the state hash when each door began to learn its share of its site's card reads (`detectors.peers`: the same
transitions and alarms on this stream, whose doors never stop reading while reporting healthy).

Regenerate (only when a decision is meant to change, and say so in the commit):
`.venv/bin/python -m tests.detectors.test_engine_decisions` prints the three values for the checked-out code.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections import deque
from datetime import tzinfo
from functools import cache
from typing import Any

from bench.engine_cost import replay, stream
from detectors.alarm import Alarm
from detectors.engine import DetectorEngine

# Recorded from commit cb27476 (detectors/ as on main then; `bench.engine_cost` copied beside it); re-recorded when a
# lift motor's heat over its own usual became an overheat (its alarms now come earlier on this stream).
MAIN_TRANSITIONS: list[tuple[str, str, str, str, str]] = [
    ('2026-03-01T17:06:05.063000+00:00', 'rs-b1-water-low', 'pipe_burst', 'raised', 'critical'),
    ('2026-03-01T17:10:30.591000+00:00', 'rs-b3-elev-a', 'sensor_stuck', 'raised', 'warning'),
    ('2026-03-01T17:32:18.130000+00:00', 'rs-b1-elev-a', 'entrapment', 'raised', 'critical'),
    ('2026-03-01T17:33:48.130000+00:00', 'rs-b1-elev-a', 'out_of_service', 'raised', 'warning'),
    ('2026-03-01T17:55:04.067000+00:00', 'rs-b2-elev-b', 'out_of_service', 'raised', 'warning'),
    ('2026-03-01T18:01:00.591000+00:00', 'rs-b3-elev-a', 'sensor_stuck', 'cleared', 'warning'),
    ('2026-03-01T18:02:48.130000+00:00', 'rs-b1-elev-a', 'entrapment', 'cleared', 'critical'),
    ('2026-03-01T18:03:18.130000+00:00', 'rs-b1-elev-a', 'out_of_service', 'cleared', 'warning'),
    ('2026-03-01T18:07:00.063000+00:00', 'rs-b1-water-low', 'pipe_burst', 'cleared', 'critical'),
    ('2026-03-01T18:31:25.047000+00:00', 'rs-b1-water-high', 'pump_failure', 'raised', 'critical'),
    ('2026-03-01T18:41:38.071000+00:00', 'rs-b3-elev-b', 'sensor_dropout', 'raised', 'warning'),
    ('2026-03-01T18:48:52.671000+00:00', 'rs-b1-door-garage', 'held_open', 'raised', 'warning'),
    ('2026-03-01T18:54:34.067000+00:00', 'rs-b2-elev-b', 'out_of_service', 'cleared', 'warning'),
    ('2026-03-01T19:06:20.156000+00:00', 'rs-b1-door-lobby', 'forced_open', 'raised', 'critical'),
    ('2026-03-01T19:06:59.299000+00:00', 'rs-b1-door-lobby', 'forced_open', 'cleared', 'critical'),
    ('2026-03-01T19:07:29.299000+00:00', 'rs-b1-door-lobby', 'held_open', 'raised', 'warning'),
    ('2026-03-01T19:09:00.047028+00:00', 'rs-b3-elev-b', 'device_offline', 'raised', 'warning'),
    ('2026-03-01T19:09:08.071000+00:00', 'rs-b3-elev-b', 'device_offline', 'cleared', 'warning'),
    ('2026-03-01T19:18:18.079000+00:00', 'rs-b1-door-east', 'reader_offline', 'raised', 'warning'),
    ('2026-03-01T19:18:38.971000+00:00', 'rs-b1-door-garage', 'held_open', 'cleared', 'warning'),
    ('2026-03-01T19:21:59.299000+00:00', 'rs-b1-door-lobby', 'held_open', 'cleared', 'warning'),
    ('2026-03-01T19:24:32.582000+00:00', 'rs-b2-water-high', 'tank_low', 'raised', 'warning'),
    ('2026-03-01T19:31:55.047000+00:00', 'rs-b1-water-high', 'pump_failure', 'cleared', 'critical'),
    ('2026-03-01T19:39:03.071000+00:00', 'rs-b3-elev-b', 'sensor_dropout', 'cleared', 'warning'),
    ('2026-03-01T19:39:13.541000+00:00', 'rs-b2-door-lobby', 'battery_low', 'raised', 'info'),
    ('2026-03-01T19:48:15.680000+00:00', 'rs-b1-door-west', 'lock_failure', 'raised', 'warning'),
    ('2026-03-01T19:55:42.585000+00:00', 'rs-water-main', 'supply_outage', 'raised', 'critical'),
    ('2026-03-01T19:59:13.541000+00:00', 'rs-b2-door-lobby', 'battery_low', 'updated', 'critical'),
    ('2026-03-01T20:00:19.069000+00:00', 'rs-b2-elev-a', 'motor_overheat', 'raised', 'warning'),
    ('2026-03-01T20:08:43.541000+00:00', 'rs-b2-door-lobby', 'battery_low', 'cleared', 'critical'),
    ('2026-03-01T20:18:18.079000+00:00', 'rs-b1-door-east', 'reader_offline', 'cleared', 'warning'),
    ('2026-03-01T20:23:54.069000+00:00', 'rs-b2-elev-a', 'out_of_service', 'raised', 'warning'),
    ('2026-03-01T20:26:54.069000+00:00', 'rs-b2-elev-a', 'motor_overheat', 'updated', 'critical'),
    ('2026-03-01T20:33:07.582000+00:00', 'rs-b2-water-high', 'pump_failure', 'raised', 'critical'),
    ('2026-03-01T20:41:24.069000+00:00', 'rs-b2-elev-a', 'out_of_service', 'cleared', 'warning'),
    ('2026-03-01T20:45:24.069000+00:00', 'rs-b2-elev-a', 'motor_overheat', 'cleared', 'critical'),
    ('2026-03-01T20:46:45.680000+00:00', 'rs-b1-door-west', 'lock_failure', 'cleared', 'warning'),
    ('2026-03-01T20:49:32.582000+00:00', 'rs-b2-water-high', 'tank_low', 'updated', 'critical'),
    ('2026-03-01T20:56:02.585000+00:00', 'rs-b2-water-high', 'pump_failure', 'updated', 'critical'),
    ('2026-03-01T20:56:02.585000+00:00', 'rs-water-main', 'supply_outage', 'cleared', 'critical'),
    ('2026-03-01T21:09:37.582000+00:00', 'rs-b2-water-high', 'pump_failure', 'cleared', 'critical'),
    ('2026-03-01T21:10:57.582000+00:00', 'rs-b2-water-high', 'tank_low', 'updated', 'warning'),
    ('2026-03-01T21:25:22.582000+00:00', 'rs-b2-water-high', 'tank_low', 'cleared', 'warning'),
    ('2026-03-02T22:50:52.520000+00:00', 'rs-b1-elev-a', 'bearing_wear', 'raised', 'warning'),
    ('2026-03-03T03:46:56.278000+00:00', 'rs-b2-elev-a', 'levelling_drift', 'raised', 'warning'),
    ('2026-03-03T05:14:12.520000+00:00', 'rs-b1-elev-a', 'bearing_wear', 'updated', 'critical'),
    ('2026-03-03T05:55:12.520000+00:00', 'rs-b1-elev-a', 'bearing_wear', 'updated', 'warning'),
    ('2026-03-03T05:55:32.520000+00:00', 'rs-b1-elev-a', 'bearing_wear', 'updated', 'critical'),
    ('2026-03-03T11:42:32.520000+00:00', 'rs-b1-elev-a', 'bearing_wear', 'updated', 'warning'),
    ('2026-03-03T13:45:52.520000+00:00', 'rs-b1-elev-a', 'bearing_wear', 'cleared', 'warning'),
]
MAIN_ALARMS_SHA256 = "43a2a6ba7674aefef29b57f998910b7888fbf4a49f74f904b8022ed6e07202bf"
MAIN_STATE_SHA256 = "79657c2bf20d19a66cf13d6e8f8b490cb3d2ac75127eeaef1259ff30000ecd92"


def _plain(obj: Any) -> Any:
    """A detector state as plain nested values, every attribute included (river objects through their __dict__
    or, for its Rust statistics, their pickled state)."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, enum.Enum):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return (type(obj).__name__, [(f.name, _plain(getattr(obj, f.name))) for f in dataclasses.fields(obj)])
    if isinstance(obj, dict):
        return sorted((repr(k), _plain(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple, deque)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(repr(v) for v in obj)
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, tzinfo):
        return repr(obj)
    if hasattr(obj, "__dict__"):
        return (type(obj).__name__, _plain(vars(obj)))
    state = obj.__getstate__()  # river's Rust statistics (RsEWVar, RsEWMean): their state as bytes
    if state is None:
        raise TypeError(f"no state to compare in {obj!r}")
    return (type(obj).__name__, _plain(state))


def _sha(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def transitions(alarms: list[Alarm]) -> list[tuple[str, str, str, str, str]]:
    return [(a.ts.isoformat(), a.device_id, a.fault, a.state.value, a.severity.value) for a in alarms]


def state_lines(engines: list[DetectorEngine]) -> list[str]:
    return [f"{i} {d} {_plain(e._devices[d])!r}" for i, e in enumerate(engines) for d in sorted(e.devices())]


@cache
def _run() -> tuple[list[Alarm], list[str]]:
    alarms, engines = replay(stream())
    return alarms, state_lines(engines)


def test_alarm_transitions_are_main_s() -> None:
    alarms, _ = _run()
    assert transitions(alarms) == MAIN_TRANSITIONS


def test_alarm_evidence_is_main_s() -> None:
    alarms, _ = _run()
    assert _sha([repr(a) for a in alarms]) == MAIN_ALARMS_SHA256


def test_learned_state_is_main_s() -> None:
    _, lines = _run()
    assert len(lines) > 20  # the whole site, then the degradation run's devices
    assert _sha(lines) == MAIN_STATE_SHA256


if __name__ == "__main__":
    alarms, lines = _run()
    print("MAIN_TRANSITIONS: list[tuple[str, str, str, str, str]] = [")
    for row in transitions(alarms):
        print(f"    {row!r},")
    print("]")
    print(f'MAIN_ALARMS_SHA256 = "{_sha([repr(a) for a in alarms])}"')
    print(f'MAIN_STATE_SHA256 = "{_sha(lines)}"')
