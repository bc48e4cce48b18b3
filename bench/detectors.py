"""Detector quality and cost benchmark: `python -m bench.detectors [--quick]`.

Prints one table, our detectors beside a null detector, an always-alarm detector and a 3-sigma z-score measured
in the same run:
- simulator ground truth (several seeds, every fault type of `simulators.faults`): recall per fault type, median
  detection delay, lead time before residents notice for degradation faults, false alarms per 100 device-days;
- SKAB valve1 (learn rows < 400, score rows ≥ 400; pooled F1, FAR, MAR);
- NAB (standard-profile score by NAB's published method);
- cost: median µs per reading in `DetectorEngine.process` and bytes of state per device;
then `RESULT name=value unit` lines. Public data are read in place from `../shared/datasets`.

Simulator runs: each seed makes two runs of the demo estate's Riverside site through the pure generator (no
MQTT). An *acute* run (12 simulated hours; every acute, door, water and sensor fault on its own device, the sensor
faults on a different device kind each seed, the other devices healthy) and a *degradation* run (6 simulated days;
bearing wear, levelling drift and a slow leak starting after one normal day, beside healthy siblings; and, in the
seeds whose sensor faults are on doors, the door's frozen battery gauge: a gauge that moves every ~8 h looks the
same frozen for an hour, so it is frozen for days there, as a dead gauge stays until someone replaces it). Messages
are decoded by `ingest.decode.decode` as ingest would and fed to each detector; alarms are matched to the labels:
- a fault is *detected* when an alarm of the same fault name is raised on its device between its start and its
  end plus `GRACE_S` (baselines name no fault, so any alarm of theirs on the device counts for them); delay is
  raise time − fault start; lead time is the label's `visible_at` − raise time;
- an alarm on a device inside one of its fault windows (+ grace) is explained by that fault (a car stopped between
  floors is also out of service); any other raised alarm is a *false alarm*, per 100 device-days simulated.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from time import perf_counter_ns

from bench.datasets import Series, load_nab, load_skab
from bench.nab_score import nab_score
from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from detectors.models.zscore import ZScore
from detectors.replay import score_stream
from detectors.rules.sensor import SLOW_GAUGES
from ingest.decode import PresenceChange, decode
from ingest.reading import DeviceKind, Reading
from simulators.faults import FAULTS, SENSOR_METRIC
from simulators.generator import Simulation
from simulators.scenario import FaultEntry, load_scenario

BASE_SCENARIO = Path(__file__).resolve().parents[1] / "simulators" / "scenarios" / "quiet-day.yaml"
GRACE_S = 3600.0  # an alarm up to an hour after the fault window still belongs to it (clear-time evidence)
EARLY_S = 1.0  # payload times are truncated to the millisecond: a reading at the fault's start may read as before it
START = datetime.fromisoformat("2026-03-02T00:00:00+08:00")
DEGRADATION = ("bearing_wear", "levelling_drift", "slow_leak")
HOUR, DAY = 3600.0, 86400.0
TICK_S = 60.0  # how often the runtime calls `DetectorEngine.tick`
# (fault, device, duration): acute faults on their own device of the right kind and role.
ACUTE: tuple[tuple[str, str, float], ...] = (
    ("entrapment", "rs-b1-elev-a", 0.5 * HOUR),
    ("door_fault", "rs-b1-elev-b", 1 * HOUR),
    ("motor_overheat", "rs-b2-elev-a", 1 * HOUR),
    ("out_of_service", "rs-b2-elev-b", 1 * HOUR),
    ("forced_open", "rs-b1-door-lobby", 0.25 * HOUR),
    ("held_open", "rs-b1-door-garage", 0.5 * HOUR),
    ("reader_offline", "rs-b1-door-east", 1 * HOUR),
    ("lock_failure", "rs-b1-door-west", 1 * HOUR),
    ("battery_low", "rs-b2-door-lobby", 3 * HOUR),
    ("pipe_burst", "rs-b1-water-low", 1 * HOUR),
    ("supply_outage", "rs-water-main", 1 * HOUR),
    ("pump_failure", "rs-b1-water-high", 1 * HOUR),
    ("tank_low", "rs-b2-water-high", 3 * HOUR),
)
# Sensor faults go to a different kind each seed: (kind → (stuck, dropout, spikes) devices).
SENSOR_DEVICES = (
    ("rs-b3-water-low", "rs-b3-water-high", "rs-b2-water-low"),
    ("rs-b3-elev-a", "rs-b3-elev-b", "lv-b1-elev-a"),  # Riverside has six cars; the seventh is Lakeview's
    ("rs-b3-door-lobby", "rs-b3-door-garage", "rs-b2-door-east"),
)
SENSOR_FAULTS = ("sensor_stuck", "sensor_dropout", "sensor_spikes")
DEGRADING: tuple[tuple[str, str], ...] = (
    ("bearing_wear", "rs-b1-elev-a"),
    ("levelling_drift", "rs-b2-elev-a"),
    ("slow_leak", "rs-b1-water-low"),
)
DEGRADATION_SIBLINGS = ("rs-b1-elev-b", "rs-b2-elev-b", "rs-b2-water-low")


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


def run(entries: list[FaultEntry], devices: list[str], duration_s: float, seed: int,
        detectors: dict[str, Detector], outcomes: dict[str, Outcome], intervals: dict | None = None) -> int:
    """One simulated run fed to every detector at once; returns the number of messages."""
    base = load_scenario(BASE_SCENARIO)
    scenario = dataclasses.replace(
        base, name=f"bench-{seed}", seed=seed, start=START, duration_s=duration_s, device_ids=devices,
        faults=entries, residents=dataclasses.replace(base.residents, enabled=False),
        intervals={**base.intervals, **(intervals or {})},
    )
    sim = Simulation(scenario, START)
    labels = [
        Label(r["device"], r["fault"], _t(r["start"]), _t(r["end"]), _t(r["visible_at"]) if r["visible_at"] else None)
        for r in sim.labels() if r["record"] == "fault"
    ]
    end = sim.end.timestamp()
    raised: dict[str, list[tuple[str, str | None, float]]] = {name: [] for name in detectors}
    n, next_tick = 0, START.timestamp() + TICK_S
    for t, _device, topic, payload in sim.timed():
        if t >= end:
            break  # the end-of-run "offline" status is the simulation stopping, not a fault
        at = datetime.fromtimestamp(t, START.tzinfo)
        if t >= next_tick:  # the runtime's periodic tick: silence and doors held open without readings
            next_tick = t + TICK_S
            for name, detector in detectors.items():
                raised[name].extend(detector.tick(at))
        message = decode(topic, payload, now=at)
        n += 1
        for name, detector in detectors.items():
            if isinstance(message, Reading):
                raised[name].extend(detector.reading(message))
            elif isinstance(message, PresenceChange):
                raised[name].extend(detector.presence(message))
    for name, detector in detectors.items():
        if detector.standing:
            raised[name] += [(label.device, None, label.start) for label in labels]
        _score(raised[name], labels, detector.names_faults, len(devices) * duration_s / DAY, outcomes[name])
        if isinstance(detector, Engine):
            outcomes[name].us.extend(detector.us)
            outcomes[name].state_bytes = max(outcomes[name].state_bytes, detector.state_bytes())
    return n


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


def _slow_gauge(kind: DeviceKind) -> bool:
    """Whether the metric a sensor fault freezes on this kind is a slow gauge (a reader's battery charge moves a
    tenth of a point every ~8 h): frozen for an hour it reads as it always does, so it is judged over days."""
    return SENSOR_METRIC[kind] in SLOW_GAUGES.get(kind, ())


def simulate(seeds: list[int], detectors: dict[str, Callable[[], Detector]], quick: bool = False
             ) -> tuple[dict[str, Outcome], int]:
    """Run every seed's acute and degradation runs; (outcome per detector, messages decoded)."""
    outcomes = {name: Outcome() for name in detectors}
    messages = 0
    estate = load_scenario(BASE_SCENARIO).estate.devices
    site_devices = [d.id for d in estate if d.site_id == "riverside"]
    kinds = {d.id: d.kind for d in estate}
    for seed in seeds:
        rng = random.Random(seed)
        sensors = list(zip(SENSOR_FAULTS, SENSOR_DEVICES[seed % len(SENSOR_DEVICES)], strict=True))
        gauges = [(fault, device) for fault, device in sensors
                  if fault == "sensor_stuck" and _slow_gauge(kinds[device])]
        plan = [*ACUTE, *((fault, device, 1 * HOUR) for fault, device in sensors if (fault, device) not in gauges)]
        acute = [FaultEntry(device, fault, rng.uniform(2 * HOUR, 12 * HOUR - duration - HOUR), duration)
                 for fault, device, duration in plan]
        devices = site_devices + [e.device_id for e in acute if e.device_id not in site_devices]
        messages += run(acute, devices, 12 * HOUR, seed, {n: f() for n, f in detectors.items()}, outcomes)
        days = 4.0 if quick else 6.0
        slow = [FaultEntry(device, fault, DAY + rng.uniform(0, 6 * HOUR), (days - 1.5) * DAY)
                for fault, device in (*DEGRADING, *gauges)]
        devices = [device for _, device in (*DEGRADING, *gauges)] + list(DEGRADATION_SIBLINGS)
        messages += run(slow, devices, days * DAY, seed, {n: f() for n, f in detectors.items()}, outcomes,
                        intervals={DeviceKind.ELEVATOR: 20.0, DeviceKind.WATER: 20.0})
    return outcomes, messages


SKAB_SPLIT = 400
# A stream maps a series to one (score, alarm) pair per row, streaming.
Stream = Callable[[Series, int], Iterator[tuple[float, bool]]]


def ours(profile: str) -> Stream:
    def run(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
        rows = zip([t.isoformat() for t in series.timestamps], series.rows, strict=True)
        for row in score_stream(rows, profile, warmup):
            yield row.score, row.alarm

    return run


def null(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    return ((0.0, False) for _ in series.rows)


def always(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    return ((1.0, True) for _ in series.rows)


def zscore(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    """3-sigma rule on running mean/std; with a warm-up it learns only then (the reference is frozen)."""
    model = ZScore()
    for i, x in enumerate(series.rows):
        z = model.score_one(x)
        if warmup == 0 or i < warmup:
            model.learn_one(x)
        alarm = i >= max(warmup, 2) and z > 3.0
        yield (1.0 if alarm else 0.0), alarm


def skab_figures(stream: Stream, files: list[Series]) -> dict[str, float]:
    tp = fp = fn = tn = 0
    for series in files:
        for i, (_, alarm) in enumerate(stream(series, SKAB_SPLIT)):
            if i < SKAB_SPLIT:
                continue
            label = series.labels[i] == 1
            tp, fp = tp + (alarm and label), fp + (alarm and not label)
            fn, tn = fn + (not alarm and label), tn + (not alarm and not label)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"f1": f1, "far": fp / max(1, fp + tn), "mar": fn / max(1, fn + tp)}


def nab_figure(stream: Stream, files: list[Series]) -> float:
    scored = {s.name: ([score for score, _ in stream(s, 0)], s.windows) for s in files}
    return nab_score(scored, "standard")


def _duration(seconds: float) -> str:
    if abs(seconds) < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if abs(seconds) < 7200 else f"{seconds / 3600:.1f}h"


def _sim_cell(outcome: Outcome, fault: str) -> str:
    found = outcome.detections.get(fault, [])
    if not found:
        return "-"
    delays = [d for d in found if d is not None]
    cell = f"{len(delays) / len(found):.0%}"
    if delays:
        cell += f" {_duration(statistics.median(delays))}"
    if fault in outcome.leads and outcome.leads[fault]:
        cell += f" lead {_duration(statistics.median(outcome.leads[fault]))}"
    return cell


def recall(outcome: Outcome, fault: str) -> float:
    found = outcome.detections.get(fault, [])
    return sum(d is not None for d in found) / len(found) if found else 0.0


def fa_rate(outcome: Outcome) -> float:
    return 100.0 * outcome.false_alarms / outcome.device_days if outcome.device_days else 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed and a subset of files, for a smoke run")
    parser.add_argument("--seeds", type=int, default=3, help="simulator seeds (default 3)")
    args = parser.parse_args(argv)
    skab, nab = load_skab(), load_nab()
    seeds = list(range(1, 2 if args.quick else args.seeds + 1))
    if args.quick:
        skab, nab = skab[:4], [s for s in nab if "art" in s.name or "AAPL" in s.name]
    streams: dict[str, tuple[Stream, Stream]] = {
        "forewarn": (ours("t2"), ours("surprise")),
        "null": (null, null),
        "always-alarm": (always, always),
        "3-sigma z-score": (zscore, zscore),
    }
    sims: dict[str, Callable[[], Detector]] = {
        "forewarn": Engine, "null": Null, "always-alarm": Always, "3-sigma z-score": ThreeSigma,
    }
    outcomes, messages = simulate(seeds, sims, quick=args.quick)
    names = list(streams)
    rows: list[tuple[str, list[str]]] = []
    for fault in FAULTS:
        n = len(outcomes["forewarn"].detections.get(fault, []))
        rows.append((f"sim {fault} (n={n})", [_sim_cell(outcomes[d], fault) for d in names]))
    worst = {d: min(recall(outcomes[d], f) for f in FAULTS) for d in names}
    rows.append(("sim min recall over fault types", [f"{worst[d]:.0%}" for d in names]))
    rows.append(("sim false alarms /100 device-days", [f"{fa_rate(outcomes[d]):.1f}" for d in names]))
    skab_results = {d: skab_figures(streams[d][0], skab) for d in names}
    nab_results = {d: nab_figure(streams[d][1], nab) for d in names}
    rows.append(("SKAB valve1 F1", [f"{skab_results[d]['f1']:.3f}" for d in names]))
    rows.append(("SKAB valve1 FAR", [f"{skab_results[d]['far']:.1%}" for d in names]))
    rows.append(("SKAB valve1 MAR", [f"{skab_results[d]['mar']:.1%}" for d in names]))
    rows.append(("NAB standard score", [f"{nab_results[d]:.1f}" for d in names]))
    engine = outcomes["forewarn"]
    us = statistics.median(engine.us) if engine.us else 0.0
    rows.append(("median µs per reading (process)", [f"{us:.1f}", "-", "-", "-"]))
    rows.append(("bytes of state per device (max)", [str(engine.state_bytes), "-", "-", "-"]))
    device_days = engine.device_days
    print(f"simulator: seeds {seeds}, {messages} messages, {device_days:.0f} device-days; cells are recall, median"
          " delay from fault start, and (degradation) median lead before residents notice")
    subset = " (quick subset)" if args.quick else ""
    print(f"public data: SKAB valve1 {len(skab)} files, NAB {len(nab)} files{subset}")
    width = max(len(label) for label, _ in rows) + 2
    print(f"{'':<{width}}" + "".join(f"{d:>22}" for d in names))
    for label, cells in rows:
        print(f"{label:<{width}}" + "".join(f"{c:>22}" for c in cells))
    s = skab_results["forewarn"]
    min_recall = min(recall(engine, f) for f in FAULTS)
    leads = [lead for f in DEGRADATION for lead in engine.leads.get(f, [])]
    print(f"RESULT skab_f1={s['f1']:.3f} ratio")
    print(f"RESULT skab_far={s['far']:.3f} ratio")
    print(f"RESULT skab_mar={s['mar']:.3f} ratio")
    print(f"RESULT nab_standard={nab_results['forewarn']:.1f} score")
    print(f"RESULT sim_min_recall={min_recall:.3f} ratio")
    print(f"RESULT false_alarms_per_100_device_days={fa_rate(engine):.2f} count")
    if leads:
        print(f"RESULT degradation_min_lead_hours={min(leads) / 3600:.1f} h")
    print(f"RESULT us_per_reading={us:.1f} us")
    print(f"RESULT state_bytes_per_device={engine.state_bytes} bytes")


if __name__ == "__main__":
    main()
