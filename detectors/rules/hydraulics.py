"""The pressure a water device usually has at the flow it is carrying now.

A supply's pressure falls with the square of the flow it carries (friction loss: p ≈ static head − k·flow²), so
a demand peak takes some of it away and a failing supply takes it away with no demand behind it. `PressureCurve`
learns that line per device — exponentially weighted least squares of pressure on flow², five floats — and
`expected(flow)` says what the pressure should be now. A supply that weakens shows as pressure far under its own
curve while the flow is ordinary or falling; a busy morning does not, because its lower pressure is what the
curve expects at that flow.

Only pressures near the curve (at least `near` × the expected) are learnt, so a supply failing over half an hour
does not teach the curve its decline before it crosses the alarm line — the guard a draining tank's usual level has.

Until the flow has varied enough to see the slope (or if what it learnt slopes the wrong way) the curve is flat:
the usual pressure whatever the flow, as the rule used before there was a curve. The slope is never negative, so
at a flow above anything learnt the expected pressure only falls: a burst is judged by its own rule, not by this.

>>> curve = PressureCurve(alpha=0.01)
>>> for i in range(600):  # a day of demand: 10 to 110 L/min, 330 kPa static head, 45 kPa lost at 110 L/min
...     q = 10.0 + 100.0 * (i % 50) / 49
...     curve.learn(q, 330.0 - 45.0 * (q / 110.0) ** 2)
>>> round(curve.expected(110.0)), round(curve.expected(10.0))
(285, 330)
>>> for i in range(300):  # a supply failing slowly: nothing under 85 % of the curve is learnt
...     curve.learn(60.0, 200.0)
>>> round(curve.expected(10.0))
330
>>> PressureCurve().expected(50.0) is None  # nothing learnt yet
True
"""

from __future__ import annotations

from dataclasses import dataclass

# Flow² varying less than this share of its mean square (a flow steady within ~±10 %) cannot show a slope.
MIN_RELATIVE_VARIANCE = 0.01


@dataclass(slots=True)
class PressureCurve:
    """EW least squares of pressure on flow²: the device's own static head and friction loss."""

    alpha: float = 0.002  # memory ~500 readings, as the water baselines
    warmup: int = 60  # readings before the curve is trusted
    near: float = 0.85  # pressures under this share of the expected are not learnt
    n: int = 0
    mx: float = 0.0  # EW mean of flow²
    my: float = 0.0  # EW mean of pressure
    mxx: float = 0.0
    mxy: float = 0.0

    def learn(self, flow: float, pressure: float) -> None:
        """Learn one reading, unless its pressure is well under what the curve expects at its flow."""
        expected = self.expected(flow)
        if expected is not None and pressure < self.near * expected:
            return
        self.n += 1
        a = max(self.alpha, 1.0 / self.n)  # plain average at first, as `EWDeviation`
        x = flow * flow
        self.mx += a * (x - self.mx)
        self.my += a * (pressure - self.my)
        self.mxx += a * (x * x - self.mxx)
        self.mxy += a * (x * pressure - self.mxy)

    def slope(self) -> float:
        """kPa lost per (L/min)² of flow; 0 while the flow has not varied enough to tell."""
        var = self.mxx - self.mx * self.mx
        if var <= MIN_RELATIVE_VARIANCE * self.mxx or var <= 0.0:
            return 0.0
        return max(-(self.mxy - self.mx * self.my) / var, 0.0)

    def expected(self, flow: float | None) -> float | None:
        """The usual pressure at `flow` (the usual pressure if `flow` is unknown); None before `warmup`."""
        if self.n < self.warmup:
            return None
        b = self.slope()
        if flow is None or b == 0.0:
            return self.my
        return self.my + b * (self.mx - flow * flow)
