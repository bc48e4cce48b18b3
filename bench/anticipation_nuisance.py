"""Ordinary life inside the anticipation runs (#20 point 7): the normal running that false tickets are counted over
includes the events a building lives with and that are no fault — so that a platform that opens a ticket for them
shows it in `false_tickets_per_100_device_days`.

Per seed, at seeded times clear of every injected fault and misbehaviour on the devices they touch (their own random
stream, so the faults' devices, onsets and durations are unchanged):

- a **planned maintenance visit**: a lift parked for 1-2 h (no trips, doors shut at floor 1, `in_service` false —
  the simulator's `out_of_service` physics, labelled `nuisance`, not a fault), declared to the platform as an
  engineer would (`tickets.maintenance.start_window`, what `forewarn device maintenance` does) from 10 minutes before
  the parking to 10 minutes after it. Residents were told of planned work in advance: nobody complains about it;
- a **short power blip**: every device of one building loses power for 30-120 s. Powered devices drop their
  connections without a goodbye, so the broker notices only when a keepalive is missed — 1.5 × the devices'
  60 s keepalive — and fires their last wills then: the devices are `silent` for the first 90 s and `disconnected`
  (the will fired, back online at the end) for whatever remains. A lift stops, nobody is trapped for long, and
  nobody complains about a two-minute flicker.

- **passengers holding the lift door**, all run long in every car: 2 % of door cycles held 15-60 s longer (a
  delivery, a pram, waiting for a neighbour; `simulators.faults.LIFE`, its own random stream). A held door is a
  cycle of 20-69 s where a struggling door's are 12-40 s: one hold must not read as a door fault.

Demand peaks need no injection: the simulators' usage already follows the hour of day (morning rush in the lifts,
the morning and evening water peaks).

None of these explain an alarm: whatever ticket the platform opens for them is a false ticket, like any other that no
fault explains, and residents warned about them are residents disturbed. `describe` says, from stored rows, what the
platform did with each event.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from simulators.scenario import FaultEntry, Scenario
from tickets.maintenance import start_window

HOUR = 3600.0
PARK_S = (1 * HOUR, 2 * HOUR)
DECLARED_MARGIN_S = 600.0  # the engineer declares the window 10 minutes either side of the parking
BLIP_S = (30.0, 120.0)
WILL_AFTER_S = 90.0  # the broker fires a powerless device's last will after 1.5 × its 60 s keepalive
CLEAR_S = 1800.0  # no injected fault or misbehaviour on a touched device this close before or after an event
REASON = "计划保养 / planned maintenance visit"
PARKED = "out_of_service"  # how the simulator plays a lift parked for a visit
HOLDS = "door_holds"  # passengers holding a lift's door at some stops (ordinary life, `simulators.faults.LIFE`)


@dataclass(frozen=True, slots=True)
class Visit:
    """A declared maintenance window: the device and [start, end) in seconds from the scenario start."""

    device_id: str
    start_s: float
    end_s: float


def _clear(spans: list[tuple[float, float]], start: float, end: float) -> bool:
    return all(end + CLEAR_S <= a or start >= b + CLEAR_S for a, b in spans)


def plan_nuisance(scenario: Scenario, seed: int, *, earliest_s: float, visits: int = 1,
                  blips: int = 1) -> list[FaultEntry]:
    """Seeded nuisance events for the scenario's acute run (its `nuisance:` entries), placed clear of its faults
    and misbehaviour: a parked lift (`out_of_service`), a blip (`silent`, then `disconnected`) per building device;
    and passengers holding the door of every lift throughout (`door_holds`)."""
    rng = random.Random(f"anticipation/nuisance/{seed}")
    spans: dict[str, list[tuple[float, float]]] = {}
    for entry in (*scenario.faults, *scenario.misbehaviour):
        spans.setdefault(entry.device_id, []).append((entry.offset_s, entry.offset_s + entry.duration_s))
    devices = {d.id: d for d in scenario.estate.devices if d.id in set(scenario.device_ids)}
    lifts = sorted(d for d, dev in devices.items() if dev.kind.value == "elevator")
    buildings = sorted({dev.building_id for dev in devices.values() if dev.building_id})
    total = scenario.duration_s
    out = [FaultEntry(car, HOLDS, 0.0, total) for car in lifts]
    for _ in range(visits):
        for _attempt in range(200):
            car, length = rng.choice(lifts), round(rng.uniform(*PARK_S))
            start = round(rng.uniform(earliest_s, max(earliest_s, total - length - HOUR)))
            if _clear(spans.get(car, []), start - DECLARED_MARGIN_S, start + length + DECLARED_MARGIN_S):
                spans.setdefault(car, []).append((start, start + length))
                out.append(FaultEntry(car, PARKED, start, length))
                break
    for _ in range(blips):
        for _attempt in range(200):
            building, seconds = rng.choice(buildings), round(rng.uniform(*BLIP_S))
            members = [d for d, dev in devices.items() if dev.building_id == building]
            start = round(rng.uniform(earliest_s, total - HOUR))
            if all(_clear(spans.get(d, []), start, start + seconds) for d in members):
                for device in members:
                    spans.setdefault(device, []).append((start, start + seconds))
                    quiet = min(seconds, WILL_AFTER_S)
                    out.append(FaultEntry(device, "silent", start, quiet))
                    if seconds > quiet:
                        out.append(FaultEntry(device, "disconnected", start + quiet, seconds - quiet))
                break
    return out


def visits(scenario: Scenario) -> list[Visit]:
    """The maintenance windows the engineers declare for the scenario's parked lifts."""
    return [Visit(e.device_id, e.offset_s - DECLARED_MARGIN_S, e.offset_s + e.duration_s + DECLARED_MARGIN_S)
            for e in scenario.nuisance if e.name == PARKED]


def blips(scenario: Scenario) -> list[tuple[str, float, float]]:
    """The power blips of the scenario: (device, start, end) in seconds from its start, one per device touched."""
    spans: dict[str, list[float]] = {}
    for e in scenario.nuisance:
        if e.name in ("silent", "disconnected"):
            span = spans.setdefault(e.device_id, [e.offset_s, e.offset_s + e.duration_s])
            span[0], span[1] = min(span[0], e.offset_s), max(span[1], e.offset_s + e.duration_s)
    return [(d, a, b) for d, (a, b) in spans.items()]


def declare(conn: psycopg.Connection, scenario_start: datetime, visits: list[Visit]) -> None:
    """The engineers' declarations of the planned visits, stored before the run as the product stores them."""
    for visit in visits:
        start_window(conn, visit.device_id, starts_at=scenario_start + timedelta(seconds=visit.start_s),
                     ends_at=scenario_start + timedelta(seconds=visit.end_s), reason=REASON, set_by="bench")


def describe(conn: psycopg.Connection, scenario: Scenario, false_tickets: tuple[int, ...]) -> dict[str, int]:
    """What the platform did with the nuisance events, from stored rows: alarms held back by the declared windows,
    and the false tickets of a touched device detected from an event's start to half an hour after its end."""
    start = scenario.start
    assert start is not None
    planned = visits(scenario)
    touched = [(v.device_id, v.start_s, v.end_s) for v in planned] + blips(scenario)
    suppressed = conn.execute("SELECT count(*) FROM suppressed_alarms").fetchone()
    tickets: set[int] = set()
    for device, a, b in touched if false_tickets else ():
        rows = conn.execute(
            """SELECT DISTINCT COALESCE(r.ticket_id, i.ticket_id) FROM incidents i
               LEFT JOIN incidents r ON r.id = i.root_incident_id
               WHERE i.device_id = %s AND i.detected_at >= %s AND i.detected_at < %s
               AND COALESCE(r.ticket_id, i.ticket_id) = ANY(%s)""",
            (device, start + timedelta(seconds=a), start + timedelta(seconds=b + CLEAR_S), list(false_tickets)))
        tickets |= {r[0] for r in rows if r[0] is not None}
    blipped = {(a, b) for _, a, b in blips(scenario)}
    return {"visits": len(planned), "blips": len(blipped), "suppressed_alarms": suppressed[0] if suppressed else 0,
            "false_tickets": len(tickets)}
