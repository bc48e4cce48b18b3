"""Water supply rules: supply outage, pipe burst, slow leak, pump failure, tank low.

Pressure and flow are physical quantities with plain limits, so the acute faults are rules. Baselines
(usual pressure, usual flow, usual pump current, the night-time minimum flow) are per-device statistics
that learn only while the device is not alarmed, so a fault never becomes the new normal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from detectors.alarm import Severity
from detectors.hysteresis import Observation, Policy, quiet
from detectors.models.ew_deviation import MAD_TO_STD, EWDeviation
from detectors.rules.flow_step import FlowStep
from detectors.rules.hydraulics import PressureCurve, Slide
from ingest.reading import Reading

# Residential supply runs at 150–600 kPa; below ~80 kPa upper floors get no water at all, so a reading under
# the floor is an outage as residents experience it. Clearing needs 100 kPa so a pressure hovering at the
# floor does not flap.
PRESSURE_FLOOR_KPA = 80.0
PRESSURE_RESTORED_KPA = 100.0
# A supply can also fail part-way — a main valve half shut, a booster running without delivering, a supply failing
# over half an hour — and taps run weak long before the floor: under 70 % of the pressure this device usually has
# at the flow it carries now (`hydraulics.PressureCurve`, after its warm-up), with no burst and no stopped pump to
# explain it, is an outage too. A demand peak's lower pressure is what the curve expects at its flow, so the
# margin only has to cover noise and a booster's pump cycling (its pressure vessel holds ~85 % of the running
# pressure); a supply failing over half an hour crosses it a third of the way in, not halfway as against the
# plain usual pressure. It clears at 80 % of the expected pressure.
WEAK_SUPPLY_RATIO = 0.7
WEAK_RESTORED_RATIO = 0.8
# Before it is weak, a supply failing gradually is already sliding under its curve, reading after reading
# (`hydraulics.Slide`); it is judged only at flows the curve has learnt (`PressureCurve.within`).
# A burst: flow well above anything usual (robust z > 6 and at least double the usual flow) while the
# pressure sags below 75% of its usual value.
BURST_FLOW_Z = 6.0
BURST_FLOW_RATIO = 2.0
BURST_PRESSURE_RATIO = 0.75
BASELINE_WARMUP = 60  # readings before flow/pressure baselines are trusted
HOUR_SEEN_READINGS = 60  # readings learnt in an hour of the day before a surge in that hour is not learnt
# Night minimum flow: residents sleep 01:00–05:00, so the lowest flow then is leakage plus a trickle.
NIGHT_HOURS = range(1, 5)
NIGHTS_KEPT = 7
LEAK_MARGIN_LPM = 0.5  # below the meter's resolution for household meters
LEAK_MARGIN_RATIO = 0.3
TANK_LOW_PCT = 20.0
TANK_CRITICAL_PCT = 10.0
TANK_RESTORED_PCT = 30.0
# A break tank cycles between its refill and full marks; one well under its own usual level and still falling is
# not being refilled, long before it is empty: below 0.6× its usual level, or three usual deviations under it if
# the tank normally swings more than that, it is reported low (cleared 10 points of its usual level higher). The
# usual level is learnt slowly (memory ~2,000 readings) and only from levels inside its band, so hours of draining
# never become usual.
TANK_DROP_RATIO = 0.6
TANK_DROP_SIGMAS = 3.0
TANK_WARMUP = 60  # readings before a tank's usual level is trusted
TANK_LEARN_SIGMAS = 2.0  # levels further under the usual than this are not learnt (a tank draining is not usual)
PUMP_CURRENT_RATIO = 0.3  # a running pump drawing under 30% of its usual current is dry-running or broken
# A booster delivers ~450-550 kPa; with the pump stopped only street pressure (~100-150 kPa) is left, and a pump
# failing part-way leaves something between. Under 70 % of the pressure expected at this flow (but above the outage
# floor) while the pump is off is a pump that should run and does not; an idle pump's pressure vessel keeps ~85 %.
PUMP_PRESSURE_RATIO = 0.7


@dataclass(slots=True)
class WaterState:
    """Per-device water baselines."""

    pressure_low: bool = False
    tank_low: bool = False
    baseline: EWDeviation = field(default_factory=lambda: EWDeviation(alpha=0.002))
    curve: PressureCurve = field(default_factory=lambda: PressureCurve(alpha=0.002, warmup=BASELINE_WARMUP))
    step: FlowStep = field(default_factory=FlowStep)  # a sudden jump of flow with a sag: a burst however small
    slide: Slide = field(default_factory=Slide)  # the pressure sliding under its curve: a supply failing gradually
    hours_seen: list[int] = field(default_factory=lambda: [0] * 24)  # readings learnt per hour of the day
    pump_current: float | None = None
    night_min: float | None = None  # lowest flow so far in the current night window
    night_day: int = -1
    nights: list[float] = field(default_factory=list)  # recent nightly minima, oldest first
    leak: float | None = None  # tonight's minimum that exceeded the reference, while a leak is suspected
    tank: EWDeviation = field(default_factory=lambda: EWDeviation(alpha=0.0005))  # the tank's usual level


class WaterRules:
    """Rules for `DeviceKind.WATER` devices."""

    name = "water_rules"
    policies: dict[str, Policy] = {
        # 10 s of reading time below the floor: long enough to ignore a pump changeover, short enough for
        # the 60 s target for acute faults.
        "supply_outage": Policy(raise_after_s=10.0, clear_after_s=30.0, cooldown_s=60.0),
        "pipe_burst": Policy(raise_after_s=5.0, clear_after_s=60.0, cooldown_s=300.0),
        "slow_leak": Policy(raise_after_s=0.0, clear_after_s=0.0, cooldown_s=3600.0),
        "pump_failure": Policy(raise_after_s=30.0, clear_after_s=60.0, cooldown_s=300.0),
        "tank_low": Policy(raise_after_s=60.0, clear_after_s=60.0, cooldown_s=600.0),
    }

    def new_state(self) -> WaterState:
        return WaterState()

    def observe(self, state: WaterState, reading: Reading, t: float, learning: bool) -> list[Observation]:
        v = reading.values
        out: list[Observation] = []
        pressure, flow = v.get("pressure_kpa"), v.get("flow_lpm")
        pump: Observation | None = None
        # Flow far above the usual — a burst, detected or not — is no time to learn a pump's usual current, a tank's
        # usual level or the night's minimum flow: a current learnt during two hours of a burst that never sagged the
        # pressure enough to be called one made every ordinary current afterwards look like a broken pump (residents
        # warned of a pump failure every 12 minutes) — nor the usual flow itself, which learning the surge raised
        # until the surge no longer looked like one. (A lasting doubling of demand therefore stays a surge; it
        # raises nothing on its own, a burst needs a pressure sag or a wet floor too.) Except at an hour of the day
        # the usual flow has never learnt: a device first seen at night would take its whole morning for a surge and
        # never learn its day (the usual flow and the pressure-flow curve frozen at night, every morning peak "far
        # above the usual"), so at an hour not yet seen the usual flow and the curve learn through a surge; the
        # pump, tank and night still do not.
        surge = flow is not None and self._surge(state, flow)
        hour = reading.ts.hour
        unseen_hour = state.hours_seen[hour] < HOUR_SEEN_READINGS
        usual_flow = state.baseline.mean.get("flow_lpm") if state.baseline.n >= BASELINE_WARMUP else None
        stepped = flow is not None and state.step.update(t, flow, pressure, usual_flow)
        steady = learning and not surge and not state.step.standing
        if v.get("pump_on") is not None and "pump_current_a" in v:
            pump = self._pump(state, v, steady)
        elif v.get("pump_on") is not None and pressure is not None:
            pump = self._pump_pressure(state, v["pump_on"], pressure, flow)
        # A failed booster pump explains low pressure even at a high-demand hour: that is not a burst.
        pump_failed = pump is not None and pump.active
        burst = self._burst(state, pressure, None if pump_failed else flow, v.get("leak", 0.0), surge, stepped)
        out.append(burst)
        if pressure is not None:
            # A booster idling on its pressure vessel is not its supply sliding: judged only while the pump runs.
            # Nor is a sag that comes with more flow than this device usually carries: that is demand (the curve's
            # to judge, and it may not have seen such a flow yet) or a burst. A failing supply delivers less.
            usual, idle = state.curve.expected(flow), v.get("pump_on", 1.0) < 0.5
            busy = flow is not None and not state.curve.within(flow)
            sliding = (usual is not None and usual > 0.0 and not idle and not busy
                       and state.slide.update(pressure / usual, t, steady))
            out.append(self._outage(state, pressure, flow, usual, burst.active or pump_failed, sliding))
        if flow is not None:
            out.append(self._night_flow(state, reading.ts, flow, steady))
        if pump is not None:
            out.append(pump)
        if "tank_level_pct" in v:
            out.append(self._tank(state, v["tank_level_pct"], steady))
        if (steady or (learning and unseen_hour and not state.step.standing)) and not burst.active:
            state.hours_seen[hour] = min(state.hours_seen[hour] + 1, HOUR_SEEN_READINGS)
            state.baseline.learn_one({k: v[k] for k in ("pressure_kpa", "flow_lpm") if k in v})
            if pressure is not None and flow is not None and not state.slide.sliding:
                # Only pressures near the curve, and none while it slides: a failing supply is not learnt.
                state.curve.learn(flow, pressure)
        return out

    def on_tick(self, state: WaterState, now: float) -> list[Observation]:
        return []

    @staticmethod
    def _outage(state: WaterState, pressure: float, flow: float | None, usual: float | None, explained: bool,
                sliding: bool) -> Observation:
        """Below the floor (no water upstairs), well under the pressure usual at this flow (weak taps), or sliding
        under it reading after reading (`sliding`, a supply failing gradually, `hydraulics.Slide`); `explained`: a
        burst or a stopped booster pump accounts for the low pressure, and is its own fault. `usual`: the curve's
        expected pressure at `flow`."""
        floor = PRESSURE_RESTORED_KPA if state.pressure_low else PRESSURE_FLOOR_KPA
        weak_ratio = WEAK_RESTORED_RATIO if state.pressure_low else WEAK_SUPPLY_RATIO
        weak = usual is not None and pressure < weak_ratio * usual
        state.pressure_low = pressure < floor or weak or sliding
        if not state.pressure_low or explained:
            return quiet("supply_outage", "pressure_kpa", pressure, usual)
        if pressure < floor:
            return Observation("supply_outage", True, Severity.CRITICAL,
                               f"supply pressure {pressure:.0f} kPa, below the {PRESSURE_FLOOR_KPA:.0f} kPa floor",
                               metric="pressure_kpa", value=pressure, baseline=PRESSURE_FLOOR_KPA)
        assert usual is not None
        why = (": taps run weak (a supply failing part-way, or a pump running without delivering)" if weak else
               ", and falling reading after reading more than this supply ever varies: a supply failing gradually,"
               " taps will run weak")
        return Observation("supply_outage", True, Severity.CRITICAL,
                           f"supply pressure {pressure:.0f} kPa, {pressure / usual:.0%} of the {usual:.0f} kPa usual at"
                           f" {flow or 0:.0f} L/min{why}",
                           metric="pressure_kpa", value=pressure, baseline=usual, learned=True)

    @staticmethod
    def _surge(state: WaterState, flow: float) -> bool:
        """Flow far above this device's usual: robust z over `BURST_FLOW_Z` and over `BURST_FLOW_RATIO`× the usual."""
        base = state.baseline
        if base.n < BASELINE_WARMUP or "flow_lpm" not in base.mean:
            return False
        usual = base.mean["flow_lpm"]
        return base.deviation("flow_lpm", flow) > BURST_FLOW_Z and flow > BURST_FLOW_RATIO * max(usual, 1.0)

    @staticmethod
    def _burst(state: WaterState, pressure: float | None, flow: float | None, wet: float, surge: bool,
               stepped: bool) -> Observation:
        """Flow far above the usual (`surge`) with the pressure sagging or the floor wet, or a sudden jump of flow
        with a sag that has stood a minute (`stepped`, `flow_step.FlowStep`)."""
        base = state.baseline
        if flow is None or base.n < BASELINE_WARMUP or "flow_lpm" not in base.mean:
            return Observation("pipe_burst", False)
        usual_flow, usual_p = base.mean["flow_lpm"], base.mean.get("pressure_kpa")
        sag = pressure is not None and usual_p is not None and pressure < BURST_PRESSURE_RATIO * usual_p
        if not (surge and (sag or wet >= 0.5)) and not stepped:
            return quiet("pipe_burst", "flow_lpm", flow)
        if surge and sag:
            why = f"pressure {pressure:.0f} kPa against a usual {usual_p:.0f}"
        elif surge and wet >= 0.5:
            why = "the flood sensor is wet"
        else:
            why = f"it jumped from {state.step.before:.0f} L/min at once as the pressure fell, and has stayed up"
        return Observation(
            "pipe_burst",
            True,
            Severity.CRITICAL,
            f"flow {flow:.0f} L/min, {flow / max(usual_flow, 1.0):.1f}× the usual"
            f" {usual_flow:.0f}, and {why}",
            metric="flow_lpm",
            value=flow,
            baseline=usual_flow,
        )

    @staticmethod
    def _night_flow(state: WaterState, ts: datetime, flow: float, learning: bool) -> Observation:
        if ts.hour in NIGHT_HOURS:
            day = ts.toordinal()
            if day != state.night_day:
                state.night_day, state.night_min = day, flow
            state.night_min = min(state.night_min if state.night_min is not None else flow, flow)
        elif state.night_min is not None:
            _close_night(state, state.night_min, learning)
            state.night_min = None
        if state.leak is None:
            return quiet("slow_leak", "night_min_flow_lpm")
        ref = _night_reference(state)
        return Observation(
            "slow_leak",
            True,
            Severity.WARNING,
            f"night-time minimum flow {state.leak:.1f} L/min against a usual {ref:.1f} L/min (01:00–05:00)",
            metric="night_min_flow_lpm",
            value=state.leak,
            baseline=ref,
        )

    @staticmethod
    def _pump_pressure(state: WaterState, pump_on: float, pressure: float, flow: float | None) -> Observation:
        """The pump is off and the pressure it should keep up has fallen toward street level."""
        usual = state.curve.expected(flow)
        if pump_on >= 0.5 or usual is None or not PRESSURE_FLOOR_KPA <= pressure < PUMP_PRESSURE_RATIO * usual:
            return quiet("pump_failure", "pressure_kpa", pressure, usual)
        return Observation(
            "pump_failure",
            True,
            Severity.CRITICAL,
            f"booster pump stopped and pressure down to {pressure:.0f} kPa against a usual {usual:.0f} kPa:"
            " upper floors get a trickle",
            metric="pressure_kpa",
            value=pressure,
            baseline=usual,
        )

    @staticmethod
    def _pump(state: WaterState, v: Mapping[str, float], learning: bool) -> Observation:
        current = v["pump_current_a"]
        if v["pump_on"] < 0.5:
            return WaterRules._pump_pressure(state, v["pump_on"], v.get("pressure_kpa", PRESSURE_FLOOR_KPA * 10),
                                             v.get("flow_lpm"))
        usual = state.pump_current
        if usual is None or (learning and current >= PUMP_CURRENT_RATIO * usual):
            state.pump_current = current if usual is None else usual + 0.01 * (current - usual)
            return quiet("pump_failure", "pump_current_a", current)
        if current >= PUMP_CURRENT_RATIO * usual:
            return quiet("pump_failure", "pump_current_a", current)
        return Observation(
            "pump_failure",
            True,
            Severity.CRITICAL,
            f"pump switched on but drawing {current:.1f} A against a usual {usual:.1f} A",
            metric="pump_current_a",
            value=current,
            baseline=usual,
        )

    @staticmethod
    def _tank(state: WaterState, level: float, learning: bool) -> Observation:
        fixed = level < (TANK_RESTORED_PCT if state.tank_low else TANK_LOW_PCT)
        usual = state.tank.mean.get("level") if state.tank.n >= TANK_WARMUP else None
        limit = None
        if usual is not None:
            spread = MAD_TO_STD * state.tank.mad["level"]
            limit = min(TANK_DROP_RATIO * usual, usual - TANK_DROP_SIGMAS * spread)
            if state.tank_low:
                limit += 0.1 * usual
        below_usual = limit is not None and level < limit
        state.tank_low = fixed or below_usual
        if not state.tank_low:
            # Learn only levels inside the tank's usual band: a tank draining for hours must not drag "usual" down.
            if learning and (usual is None or level >= usual - TANK_LEARN_SIGMAS * spread):  # no usual yet: no limit
                state.tank.learn_one({"level": level})
            return quiet("tank_low", "tank_level_pct", level, usual)
        severity = Severity.CRITICAL if level < TANK_CRITICAL_PCT else Severity.WARNING
        if fixed or usual is None:
            summary, baseline = f"tank at {level:.0f}% (alert below {TANK_LOW_PCT:.0f}%)", TANK_LOW_PCT
        else:
            summary, baseline = f"tank at {level:.0f}%, well under its usual {usual:.0f}%: not being refilled", usual
        return Observation("tank_low", True, severity, summary, metric="tank_level_pct", value=level,
                           baseline=baseline, learned=not fixed)


def _night_reference(state: WaterState) -> float:
    """The median of the kept nightly minima."""
    if not state.nights:
        return 0.0
    ordered = sorted(state.nights)
    return ordered[len(ordered) // 2]


def _close_night(state: WaterState, minimum: float, learning: bool) -> None:
    """A night window ended: judge its minimum flow against the reference and learn it if normal."""
    if len(state.nights) >= 2:
        ref = _night_reference(state)
        if minimum > ref + max(LEAK_MARGIN_LPM, LEAK_MARGIN_RATIO * ref):
            state.leak = minimum
            return
    state.leak = None
    if learning or len(state.nights) < 2:
        state.nights = (state.nights + [minimum])[-NIGHTS_KEPT:]
