"""Access-control door simulator: swipes by time of day, door contact and lock, battery, reader heartbeat.

Swipes arrive as a Poisson process shaped by the hour of day (working days and weekends apart) and scaled by where
the door is (a site gate sees more people than a side door). A granted swipe unlocks and opens the door for a few
seconds. Telemetry (the reader's heartbeat) reports contact, lock, open duration, battery and the reader self-test.
"""

from __future__ import annotations

from ingest.reading import Channel
from simulators.device import DeviceSim, Emission, Weekly, next_arrival

# Swipes per hour at a building lobby, by local hour: on working days the morning and evening commutes and a quiet
# night; at the weekend a late, broad morning, a busy afternoon and a later evening (as the lifts, `elevator.TRIPS`).
SWIPE_RATE = (
    2, 1, 1, 1, 1, 4, 12, 45, 50, 22, 18, 20, 24, 20, 18, 18, 24, 42, 48, 34, 26, 18, 10, 4,
)
SWIPE_RATE_WEEKEND = (
    3, 2, 1, 1, 1, 2, 5, 12, 24, 34, 38, 36, 30, 26, 28, 30, 34, 40, 44, 38, 30, 22, 12, 6,
)
SWIPES = Weekly(SWIPE_RATE, SWIPE_RATE_WEEKEND)
# How busy a door is relative to a lobby, by the words in its id.
TRAFFIC = (("gate", 1.6), ("lobby", 1.0), ("garage", 0.6))
SIDE_DOOR = 0.3
DENIED_SHARE = 0.04  # expired cards, visitors trying their luck
BATTERY_DRAIN_PER_DAY = 0.3  # % per day; a reader battery lasts about a year
HELD_OPEN_REPEAT_S = 600.0
TEL, EVT = Channel.TELEMETRY, Channel.EVENT


class AccessDoorSim(DeviceSim):
    """One access-controlled door with its card reader."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        ident = self.device.id
        self.traffic = next((scale for word, scale in TRAFFIC if word in ident), SIDE_DOOR)
        self.battery = self.rng.uniform(70.0, 100.0)
        self.open_from = 0.0
        self.open_until = 0.0  # the door is open on [open_from, open_until)
        self.next_swipe = self._next_swipe(self.start)
        self.fault_events: list[Emission] = []
        for fault in self.faults:
            if fault.name == "forced_open":
                self.fault_events.append(Emission(fault.start, EVT, "forced_open",
                                                  {"door_open": True, "locked": False}))
            elif fault.name == "held_open":
                at = fault.start + 60.0
                while at < fault.end:
                    self.fault_events.append(Emission(at, EVT, "held_open",
                                                      {"open_duration_s": round(at - fault.start, 1)}))
                    at += HELD_OPEN_REPEAT_S
        self.fault_events.sort(key=lambda e: e.t)

    def _rate(self, t: float) -> float:
        return max(self.usual(SWIPES, t) * self.traffic, 0.5)

    def _next_swipe(self, t: float) -> float:
        return next_arrival(self.rng, t, self._rate, max(SWIPES.peak * self.traffic, 0.5))

    def _propped(self, t: float) -> float | None:
        """When the door was forced or propped open, if it is now."""
        if not self.faults:
            return None
        fault = self.active("forced_open", t) or self.active("held_open", t)
        return fault.start if fault else None

    def step(self, t0: float, t1: float) -> list[Emission]:
        r = self.rng
        out: list[Emission] = []
        while self.next_swipe <= t1:
            at = self.next_swipe
            if not (self.faults and self.active("reader_offline", at)):
                granted = r.random() >= DENIED_SHARE
                out.append(Emission(at, EVT, "swipe", {"granted": granted}))
                if granted:
                    self.open_from = at + 1.0
                    self.open_until = at + 1.0 + r.uniform(4.0, 10.0)
            self.next_swipe = self._next_swipe(at)
        while self.fault_events and self.fault_events[0].t <= t1:
            out.append(self.fault_events.pop(0))
        out.sort(key=lambda e: e.t)
        out.append(Emission(t1, TEL, None, self._telemetry(t1)))
        return out

    def _telemetry(self, t: float) -> dict:
        self.battery -= BATTERY_DRAIN_PER_DAY * self.interval / 86400.0
        battery, reader_ok = self.battery, True
        propped = self._propped(t)
        if propped is not None:
            door_open, opened = True, propped
        else:
            door_open, opened = self.open_from <= t < self.open_until, self.open_from
        locked = not door_open
        if self.faults:
            if self.active("lock_failure", t):
                locked = False
            offline = self.active("reader_offline", t)
            if offline and offline.variant != "silent_reader":  # a silent reader still passes its self-test
                reader_ok = False
            low = self.active("battery_low", t)
            if low:
                battery = self.battery - (self.battery - 5.0) * low.progress(t)
        return {
            "door_open": door_open,
            "locked": locked,
            "open_duration_s": round(t - opened, 1) if door_open else 0.0,
            "battery_pct": round(max(battery, 0.0), 1),
            "reader_ok": reader_ok,
        }
