"""What the anticipation benchmark plays (`bench.anticipation`): the seeded faults of each seed's run, where in the
week it starts, and the run's label file read back as the list of known faults.

Every acute resident-visible type `repeats` times per seed at seeded random times after `WARMUP_S`, the
non-visible door faults and the sensor faults once each, three misbehaving devices, never two faults at once on one
device (`GAP_S` apart); 30 % of entrapments, out-of-service cars, reader and door faults intermittent (`episodes`,
judged as one fault: `merge_episodes`); each degradation run's slow faults (`DEGRADATION_PER_TYPE` of each type, on
devices drawn per seed) after a normal day. The shapes are then drawn wider than the detectors know
(`bench.fault_shapes`) and ordinary life is added (`bench.anticipation_nuisance`).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.anticipation_nuisance import plan_nuisance
from bench.fault_shapes import EPISODE_GAP_S, INTERMITTENT, INTERMITTENT_SHARE, draw_shapes, episodes
from ingest.reading import DeviceKind
from simulators.faults import FAULTS, SENSOR_FAULTS, water_role
from simulators.labels import read_labels
from simulators.scenario import FaultEntry, Scenario, load_scenario
from tickets.anticipation import KnownFault

BASE_SCENARIO = Path(__file__).resolve().parent / "scenarios" / "anticipation-base.yaml"
TZ = ZoneInfo("Asia/Shanghai")  # the demo estate's time zone: hour bands are local
START = datetime(2026, 3, 2, 0, 0, tzinfo=TZ)  # a Monday, an ordinary working week
HOUR, DAY = 3600.0, 86400.0
ACUTE_VISIBLE = ("entrapment", "door_fault", "motor_overheat", "out_of_service", "reader_offline", "pipe_burst",
                 "pump_failure", "tank_low", "supply_outage")
DEGRADING = ("bearing_wear", "levelling_drift", "slow_leak")
# Each degradation run (a seed) degrades this many devices per type, drawn per seed: 10 seeds give 20 faults of each
# type (issue #20: at least 20 per type over 10 seeds).
DEGRADATION_PER_TYPE = 2
DEGRADATION_SEEDS = 10
# Telemetry of the degradation runs' lifts and water devices, seconds (the acute runs': 30 s; the contract's: 5 s).
# Forty plays of 4.5 days at 30 s, with a healthy device of each kind beside, took about 20 of the full run's 39
# minutes (real 38m49s, over the 30 asked); degradations move over days, and at 60 s a lift still reports its
# vibration while moving ~100 times a day and a water device its night flow 240 times a night.
DEGRADATION_INTERVAL_S = 60.0
NOT_VISIBLE = ("forced_open", "held_open", "lock_failure", "battery_low")
# How long each injected fault lasts (low, high), seconds: long enough to be noticed and complained about.
DURATION_S = {
    "entrapment": (0.5 * HOUR, 1 * HOUR), "door_fault": (2 * HOUR, 4 * HOUR), "motor_overheat": (1 * HOUR, 2 * HOUR),
    "out_of_service": (1 * HOUR, 3 * HOUR), "reader_offline": (1 * HOUR, 2 * HOUR), "pipe_burst": (1 * HOUR, 2 * HOUR),
    "pump_failure": (2 * HOUR, 5 * HOUR), "tank_low": (2 * HOUR, 4 * HOUR), "supply_outage": (1 * HOUR, 2 * HOUR),
    "forced_open": (0.1 * HOUR, 0.3 * HOUR), "held_open": (0.3 * HOUR, 1 * HOUR), "lock_failure": (1 * HOUR, 2 * HOUR),
    "battery_low": (3 * HOUR, 6 * HOUR), "sensor_stuck": (2 * HOUR, 4 * HOUR), "sensor_dropout": (2 * HOUR, 4 * HOUR),
    "sensor_spikes": (2 * HOUR, 4 * HOUR),
    "bearing_wear": (2.75 * DAY, 3.25 * DAY), "levelling_drift": (2.75 * DAY, 3.25 * DAY),
    "slow_leak": (2.75 * DAY, 3.25 * DAY),
}
WARMUP_S = 1 * HOUR  # baselines learn from normal data first
DEGRADATION_START_S = 1 * DAY  # degradation needs a day of normal data (and two nights for the night flow)
GAP_S = 2 * HOUR  # between two faults on one device: the previous alarm clears and cools down first
MISBEHAVIOUR = ("malformed_json", "duplicate_seq", "out_of_order_seq", "clock_skew", "wrong_type")
TAIL_S = 600.0  # the end of a run (every device goes offline) is not part of the period measured


def _eligible(scenario: Scenario, fault: str) -> list[str]:
    spec = FAULTS[fault]
    kinds = {d.id: d.kind for d in scenario.estate.devices}
    return [d for d in scenario.device_ids if kinds[d] in spec.kinds and "leak" not in d
            and (not spec.roles or water_role(d) in spec.roles)]


def plan_faults(scenario: Scenario, seed: int, *, repeats: int, degradation: bool) -> tuple[list[FaultEntry],
                                                                                            list[FaultEntry]]:
    """Seeded random faults: every acute resident-visible type `repeats` times, non-visible and sensor faults once
    each, a few misbehaving devices, never two at once on one device; or (`degradation`) the three degradation
    faults, `DEGRADATION_PER_TYPE` of each on devices drawn for the seed, each starting after a normal day."""
    rng = random.Random(f"anticipation/{seed}")
    busy: dict[str, list[tuple[float, float]]] = {}
    total = scenario.duration_s
    faults: list[FaultEntry] = []

    def place(fault: str, earliest: float) -> None:
        lo, hi = DURATION_S[fault]
        for _ in range(200):
            device = rng.choice(_eligible(scenario, fault))
            duration = rng.uniform(lo, hi)
            start = rng.uniform(earliest, max(earliest, total - duration - HOUR))
            spans = busy.setdefault(device, [])
            if all(start + duration + GAP_S <= a or start >= b + GAP_S for a, b in spans):
                spans.append((start, start + duration))
                if fault in INTERMITTENT and rng.random() < INTERMITTENT_SHARE:
                    faults.extend(FaultEntry(device, fault, round(a), round(b - a))
                                  for a, b in episodes(rng, start, duration))
                else:
                    faults.append(FaultEntry(device, fault, round(start), round(duration)))
                return
        raise RuntimeError(f"no room for {fault} in a {total / HOUR:.0f} h run: lengthen it or inject fewer")

    if degradation:
        for fault in DEGRADING:
            for device in rng.sample([d for d in _eligible(scenario, fault) if d not in busy], DEGRADATION_PER_TYPE):
                busy[device] = [(DEGRADATION_START_S, DEGRADATION_START_S + DURATION_S[fault][0])]
                faults.append(FaultEntry(device, fault, round(DEGRADATION_START_S + rng.uniform(0, 3 * HOUR)),
                                         round(rng.uniform(*DURATION_S[fault]))))
        return faults, []
    for fault in ACUTE_VISIBLE:
        for _ in range(repeats):
            place(fault, WARMUP_S)
    for fault in (*NOT_VISIBLE, *sorted(SENSOR_FAULTS)):
        place(fault, WARMUP_S)
    misbehaviour = []
    for mode in rng.sample(MISBEHAVIOUR, 3):
        device = rng.choice([d for d in scenario.device_ids if d not in busy])
        busy[device] = []
        start = rng.uniform(WARMUP_S, total - 2 * HOUR)
        misbehaviour.append(FaultEntry(device, mode, round(start), round(rng.uniform(0.2, 0.5) * HOUR)))
    return sorted(faults, key=lambda f: f.offset_s), misbehaviour


def seed_start(seed: int) -> datetime:
    """Where seed `seed`'s run starts: anywhere in the week (seeded, uniform over 7 × 24 h), so that over the seeds
    fault onsets fall at every hour of every day — a lift fault at 03:00 shows only on the next trip, a burst at
    08:00 meets the morning peak — and none is moved out of the night."""
    return START + timedelta(seconds=random.Random(f"anticipation/start/{seed}").uniform(0.0, 7 * DAY))


def scenario_for(seed: int, hours: float, *, repeats: int, degradation: bool = False,
                 start: datetime = START, uses_from_trips: bool = False) -> Scenario:
    """The acute run of a seed (the whole estate), or its degradation run (the degrading devices alone, telemetry every
    `DEGRADATION_INTERVAL_S`: days of data are needed, and the rest of the estate would only add cost; each device is
    healthy for its first day, and the acute runs and `bench.nuisance` count false alarms on healthy ones).
    `uses_from_trips`: the experiment of `simulators.usage.SERVED_THROUGH` (the faults and devices are the same)."""
    scenario = load_scenario(BASE_SCENARIO)
    scenario = dataclasses.replace(scenario, seed=seed, duration_s=hours * HOUR, start=start,
                                   name=f"anticipation-{'degradation' if degradation else 'acute'}-{seed}",
                                   residents=dataclasses.replace(scenario.residents,
                                                                 uses_from_trips=uses_from_trips))
    scenario.faults, scenario.misbehaviour = plan_faults(scenario, seed, repeats=repeats, degradation=degradation)
    if degradation:
        scenario.device_ids = [f.device_id for f in scenario.faults]
        scenario.intervals = {**scenario.intervals, DeviceKind.ELEVATOR: DEGRADATION_INTERVAL_S,
                              DeviceKind.WATER: DEGRADATION_INTERVAL_S}
    scenario.faults = draw_shapes(scenario.faults, seed)  # bench/fault_shapes.py: wider than the detectors know
    if repeats and not degradation:  # ordinary life in the acute runs: a maintenance visit, a power blip
        scenario.nuisance = plan_nuisance(scenario, seed, earliest_s=WARMUP_S)
    return scenario


def is_degradation(scenario: Scenario) -> bool:
    return scenario.name.startswith("anticipation-degradation")


def merge_episodes(faults: list[KnownFault]) -> list[KnownFault]:
    """Episodes of one intermittent fault (same device and fault, under `EPISODE_GAP_S` apart) as one known fault:
    from the first onset to the last end, resident-visible from the first episode anyone noticed."""
    out: list[KnownFault] = []
    for fault in sorted(faults, key=lambda f: (f.device_id, f.fault, f.onset)):
        last = out[-1] if out else None
        if (last is not None and (last.device_id, last.fault) == (fault.device_id, fault.fault)
                and (fault.onset - last.end).total_seconds() < EPISODE_GAP_S):
            seen = [v for v in (last.visible_at, fault.visible_at) if v is not None]
            out[-1] = dataclasses.replace(last, end=max(last.end, fault.end), visible_at=min(seen) if seen else None)
        else:
            out.append(fault)
    return sorted(out, key=lambda f: f.onset)


def fault_shapes(labels_path: Path) -> dict[tuple[str, str, str], tuple[dict[str, Any], int]]:
    """Each known fault's shape as its label records it (`simulators.faults.FaultShape` as a dict; the episodes of
    an intermittent fault share one) and its number of episodes, keyed by device, fault and onset of the faults
    `known_faults` gives (the key of `bench.anticipation_targets.fault_key`)."""
    records = [r for r in read_labels(labels_path) if r["record"] == "fault"]
    out: dict[tuple[str, str, str], tuple[dict[str, Any], int]] = {}
    for fault in merge_episodes([_known(r) for r in records]):
        episodes = sorted((r for r in records if (r["device"], r["fault"]) == (fault.device_id, fault.fault)
                           and fault.onset <= datetime.fromisoformat(r["start"]) <= fault.end),
                          key=lambda r: datetime.fromisoformat(r["start"]))
        out[fault.device_id, fault.fault, fault.onset.isoformat()] = (episodes[0].get("shape") or {}, len(episodes))
    return out


def _known(record: dict[str, Any]) -> KnownFault:
    """One fault or misbehaviour record of a label file as a known fault (an episode, before `merge_episodes`)."""
    visible = record.get("visible_at")
    return KnownFault(record["device"], record.get("fault") or record["mode"], datetime.fromisoformat(record["start"]),
                      datetime.fromisoformat(record["end"]), datetime.fromisoformat(visible) if visible else None)


def known_faults(labels_path: Path) -> tuple[list[KnownFault], datetime, datetime]:
    """The label file as the list of known faults (misbehaving devices too: their alarms are explained); an
    intermittent fault's episodes are one fault."""
    faults, since, until = [], START, START
    for record in read_labels(labels_path):
        kind = record["record"]
        if kind == "run":
            # The run's last minutes are left out: every device goes offline when the simulation ends.
            since = datetime.fromisoformat(record["start"])
            until = datetime.fromisoformat(record["end"]) - timedelta(seconds=TAIL_S)
        elif kind in ("fault", "misbehaviour"):
            faults.append(_known(record))
    return merge_episodes(faults), since, until
