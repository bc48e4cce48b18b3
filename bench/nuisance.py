"""Normal running with nuisance events: part of `python -m bench.detectors` (issue #19, "ordinary life is not a
fault"), and alone `python -m bench.nuisance [--quick]`. The `false_alarms_per_100_device_days` RESULT is measured
here.

The estate: every device the simulator's acute runs use (Riverside's 29 devices and Lakeview's lv-b1-elev-a), no
fault of their own, through the pure generator (no MQTT), decoded and fed to each detector exactly as
`bench.detector_play.play` does for the fault runs. The full run is `DAYS` simulated days from Monday 2026-03-02 00:00
(+08:00) to Thursday noon of the next week, so 30 × 10.5 = 315 device-days spanning one weekend; `--quick` is
`QUICK_HOURS` hours from 07:00 on that Monday (7.5 device-days). Seeded: same seed, same run. What it contains:
- **rush hours and a weekend**: the simulators' own usage by local hour and day of the week (on working days lift
  trips 50-55 an hour per car at 07:00-09:00 and 40-46 at 17:00-19:00 against 1-2 at night; on Saturday and Sunday
  10-22 at 07:00-09:00, 32-36 at 09:00-11:00 and a later evening peak; door swipes and water demand likewise:
  `simulators.device.Weekly`). Saturday 7 and Sunday 8 March are the first weekend every device sees.
- **planned maintenance visits** (every other day): a lift parked for 1-2 h between 09:00 and 16:00: no trips,
  doors shut at floor 1, `in_service` false, telemetry flowing as a parked car reports it (the simulator's
  `out_of_service` shape, which is exactly that). In the product such work is declared as a maintenance window
  (`forewarn device maintenance`, tickets/maintenance.py) and alarms of the device inside it open nothing; so here
  the declared window (the parking ± `DECLARED_MARGIN_S`) counts no false alarm on that device, while any alarm of
  it after the window (e.g. learning corrupted by the parked car) counts.
- **power blips** (one a day): every device of one building silent for 30-120 s (no message at all, not even a
  last will), then resuming. Several devices of one building falling silent together are one event in the product
  (tickets/silence.py groups them), so whatever the detectors raise on that building from the blip's start to
  `BLIP_GRACE_S` after its end counts as at most one false alarm per blip; a blip shorter than what the detectors
  alarm on raises nothing and counts nothing.
- **passengers holding the lift door** (all run long, every car): 2 % of door cycles held 15-60 s longer (a
  delivery, a pram, waiting for a neighbour: `simulators.faults.LIFE`), so a held door is 20-69 s where a normal
  cycle is 5-9 s, about 17 holds a car a day.
- **an unrelated alarm left open for a day**: a door held open (`held_open`) for 24 h and, on another day, a water
  feed's pressure sensor stuck (`sensor_stuck`) for 24 h, while everything else runs normally. The faulty device's
  alarms inside its window (+ `GRACE_S`) are explained; any alarm elsewhere, or after the window, counts: this
  checks that an open alarm does not freeze learning elsewhere (the independent emulator's water feed that learnt
  nothing while an unrelated alarm was open, and then read every morning peak as a burst).
Every other raised alarm is a false alarm, listed with the nuisance event nearest to it so a reader sees its cause.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench.detector_play import BASE_SCENARIO, DAY, EARLY_S, GRACE_S, HOUR, START, Always, Detector, Engine, Null, play
from simulators.generator import Simulation
from simulators.scenario import FaultEntry, load_scenario

DAYS = 10.5  # 30 devices × 10.5 days = 315 device-days (≥ 300, issue #19), about 10 minutes with the baselines
QUICK_HOURS = 6.0
QUICK_START = START + timedelta(hours=7)  # the quick run starts with the morning rush
SEED = 19
EXTRA_DEVICES = ("lv-b1-elev-a",)  # the acute runs put a sensor fault on Lakeview's car
BUILDINGS = ("rs-b1", "rs-b2", "rs-b3")
HELD_DOOR, STUCK_FEED = "rs-b2-door-garage", "rs-b3-water-low"
DECLARED_MARGIN_S = 600.0  # the engineer declares the window 10 min either side of the parking
BLIP_GRACE_S = 600.0  # what a building raises up to 10 min after its blip belongs to the blip
BLIP_S = (30.0, 120.0)
NEARBY_S = 6 * HOUR  # a false alarm up to 6 h after a nuisance event is listed against it


@dataclass(frozen=True, slots=True)
class Nuisance:
    """One injected nuisance: its kind, the devices it touches, [start, end) in POSIX seconds, and for a maintenance
    visit the declared window."""

    kind: str  # "maintenance" | "blip" | "open alarm"
    devices: tuple[str, ...]
    start: float
    end: float
    what: str  # e.g. "rs-b1-elev-a parked" or "rs-b2 silent 75 s"
    declared: tuple[float, float] | None = None
    fault: str | None = None  # what the simulator injects for it (a blip is `silent` misbehaviour instead)


@dataclass(slots=True)
class Plan:
    start: datetime
    duration_s: float
    devices: list[str]
    buildings: dict[str, str | None]  # device -> building
    events: list[Nuisance] = field(default_factory=list)

    @property
    def device_days(self) -> float:
        return len(self.devices) * self.duration_s / DAY

    def entries(self) -> tuple[list[FaultEntry], list[FaultEntry]]:
        """(faults, misbehaviour) of the scenario: parking and open alarms as faults, blips as `silent` windows."""
        faults, silent = [], []
        t0 = self.start.timestamp()
        for e in self.events:
            if e.kind == "blip":
                silent += [FaultEntry(d, "silent", e.start - t0, e.end - e.start) for d in e.devices]
            else:
                faults.append(FaultEntry(e.devices[0], str(e.fault), e.start - t0, e.end - e.start))
        return faults, silent


def make_plan(hours: float, seed: int = SEED, start: datetime = START) -> Plan:
    """The run: a daily layout for runs of a day or more, a compact one (every kind once) for shorter runs."""
    estate = load_scenario(BASE_SCENARIO).estate.devices
    devices = [d.id for d in estate if d.site_id == "riverside"] + list(EXTRA_DEVICES)
    buildings = {d.id: d.building_id for d in estate if d.id in devices}
    plan = Plan(start, hours * HOUR, devices, buildings)
    rng = random.Random(seed)
    t0, end = start.timestamp(), start.timestamp() + hours * HOUR
    cars = [d for d in devices if "-elev-" in d]
    if hours < 24:
        frac = [t0 + f * hours * HOUR for f in (0.1, 0.2, 0.45, 0.6, 0.7)]
        plan.events += [_park("rs-b1-elev-a", frac[1], frac[2]), _blip(plan, "rs-b1", frac[3], 90.0),
                        _open(HELD_DOOR, "held_open", frac[0], frac[4]),
                        _open(STUCK_FEED, "sensor_stuck", frac[0], frac[4])]
        return plan
    for day in range(math.ceil(hours / 24)):
        midnight = t0 + day * DAY
        if day % 2 == 1:
            park = midnight + rng.uniform(9 * HOUR, 14 * HOUR)
            plan.events.append(_park(rng.choice(cars), park, park + rng.uniform(1 * HOUR, 2 * HOUR)))
        blip = midnight + rng.uniform(0, DAY - BLIP_S[1])
        plan.events.append(_blip(plan, rng.choice(BUILDINGS), blip, rng.uniform(*BLIP_S)))
        if day in (2, 5):
            device, fault = (HELD_DOOR, "held_open") if day == 2 else (STUCK_FEED, "sensor_stuck")
            begin = midnight + rng.uniform(6 * HOUR, 18 * HOUR)
            plan.events.append(_open(device, fault, begin, begin + DAY))
    plan.events = sorted((e for e in plan.events if e.end < end), key=lambda e: e.start)
    return plan


def _park(car: str, start: float, end: float) -> Nuisance:
    return Nuisance("maintenance", (car,), start, end, f"{car} parked",
                    (start - DECLARED_MARGIN_S, end + DECLARED_MARGIN_S), "out_of_service")


def _blip(plan: Plan, building: str, start: float, seconds: float) -> Nuisance:
    devices = tuple(d for d in plan.devices if plan.buildings[d] == building)
    return Nuisance("blip", devices, start, start + seconds, f"{building} silent {seconds:.0f} s")


def _open(device: str, fault: str, start: float, end: float) -> Nuisance:
    return Nuisance("open alarm", (device,), start, end, f"{device} {fault}", fault=fault)


@dataclass(frozen=True, slots=True)
class FalseAlarm:
    device: str
    fault: str | None
    t: float
    nearby: str


@dataclass(slots=True)
class NuisanceOutcome:
    device_days: float = 0.0
    false_alarms: list[FalseAlarm] = field(default_factory=list)
    suppressed: int = 0  # alarms inside declared maintenance windows (open nothing in the product)
    explained: int = 0  # alarms of a device inside its own open-alarm window
    grouped: int = 0  # further alarms of a building during a blip already counted once

    @property
    def rate(self) -> float:
        return 100.0 * len(self.false_alarms) / self.device_days if self.device_days else 0.0

    @property
    def upper95(self) -> float:
        return 100.0 * poisson_upper(len(self.false_alarms)) / self.device_days if self.device_days else 0.0


def score(raised: list[tuple[str, str | None, float]], plan: Plan) -> NuisanceOutcome:
    """Sort each raised alarm into explained (its device's open-alarm window + grace), suppressed (its device's
    declared maintenance window), one building event per blip, or a false alarm."""
    out = NuisanceOutcome(device_days=plan.device_days)
    counted: set[Nuisance] = set()
    for device, fault, t in sorted(raised, key=lambda a: a[2]):
        mine = [e for e in plan.events if device in e.devices]
        if any(e.kind == "open alarm" and e.start - EARLY_S <= t <= e.end + GRACE_S for e in mine):
            out.explained += 1
            continue
        if any(e.declared and e.declared[0] <= t <= e.declared[1] for e in mine):
            out.suppressed += 1
            continue
        blip = next((e for e in mine if e.kind == "blip" and e.start <= t <= e.end + BLIP_GRACE_S), None)
        if blip is not None and blip in counted:
            out.grouped += 1
            continue
        if blip is not None:
            counted.add(blip)
        out.false_alarms.append(FalseAlarm(device, fault, t, _nearby(plan, device, t)))
    return out


def _nearby(plan: Plan, device: str, t: float) -> str:
    """The latest nuisance event on the device or its building that began before `t` and ended at most `NEARBY_S`
    earlier; else the time of day."""
    building = plan.buildings.get(device)
    near = [e for e in plan.events if e.start - EARLY_S <= t <= e.end + NEARBY_S
            and (device in e.devices or (building and any(plan.buildings.get(d) == building for d in e.devices)))]
    if near:
        e = max(near, key=lambda e: e.start)
        after = t - e.end
        return f"{e.kind}: {e.what}" + (f" (ended {after / 60:.0f} min earlier)" if after > 0 else " (during it)")
    hour = datetime.fromtimestamp(t, plan.start.tzinfo).hour
    rush = 7 <= hour < 9 or 17 <= hour < 20
    return "none nearby" + ("; rush hour" if rush else "")


def poisson_upper(k: int, confidence: float = 0.95) -> float:
    """The exact one-sided upper confidence bound of a Poisson mean after observing `k` events: the λ with
    P(X ≤ k | λ) = 1 − confidence (for k = 0 at 95 %: −ln 0.05 ≈ 3.0). Bisection on the Poisson CDF."""
    alpha = 1.0 - confidence

    def cdf(lam: float) -> float:  # summed in log space: exp(-λ) underflows for λ > 745
        logs = [i * math.log(lam) - math.lgamma(i + 1) for i in range(k + 1)]
        top = max(logs)
        return math.exp(top - lam + math.log(sum(math.exp(x - top) for x in logs)))

    low, high = float(k), float(k) + 10.0 * math.sqrt(k + 1) + 10.0
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) > alpha else (low, mid)
    return (low + high) / 2


def simulate_nuisance(detectors: dict[str, Callable[[], Detector]], quick: bool = False,
                      plan: Plan | None = None) -> tuple[dict[str, NuisanceOutcome], Plan, int, float]:
    """Play the nuisance run to every detector; (outcome per detector, the plan, messages, wall seconds)."""
    plan = plan or (make_plan(QUICK_HOURS, start=QUICK_START) if quick else make_plan(DAYS * 24))
    started = time.monotonic()
    raised, messages = play_plan(plan, {n: f() for n, f in detectors.items()})
    return {n: score(r, plan) for n, r in raised.items()}, plan, messages, time.monotonic() - started


def play_plan(plan: Plan, detectors: dict[str, Detector]) -> tuple[dict[str, list[tuple[str, str | None, float]]],
                                                                    int]:
    """The plan's simulation fed to the detectors: (raised alarms per detector, messages decoded)."""
    base = load_scenario(BASE_SCENARIO)
    faults, silent = plan.entries()
    holds = [FaultEntry(d, "door_holds", 0.0, plan.duration_s) for d in plan.devices if "-elev-" in d]
    scenario = dataclasses.replace(
        base, name="bench-nuisance", seed=SEED, start=plan.start, duration_s=plan.duration_s,
        device_ids=plan.devices, faults=faults, misbehaviour=silent, nuisance=holds,
        residents=dataclasses.replace(base.residents, enabled=False),
    )
    return play(Simulation(scenario, plan.start), detectors)


def report(outcomes: dict[str, NuisanceOutcome], plan: Plan, messages: int, seconds: float) -> list[str]:
    """The section `bench.detectors` prints: what ran, and forewarn's false alarms with their nearest nuisance."""
    kinds = [e.kind for e in plan.events]
    tz = plan.start.tzinfo
    first, last = plan.start, plan.start + timedelta(seconds=plan.duration_s)
    lines = [f"nuisance run: {len(plan.devices)} devices × {plan.duration_s / DAY:.2f} days = "
             f"{plan.device_days:.1f} device-days, {first:%a %Y-%m-%d %H:%M} to {last:%a %Y-%m-%d %H:%M}; "
             f"{kinds.count('maintenance')} maintenance visits, {kinds.count('blip')} power blips, "
             f"passengers holding the door of every car (2 % of cycles), "
             f"{kinds.count('open alarm')} alarms left open; {messages} messages in {seconds:.0f} s"]
    ours = outcomes.get("forewarn")
    if ours is not None:
        lines.append(f"forewarn: {len(ours.false_alarms)} false alarms; not counted: {ours.suppressed} inside "
                     f"declared maintenance windows, {ours.explained} explained by the open alarms, {ours.grouped} "
                     "grouped into a blip already counted")
        for fa in ours.false_alarms:
            when = datetime.fromtimestamp(fa.t, tz)
            lines.append(f"  {fa.device:<20} {fa.fault or '-':<22} {when:%a %m-%d %H:%M:%S}  {fa.nearby}")
    return lines


def rows(outcomes: dict[str, NuisanceOutcome], names: list[str]) -> list[tuple[str, list[str]]]:
    """Table rows: the rate and its 95 % upper bound per detector ("-" where a detector did not run)."""
    def cell(name: str, show: Callable[[NuisanceOutcome], str]) -> str:
        return show(outcomes[name]) if name in outcomes else "-"

    return [("nuisance false alarms /100 dev-days", [cell(n, lambda o: f"{o.rate:.2f}") for n in names]),
            ("nuisance ditto, 95 % upper bound", [cell(n, lambda o: f"{o.upper95:.2f}") for n in names])]


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.nuisance [--quick]`: the nuisance run alone, forewarn's engine beside the null and the
    always-alarm detectors, for checking a detector change's false alarms without the whole of `bench.detectors`."""
    import argparse

    parser = argparse.ArgumentParser(description="normal running with nuisance events: false alarms per 100 "
                                                 "device-days (part of python -m bench.detectors)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HOURS:g} hours instead of {DAYS:g} days")
    args = parser.parse_args(argv)
    outcomes, plan, messages, seconds = simulate_nuisance({"forewarn": Engine, "null": Null, "always-alarm": Always},
                                                          quick=args.quick)
    print("\n".join(report(outcomes, plan, messages, seconds)))
    print(f"{'detector':<14}{'false alarms':>14}{'per 100 dev-days':>18}{'95% upper':>11}")
    for name, o in outcomes.items():
        print(f"{name:<14}{len(o.false_alarms):>14}{o.rate:>18.2f}{o.upper95:>11.2f}")
    ours = outcomes["forewarn"]
    print(f"RESULT false_alarms_per_100_device_days={ours.rate:.2f} count")
    print(f"RESULT device_days_normal={ours.device_days:.1f} days")


if __name__ == "__main__":
    main()
