"""Detector quality and cost benchmark: `python -m bench.detectors [--quick] [--public-only]`.

Prints one table, our detectors beside river's nearest models (public data only), a null detector, an always-alarm
detector and a 3-sigma z-score measured in the same run, each figure on a tuning split and a held-out split side by
side (the protocol of `detectors.params`; splits in `bench.public` and `TUNING`/`HELDOUT` below):
- simulator ground truth (every fault type of `simulators.faults`): recall per fault type, median detection delay,
  lead time before residents notice for degradation faults, false alarms per 100 device-days;
- SKAB valve1 (learn rows < 400, score rows ≥ 400; pooled F1, FAR, MAR) and the anomaly-free run's halves (rows
  alarmed; its first half is tuning data, its second half held out: `bench.public`);
- NAB (standard and reward-low-FP profiles by NAB's published method);
- cost: median µs per reading in `DetectorEngine.process` and bytes of state per device;
- normal running with nuisance events (`bench.nuisance`: rush hours, planned maintenance visits, power blips, an
  unrelated alarm left open for a day) over 315 device-days (`--quick`: 7.5): false alarms per 100 device-days with
  their 95 % upper bound, and each of forewarn's false alarms with the nuisance nearest to it;
then `RESULT name=value unit` lines: SKAB from the held-out split (`skab_anomaly_free_alarm_share`: the anomaly-free
run's second half in 1150-row files), NAB both, simulator recall both,
`false_alarms_per_100_device_days` over the nuisance run (its device-days only) and, as
`false_alarms_per_100_device_days_fault_runs`, over the healthy devices of both fault-run splits. Public data are read
in place from `shared/datasets` beside the checkout.

Simulator runs: each seed makes two runs of the demo estate's Riverside site through the pure generator (no
MQTT). An *acute* run (12 simulated hours; every acute, door, water and sensor fault on its own device, the sensor
faults on a different device kind each seed, the other devices healthy) and a *degradation* run (6 simulated days;
bearing wear, levelling drift and a slow leak starting after one normal day, beside healthy siblings; and, in the
seeds whose sensor faults are on doors, the door's frozen battery gauge: a gauge that moves every ~8 h looks the
same frozen for an hour, so it is frozen for days there, as a dead gauge stays until someone replaces it). The
held-out split also draws each fault's shape, plays some intermittent faults as episodes and gives each device its own
measurement noise, 0.5-2.5x the simulator's (`Variation`). Messages
are decoded by `ingest.decode.decode` as ingest would and fed to each detector; alarms are matched to the labels:
- a fault is *detected* when an alarm of the same fault name is raised on its device between its start and its
  end plus `GRACE_S` (baselines name no fault, so any alarm of theirs on the device counts for them); delay is
  raise time − fault start; lead time is the label's `visible_at` − raise time; an intermittent fault's episodes
  are one fault, from the first episode's start to the last one's end (`merge_episodes`);
- an alarm on a device inside one of its fault windows (+ grace) is explained by that fault (a car stopped between
  floors is also out of service); any other raised alarm is a *false alarm*, per 100 device-days simulated.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from time import perf_counter_ns
from typing import TYPE_CHECKING

from bench.fault_shapes import EPISODE_GAP_S, INTERMITTENT, INTERMITTENT_SHARE, draw_shapes, episodes
from bench.public import (
    FREE_CUT,
    FREE_HALF,
    FREE_ROWS,
    Stream,
    alarm_share,
    always,
    cut,
    load_splits,
    nab_figures,
    null,
    ours,
    river_gaussian,
    river_hst,
    run_shares,
    skab_figures,
    zscore,
)
from detectors.alarm import AlarmState
from detectors.engine import DetectorEngine
from detectors.models.zscore import ZScore
from detectors.rules.sensor import SLOW_GAUGES
from ingest.decode import PartialReading, PresenceChange, decode
from ingest.reading import DeviceKind, Reading
from simulators.faults import FAULTS, SENSOR_METRIC
from simulators.generator import Simulation
from simulators.scenario import FaultEntry, load_scenario

if TYPE_CHECKING:
    from bench.nuisance import NuisanceOutcome

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


def _slow_gauge(kind: DeviceKind) -> bool:
    """Whether the metric a sensor fault freezes on this kind is a slow gauge (a reader's battery charge moves a
    tenth of a point every ~8 h): frozen for an hour it reads as it always does, so it is judged over days."""
    return SENSOR_METRIC[kind] in SLOW_GAUGES.get(kind, ())


@dataclass(frozen=True, slots=True)
class Variation:
    """How a simulator split draws its faults. Tuning: the fault library's defaults (fixed durations, degradation
    ramps over the run's last days, each fault at full strength from its start, in one piece). Held-out, on other
    seeds: durations (for degradation: the ramp length) drawn per fault from a range 2-3x wider than the tuning
    split's, and (`shapes`) each fault's amplitude, ramp and variant drawn from `bench.fault_shapes.RANGES` (door
    cycles of 7-14 s up to 15-56 s, bursts of 1.2-12x the peak flow, supplies that only weaken, a reader that stays
    "healthy" but reads nothing, a pump that runs without delivering, a car parked without a fault code, wear and
    drift at half to twice the library's rate; the faults that can start gradually do so over 1-30 min in 40 % of
    cases), with `intermittent_share` of entrapments, out-of-service cars, reader and door faults coming as episodes
    (2-5 min on, 1-5 min released: `bench.fault_shapes.episodes`), scored as one fault, and (`noise`) each device's
    sensor noise a factor drawn per device on the simulator's own (`Scenario.noise`: lift vibration, current and
    levelling, water pressure and flow). The shapes, episodes and noise come from their own random streams, so the
    devices, onsets and durations are those the seed drew without them."""

    seeds: tuple[int, ...]
    acute_scale: tuple[float, float] = (1.0, 1.0)  # factor on each acute fault's default duration
    ramp_days: tuple[float, float] | None = None  # degradation ramp length (days); None: the run's last days
    shapes: bool = False  # draw each fault's amplitude, ramp and variant (`bench.fault_shapes.draw_shapes`)
    intermittent_share: float = 0.0  # of the `bench.fault_shapes.INTERMITTENT` types, come as episodes
    noise: tuple[float, float] | None = None  # each device's measurement-noise factor drawn from; None: the own (1)


TUNING = Variation(seeds=(1, 2, 3))
HELDOUT = Variation(seeds=(101, 102, 103), acute_scale=(0.4, 2.5), ramp_days=(1.5, 4.5), shapes=True,
                    intermittent_share=INTERMITTENT_SHARE, noise=(0.5, 2.5))


@dataclass(frozen=True, slots=True)
class SimRun:
    """One simulated run of a seed: its faults, the devices played, how long, the telemetry intervals."""

    entries: list[FaultEntry]
    devices: list[str]
    duration_s: float
    intervals: dict[DeviceKind, float] | None = None
    noise: dict[str, float] = field(default_factory=dict)  # device -> factor on its measurement noise


def plan_runs(variation: Variation, seed: int, quick: bool = False) -> tuple[SimRun, SimRun]:
    """A seed's acute run and degradation run, as `variation` draws them."""
    estate = load_scenario(BASE_SCENARIO).estate.devices
    site_devices = [d.id for d in estate if d.site_id == "riverside"]
    kinds = {d.id: d.kind for d in estate}
    rng = random.Random(seed)
    sensors = list(zip(SENSOR_FAULTS, SENSOR_DEVICES[seed % len(SENSOR_DEVICES)], strict=True))
    gauges = [(fault, device) for fault, device in sensors
              if fault == "sensor_stuck" and _slow_gauge(kinds[device])]
    plan = [*ACUTE, *((fault, device, 1 * HOUR) for fault, device in sensors if (fault, device) not in gauges)]
    if variation.acute_scale != (1.0, 1.0):  # the tuning split draws exactly what the bench always drew
        plan = [(fault, device, min(8 * HOUR, duration * rng.uniform(*variation.acute_scale)))
                for fault, device, duration in plan]
    acute = vary([FaultEntry(device, fault, rng.uniform(2 * HOUR, 12 * HOUR - duration - HOUR), duration)
                  for fault, device, duration in plan], variation, seed, "acute")
    devices = list(dict.fromkeys([*site_devices, *(e.device_id for e in acute)]))
    days = 4.0 if quick else 6.0
    slow = vary([FaultEntry(device, fault, *_ramp(rng, days, variation))
                 for fault, device in (*DEGRADING, *gauges)], variation, seed, "degradation")
    slow_devices = [device for _, device in (*DEGRADING, *gauges)] + list(DEGRADATION_SIBLINGS)
    return (SimRun(acute, devices, 12 * HOUR, None, noises(variation, seed, "acute", devices)),
            SimRun(slow, slow_devices, days * DAY, {DeviceKind.ELEVATOR: 20.0, DeviceKind.WATER: 20.0},
                   noises(variation, seed, "degradation", slow_devices)))


def noises(variation: Variation, seed: int, part: str, devices: list[str]) -> dict[str, float]:
    """Each device's measurement-noise factor as the split draws it (none for the tuning split), from a random
    stream of its own (``detectors/{part}/noise/{seed}``), so nothing else the seed draws moves."""
    if variation.noise is None:
        return {}
    rng = random.Random(f"detectors/{part}/noise/{seed}")
    return {device: round(rng.uniform(*variation.noise), 2) for device in devices}


def simulate(variation: Variation, detectors: dict[str, Callable[[], Detector]], quick: bool = False
             ) -> tuple[dict[str, Outcome], int]:
    """Run every seed's acute and degradation runs; (outcome per detector, messages decoded)."""
    outcomes = {name: Outcome() for name in detectors}
    messages = 0
    for seed in variation.seeds[:1] if quick else variation.seeds:
        for sim_run in plan_runs(variation, seed, quick):
            messages += run(sim_run.entries, sim_run.devices, sim_run.duration_s, seed,
                            {n: f() for n, f in detectors.items()}, outcomes, intervals=sim_run.intervals,
                            noise=sim_run.noise)
    return outcomes, messages


def vary(entries: list[FaultEntry], variation: Variation, seed: int, part: str) -> list[FaultEntry]:
    """`entries` as the split plays them: unchanged for the tuning split; for one with `shapes`, each intermittent
    type split into episodes (`intermittent_share` of them) and every fault given a drawn shape, both from random
    streams of their own (``detectors/{part}/...``, `part` the acute or degradation run), so the seed's devices,
    onsets and durations stay as drawn."""
    if not variation.shapes:
        return entries
    rng = random.Random(f"detectors/{part}/episodes/{seed}")
    out: list[FaultEntry] = []
    for entry in entries:
        if entry.name in INTERMITTENT and rng.random() < variation.intermittent_share:
            out.extend(FaultEntry(entry.device_id, entry.name, round(a), round(b - a))
                       for a, b in episodes(rng, entry.offset_s, entry.duration_s))
        else:
            out.append(entry)
    return draw_shapes(out, seed, stream=f"detectors/{part}/shape")


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


def _ramp(rng: random.Random, days: float, variation: Variation) -> tuple[float, float]:
    """(offset, duration) of one degradation fault: after a normal first day, ending before the run does."""
    start = DAY + rng.uniform(0, 6 * HOUR)
    if variation.ramp_days is None:
        return start, (days - 1.5) * DAY
    duration = min(rng.uniform(*variation.ramp_days) * DAY, days * DAY - start - 0.25 * DAY)
    return start, duration


def _duration(seconds: float) -> str:
    if abs(seconds) < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if abs(seconds) < 7200 else f"{seconds / 3600:.1f}h"


def _sim_cell(outcome: Outcome | None, fault: str) -> str:
    if outcome is None:
        return "-"
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
    parser.add_argument("--public-only", action="store_true", help="skip the simulator (development runs only)")
    args = parser.parse_args(argv)
    splits = load_splits(args.quick)
    streams: dict[str, tuple[Stream, Stream]] = {
        "forewarn": (ours("t2"), ours("surprise")),
        "river": (river_hst, river_gaussian),
        "null": (null, null),
        "always-alarm": (always, always),
        "3-sigma z-score": (zscore, zscore),
    }
    from bench.predictive import LearnedNormal, Predictive  # it subclasses `Detector`: imported here, not above

    sims: dict[str, Callable[[], Detector]] = {
        "forewarn": Engine, "null": Null, "always-alarm": Always, "3-sigma z-score": ThreeSigma,
        "learned normal": LearnedNormal, "river (predictive)": Predictive,
    }
    names = list(streams) + [d for d in sims if d not in streams]  # simulator-only columns: "-" on public data
    sim = {split: simulate(variation, sims, quick=args.quick) for split, variation in
           (("tuning", TUNING), ("held-out", HELDOUT)) if not args.public_only}
    from bench import nuisance  # here, not at the top: bench.nuisance builds on this module

    normal = None if args.public_only else nuisance.simulate_nuisance(sims, quick=args.quick)
    rows: list[tuple[str, list[str]]] = []
    for split, (outcomes, _) in sim.items():
        for fault in FAULTS:
            n = len(outcomes["forewarn"].detections.get(fault, []))
            rows.append((f"sim {split} {fault} (n={n})", [_sim_cell(outcomes.get(d), fault) for d in names]))
        rows.append((f"sim {split} min recall", [_cell(outcomes.get(d), lambda o: f"{_min_recall(o):.0%}")
                                                 for d in names]))
        rows.append((f"sim {split} false alarms /100 dev-days",
                     [_cell(outcomes.get(d), lambda o: f"{fa_rate(o):.1f}") for d in names]))
    rows += nuisance.rows(normal[0], names) if normal else []
    skab = {split: {d: skab_figures(streams[d][0], files) for d in streams}
            for split, files in (("tuning", splits.skab_tuning), ("held-out", splits.skab_heldout))}
    free = {split: {d: alarm_share(streams[d][0], [c for f in files for c in cut(f, FREE_CUT)]) for d in streams}
            for split, files in (("tuning", splits.free_tuning), ("held-out", splits.free_heldout))}
    whole = {d: run_shares(streams[d][0], splits.anomaly_free[0], (0, FREE_HALF, FREE_ROWS)) for d in streams}
    nab = {split: {d: nab_figures(streams[d][1], files) for d in streams}
           for split, files in (("tuning", splits.nab_tuning), ("held-out", splits.nab_heldout))}
    for split in ("tuning", "held-out"):
        for key, label, fmt in (("f1", "F1", "{:.3f}"), ("far", "FAR", "{:.1%}"), ("mar", "MAR", "{:.1%}")):
            rows.append((f"SKAB valve1 {split} {label}", [fmt.format(skab[split][d][key]) if d in streams else "-"
                                                        for d in names]))
    for k, split in enumerate(("tuning", "held-out")):
        rows.append((f"SKAB anomaly-free {split} half, {FREE_CUT}-row files", [
            f"{free[split][d]:.1%}" if d in streams else "-" for d in names]))
        rows.append((f"SKAB anomaly-free {split} half, in one {FREE_ROWS}-row run", [
            f"{whole[d][k]:.1%}" if d in streams else "-" for d in names]))
    for split in ("tuning", "held-out"):
        for key in ("standard", "low_fp"):
            rows.append((f"NAB {split} {key}", [f"{nab[split][d][key]:.1f}" if d in streams else "-" for d in names]))
    engine = sim["tuning"][0]["forewarn"] if sim else Outcome()
    us = statistics.median(engine.us) if engine.us else 0.0
    rows.append(("median µs per reading (process)", [_cell(sim["tuning"][0].get(d) if sim else None, lambda o: (
        f"{statistics.median(o.us):.1f}" if o.us else "-")) for d in names]))
    rows.append(("bytes of state per device (max)", [str(engine.state_bytes)] + ["-"] * (len(names) - 1)))
    for split, (outcomes, messages) in sim.items():
        print(f"simulator {split}: {messages} messages, {outcomes['forewarn'].device_days:.0f} device-days")
    print("cells: recall, median delay from fault start, (degradation) median lead before residents notice;"
          " river (HST / Gaussian) runs only on the public data, learned normal and river (predictive) only on the"
          " simulator (bench.predictive)")
    print(f"public data: SKAB valve1 tuning {len(splits.skab_tuning)} / held-out {len(splits.skab_heldout)} files,"
          f" anomaly-free run rows 0-{FREE_HALF - 1} tuning / {FREE_HALF}-{FREE_ROWS - 1} held-out"
          f" (one run: the reference is fitted on rows 0-399, so the held-out half is scored after the tuning half),"
          f" NAB tuning {len(splits.nab_tuning)} / held-out {len(splits.nab_heldout)} files"
          + (" (quick subset)" if args.quick else ""))
    print("\n".join(nuisance.report(*normal) if normal else []))
    width = max(len(label) for label, _ in rows) + 2
    print(f"{'':<{width}}" + "".join(f"{d:>20}" for d in names))
    for label, cells in rows:
        print(f"{label:<{width}}" + "".join(f"{c:>20}" for c in cells))
    _results(skab["held-out"]["forewarn"], free["held-out"]["forewarn"], nab, sim, us, engine.state_bytes,
             normal[0]["forewarn"] if normal else None)


def _public_results(skab: dict[str, float], free: float, nab: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"RESULT skab_f1={skab['f1']:.3f} ratio")
    print(f"RESULT skab_far={skab['far']:.3f} ratio")
    print(f"RESULT skab_mar={skab['mar']:.3f} ratio")
    print(f"RESULT skab_anomaly_free_alarm_share={free:.3f} ratio")
    print(f"RESULT nab_standard={nab['tuning']['forewarn']['standard']:.1f} score")
    print(f"RESULT nab_low_fp={nab['tuning']['forewarn']['low_fp']:.1f} score")
    print(f"RESULT nab_heldout_standard={nab['held-out']['forewarn']['standard']:.1f} score")


def _results(skab: dict[str, float], free: float, nab: dict[str, dict[str, dict[str, float]]],
             sim: dict[str, tuple[dict[str, Outcome], int]], us: float, state_bytes: int,
             normal: NuisanceOutcome | None = None) -> None:
    """The RESULT lines: SKAB and simulator figures from the held-out splits; NAB from tuning and held-out; false
    alarms per 100 device-days over the nuisance run (`bench.nuisance`), the fault runs' healthy devices apart."""
    _public_results(skab, free, nab)
    if not sim:
        return
    tuning, heldout = sim["tuning"][0]["forewarn"], sim["held-out"][0]["forewarn"]
    print(f"RESULT sim_min_recall={_min_recall(tuning):.3f} ratio")
    print(f"RESULT sim_heldout_min_recall={_min_recall(heldout):.3f} ratio")
    fa = 100.0 * (tuning.false_alarms + heldout.false_alarms) / max(1e-9, tuning.device_days + heldout.device_days)
    if normal is not None:
        print(f"RESULT false_alarms_per_100_device_days={normal.rate:.2f} count")
        print(f"RESULT false_alarms_per_100_device_days_upper95={normal.upper95:.2f} count")
    print(f"RESULT false_alarms_per_100_device_days_fault_runs={fa:.2f} count")
    print(f"RESULT us_per_reading={us:.1f} us")
    print(f"RESULT state_bytes_per_device={state_bytes} bytes")


def _min_recall(outcome: Outcome) -> float:
    return min(recall(outcome, f) for f in FAULTS)


def _cell(outcome: Outcome | None, show: Callable[[Outcome], str]) -> str:
    return "-" if outcome is None else show(outcome)


if __name__ == "__main__":
    main()
