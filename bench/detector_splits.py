"""The simulator splits of `python -m bench.detectors` (the protocol of `detectors.params`): which faults each seed
plays, on which devices, and how the held-out split varies them.

Each seed makes two runs of the demo estate's Riverside site through the pure generator (no MQTT). An *acute* run
(12 simulated hours; every acute, door, water and sensor fault on its own device, the sensor faults on a different
device kind each seed, the other devices healthy) and a *degradation* run (6 simulated days; bearing wear,
levelling drift and a slow leak starting after one normal day, beside healthy siblings; and, in the seeds whose
sensor faults are on doors, the door's frozen battery gauge: a gauge that moves every ~8 h looks the same frozen
for an hour, so it is frozen for days there, as a dead gauge stays until someone replaces it). The held-out split
also draws each fault's shape, plays some intermittent faults as episodes and gives each device its own
measurement noise, 0.5-2.5x the simulator's (`Variation`). Each run is played and scored by `bench.detector_play`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.detector_play import BASE_SCENARIO, DAY, HOUR, Detector, Outcome, run
from bench.fault_shapes import INTERMITTENT, INTERMITTENT_SHARE, draw_shapes, episodes
from detectors.rules.sensor import SLOW_GAUGES
from ingest.reading import DeviceKind
from simulators.faults import SENSOR_METRIC
from simulators.scenario import FaultEntry, load_scenario

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


def _ramp(rng: random.Random, days: float, variation: Variation) -> tuple[float, float]:
    """(offset, duration) of one degradation fault: after a normal first day, ending before the run does."""
    start = DAY + rng.uniform(0, 6 * HOUR)
    if variation.ramp_days is None:
        return start, (days - 1.5) * DAY
    duration = min(rng.uniform(*variation.ramp_days) * DAY, days * DAY - start - 0.25 * DAY)
    return start, duration
