"""Fault shapes for the benchmarks (`bench.anticipation`, `bench.detectors`' held-out split): each fault's
amplitude, ramp and variant, drawn per seed.

The detectors were developed on the simulator's own faults (`simulators/*.py` `fault_params`: a door cycle of
12-40 s, a burst of 4-8× the peak flow with 35-50 % of the pressure left, a supply cut at once to 0-20 kPa, a pump
that stops and says so). The bench judges them on faults drawn from ranges two to three times wider
(`simulators.faults.FaultShape`): mild and severe faults, supplies and pumps that fail over minutes, and the variants
where another metric moves first (a reader that stays "healthy" but reads nothing, a pump that runs without
delivering, a car taken out of service without a fault code).

`draw_shapes` has its own random stream (``anticipation/shape/{seed}``; `bench.detectors`' held-out split names
another), so the faults' devices, onsets and durations stay exactly what `bench.anticipation_plan.plan_faults`
placed; the episodes of one intermittent fault (`episodes`) share one shape.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from simulators.faults import RAMPED, FaultShape
from simulators.scenario import FaultEntry

MIN = 60.0
RAMP_SHARE = 0.4  # of the faults that can start gradually; the rest strike at once
RAMP_S = (1 * MIN, 30 * MIN)
# Intermittent faults: this share of these types come as `episodes` (a car stuck for three minutes, released, stuck
# again), judged as one fault; episodes closer than `EPISODE_GAP_S` are one fault and share one shape (two faults on
# one device are hours apart).
INTERMITTENT = frozenset({"entrapment", "out_of_service", "reader_offline", "door_fault"})
INTERMITTENT_SHARE = 0.3
EPISODE_GAP_S = 600.0


@dataclass(frozen=True, slots=True)
class ShapeRange:
    """What one fault type's shapes are drawn from: amplitude (low, high), the share of each variant, and for an
    entrapment when the passengers press the alarm (low, high seconds; None: the simulator's own 20-90 s)."""

    amplitude: tuple[float, float] = (1.0, 1.0)
    variants: tuple[tuple[str, float], ...] = ()
    alarm_after_s: tuple[float, float] | None = None


# The simulator's own ranges, for comparison: door excess 1 (12-40 s), burst 1 (4-8× flow, 35-50 % pressure left),
# pump 1 (90-140 kPa left), outage 1 (0-20 kPa), levelling error 150-290 mm, alarm 20-90 s, overheat +110 °C,
# degradation drift 1.
RANGES: dict[str, ShapeRange] = {
    "entrapment": ShapeRange((0.3, 1.5), alarm_after_s=(10.0, 300.0)),  # 45-435 mm; pressed at once or after 5 min
    "door_fault": ShapeRange((0.3, 1.5)),  # cycles of 7-14 s up to 15-56 s
    "motor_overheat": ShapeRange((0.5, 1.5)),  # +55 to +165 °C at the end
    "out_of_service": ShapeRange(variants=(("no_code", 0.25),)),
    "reader_offline": ShapeRange(variants=(("silent_reader", 0.25),)),
    "pipe_burst": ShapeRange((0.3, 1.5)),  # 1.2-12× the peak flow on top of demand
    "pump_failure": ShapeRange((0.5, 1.2), variants=(("no_delivery", 0.25),)),
    "supply_outage": ShapeRange((0.5, 1.0)),  # a supply that only weakens to half, up to one cut to 0-20 kPa
    "bearing_wear": ShapeRange((0.5, 2.0)),
    "levelling_drift": ShapeRange((0.5, 2.0)),
    "slow_leak": ShapeRange((0.5, 2.0)),
}


def draw_shape(rng: random.Random, fault: str) -> FaultShape:
    """One fault's shape from its range (the simulator's own shape for a fault without one)."""
    spec = RANGES.get(fault)
    if spec is None:
        return FaultShape()
    amplitude = round(rng.uniform(*spec.amplitude), 3)
    ramp = round(rng.uniform(*RAMP_S)) if fault in RAMPED and rng.random() < RAMP_SHARE else 0.0
    variant, roll = "", rng.random()
    for name, share in spec.variants:
        if roll < share:
            variant = name
            break
        roll -= share
    alarm = round(rng.uniform(*spec.alarm_after_s)) if spec.alarm_after_s else None
    return FaultShape(amplitude, float(ramp), variant, None if alarm is None else float(alarm))


def episodes(rng: random.Random, start: float, duration: float) -> list[tuple[float, float]]:
    """An intermittent fault's episodes within [start, start + duration): 2-5 minutes on, 1-5 minutes released,
    at least two episodes (a car stuck for three minutes, released, stuck again)."""
    out: list[tuple[float, float]] = []
    t, end = start, start + duration
    while t < end and (len(out) < 2 or rng.random() < 0.6):
        on = rng.uniform(120.0, 300.0)
        out.append((t, min(t + on, end)))
        t += on + rng.uniform(60.0, 300.0)
    return out


def draw_shapes(faults: list[FaultEntry], seed: int, stream: str = "anticipation/shape") -> list[FaultEntry]:
    """`faults` with a shape drawn for each (same order, devices, onsets and durations) from the random stream
    ``{stream}/{seed}``; an intermittent fault's episodes (same device and fault, under `EPISODE_GAP_S` apart) all get
    the first episode's shape."""
    rng = random.Random(f"{stream}/{seed}")
    last: dict[tuple[str, str], tuple[float, FaultShape]] = {}
    out = []
    for entry in faults:
        key = (entry.device_id, entry.name)
        previous = last.get(key)
        if previous is not None and entry.offset_s - previous[0] < EPISODE_GAP_S:
            shape = previous[1]
        else:
            shape = draw_shape(rng, entry.name)
        last[key] = (entry.offset_s + entry.duration_s, shape)
        out.append(dataclasses.replace(entry, shape=shape))
    return out

