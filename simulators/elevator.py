"""Elevator simulator: trips by time of day (morning down-rush, evening up-rush), doors, vibration, motor, levelling.

A car is idle at a floor or runs a trip: travel to the caller's floor, a door cycle, travel to the destination, a
door cycle. Trips arrive as a Poisson process whose rate follows the hour of day, working days and weekends apart.
Telemetry samples the car's state every interval; `trip` and `door_cycle` events are emitted as they complete.
"""

from __future__ import annotations

import random

from ingest.reading import Channel
from simulators.device import ActiveFault, DeviceSim, Emission, Weekly, next_arrival

# Trips per car per hour, by local hour. Two cars share a 25-floor tower of ~100 units; the peaks follow the
# usual residential pattern: on working days leaving for work 07:00-09:00, coming home 17:00-19:30, a lunch bump;
# at the weekend no morning rush but a late, broad morning (people go out from 09:00 to 11:00), a busier afternoon,
# an evening peak a little lower and later, and a livelier late night.
TRIP_RATE = (
    2, 1, 1, 1, 1, 3, 12, 50, 55, 20, 14, 16, 22, 18, 14, 14, 18, 40, 46, 30, 22, 16, 8, 4,
)
TRIP_RATE_WEEKEND = (
    3, 2, 1, 1, 1, 2, 4, 10, 22, 32, 36, 34, 28, 24, 26, 28, 32, 38, 42, 36, 28, 20, 12, 6,
)
TRIPS = Weekly(TRIP_RATE, TRIP_RATE_WEEKEND)
PEAK_TRIP_RATE = float(TRIPS.peak)
SECONDS_PER_FLOOR = 1.4  # 2.1 m/s over a 3 m floor, once at speed
ACCEL_S = 4.0  # acceleration plus deceleration
AMBIENT_C = 28.0  # machine room
TEL, EVT = Channel.TELEMETRY, Channel.EVENT
HOLD_SHARE = 0.02  # under a `door_holds` nuisance: the share of door cycles a passenger holds open
HOLD_S = (15.0, 60.0)  # how much longer a held cycle lasts


class ElevatorSim(DeviceSim):
    """One elevator car."""

    def __init__(self, *args: object, floors: int = 25, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.floors = floors
        self.floor = 1
        self.busy_until = self.start
        self.phases: list[tuple[float, float, int, int, bool]] = []  # (from, to, floor_a, floor_b, door_open)
        self.pending: list[Emission] = []
        self.next_arrival = self._next_trip(self.start)
        self.last_cycle = 6.0
        self.level_error = 0.0
        self.utilisation = 0.05
        self.temp = AMBIENT_C + 6.0
        self.stuck: str | None = None  # the fault that holds the car, if any
        # Passengers holding the door (a `door_holds` nuisance): their own stream, seeded from the car's stream's
        # initial state (so per seed and car) without drawing from it.
        self.holds = random.Random(f"door_holds/{self.rng.getstate()[1][:4]}")

    def fault_params(self, fault: str) -> dict[str, float]:
        r = self.rng
        return {
            "level_mm": r.choice((-1, 1)) * r.uniform(150, 290),
            "alarm_after_s": r.uniform(20, 90),
            "drift_sign": r.choice((-1.0, 1.0)),
        }

    def _rate(self, t: float) -> float:
        return max(self.usual(TRIPS, t), 0.5)

    def _next_trip(self, t: float) -> float:
        return next_arrival(self.rng, t, self._rate, PEAK_TRIP_RATE)

    def _travel(self, floors: int) -> float:
        return 0.0 if floors == 0 else ACCEL_S + SECONDS_PER_FLOOR * floors

    def _pick_trip(self, t: float) -> tuple[int, int]:
        r, top, h = self.rng, self.floors, self.hour(t)
        lobby = -1 if r.random() < 0.2 else 1
        upper = r.randint(2, top)
        going_down = r.random() < (0.8 if h < 12 else 0.2 if h >= 16 else 0.5)
        return (upper, lobby) if going_down else (lobby, upper)

    def _door_cycle(self, t: float) -> float:
        r = self.rng
        fault = self.active("door_fault", t) if self.faults else None
        if fault:
            s = fault.strength(t)  # the cycle's excess over a normal 5-9 s, scaled: 12-40 s at 1, 7.8-21 s at 0.4
            cycle = r.uniform(5 + 7 * s, 9 + 31 * s)
        else:
            cycle = r.uniform(5, 9)
        if self.faults and self.active("door_holds", t):
            # Ordinary life (`faults.LIFE`), drawn from its own stream so that the rest of the run is unchanged.
            holds = self.holds
            if holds.random() < HOLD_SHARE:
                cycle += holds.uniform(*HOLD_S)
        return cycle

    def _start_trip(self, t: float) -> None:
        origin, dest = self._pick_trip(t)
        if self.active("out_of_service", t) or self.active("entrapment", t):
            return
        overheat = self.active("motor_overheat", t)
        if overheat and overheat.progress(t) >= 0.7:
            return
        r = self.rng
        leg1 = self._travel(abs(self.floor - origin))
        phases, events = self.phases, self.pending
        at = t
        if leg1:
            phases.append((at, at + leg1, self.floor, origin, False))
            at += leg1
        dc1 = self._door_cycle(at)
        phases.append((at, at + dc1, origin, origin, True))
        at += dc1
        events.append(Emission(at, EVT, "door_cycle", {"door_cycle_s": round(dc1, 1), "floor": origin}))
        leg2 = self._travel(abs(dest - origin))
        phases.append((at, at + leg2, origin, dest, False))
        at += leg2
        self.level_error = self._levelling(at)
        events.append(Emission(at, EVT, "trip", {"floor": dest, "levelling_error_mm": self.level_error}))
        reopen = 0
        door = self.active("door_fault", at)
        if door and r.random() < 0.4 * min(door.strength(at), 1.0):
            reopen = r.randint(2, 6)  # a reopen storm: the door keeps bouncing off its safety edge
        for _ in range(1 + reopen):
            dc = self._door_cycle(at)
            phases.append((at, at + dc, dest, dest, True))
            at += dc
            events.append(Emission(at, EVT, "door_cycle", {"door_cycle_s": round(dc, 1), "floor": dest}))
        self.busy_until = at
        self.floor = dest

    def _levelling(self, t: float) -> float:
        error = self.measured(0.0, 2.5)
        drift = self.active("levelling_drift", t)
        if drift:
            error += drift.params["drift_sign"] * 35.0 * drift.progress(t) * drift.amplitude
        return round(error, 1)

    def _enter_stuck(self, name: str, fault: ActiveFault, t: float) -> None:
        """The car stops now: drop the rest of the trip and report the fault."""
        self.stuck = name
        self.pending = [e for e in self.pending if e.t <= fault.start]
        current = self._state(t)[0]
        self.phases.clear()
        self.busy_until = fault.end
        if fault.variant != "no_code":
            self.pending.append(Emission(max(fault.start, t - 1e-3), EVT, "fault_code", {"in_service": False}))
        if name == "entrapment":
            self.floor = current
            # A levelling sensor reads at most its range (the contract's ±300 mm): a car further off reads the end of
            # it. An amplitude of 1.3 put 380 mm in the message, which ingest rejects whole — the trapped car went
            # silent instead of reporting its alarm button.
            limit = self._specs["levelling_error_mm"].maximum
            self.level_error = round(max(-limit, min(limit, fault.params["level_mm"] * fault.amplitude)), 1)
            alarm_at = fault.start + self._alarm_after(fault)
            if alarm_at < fault.end:
                self.pending.append(Emission(alarm_at, EVT, "alarm_button", {"alarm_button": True}))
        else:
            self.floor = 1
            self.level_error = 0.0

    @staticmethod
    def _alarm_after(fault: ActiveFault) -> float:
        """Seconds from an entrapment's start to the passengers' alarm press: the shape's, or the drawn one."""
        after = fault.shape.alarm_after_s
        return fault.params["alarm_after_s"] if after is None else after

    def _state(self, t: float) -> tuple[int, int, bool, bool]:
        """(floor, direction, moving, door_open) at time t."""
        for begin, stop, a, b, door in self.phases:
            if begin <= t < stop:
                if door or a == b:
                    return a, 0, False, door
                frac = (t - begin) / (stop - begin)
                return round(a + (b - a) * frac), (1 if b > a else -1), True, False
        return self.floor, 0, False, False

    def step(self, t0: float, t1: float) -> list[Emission]:
        out: list[Emission] = []
        for name in ("entrapment", "out_of_service"):
            fault = self.active(name, t1) if self.faults else None
            if fault and self.stuck is None:
                self._enter_stuck(name, fault, t1)
            elif not fault and self.stuck == name:
                self.stuck = None
                self.busy_until = t1
                self.level_error = 0.0
        while self.next_arrival <= t1:
            if self.busy_until <= self.next_arrival and self.stuck is None:
                self._start_trip(self.next_arrival)
            self.next_arrival = self._next_trip(self.next_arrival)
        if self.pending:
            due = [e for e in self.pending if e.t <= t1]
            self.pending = [e for e in self.pending if e.t > t1]
            out.extend(due)
            # Telemetry reports the last cycle completed by now: a trip is planned when it starts, and setting this
            # there reported a cycle seconds to minutes before it happened (a faulty one before its fault began).
            cycles = [e.data["door_cycle_s"] for e in sorted(due, key=lambda e: e.t) if e.event == "door_cycle"]
            if cycles:
                self.last_cycle = float(cycles[-1])
        if self.phases and self.phases[-1][1] <= t1:
            self.phases = [p for p in self.phases if p[1] > t1]
        out.sort(key=lambda e: e.t)
        out.append(Emission(t1, TEL, None, self._telemetry(t1)))
        return out

    def _telemetry(self, t: float) -> dict:
        floor, direction, moving, door_open = self._state(t)
        self.utilisation += 0.02 * ((1.0 if moving else 0.0) - self.utilisation)
        target = AMBIENT_C + 45.0 * self.utilisation
        self.temp += 0.01 * (target - self.temp)
        temp = self.temp
        vibration = self.measured(0.32, 0.04) if moving else self.measured(0.03, 0.005)
        current = self.measured(38.0, 8.0) if moving else self.measured(2.5, 0.3)
        in_service, alarm = self.stuck is None, False
        if self.faults:
            wear = self.active("bearing_wear", t)
            if wear:
                p = wear.progress(t)
                vibration *= 1.0 + (5.0 * p * p if moving else p) * wear.amplitude
            hot = self.active("motor_overheat", t)
            if hot:
                p = hot.progress(t)
                temp += 110.0 * hot.amplitude * p
                current *= 1.2
                in_service = in_service and p < 0.7
            trapped = self.active("entrapment", t)
            if trapped:
                alarm = t >= trapped.start + self._alarm_after(trapped)
                vibration, current = self.measured(0.02, 0.003), 0.0
        return {
            "floor": floor,
            "direction": direction,
            "moving": moving,
            "door_open": door_open,
            "door_cycle_s": round(self.last_cycle, 1),
            "vibration_rms": round(max(vibration, 0.0), 3),
            "motor_current_a": round(max(current, 0.0), 1),
            "motor_temp_c": round(min(temp, 175.0), 1),
            "levelling_error_mm": self.level_error,
            "alarm_button": alarm,
            "in_service": in_service,
        }
