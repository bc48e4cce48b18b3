"""Cost of the live detectors per reading: `python -m bench.engine_cost [--reps N] [--days D] [--seed S]`.

One fixed, seeded simulator stream (`stream`: `bench.detectors`' acute run of the tuning split's first seed
shortened to 6 simulated hours of the Riverside site with every acute and sensor fault, then its degradation run
shortened to `--days` days, long enough for the learned normal to judge after its two-day warm-up) is generated and
decoded once, as ingest would. It is then replayed `--reps` times, each time through a fresh `DetectorEngine` driven
as the runtime drives it (`replay`: readings, presence news, the 60 s tick), timing every `process` call, and,
interleaved with it in the same run, through two baselines: *null* (a call that does nothing: the timer's own cost)
and *learned normal alone* (`detectors.learned.observe` and its hysteresis track, `bench.predictive.LearnedNormal`'s
work), and *reference work* (`reference_work`: a fixed piece of pure-Python work of the same kind, none of it the
detectors', 20 000 calls): the same code measured 18 µs on one machine and 66 µs on another, and the ratio to the
reference work tells a slower machine from slower code. Each repetition's median and 90th percentile are printed;
the figures reported are the medians over repetitions (the machine is shared, so one repetition can be slowed by
another job). The last lines are `RESULT us_per_reading=… us` (the engine's median µs per reading),
`RESULT us_per_reading_in_reference_units=… ratio` (that over the reference work's median) and
`RESULT state_bytes_per_device=… bytes` (the largest `snapshot` at the end of the stream).

About 50 s of CPU with the defaults (a third of it making the stream). `bench.detectors` times every 16th reading of
the full simulator runs instead; the mix of device kinds differs, so the two figures are close but not equal.
The same stream is the one `tests/detectors/test_engine_decisions.py` holds the engine's decisions to.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter_ns

from bench.detector_play import BASE_SCENARIO, DAY, HOUR, TICK_S, simulation
from bench.detector_splits import ACUTE, DEGRADATION_SIBLINGS, DEGRADING, SENSOR_DEVICES, SENSOR_FAULTS, _slow_gauge
from detectors import learned
from detectors.alarm import Alarm
from detectors.engine import DetectorEngine
from detectors.hysteresis import Track
from ingest.decode import PresenceChange, decode
from ingest.reading import DeviceKind, Reading
from simulators.scenario import FaultEntry, load_scenario

# One decoded message, or a tick: ("r", Reading) | ("p", PresenceChange) | ("t", datetime)
Event = tuple[str, object]
ACUTE_S = 6 * HOUR  # the acute run: every acute and sensor fault (the longest lasts 3 h) on the whole site
DAYS = 2.25  # the degradation run: the learned normal judges its last quarter of a day (after a 2-day warm-up)


@dataclass(frozen=True, slots=True)
class Figures:
    median_us: float
    p90_us: float
    readings: int


def _messages(entries: list[FaultEntry], devices: list[str], duration_s: float, seed: int,
              intervals: dict | None = None) -> list[Event]:
    """One simulated run decoded as ingest would, with the runtime's tick, as `bench.detector_play.play` feeds it."""
    sim = simulation(entries, devices, duration_s, seed, intervals, name="cost")
    end = sim.end.timestamp()
    events: list[Event] = []
    next_tick = sim.start.timestamp() + TICK_S
    for t, _device, topic, payload in sim.timed():
        if t >= end:
            break
        at = datetime.fromtimestamp(t, sim.start.tzinfo)
        if t >= next_tick:
            next_tick = t + TICK_S
            events.append(("t", at))
        message = decode(topic, payload, now=at)
        if isinstance(message, Reading):
            events.append(("r", message))
        elif isinstance(message, PresenceChange):
            events.append(("p", message))
    return events


def stream(seed: int = 1, days: float = DAYS) -> list[Event]:
    """The fixed stream: `bench.detectors`' acute run for `seed` (tuning split) shortened to `ACUTE_S` (every fault
    placed within it), then its degradation run over `days` days (ramps after a normal first day, as there). Same
    seed, same stream."""
    estate = load_scenario(BASE_SCENARIO).estate.devices
    site_devices = [d.id for d in estate if d.site_id == "riverside"]
    kinds = {d.id: d.kind for d in estate}
    rng = random.Random(seed)
    sensors = list(zip(SENSOR_FAULTS, SENSOR_DEVICES[seed % len(SENSOR_DEVICES)], strict=True))
    gauges = [(fault, device) for fault, device in sensors if fault == "sensor_stuck" and _slow_gauge(kinds[device])]
    plan = [*ACUTE, *((fault, device, 1 * HOUR) for fault, device in sensors if (fault, device) not in gauges)]
    acute = [FaultEntry(device, fault, rng.uniform(1 * HOUR, ACUTE_S - duration - 0.5 * HOUR), duration)
             for fault, device, duration in plan]
    devices = site_devices + [e.device_id for e in acute if e.device_id not in site_devices]
    events = _messages(acute, devices, ACUTE_S, seed)
    slow = [FaultEntry(device, fault, DAY + rng.uniform(0, 6 * HOUR), max(0.25 * DAY, (days - 1.5) * DAY))
            for fault, device in (*DEGRADING, *gauges)]
    devices = [device for _, device in (*DEGRADING, *gauges)] + list(DEGRADATION_SIBLINGS)
    # The degradation run's devices are named as the acute run's: a fresh engine replays it (`replay`'s `split`).
    events.append(("split", None))
    events += _messages(slow, devices, days * DAY, seed, intervals={DeviceKind.ELEVATOR: 20.0, DeviceKind.WATER: 20.0})
    return events


def replay(events: list[Event], engine_factory: Callable[[], DetectorEngine] = DetectorEngine,
           timings: list[int] | None = None) -> tuple[list[Alarm], list[DetectorEngine]]:
    """Drive fresh engines through `events` as the runtime does; every transition, in order, and the engines (one per
    run of the stream). With `timings`, the ns of each `process` call are appended to it."""
    engines = [engine_factory()]
    engine = engines[0]
    alarms: list[Alarm] = []
    clock = perf_counter_ns
    for kind, item in events:
        if kind == "r":
            if timings is None:
                alarms.extend(engine.process(item))  # type: ignore[arg-type]
            else:
                start = clock()
                out = engine.process(item)  # type: ignore[arg-type]
                timings.append(clock() - start)
                alarms.extend(out)
        elif kind == "t":
            alarms.extend(engine.tick(item))  # type: ignore[arg-type]
        elif kind == "p":
            change: PresenceChange = item  # type: ignore[assignment]
            alarms.extend(engine.presence(change.device_id, online=change.online, ts=change.ts))
        else:
            engine = engine_factory()
            engines.append(engine)
    return alarms, engines


def _null(events: list[Event], timings: list[int]) -> None:
    def nothing(reading: Reading) -> None:
        return None

    clock = perf_counter_ns
    for kind, item in events:
        if kind == "r":
            start = clock()
            nothing(item)  # type: ignore[arg-type]
            timings.append(clock() - start)


def _learned_alone(events: list[Event], timings: list[int]) -> None:
    """`bench.predictive.LearnedNormal`'s work per reading: the learned normal and its hysteresis, nothing else."""
    states: dict[str, tuple[learned.LearnedState, Track]] = {}
    policy = learned.POLICIES[learned.FAULT]
    clock = perf_counter_ns
    for kind, item in events:
        if kind == "split":
            states = {}
        if kind != "r":
            continue
        reading: Reading = item  # type: ignore[assignment]
        start = clock()
        if learned.WATCHED.get(reading.kind):
            held = states.get(reading.device_id)
            if held is None:  # not `setdefault`: its default would build a whole new state for every reading
                held = states[reading.device_id] = (learned.new_state(reading.kind), Track())
            state, track = held
            obs = learned.observe(state, reading.values, reading.ts, frozenset())
            track.update(obs, reading.ts.timestamp(), policy)
        timings.append(clock() - start)


@dataclass(slots=True)
class _Verdict:
    """The reference work's small object: one field per thing a rule's verdict carries."""

    name: str
    active: bool
    metric: str | None = None
    value: float | None = None


REFERENCE_CALLS = 20_000


def reference_work(values: dict[str, float], state: dict[str, float]) -> list[_Verdict]:
    """A fixed piece of pure-Python work of the kind judging one reading is made of — dict lookups, a few dozen float
    operations, a sort of seven values, four small objects — touching nothing of the detectors, so that its cost
    changes with the machine and the interpreter only. The engine's cost divided by it reads the same on a slow
    machine as on a fast one, unless the code changed."""
    out = []
    for metric in ("a", "b", "c", "d"):
        value = values[metric]
        usual = state.get(metric, value)
        residual = value - usual
        spread = math.sqrt(state.get(metric + "_var", 1.0)) + 0.05 * (abs(usual) + 1.0)
        state[metric] = usual + 0.02 * residual
        state[metric + "_var"] = state.get(metric + "_var", 1.0) + 0.005 * (residual * residual - 1.0)
        out.append(_Verdict(metric, abs(residual) > 6.0 * spread, metric=metric, value=value))
    out.sort(key=lambda v: v.value or 0.0)
    sorted([values["a"], values["b"], values["c"], values["d"], 1.0, 2.0, 3.0])
    return out


def _reference(timings: list[int]) -> None:
    rng = random.Random(0)
    state: dict[str, float] = {}
    inputs = [{k: rng.gauss(50.0, 5.0) for k in "abcd"} for _ in range(256)]
    clock = perf_counter_ns
    for i in range(REFERENCE_CALLS):
        start = clock()
        reference_work(inputs[i & 255], state)
        timings.append(clock() - start)


def figures(ns: list[int]) -> Figures:
    us = sorted(n / 1000.0 for n in ns)
    return Figures(statistics.median(us), us[int(0.9 * (len(us) - 1))], len(us))


def state_bytes(engines: list[DetectorEngine]) -> int:
    return max((len(e.snapshot(d)) for e in engines for d in e.devices()), default=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="replays of the stream per detector (default 3)")
    parser.add_argument("--days", type=float, default=DAYS, help=f"days of the degradation run (default {DAYS})")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    args = parser.parse_args(argv)
    if args.reps < 1 or args.days < 0.5:
        parser.error("--reps must be at least 1 and --days at least 0.5")
    events = stream(args.seed, args.days)
    readings = sum(kind == "r" for kind, _ in events)
    print(f"stream: seed {args.seed}, {readings} readings, {len(events)} events; load average before: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"machine: {_cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    runs: dict[str, list[Figures]] = {"null": [], "reference work": [], "learned normal alone": [], "engine": []}
    size = 0
    for rep in range(args.reps):
        for name in runs:
            ns: list[int] = []
            if name == "null":
                _null(events, ns)
            elif name == "reference work":
                _reference(ns)
            elif name == "learned normal alone":
                _learned_alone(events, ns)
            else:
                _, engines = replay(events, timings=ns)
                size = max(size, state_bytes(engines))
            f = figures(ns)
            runs[name].append(f)
            print(f"rep {rep + 1} {name:<22} median {f.median_us:7.2f} µs  p90 {f.p90_us:7.2f} µs")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'':<22} {'median µs':>10} {'p90 µs':>10}   (medians over {args.reps} repetitions)")
    for name, figs in runs.items():
        print(f"{name:<22} {statistics.median(f.median_us for f in figs):>10.2f}"
              f" {statistics.median(f.p90_us for f in figs):>10.2f}")
    engine = statistics.median(f.median_us for f in runs["engine"])
    reference = statistics.median(f.median_us for f in runs["reference work"])
    print(f"engine / reference work: {engine / reference:.2f} (the same on any machine unless the code changed)")
    print(f"RESULT us_per_reading={engine:.1f} us")
    print(f"RESULT us_per_reading_in_reference_units={engine / reference:.2f} ratio")
    print(f"RESULT state_bytes_per_device={size} bytes")


def _cpu() -> str:
    """The processor's model name, as Linux reports it (the platform's processor string elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


if __name__ == "__main__":
    main()
