"""What one device sent around one fault of an anticipation seed, and what the detectors made of it:
`python -m bench.fault_trace SEED DEVICE [--fault NAME] [--before-min 60] [--days 0.4]`.

The seed's acute run as `bench.anticipation` plays it (the same faults, shapes and start: `scenario_for`), narrowed
to the one device and played through the pure generator. Each device draws from its own random stream
(``{seed}/{device}``), so these are the messages it sent in the full run. They are decoded as ingest decodes them
and judged by a fresh `DetectorEngine` on the readings' clock. Printed, in seconds from the fault's onset: each
activity event (trips, door cycles, swipes) from `--before-min` before the onset to the fault's end, and every alarm
transition. For a miss the report explains (under "why the total is under 95 %" or "why the acute types under 90 %
missed"), this shows whether the device gave the detectors anything to go on: a night door fault of three hours with
one trip in it, a reader that read nothing.

What it leaves out: the residents (their uses and complaints are `simulators.usage`'s, drawn apart from the device's
own activity), the platform (tickets, notices), the lockstep tick (the engine is ticked every 30 s of reading time
here), other devices (a building's outage root); the device's own nuisance (a maintenance visit, its building's
power blip) and misbehaviour are played.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import datetime

from bench.anticipation_plan import scenario_for, seed_start
from bench.anticipation_targets import describe_shape
from bench.device_uses import alone
from bench.fault_shapes import EPISODE_GAP_S
from detectors.engine import DetectorEngine
from ingest.decode import PresenceChange, decode
from ingest.reading import Reading
from simulators.generator import Simulation
from simulators.scenario import FaultEntry, Scenario

ACTIVITY = frozenset({"trip", "door_cycle", "swipe"})
TICK_S = 30.0


def find_fault(scenario: Scenario, device_id: str, fault: str | None) -> FaultEntry:
    """The device's first fault in the run (of type `fault` when given); `ValueError` naming what the run has."""
    entries = [f for f in scenario.faults if f.device_id == device_id and (fault is None or f.name == fault)]
    if not entries:
        has = sorted({f"{f.device_id} {f.name}" for f in scenario.faults})
        raise ValueError(f"no {fault or 'fault'} on {device_id} in {scenario.name}; the run has: {', '.join(has)}")
    return min(entries, key=lambda f: f.offset_s)


def trace(scenario: Scenario, entry: FaultEntry, before_s: float) -> list[str]:
    """The lines to print: the device's activity events and alarm transitions around `entry`."""
    start = scenario.start
    assert start is not None
    device = next(d for d in scenario.estate.devices if d.id == entry.device_id)

    onset = start.timestamp() + entry.offset_s
    end = onset + entry.duration_s
    # An intermittent fault's later episodes are entries of their own: the trace runs to the last one's end.
    for other in sorted(scenario.faults, key=lambda f: f.offset_s):
        later = other.device_id == device.id and other.name == entry.name and other.offset_s > entry.offset_s
        if later and start.timestamp() + other.offset_s - end < EPISODE_GAP_S:
            end = start.timestamp() + other.offset_s + other.duration_s
    clock = [start]
    engine = DetectorEngine(now_fn=lambda: clock[0])
    engine.register_device(device.id, device.kind, device.site_id, device.building_id)
    lines, during, next_tick = [], 0, start.timestamp() + TICK_S
    for t, _device, topic, payload in Simulation(alone(scenario, {device.id}), start).timed():
        if t > end + 600.0:
            break
        at = datetime.fromtimestamp(t, start.tzinfo)
        clock[0] = at
        alarms = []
        if t >= next_tick:
            next_tick = t + TICK_S
            alarms += engine.tick(at)
        message = decode(topic, payload, now=at)
        if isinstance(message, Reading):
            alarms += engine.process(message)
            if message.event in ACTIVITY and onset - before_s <= t <= end:
                during += onset <= t
                values = ", ".join(f"{k} {v:g}" for k, v in sorted(message.values.items()))
                lines.append(f"{t - onset:+9.0f} s  {message.event:<10} {values}")
        elif isinstance(message, PresenceChange):
            alarms += engine.presence(message.device_id, online=message.online, ts=message.ts)
        for alarm in alarms:
            if t >= onset - before_s:
                lines.append(f"{t - onset:+9.0f} s  ALARM {alarm.fault} {alarm.state.value}: "
                             f"{alarm.evidence.summary}")
    when = datetime.fromtimestamp(onset, start.tzinfo)
    head = [f"{scenario.name}: {entry.name} on {device.id} ({device.kind.value}) from {when:%a %H:%M} for "
            f"{(end - onset) / 60:.0f} min; shape: {describe_shape(entry.name, dataclasses.asdict(entry.shape))}",
            f"activity events and alarm transitions, seconds from the onset ({before_s / 60:.0f} min before it "
            "to its end):"]
    return [*head, *lines, f"RESULT activity_events_during_fault={during} count"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("seed", type=int, help="the anticipation seed (1-15 in the full run)")
    parser.add_argument("device", help="a device id of the estate, e.g. lv-b2-elev-b")
    parser.add_argument("--fault", help="which of the device's faults (default: its first)")
    parser.add_argument("--before-min", type=float, default=60.0, help="minutes before the onset to show (60)")
    parser.add_argument("--days", type=float, default=0.4, help="simulated days of the seed's run (0.4, as the bench)")
    parser.add_argument("--repeats", type=int, default=2, help="injections per acute type (2, as the bench)")
    args = parser.parse_args(argv)
    if args.seed < 1 or args.days <= 0 or args.before_min < 0:
        parser.error("seed >= 1, days > 0 and before-min >= 0")
    scenario = scenario_for(args.seed, args.days * 24, repeats=args.repeats, start=seed_start(args.seed))
    try:
        entry = find_fault(scenario, args.device, args.fault)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(trace(scenario, entry, args.before_min * 60.0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
