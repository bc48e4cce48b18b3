"""Water simulator: supply pressure, flow, break tank, booster pump and flood sensors, with a night-time minimum.

Demand follows the residential day (morning and evening peaks, a later morning at the weekend, a minimum of ~5 % of
peak between 01:00 and 05:00 — the "minimum night flow" a water utility watches for leaks). A device's role comes
from its id (see `simulators.faults.water_role`): a zone `supply`, a `booster` (pump and break tank), a site `main`
inlet, or a `leak` (flood) sensor that only reports wet/dry.
"""

from __future__ import annotations

from ingest.reading import Channel
from simulators.device import DeviceSim, Emission, Weekly, scaled
from simulators.faults import water_role

# Demand as a share of the peak hour, by local hour: on working days a sharp 07:00 peak before work and an evening
# one; at the weekend people rise later (the peak is at 09:00-10:00), stay home through the day and the night
# minimum holds (about 5 % of the peak between 02:00 and 05:00, as on working days).
DEMAND = (
    0.12, 0.07, 0.05, 0.05, 0.06, 0.15, 0.55, 1.0, 0.85, 0.5, 0.4, 0.5,
    0.6, 0.45, 0.35, 0.35, 0.4, 0.6, 0.85, 0.95, 0.8, 0.6, 0.4, 0.22,
)
DEMAND_WEEKEND = (
    0.15, 0.09, 0.06, 0.05, 0.05, 0.08, 0.22, 0.5, 0.85, 0.98, 0.9, 0.75,
    0.7, 0.6, 0.5, 0.5, 0.55, 0.7, 0.9, 0.97, 0.85, 0.65, 0.45, 0.26,
)
DEMANDS = Weekly(DEMAND, DEMAND_WEEKEND)
# role → (pressure at zero flow in kPa, peak flow in L/min, pressure lost at peak flow in kPa)
HYDRAULICS = {
    "supply": (330.0, 110.0, 45.0),  # municipal pressure straight to floors 1-12
    "booster": (530.0, 120.0, 60.0),  # pumped to floors 13-25
    "main": (380.0, 700.0, 50.0),  # the site inlet carries everything
    "leak": (0.0, 0.0, 0.0),
}
TANK_LITRES = 20000.0
REFILL_LPM = 600.0  # float valve refill rate; it opens at 60 % and closes at 95 %
PUMP_IDLE_CYCLE_S = (90.0, 360.0)  # at low demand the pump runs 90 s out of every 6 min on its pressure vessel
MAX_FLOW_LPM = 4990.0  # the meter saturates just under the contract's 5000 L/min
TEL, EVT = Channel.TELEMETRY, Channel.EVENT


class WaterSim(DeviceSim):
    """One water device: a pressure/flow meter, a booster set, or a flood sensor."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.role = water_role(self.device.id)
        if self.role == "leak":
            self.interval *= 12  # a flood sensor reports wet/dry once a minute, not every few seconds
        self.p0, self.peak, self.drop = HYDRAULICS[self.role]
        self.wander = 0.0  # slowly varying demand noise (AR(1)), so the flow does not look like white noise
        self.tank = self.rng.uniform(70.0, 95.0)
        self.refilling = False
        self.pump_on = True
        self.leak = False

    def fault_params(self, fault: str) -> dict[str, float]:
        r = self.rng
        return {"burst_x": r.uniform(4.0, 8.0), "pressure_x": r.uniform(0.35, 0.5), "level0": r.uniform(60, 90)}

    def step(self, t0: float, t1: float) -> list[Emission]:
        if self.role == "leak":
            return self._leak_sensor(t1)
        out: list[Emission] = []
        data = self._telemetry(t0, t1)
        if self.role == "booster" and data["pump_on"] != self.pump_on:
            self.pump_on = bool(data["pump_on"])
            out.append(Emission(t1 - 1e-3, EVT, "pump_start" if self.pump_on else "pump_stop",
                                {"pump_on": self.pump_on}))
        out.append(Emission(t1, TEL, None, data))
        return out

    def _leak_sensor(self, t: float) -> list[Emission]:
        wet = False
        if self.faults:
            wet = bool(self.active("pipe_burst", t))
            slow = self.active("slow_leak", t)
            wet = wet or bool(slow and slow.progress(t) > 0.7)
        out = []
        if wet and not self.leak:
            out.append(Emission(t - 1e-3, EVT, "leak_detected", {"leak": True}))
        self.leak = wet
        out.append(Emission(t, TEL, None, {"leak": wet}))
        return out

    def _telemetry(self, t0: float, t: float) -> dict:
        r = self.rng
        self.wander = 0.98 * self.wander + r.gauss(0.0, 0.02)
        share = max(self.usual(DEMANDS, t) * (1.0 + self.wander), 0.02)
        flow = self.peak * share * self.spread(0.93, 1.07)
        pressure_x, pump_ok = 1.0, True
        outage, cut, failed = False, 0.0, None
        if self.faults:
            burst = self.active("pipe_burst", t)
            if burst:
                s = burst.strength(t)  # extra flow and pressure loss both scale with the burst's size
                flow += self.peak * burst.params["burst_x"] * s
                pressure_x = max(scaled(burst.params["pressure_x"], 1.0, s), 0.05)
            leak = self.active("slow_leak", t)
            if leak:
                flow += 25.0 * leak.progress(t) * leak.amplitude
            supply = self.active("supply_outage", t)
            if supply:  # how far the supply has gone: 1 = cut, less while it fails gradually or when it only weakens
                cut = min(supply.strength(t), 1.0)
                outage = cut == 1.0
            failed = self.active("pump_failure", t)
            pump_ok = not failed or failed.variant == "no_delivery"
        data: dict = {}
        if self.role == "booster":
            self._tank(t0, t, flow)
            low = self.active("tank_low", t) if self.faults else None
            if low:
                self.tank = low.params["level0"] - (low.params["level0"] - 3.0) * low.progress(t)
                pump_ok = pump_ok and low.progress(t) < 0.8  # dry-run protection trips the pump
            running = pump_ok and not outage and (self._pump_demand(t, share) or bool(failed))
            pressure = self.p0 - self.drop * share * share if running else r.uniform(440, 470)
            if not pump_ok or failed:  # street pressure only: the top floors get a trickle
                pressure = scaled(r.uniform(90, 140), pressure, failed.strength(t) if failed else 1.0)
            current = (6.0 + 10.0 * min(flow / self.peak, 2.2)) if running else 0.0
            if failed and running:  # it runs without delivering: no head to push against, a little less current
                current *= r.uniform(0.75, 0.95)
            data.update(tank_level_pct=round(self.tank, 1), pump_on=running, pump_current_a=round(current, 1))
        else:
            pressure = self.p0 - self.drop * share * share
        pressure = pressure * pressure_x + self.measured(0.0, 3.0)
        if cut:  # down to a residual 0-20 kPa and a dribble, or part of the way while the supply fails
            pressure, flow = scaled(r.uniform(0.0, 20.0), pressure, cut), scaled(r.uniform(0.0, 1.0), flow, cut)
        data["pressure_kpa"] = round(max(pressure, 0.0), 1)
        data["flow_lpm"] = round(min(max(flow, 0.0), MAX_FLOW_LPM), 1)
        return data

    def _pump_demand(self, t: float, share: float) -> bool:
        if share > 0.1:
            return True
        run, cycle = PUMP_IDLE_CYCLE_S
        return (t % cycle) < run

    def _tank(self, t0: float, t: float, flow: float) -> None:
        minutes = (t - t0) / 60.0
        if self.tank < 60.0:
            self.refilling = True
        elif self.tank > 95.0:
            self.refilling = False
        inflow = REFILL_LPM if self.refilling else 0.0
        self.tank = min(max(self.tank + (inflow - flow) * minutes / TANK_LITRES * 100.0, 0.0), 100.0)
