"""Elevator rules: entrapment, door faults, bearing wear, levelling drift, motor overheating, out of service.

Entrapment and the door moving open are plain physics. Wear is relative to this car's own history: the
vibration reference learns quickly during the first readings and then only very slowly, and never while
an alarm is raised, so a bearing that wears over weeks stands out against what the car used to be.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from river import stats

from detectors.alarm import Severity
from detectors.hysteresis import Observation, Policy, quiet
from detectors.models.ew_deviation import EWDeviation
from ingest.reading import Reading

# Alert at 1.3× the car's own reference: condition-monitoring practice alerts at +25-30 % over a machine's baseline
# (ISO 10816 zone steps are ~1.6× apart; resident-noticeable roughness comes near 3×). Smoothed over ~20 travelling
# readings the ratio's noise is ~2 %, so 1.3 is far outside it while leaving a day or more before residents notice.
VIBRATION_ALERT_RATIO = 1.3
VIBRATION_CRITICAL_RATIO = 3.0
REFERENCE_WARMUP = 300  # readings (while moving) before the vibration reference is trusted
# After warm-up the reference is close to a long-run average: it forgets over ~50 000 travelling readings (weeks at
# a 5-10 s report interval), and learns only from readings within 20 % of it, so wear that takes days to grow is
# measured against the car as it was, not absorbed into "usual".
REFERENCE_ALPHA = 2e-5
REFERENCE_LEARN_RATIO = 1.2
# Wear reads each travelling reading through the median of it and the two before: a vibration sensor that glitches
# (one reading at 10x the level, the next back: `sensor.py`'s spikes) would otherwise lift the short-term mean over
# 1.3x for as long as it takes ~20 more trips to wash it out — at night, over an hour — and send a mechanic to a
# sound bearing. Wear grows over days and a broken roller shakes every reading, so both pass the median at once.
VIBRATION_MEDIAN_OF = 3
# A car stopped out of service with its door closed more than 100 mm off a landing is between floors: anyone
# inside is trapped, whether or not they have pressed the alarm button yet.
BETWEEN_FLOORS_MM = 100.0
# EN 81-20 requires levelling within ±10 mm; ±20 mm is where residents trip.
LEVELLING_ALERT_MM = 10.0
# Levelling is judged per stop: the average over about the last ten stops (EW weight 0.1 per stop). A car reports the
# error of its last stop in every telemetry message until it moves again, so averaging reports instead weighed a stop
# by how long the car stood after it: one stop 17 mm off (under 2σ for a car whose stops scatter ±6 mm) followed by an
# hour parked at night read as a drift.
LEVELLING_ALPHA = 0.1
MOTOR_WARN_C = 95.0  # class F insulation is rated 155 °C; 95 °C in a machine room is already abnormal
MOTOR_CRITICAL_C = 115.0
# A motor that only runs hot — cooling fan stopped, a brake dragging — warms long before 95 °C: 30 °C over this
# motor's own usual temperature (and 65 °C at least, above any machine room's busy hour) is heat the load does not
# explain. The rush hour's 15 °C or so over the day's average is well inside it. The usual is learnt slowly (memory
# ~2,000 readings, hours) and only from temperatures within 20 °C of it, so a motor heating over an hour does not
# drag its own usual along before it is called.
MOTOR_RISE_C = 30.0
MOTOR_RISE_FLOOR_C = 65.0
MOTOR_LEARN_C = 20.0
MOTOR_WARMUP = 120  # readings before the usual temperature is trusted
DOOR_CYCLE_MAX_S = 20.0  # a door cycle of 20 s or more is a door that struggles (normal: 4–8 s)
# ... when the cycles keep taking that long. One long cycle is usually a passenger holding the door (a delivery, a
# pram, waiting for a neighbour); a door that struggles does it stop after stop. So the rule counts the long cycles
# among the car's last `DOOR_RECENT`, and how many it wants depends on how often this car's passengers hold its door:
# it learns the share of long cycles that come alone (no other long one among the six cycles after it: a hold, not
# a struggling door), starting from 1 in `DOOR_PRIOR_CYCLES`, and wants the fewest long cycles k for which holds
# alone would make a k-th long cycle join k-1 others in the window less than once in 100,000 cycles
# (C(6, k-1)·q^k): 4 of 7 for a new car, 3 after a hundred cycles without a hold, 2 after a thousand; 4 where
# passengers hold the door at one stop in fifty (then 20·q⁴ ≈ 3e-6 a cycle: one false call in about a car-year at
# 850 cycles a day). A door at full fault strength (71 % of cycles ≥ 20 s) is called within its first two or three
# stops; a door fault in the small hours, one trip an hour, may wait an hour or two for its long cycles.
DOOR_RECENT = 7
DOOR_PRIOR_CYCLES = 100.0  # the learnt share starts as 1 long cycle in 100 (a new car: assume passengers hold doors)
DOOR_FALSE_PER_CYCLE = 1e-5
# A door that struggles mildly is slow at every stop without often reaching 20 s (a fault at 0.4 of full strength:
# 8-22 s where this car's usual is 5-9 s). So the rule also compares the median of the last `DOOR_RECENT` cycles with
# this car's own usual cycle, the median of every cycle it learnt (river's `stats.Quantile`, P² estimate). A
# passenger holding the door lengthens one cycle and leaves the median alone: four holds in seven stops would be
# needed. The usual is trusted after `DOOR_USUAL_WARMUP` cycles and learns only while the last cycles' median is
# within `DOOR_NEAR_USUAL_RATIO` of it, so a door that slows over a day is measured against the door it was.
# 1.6× and 4 s over the usual: a sound car's median of seven stays within 1.3× of its usual (uniform 5-9 s, usual
# 7 s: the median of seven is over 8.8 s in 2 windows of 10,000, by the binomial sum, and never over 9 s); the fault
# at 0.4 puts it near 2×.
DOOR_SLOW_RATIO = 1.6
DOOR_SLOW_MARGIN_S = 4.0
DOOR_USUAL_WARMUP = 20
# Near the usual: the bound under which cycles are learnt, and under which a door called slow is sound again (it stays
# slow until then: a door at 0.4 of full strength has single windows whose median dips under 1.6×, and each dip would
# clear and re-raise it).
DOOR_NEAR_USUAL_RATIO = 1.3


@dataclass(slots=True)
class ElevatorState:
    vibration: EWDeviation = field(default_factory=lambda: EWDeviation(alpha=REFERENCE_ALPHA))
    vib_short: float | None = None
    vib_recent: list[float] = field(default_factory=list)  # the last travelling readings before this one, oldest first
    levelling: float = 0.0  # EW average of |levelling error| over the car's stops (one per stop)
    trip_events: bool = False  # the car sends `trip` events: a stop is its event, not a change in the telemetry
    level_last: float | None = None  # the telemetry's last levelling error (a car without events: a new value, a stop)
    motor: EWDeviation = field(default_factory=lambda: EWDeviation(alpha=0.0005))  # the motor's usual temperature
    doors: list[float] = field(default_factory=list)  # the last `DOOR_RECENT` door cycles, oldest first
    door_alone: int = 0  # cycles learnt with no long cycle among the six after them
    door_held: int = 0  # ... of which long (a passenger holding the door)
    door_events: bool = False  # the car sends `door_cycle` events: count cycles from them, not from telemetry
    door_last: float | None = None  # the telemetry's last `door_cycle_s` (a car without events: a new value, a cycle)
    door_usual: stats.Quantile = field(default_factory=lambda: stats.Quantile(0.5))  # this car's usual cycle
    door_learnt: int = 0  # cycles the usual has learnt
    door_slow: bool = False  # the last cycles' median was called slow and has not come back near the usual yet


class ElevatorRules:
    """Rules for `DeviceKind.ELEVATOR` devices."""

    name = "elevator_rules"
    policies: dict[str, Policy] = {
        # At its first report: an alarm press, or a car stopped out of service between floors with its door shut,
        # is unambiguous, and waiting for a second report cost a whole reporting interval (30 s on a gateway that
        # samples every 30 s) before the rescue was dispatched and the other residents were told.
        "entrapment": Policy(raise_after_s=0.0, clear_after_s=30.0, cooldown_s=60.0),
        "door_fault": Policy(raise_after_s=0.0, clear_after_s=120.0, cooldown_s=300.0),
        "bearing_wear": Policy(raise_after_s=600.0, clear_after_s=3600.0, cooldown_s=6 * 3600.0),
        "levelling_drift": Policy(raise_after_s=600.0, clear_after_s=3600.0, cooldown_s=6 * 3600.0),
        "motor_overheat": Policy(raise_after_s=30.0, clear_after_s=300.0, cooldown_s=600.0),
        # A controller reset or an inspection-mode check is over within a minute; 90 s out of service is not one.
        "out_of_service": Policy(raise_after_s=90.0, clear_after_s=60.0, cooldown_s=300.0),
    }

    def new_state(self) -> ElevatorState:
        return ElevatorState()

    def observe(self, state: ElevatorState, reading: Reading, t: float, learning: bool) -> list[Observation]:
        v = reading.values
        out = [self._entrapment(v, reading.event), self._door(state, v, reading.event, learning)]
        if "vibration_rms" in v and v.get("moving", 1.0) >= 0.5:
            # Wear shows only while travelling; a parked car has no opinion on it (neither raise nor clear).
            out.append(self._vibration(state, v, learning))
        if "levelling_error_mm" in v and not v.get("moving", 0.0):
            out.append(self._levelling(state, v["levelling_error_mm"], reading.event))
        if "motor_temp_c" in v:
            out.append(self._motor(state, v["motor_temp_c"], learning))
        if "in_service" in v:
            out.append(self._service(v["in_service"]))
        return out

    def on_tick(self, state: ElevatorState, now: float) -> list[Observation]:
        return []

    @staticmethod
    def _entrapment(v: Mapping[str, float], event: str | None) -> Observation:
        get = v.get
        pressed = get("alarm_button", 0.0) >= 0.5 or event == "alarm_button"
        stopped_shut = get("moving", 0.0) < 0.5 and get("door_open", 0.0) < 0.5
        off_landing = abs(get("levelling_error_mm", 0.0))
        between = get("in_service", 1.0) < 0.5 and off_landing >= BETWEEN_FLOORS_MM
        if not (stopped_shut and (pressed or between)):
            return quiet("entrapment", "alarm_button", get("alarm_button"))
        floor = get("floor")
        where = f" near floor {floor:.0f}" if floor is not None else ""
        why = (
            "the in-car alarm button pressed"
            if pressed
            else f"the car out of service {off_landing:.0f} mm off the landing (between floors)"
        )
        return Observation(
            "entrapment",
            True,
            Severity.CRITICAL,
            f"car stopped{where} with its door closed and {why}",
            metric="alarm_button" if pressed else "levelling_error_mm",
            value=1.0 if pressed else off_landing,
            baseline=None if pressed else BETWEEN_FLOORS_MM,
        )

    @staticmethod
    def _door(state: ElevatorState, v: Mapping[str, float], event: str | None, learning: bool) -> Observation:
        get = v.get
        if get("moving", 0.0) >= 0.5 and get("door_open", 0.0) >= 0.5:
            return Observation(
                "door_fault",
                True,
                Severity.CRITICAL,
                "car moving with its door open",
                metric="door_open",
                value=1.0,
            )
        cycle = get("door_cycle_s")
        if cycle is None:
            return quiet("door_fault", "door_cycle_s")
        if _new_cycle(state, cycle, event):
            doors = state.doors
            if learning and len(doors) == DOOR_RECENT and not any(c >= DOOR_CYCLE_MAX_S for c in (*doors[1:], cycle)):
                # The cycle leaving the window had no long cycle in the six after it: it came alone. Judged only
                # now, so a struggling door's first long cycle is not taken for a hold before its second comes.
                state.door_alone += 1
                state.door_held += doors[0] >= DOOR_CYCLE_MAX_S
            state.doors = [*doors[1 - DOOR_RECENT:], cycle]
            if learning:
                _learn_usual_cycle(state, cycle)
        slow = [c for c in state.doors if c >= DOOR_CYCLE_MAX_S]
        median = _median(state.doors) if state.doors else cycle
        if len(slow) >= 2 and len(slow) >= _long_cycles_needed(state):
            held = _held_share(state)
            return Observation(
                "door_fault",
                True,
                Severity.WARNING,
                f"{len(slow)} of the door's last {len(state.doors)} open-close cycles took {DOOR_CYCLE_MAX_S:.0f} s "
                f"or more (up to {max(slow):.0f} s; normal is under {DOOR_CYCLE_MAX_S:.0f} s, and passengers hold "
                f"this car's door that long about once in {1.0 / held:.0f} cycles)",
                metric="door_cycle_s",
                value=median,
                baseline=DOOR_CYCLE_MAX_S,
            )
        usual = _usual_cycle(state)
        if usual is None or len(state.doors) < DOOR_RECENT:
            state.door_slow = False
        elif state.door_slow:
            state.door_slow = median >= DOOR_NEAR_USUAL_RATIO * usual
        else:
            state.door_slow = median >= max(DOOR_SLOW_RATIO * usual, usual + DOOR_SLOW_MARGIN_S)
        if state.door_slow and usual is not None:
            return Observation(
                "door_fault",
                True,
                Severity.WARNING,
                f"the door's last {DOOR_RECENT} open-close cycles took {median:.1f} s at the median "
                f"({min(state.doors):.0f}-{max(state.doors):.0f} s), against this car's usual {usual:.1f} s "
                f"({median / usual:.1f}×): the door is slow at every stop",
                metric="door_cycle_s",
                value=median,
                baseline=usual,
                learned=True,
            )
        return quiet("door_fault", "door_cycle_s", cycle)

    @staticmethod
    def _vibration(state: ElevatorState, v: Mapping[str, float], learning: bool) -> Observation:
        raw = v["vibration_rms"]  # the caller checked that it is there
        recent = state.vib_recent
        vib = sorted((*recent, raw))[len(recent) // 2] if len(recent) == VIBRATION_MEDIAN_OF - 1 else raw
        recent.append(raw)
        if len(recent) >= VIBRATION_MEDIAN_OF:
            del recent[0]
        state.vib_short = vib if state.vib_short is None else state.vib_short + 0.05 * (vib - state.vib_short)
        ref = state.vibration
        if ref.n < REFERENCE_WARMUP:
            ref.learn_one({"v": vib})  # warm-up: plain average of the first readings
            return quiet("bearing_wear", "vibration_rms", vib)
        base = ref.mean["v"]
        ratio = state.vib_short / base if base > 0 else 1.0
        if ratio < VIBRATION_ALERT_RATIO:
            if learning and ratio < REFERENCE_LEARN_RATIO:
                ref.learn_one({"v": vib})
            return quiet("bearing_wear", "vibration_rms", vib, base)
        severity = Severity.CRITICAL if ratio >= VIBRATION_CRITICAL_RATIO else Severity.WARNING
        return Observation(
            "bearing_wear",
            True,
            severity,
            f"vibration {ratio:.1f}× this elevator's usual {base:.3g} m/s² while travelling",
            metric="vibration_rms",
            value=state.vib_short,
            baseline=base,
            score=ratio,
        )

    @staticmethod
    def _levelling(state: ElevatorState, error: float, event: str | None) -> Observation:
        if event == "trip":
            state.trip_events = True
        stop = event == "trip" or (event is None and not state.trip_events and error != state.level_last)
        if event is None:
            state.level_last = error
        if stop:
            state.levelling += LEVELLING_ALPHA * (abs(error) - state.levelling)
        if state.levelling < LEVELLING_ALERT_MM:
            return quiet("levelling_drift", "levelling_error_mm", error)
        return Observation(
            "levelling_drift",
            True,
            Severity.WARNING,
            f"car stops {state.levelling:.0f} mm off the landing on average (limit ±10 mm)",
            metric="levelling_error_mm",
            value=state.levelling,
            baseline=LEVELLING_ALERT_MM,
        )

    @staticmethod
    def _motor(state: ElevatorState, temp: float, learning: bool) -> Observation:
        usual = state.motor.mean.get("t") if state.motor.n >= MOTOR_WARMUP else None
        if learning and (usual is None or temp < usual + MOTOR_LEARN_C):
            state.motor.learn_one({"t": temp})
        hot = usual is not None and temp >= max(usual + MOTOR_RISE_C, MOTOR_RISE_FLOOR_C)
        if temp < MOTOR_WARN_C and not hot:
            return quiet("motor_overheat", "motor_temp_c", temp, usual)
        severity = Severity.CRITICAL if temp >= MOTOR_CRITICAL_C else Severity.WARNING
        if temp >= MOTOR_WARN_C or usual is None:
            summary, baseline = f"traction motor at {temp:.0f} °C (alert at {MOTOR_WARN_C:.0f} °C)", MOTOR_WARN_C
        else:
            summary = (f"traction motor at {temp:.0f} °C, {temp - usual:.0f} °C over its usual {usual:.0f} °C: heat"
                       " the load does not explain (cooling, a dragging brake)")
            baseline = usual
        return Observation("motor_overheat", True, severity, summary, metric="motor_temp_c", value=temp,
                           baseline=baseline, learned=temp < MOTOR_WARN_C)

    @staticmethod
    def _service(in_service: float) -> Observation:
        if in_service >= 0.5:
            return quiet("out_of_service", "in_service", in_service)
        return Observation(
            "out_of_service",
            True,
            Severity.WARNING,
            "the controller reports the car out of normal service",
            metric="in_service",
            value=0.0,
        )


def _held_share(state: ElevatorState) -> float:
    """The share of this car's cycles that are long and come alone (passengers holding its door), learnt from its
    cycles with a prior of one in `DOOR_PRIOR_CYCLES`."""
    return (state.door_held + 1.0) / (state.door_alone + DOOR_PRIOR_CYCLES)


def _median(cycles: list[float]) -> float:
    """The middle of `cycles` (the upper middle of an even count); `cycles` is not empty."""
    return sorted(cycles)[len(cycles) // 2]


def _usual_cycle(state: ElevatorState) -> float | None:
    """This car's usual door cycle (the median of the cycles it learnt), once `DOOR_USUAL_WARMUP` are learnt."""
    return state.door_usual.get() if state.door_learnt >= DOOR_USUAL_WARMUP else None


def _learn_usual_cycle(state: ElevatorState, cycle: float) -> None:
    """Learn a new cycle into the usual, unless the last cycles' median is already well over it (a slowing door)."""
    usual = _usual_cycle(state)
    if usual is not None and _median(state.doors) > DOOR_NEAR_USUAL_RATIO * usual:
        return
    state.door_usual.update(cycle)
    state.door_learnt += 1


def _long_cycles_needed(state: ElevatorState) -> int:
    """The fewest long cycles among the last `DOOR_RECENT` that this car's passengers holding its door would bring
    together less than once in 1/`DOOR_FALSE_PER_CYCLE` cycles (`DOOR_RECENT` + 1 if none would)."""
    held = _held_share(state)
    for k in range(1, DOOR_RECENT + 1):
        if math.comb(DOOR_RECENT - 1, k - 1) * held**k <= DOOR_FALSE_PER_CYCLE:
            return k
    return DOOR_RECENT + 1


def _new_cycle(state: ElevatorState, cycle: float, event: str | None) -> bool:
    """Whether this reading reports a door cycle not counted yet. A `door_cycle` event is one; telemetry repeats the
    last cycle's duration every interval, so from a car that sends no events a changed value is a new cycle."""
    if event == "door_cycle":
        state.door_events = True
        return True
    if state.door_events or event is not None or cycle == state.door_last:
        return False
    state.door_last = cycle
    return True
