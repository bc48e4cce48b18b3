"""A burst is sudden: flow jumps and pressure sags together, within a reading or two, and stays so.

Demand moves over tens of minutes (a morning ramp) and a pump changeover moves the pressure alone; a pipe giving way
moves both at once. `FlowStep` keeps a quick reference of flow and pressure (exponentially weighted over
`QUICK_S`, by reading time) and notes a step when a reading's flow is above it by `STEP_FLOW` × the device's usual
flow while its pressure is `STEP_SAG` under it. The step stands while the flow stays at least half the jump above
the reference of before; after `HOLD_S` of that it is a burst, even one too small to sag the pressure to three
quarters of its usual (the rule for large bursts) — a mild burst at night runs the riser dry as surely, only
slower. While a step stands the reference is frozen, so the burst never becomes the reference; when the flow falls
back the step ends and the reference resumes.

>>> s = FlowStep()
>>> for k in range(60):  # ten minutes of night flow at 8 L/min and 330 kPa, a reading every 10 s
...     _ = s.update(10.0 * k, 8.0 + k % 3, 330.0 + k % 2, usual_flow=40.0)
>>> [s.update(600.0 + 10.0 * k, 70.0, 280.0, usual_flow=40.0) for k in range(8)]  # a burst: +60 L/min, -15 %
[False, False, False, False, False, False, True, True]
>>> s.update(680.0, 9.0, 330.0, usual_flow=40.0)  # flow back to normal: the step is over
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass

QUICK_S = 120.0  # memory of the quick reference
STEP_FLOW = 1.0  # a jump of at least the device's usual (all-day average) flow ...
STEP_SAG = 0.07  # ... with the pressure at least 7 % down (readings carry ~1 % noise), at once
HOLD_S = 60.0  # standing this long it is a burst
MIN_FLOW_LPM = 1.0  # the jump is never judged against a usual flow under this


@dataclass(slots=True)
class FlowStep:
    flow: float | None = None  # the quick reference
    pressure: float | None = None
    t: float | None = None  # reading time of the last update
    since: float | None = None  # when the standing step began; None: no step
    before: float = 0.0  # the reference flow before it
    jump: float = 0.0  # how far above `before` the flow went

    def update(self, t: float, flow: float, pressure: float | None, usual_flow: float | None) -> bool:
        """Judge one reading; True while a step has stood for `HOLD_S` or longer."""
        if self.since is not None:
            if flow >= self.before + 0.5 * self.jump:
                self.t = t
                return t - self.since >= HOLD_S
            self.since = None  # the flow fell back: no burst, or it is over; the reference resumes from here
        if self.flow is None or self.pressure is None or pressure is None or usual_flow is None:
            self._learn(t, flow, pressure)
            return False
        jump = flow - self.flow
        if jump >= STEP_FLOW * max(usual_flow, MIN_FLOW_LPM) and pressure <= (1.0 - STEP_SAG) * self.pressure:
            self.since, self.before, self.jump, self.t = t, self.flow, jump, t
            return HOLD_S <= 0.0
        self._learn(t, flow, pressure)
        return False

    def _learn(self, t: float, flow: float, pressure: float | None) -> None:
        a = 1.0 if self.t is None or self.flow is None else 1.0 - math.exp(-max(t - self.t, 0.0) / QUICK_S)
        self.flow = flow if self.flow is None else self.flow + a * (flow - self.flow)
        if pressure is not None:
            self.pressure = pressure if self.pressure is None else self.pressure + a * (pressure - self.pressure)
        self.t = t

    @property
    def standing(self) -> bool:
        return self.since is not None
