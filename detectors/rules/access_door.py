"""Access door rules: forced open, held open, reader offline, lock failure, battery low.

All are plain conditions on the door's own report. Held-open is also checked by `on_tick`, so a door that
stops reporting while it stands open is still caught — once its last report showed it open for half the limit
already: a door sampled during an ordinary passage (open a few seconds) has most likely closed since, and is not
assumed open until its next report says so.

A lock failure is judged on snapshots of a closed door. A healthy lock is released by every passage — a granted
swipe, an exit button, a relock delay of a few seconds after the door shuts — so at a busy door a report now and
then finds it closed and unlocked. A failed lock never engages: the rule wants `LOCK_SNAPSHOTS` closed, unlocked
reports in a row spanning `LOCK_SPAN_S`, with no locked report between them. A report of an open door says nothing
about the lock, and one within `UNLOCK_GRACE_S` of a granted swipe is explained by it; neither counts either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from detectors.alarm import Severity
from detectors.hysteresis import Observation, Policy, quiet
from ingest.reading import Reading

HELD_OPEN_S = 60.0  # a fire or entrance door propped open for a minute defeats access control
# A passage holds a door open 4-10 s (longer with a pram or a delivery); 30 s reported is no longer a passage.
PROJECT_AFTER_S = HELD_OPEN_S / 2
BATTERY_LOW_PCT = 20.0
BATTERY_CRITICAL_PCT = 10.0
BATTERY_RESTORED_PCT = 30.0  # hysteresis: a battery hovering at 20% must not flap
# Lock failure. Two reports 30 s apart both finding a busy gate closed and unlocked are two passages, not a fault (the
# independent emulator's busy doors raised it so); six in a row over 2.5 minutes, with no locked report between,
# is a lock that does not engage. A door reporting every few seconds sees one release in several reports, hence
# the span as well as the count.
LOCK_SNAPSHOTS = 6
LOCK_SPAN_S = 150.0
UNLOCK_GRACE_S = 30.0  # a granted swipe releases the lock until the door has opened, closed and relocked


@dataclass(slots=True)
class AccessDoorState:
    open_since: float | None = None
    open_seen_s: float = 0.0  # how long the door had been open at its last report
    battery_low: bool = False
    granted_at: float | None = None  # the last granted swipe
    unlocked: int = 0  # closed, unlocked reports in a row, none locked between
    unlocked_since: float = 0.0


class AccessDoorRules:
    """Rules for `DeviceKind.ACCESS_DOOR` devices."""

    name = "access_door_rules"
    policies: dict[str, Policy] = {
        "forced_open": Policy(raise_after_s=0.0, clear_after_s=30.0, cooldown_s=60.0),
        "held_open": Policy(raise_after_s=0.0, clear_after_s=10.0, cooldown_s=60.0),
        "reader_offline": Policy(raise_after_s=60.0, clear_after_s=60.0, cooldown_s=300.0),
        # The evidence is already a run of reports (`LOCK_SNAPSHOTS`, `LOCK_SPAN_S`): raise on it. A false-alarm
        # verdict's delay comes on top of that run (no `started`), so it does make the door less quick to raise.
        "lock_failure": Policy(raise_after_s=0.0, clear_after_s=60.0, cooldown_s=300.0),
        "battery_low": Policy(raise_after_s=0.0, clear_after_s=0.0, cooldown_s=3600.0),
    }

    def new_state(self) -> AccessDoorState:
        return AccessDoorState()

    def observe(
        self, state: AccessDoorState, reading: Reading, t: float, learning: bool
    ) -> list[Observation]:
        v = reading.values
        out: list[Observation] = []
        if reading.event == "swipe" and v.get("granted", 0.0) >= 0.5:
            state.granted_at = t
        if "door_open" in v or reading.event in ("forced_open", "held_open"):
            out.append(self._forced(v, reading.event))
            out.append(self._held(state, v, reading.event, t))
        if "reader_ok" in v:
            out.append(
                self._flag("reader_offline", v["reader_ok"] < 0.5, "the card reader fails its self-test")
            )
        if "locked" in v and "door_open" in v:
            lock = self._lock(state, v, t)
            if lock is not None:
                out.append(lock)
        if "battery_pct" in v:
            out.append(self._battery(state, v["battery_pct"]))
        return out

    def on_tick(self, state: AccessDoorState, now: float) -> list[Observation]:
        if state.open_since is None or state.open_seen_s < PROJECT_AFTER_S or now - state.open_since < HELD_OPEN_S:
            return []
        return [self._held_open(now - state.open_since, state.open_since)]

    @staticmethod
    def _forced(v: Mapping[str, float], event: str | None) -> Observation:
        # Open while the lock still reports engaged means the door was opened without releasing the lock.
        forced = event == "forced_open" or (v.get("door_open", 0.0) >= 0.5 and v.get("locked", 0.0) >= 0.5)
        if not forced:
            return quiet("forced_open", "door_open", v.get("door_open"))
        return Observation(
            "forced_open",
            True,
            Severity.CRITICAL,
            "door opened without a granted swipe while the lock was engaged",
            metric="door_open",
            value=1.0,
        )

    def _held(
        self, state: AccessDoorState, v: Mapping[str, float], event: str | None, t: float
    ) -> Observation:
        is_open = v.get("door_open", 1.0 if event == "held_open" else 0.0) >= 0.5
        if not is_open:
            state.open_since = None
            return quiet("held_open", "door_open", 0.0)
        reported = v.get("open_duration_s")
        if reported is not None:
            # The door's own counter restarts at each granted swipe (a new person passing); trust it over ours.
            state.open_since = t - reported
        elif state.open_since is None:
            state.open_since = t
        duration = max(t - state.open_since, reported or 0.0)
        state.open_seen_s = duration
        if duration < HELD_OPEN_S and event != "held_open":
            return quiet("held_open", "open_duration_s", duration)
        return self._held_open(duration, state.open_since)

    @staticmethod
    def _held_open(duration: float, since: float) -> Observation:
        return Observation(
            "held_open",
            True,
            Severity.WARNING,
            f"door held open for {duration:.0f} s (limit {HELD_OPEN_S:.0f} s)",
            metric="open_duration_s",
            value=duration,
            baseline=HELD_OPEN_S,
            started=since,
        )

    @staticmethod
    def _lock(state: AccessDoorState, v: Mapping[str, float], t: float) -> Observation | None:
        """The lock on a report of the door; None when the report says nothing either way (see the module)."""
        if v["door_open"] >= 0.5:
            return None
        if v["locked"] >= 0.5:
            state.unlocked = 0
            return quiet("lock_failure", "locked", 1.0)
        if state.granted_at is not None and 0.0 <= t - state.granted_at < UNLOCK_GRACE_S:
            return None
        if state.unlocked == 0:
            state.unlocked_since = t
        state.unlocked += 1
        span = t - state.unlocked_since
        if state.unlocked < LOCK_SNAPSHOTS or span < LOCK_SPAN_S:
            return None
        return Observation(
            "lock_failure",
            True,
            Severity.WARNING,
            f"door closed but the lock does not engage: {state.unlocked} reports unlocked over {span:.0f} s",
            metric="locked",
            value=0.0,
        )

    @staticmethod
    def _flag(fault: str, active: bool, sentence: str) -> Observation:
        return Observation(fault, active, Severity.WARNING, sentence if active else "")

    @staticmethod
    def _battery(state: AccessDoorState, pct: float) -> Observation:
        state.battery_low = pct < (BATTERY_RESTORED_PCT if state.battery_low else BATTERY_LOW_PCT)
        if not state.battery_low:
            return quiet("battery_low", "battery_pct", pct)
        severity = Severity.CRITICAL if pct < BATTERY_CRITICAL_PCT else Severity.INFO
        return Observation(
            "battery_low",
            True,
            severity,
            f"reader battery at {pct:.0f}% (replace below {BATTERY_LOW_PCT:.0f}%)",
            metric="battery_pct",
            value=pct,
            baseline=BATTERY_LOW_PCT,
        )
