"""Complaints driven by use: each affected resident notices a fault only when they next use the service.

A resident of the units a device serves uses it at a rate that follows the simulators' own usage by local hour
(`elevator.TRIPS` trips per car, `access_door.SWIPES` swipes per lobby, `water.DEMANDS` of the peak water
use), shared among the residents it serves. The first use after the fault is noticeable (`FaultSpec.visible_at`:
at once for acute faults, late in a degradation) is when that resident notices; at that use and each later one
(up to `MAX_TRIES`) they complain with a probability that depends on the fault, after a delay that depends on the
fault and on their channel (phone is quicker than the app). A fault nobody uses while it lasts bothers nobody: it
is not resident-visible in this run. Like the simulators, uses follow the day of the week: working days and
weekends (Saturday, Sunday) each have their own day (`simulators.device.Weekly`).

With the devices' own trips given (`trips`, an experiment: `python -m bench.anticipation --uses-from-trips`), the
uses of a car that keeps running through its fault (`SERVED_THROUGH`: a slow door, a rough or out-of-level ride) are
those trips, each carrying one or two of the residents it serves, instead of draws from the hourly rate: in a
building a resident's use of such a car *is* one of its trips, and its door cycles are the detectors' evidence. A
car that made one trip in three night hours was used once. Faults that stop the service (a car out of service, a
reader that reads nothing) leave no trace of the attempted uses in the device's data, so those stay drawn.

An entrapment's passengers press the alarm button (the elevator simulator emits it); that press is their report,
and is not a complaint here: the complaints planned are the other residents', who find the car stuck when they
call it.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ingest.estate import Device, Estate, Resident
from ingest.reading import DeviceKind
from simulators.access_door import SWIPES, TRAFFIC
from simulators.device import next_arrival
from simulators.elevator import TRIPS
from simulators.faults import FaultWindow
from simulators.residents import EmulatedComplaint, _channel, _complaint
from simulators.water import DEMANDS

RIDERS_PER_TRIP = 1.5  # people in a car per trip, on average
WATER_USES_PER_PEAK_HOUR = 2.0  # taps, shower, flush: how often a resident at home notices the water, at the peak
SIDE_DOOR_TRAFFIC = 0.3
MAX_TRIES = 3  # a resident who let it go three times will not complain about this fault
# Faults a car keeps running through: with its trips known, a resident's uses of it are its trips.
SERVED_THROUGH = frozenset({"door_fault", "bearing_wear", "levelling_drift"})

# fault → probability that a resident complains at a use that finds the fault. Urgent, unmissable faults are
# reported more often; a slow door or a rough ride mostly is not.
COMPLAIN_P: dict[str, float] = {
    "entrapment": 0.4, "pipe_burst": 0.3, "supply_outage": 0.25, "out_of_service": 0.15, "motor_overheat": 0.15,
    "reader_offline": 0.15, "pump_failure": 0.15, "tank_low": 0.1, "door_fault": 0.05, "bearing_wear": 0.03,
    "levelling_drift": 0.05, "slow_leak": 0.05,
}
# fault class → ((phone low, high), (app/WeChat low, high)) seconds from the noticing use to the complaint.
URGENT = frozenset({"entrapment", "pipe_burst", "supply_outage"})
SLOW = frozenset({"bearing_wear", "levelling_drift", "slow_leak"})
DELAY_S = {"urgent": ((20.0, 300.0), (60.0, 900.0)), "service": ((60.0, 900.0), (180.0, 3600.0)),
           "slow": ((1800.0, 6 * 3600.0), (1800.0, 12 * 3600.0))}


@dataclass(slots=True)
class UsePlan:
    """The complaints, and for each fault window (device, fault, start) the first use that found it (None: nobody
    used the service while it lasted)."""

    complaints: list[EmulatedComplaint] = field(default_factory=list)
    noticed: dict[tuple[str, str, datetime], datetime | None] = field(default_factory=dict)


def uses_per_hour(device: Device, local_s: float, served: int) -> float:
    """How often one resident of the `served` uses `device` at local time `local_s` (POSIX seconds plus the site's
    UTC offset: the hour of day, and whether it is the weekend)."""
    if device.kind is DeviceKind.ELEVATOR:
        return TRIPS.at(local_s) * RIDERS_PER_TRIP / max(served, 1)
    if device.kind is DeviceKind.ACCESS_DOOR:
        traffic = next((scale for word, scale in TRAFFIC if word in device.id), SIDE_DOOR_TRAFFIC)
        return SWIPES.at(local_s) * traffic / max(served, 1)
    return DEMANDS.at(local_s) / DEMANDS.peak * WATER_USES_PER_PEAK_HOUR


def _delay(rng: random.Random, fault: str, channel: str) -> float:
    kind = "urgent" if fault in URGENT else "slow" if fault in SLOW else "service"
    lo, hi = DELAY_S[kind][0 if channel == "phone" else 1]
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def plan_use_complaints(windows: list[FaultWindow], estate: Estate, seed: int, *,
                        trips: Mapping[str, Sequence[float]] | None = None) -> UsePlan:
    """Every complaint residents make during these fault windows, from their use of the service; seeded. `trips`:
    each car's trip times (epoch seconds), whose riders are the uses of a car running through its fault."""
    plan = UsePlan()
    units = {u.id: u for u in estate.units}
    buildings = {b.id: b for b in estate.buildings}
    sites = {s.id: s for s in estate.sites}
    for window in windows:
        key = (window.device_id, window.fault, window.start)
        visible = window.visible_at
        plan.noticed[key] = None
        if visible is None or window.fault not in COMPLAIN_P:
            continue
        device = estate.device(window.device_id)
        tz = ZoneInfo(sites[device.site_id].timezone)
        affected = estate.residents_served_by(window.device_id)
        rng = random.Random(f"{seed}/use/{window.device_id}/{window.fault}/{window.start.isoformat()}")
        first: datetime | None = None
        rides = None if trips is None or window.fault not in SERVED_THROUGH else _rides(
            rng, trips.get(window.device_id, ()), affected, visible, window.end)
        for resident in affected:
            uses = rides[resident.id] if rides is not None else _uses(rng, device, tz, len(affected), visible,
                                                                      window.end)
            if uses and (first is None or uses[0] < first):
                first = uses[0]
            decided = _decide(rng, resident, window, uses)
            if decided is not None:
                unit = units[resident.unit_id]
                building = buildings.get(device.building_id or "")
                place = building.name if building else sites[device.site_id].name
                made = _complaint(rng, resident, unit.number, unit.floor, place, window, decided[0])
                plan.complaints.append(dataclasses.replace(made, channel=decided[1]))
        plan.noticed[key] = first
    plan.complaints.sort(key=lambda c: (c.reported_at, c.resident_id))
    return plan


def _uses(rng: random.Random, device: Device, tz: ZoneInfo, served: int, after: datetime,
          end: datetime) -> list[datetime]:
    """The resident's first `MAX_TRIES` uses of the device in [after, end)."""
    offset = (after.astimezone(tz).utcoffset() or timedelta()).total_seconds()

    def rate(t: float) -> float:
        return uses_per_hour(device, t + offset, served)

    peak = max(rate(after.timestamp() + h * 3600.0) for h in range(24 * 7)) or 1e-6
    t, stop = after.timestamp(), end.timestamp()
    out: list[datetime] = []
    while len(out) < MAX_TRIES:
        t = next_arrival(rng, t, rate, peak)
        if t >= stop:
            break
        out.append(datetime.fromtimestamp(t, after.tzinfo))
    return out


def _rides(rng: random.Random, times: Sequence[float], affected: list[Resident], after: datetime,
           end: datetime) -> dict[str, list[datetime]]:
    """Each resident's first `MAX_TRIES` rides among the car's trips in [after, end): one or two riders a trip
    (`RIDERS_PER_TRIP` on average), drawn from the residents it serves."""
    out: dict[str, list[datetime]] = {r.id: [] for r in affected}
    lo, hi, extra = after.timestamp(), end.timestamp(), RIDERS_PER_TRIP - 1.0
    for t in sorted(times):
        if not affected or not lo <= t < hi:
            continue
        riders = 1 + (rng.random() < extra)
        for resident in rng.sample(affected, min(riders, len(affected))):
            if len(out[resident.id]) < MAX_TRIES:
                out[resident.id].append(datetime.fromtimestamp(t, after.tzinfo))
    return out


def _decide(rng: random.Random, resident: Resident, window: FaultWindow,
            uses: list[datetime]) -> tuple[datetime, str] | None:
    """When this resident's complaint arrives and on which channel, if they make one before the fault ends."""
    channel = _channel(rng, resident, window.fault)
    for use in uses:
        if rng.random() < COMPLAIN_P[window.fault]:
            at = use + timedelta(seconds=_delay(rng, window.fault, channel))
            return (at, channel) if at < window.end else None
    return None
