"""The simulator half of `python -m bench.detectors`: the detectors compared, one simulated run played to them, and
how their alarms are scored against the run's labels.

A run's messages are decoded by `ingest.decode.decode` as ingest would and fed to each detector (`play`), with the
runtime's periodic tick; alarms are matched to the labels (`_score`):
- a fault is *detected* when an alarm of the same fault name is raised on its device between its start and its
  end plus `GRACE_S` (baselines name no fault, so any alarm of theirs on the device counts for them); delay is
  raise time − fault start; lead time is the label's `visible_at` − raise time; an intermittent fault's episodes
  are one fault, from the first episode's start to the last one's end (`merge_episodes`);
- an alarm on a device inside one of its fault windows (+ grace) is explained by that fault (a car stopped between
  floors is also out of service); any other raised alarm is a *false alarm*, per 100 device-days simulated.
Which runs a split plays is `bench.detector_splits`; `bench.nuisance` plays normal running the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from time import perf_counter_ns

from bench.fault_shapes import EPISODE_GAP_S
from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from detectors.models.zscore import ZScore
from ingest.decode import PartialReading, PresenceChange, decode
from ingest.reading import Reading
from simulators.generator import Simulation
from simulators.scenario import FaultEntry, load_scenario

BASE_SCENARIO = Path(__file__).resolve().parents[1] / "simulators" / "scenarios" / "quiet-day.yaml"
GRACE_S = 3600.0  # an alarm up to an hour after the fault window still belongs to it (clear-time evidence)
EARLY_S = 1.0  # payload times are truncated to the millisecond: a reading at the fault's start may read as before it
START = datetime.fromisoformat("2026-03-02T00:00:00+08:00")
DEGRADATION = ("bearing_wear", "levelling_drift", "slow_leak")
HOUR, DAY = 3600.0, 86400.0
TICK_S = 60.0  # how often the runtime calls `DetectorEngine.tick`


@dataclass(frozen=True, slots=True)
class Label:
    device: str
    fault: str
    start: float
    end: float
    visible_at: float | None


@dataclass(slots=True)
class Outcome:
    """What one detector did over the runs: detections per label, and false alarms over device-days."""

    detections: dict[str, list[float | None]] = field(default_factory=dict)  # fault -> raise delay or None
    leads: dict[str, list[float]] = field(default_factory=dict)  # degradation fault -> visible_at - raise (s)
    false_alarms: int = 0
    device_days: float = 0.0
    us: list[float] = field(default_factory=list)  # µs per reading in the detector (sampled)
    state_bytes: int = 0  # largest per-device state seen at the end of a run


class Detector:
    """Something that turns decoded messages into raised alarms: (device, fault or None, raise time)."""

    names_faults = True
    standing = False  # an alarm that is always on: detects every fault at once

    def reading(self, reading: Reading) -> Iterable[tuple[str, str | None, float]]:
        return ()

    def presence(self, change: PresenceChange) -> Iterable[tuple[str, str | None, float]]:
        return ()

    def tick(self, now: datetime) -> Iterable[tuple[str, str | None, float]]:
        return ()


class Engine(Detector):
    """Our `DetectorEngine`, as the runtime drives it; times every 16th reading for the cost figure."""

    def __init__(self) -> None:
        self.engine = DetectorEngine()
        self.us: list[float] = []
        self.n = 0

    def reading(self, reading: Reading) -> Iterable[tuple[str, str | None, float]]:
        self.n += 1
        if self.n % 16:
            return _raised(self.engine.process(reading))
        start = perf_counter_ns()
        alarms = self.engine.process(reading)
        self.us.append((perf_counter_ns() - start) / 1000.0)
        return _raised(alarms)

    def tick(self, now: datetime) -> Iterable[tuple[str, str | None, float]]:
        return _raised(self.engine.tick(now))

    def state_bytes(self) -> int:
        return max((len(self.engine.snapshot(d)) for d in self.engine.devices()), default=0)

    def presence(self, change: PresenceChange) -> Iterable[tuple[str, str | None, float]]:
        return _raised(self.engine.presence(change.device_id, online=change.online, ts=change.ts))


def _raised(alarms: list) -> list[tuple[str, str | None, float]]:
    return [(a.device_id, a.fault, a.ts.timestamp()) for a in alarms if a.state is AlarmState.RAISED]


class Null(Detector):
    names_faults = False


class Always(Detector):
    """Alarms on every device from its first reading and never clears: every fault is "detected" at its start."""

    names_faults = False
    standing = True

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def reading(self, reading: Reading) -> Iterable[tuple[str, str | None, float]]:
        if reading.device_id in self.seen:
            return ()
        self.seen.add(reading.device_id)
        return [(reading.device_id, None, reading.ts.timestamp())]


class ThreeSigma(Detector):
    """Per device, 3-sigma z-score over every numeric metric (learning from everything); an alarm episode starts
    when any |z| > 3 and ends at the first reading under it."""

    names_faults = False
    WARMUP = 100

    def __init__(self) -> None:
        self.models: dict[str, ZScore] = {}
        self.counts: dict[str, int] = {}
        self.alarmed: set[str] = set()

    def reading(self, reading: Reading) -> Iterable[tuple[str, str | None, float]]:
        d = reading.device_id
        model = self.models.setdefault(d, ZScore())
        n = self.counts[d] = self.counts.get(d, 0) + 1
        z = model.score_one(reading.values)
        model.learn_one(reading.values)
        if n <= self.WARMUP or z <= 3.0:
            self.alarmed.discard(d)
            return ()
        if d in self.alarmed:
            return ()
        self.alarmed.add(d)
        return [(d, None, reading.ts.timestamp())]


def simulation(entries: list[FaultEntry], devices: list[str], duration_s: float, seed: int,
               intervals: dict | None = None, name: str = "bench", noise: dict[str, float] | None = None
               ) -> Simulation:
    """The base scenario narrowed to `devices` and `entries` for `duration_s` from START, residents off; `noise`:
    a factor on named devices' measurement noise (`Scenario.noise`)."""
    base = load_scenario(BASE_SCENARIO)
    scenario = dataclasses.replace(
        base, name=f"{name}-{seed}", seed=seed, start=START, duration_s=duration_s, device_ids=devices,
        faults=entries, residents=dataclasses.replace(base.residents, enabled=False),
        intervals={**base.intervals, **(intervals or {})}, noise=noise or {},
    )
    return Simulation(scenario, START)


def run(entries: list[FaultEntry], devices: list[str], duration_s: float, seed: int,
        detectors: dict[str, Detector], outcomes: dict[str, Outcome], intervals: dict | None = None,
        noise: dict[str, float] | None = None) -> int:
    """One simulated run fed to every detector at once; returns the number of messages."""
    sim = simulation(entries, devices, duration_s, seed, intervals, noise=noise)
    labels = merge_episodes([
        Label(r["device"], r["fault"], _t(r["start"]), _t(r["end"]), _t(r["visible_at"]) if r["visible_at"] else None)
        for r in sim.labels() if r["record"] == "fault"
    ])
    raised, n = play(sim, detectors)
    for name, detector in detectors.items():
        if detector.standing:
            raised[name] += [(label.device, None, label.start) for label in labels]
        _score(raised[name], labels, detector.names_faults, len(devices) * duration_s / DAY, outcomes[name])
        outcomes[name].us.extend(getattr(detector, "us", []))  # the detectors that time themselves
        if isinstance(detector, Engine):
            outcomes[name].state_bytes = max(outcomes[name].state_bytes, detector.state_bytes())
    return n


def play(sim: Simulation, detectors: dict[str, Detector]) -> tuple[dict[str, list[tuple[str, str | None, float]]], int]:
    """Feed one simulation's messages, decoded as ingest would, to every detector, with the runtime's periodic tick;
    (raised alarms per detector as (device, fault or None, time), messages decoded)."""
    end = sim.end.timestamp()
    raised: dict[str, list[tuple[str, str | None, float]]] = {name: [] for name in detectors}
    n, next_tick = 0, sim.start.timestamp() + TICK_S
    for t, _device, topic, payload in sim.timed():
        if t >= end:
            break  # the end-of-run "offline" status is the simulation stopping, not a fault
        at = datetime.fromtimestamp(t, sim.start.tzinfo)
        if t >= next_tick:  # the runtime's periodic tick: silence and doors held open without readings
            next_tick = t + TICK_S
            for name, detector in detectors.items():
                raised[name].extend(detector.tick(at))
        message = decode(topic, payload, now=at)
        if isinstance(message, PartialReading):  # stored without its bad values, as ingest does
            message = message.reading
        n += 1
        for name, detector in detectors.items():
            if isinstance(message, Reading):
                raised[name].extend(detector.reading(message))
            elif isinstance(message, PresenceChange):
                raised[name].extend(detector.presence(message))
    return raised, n


def _t(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _score(raised: list[tuple[str, str | None, float]], labels: list[Label], names_faults: bool,
           device_days: float, out: Outcome) -> None:
    out.device_days += device_days
    for label in labels:
        hits = [t for d, f, t in raised if d == label.device and (f == label.fault or not names_faults)
                and label.start - EARLY_S <= t <= label.end + GRACE_S]
        first = min(hits) if hits else None
        out.detections.setdefault(label.fault, []).append(None if first is None else first - label.start)
        if label.fault in DEGRADATION and first is not None and label.visible_at is not None:
            out.leads.setdefault(label.fault, []).append(label.visible_at - first)
    for device, _fault, t in raised:
        explained = any(label.device == device and label.start - EARLY_S <= t <= label.end + GRACE_S
                        for label in labels)
        out.false_alarms += not explained


def merge_episodes(labels: list[Label]) -> list[Label]:
    """An intermittent fault's episodes (same device and fault, under `EPISODE_GAP_S` apart) as one label: from the
    first start to the last end, visible from the first episode residents saw."""
    out: list[Label] = []
    for label in sorted(labels, key=lambda x: (x.device, x.fault, x.start)):
        last = out[-1] if out else None
        if last is not None and (last.device, last.fault) == (label.device, label.fault) \
                and label.start - last.end < EPISODE_GAP_S:
            out[-1] = dataclasses.replace(last, end=max(last.end, label.end), visible_at=last.visible_at
                                          if last.visible_at is not None else label.visible_at)
        else:
            out.append(label)
    return out


def recall(outcome: Outcome, fault: str) -> float:
    found = outcome.detections.get(fault, [])
    return sum(d is not None for d in found) / len(found) if found else 0.0


def fa_rate(outcome: Outcome) -> float:
    return 100.0 * outcome.false_alarms / outcome.device_days if outcome.device_days else 0.0
