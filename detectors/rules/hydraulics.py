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

import math
from dataclasses import dataclass, field

from river import drift, stats

# Flow² varying less than this share of its mean square (a flow steady within ~±10 %) cannot show a slope.
MIN_RELATIVE_VARIANCE = 0.01

NEAR_SHARE = 0.85  # a pressure under this share of the curve's expected is not learnt (by the curve or the slide)


@dataclass(slots=True)
class PressureCurve:
    """EW least squares of pressure on flow²: the device's own static head and friction loss."""

    alpha: float = 0.002  # memory ~500 readings, as the water baselines
    warmup: int = 60  # readings before the curve is trusted
    near: float = NEAR_SHARE  # pressures under this share of the expected are not learnt
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

    def within(self, flow: float) -> bool:
        """Whether `flow` is no higher than the flows learnt (flow² within two spreads over their mean): above them
        the curve is a guess, and a sag there is the demand's or a burst's, not the supply's."""
        x = flow * flow
        return x <= self.mx + 2.0 * math.sqrt(max(self.mxx - self.mx * self.mx, 0.0))

    def expected(self, flow: float | None) -> float | None:
        """The usual pressure at `flow` (the usual pressure if `flow` is unknown); None before `warmup`."""
        if self.n < self.warmup:
            return None
        b = self.slope()
        if flow is None or b == 0.0:
            return self.my
        return self.my + b * (self.mx - flow * flow)


# A supply failing over tens of minutes slides under its curve a little more each reading; each reading alone is
# within what the rule's 70 % line tolerates until a third of the way in. Page-Hinkley (river's `drift.PageHinkley`,
# one-sided, "down") on the pressure's share of the curve, in units of this device's own spread of that share,
# sees the slide once it has fallen further than its noise ever does for several readings in a row: `delta` is the
# part of each reading's drop that is noise (3 spreads), `threshold` the drop beyond it that must add up (30 spreads,
# e.g. ten readings 6 spreads under, or five 9 under). The slide counts as a failing supply only once the pressure is
# also under `SLIDE_RATIO` of the curve (a tenth down: not a meter's noise, not a booster idling on its vessel) and
# has stayed under it `SLIDE_HOLD_S` (a dip of a minute, a changeover upstream, is over by then; the test counts
# readings, the hold counts time, so a meter reporting every second is not more trigger-happy than one every 30 s),
# and stands until the pressure is back over `SLIDE_CLEAR_RATIO`.
SLIDE_RATIO = 0.9
SLIDE_CLEAR_RATIO = 0.95
SLIDE_HOLD_S = 60.0
SLIDE_DELTA = 3.0
SLIDE_THRESHOLD = 30.0
SLIDE_CLIP = 10.0  # one wild reading counts as ten spreads at most
SLIDE_MIN_SPREAD = 0.01  # a spread under 1 % of the pressure is a meter's resolution, not the supply's steadiness


def _page_hinkley() -> drift.PageHinkley:
    return drift.PageHinkley(min_instances=30, delta=SLIDE_DELTA, threshold=SLIDE_THRESHOLD, mode="down")


@dataclass(slots=True)
class Slide:
    """Whether the pressure is sliding under its curve (`PressureCurve`) faster than this device's noise explains.

    >>> import random
    >>> rng, slide = random.Random(1), Slide()
    >>> [slide.update(1.0 + rng.gauss(0.0, 0.01), 30.0 * k, learn=True) for k in range(600)].count(True)  # steady
    0
    >>> failing = [1.0 - 0.45 * k / 150 + rng.gauss(0.0, 0.01) for k in range(150)]  # 55 % down in 150 readings
    >>> first = [slide.update(share, 18000.0 + 30.0 * k, learn=True) for k, share in enumerate(failing)].index(True)
    >>> first, round(failing[first], 2)  # a tenth down and a minute on, not at the 70 % line (k=100)
    (36, 0.89)
    >>> slide.update(0.97, 22560.0, learn=True)  # back over 95 % of the curve: the slide is over
    False
    """

    spread: stats.EWVar = field(default_factory=lambda: stats.EWVar(fading_factor=0.002))  # of the share
    detector: drift.PageHinkley = field(default_factory=_page_hinkley)
    sliding: bool = False
    under_since: float | None = None  # when the pressure went under `SLIDE_RATIO` during the slide

    def update(self, share: float, t: float, learn: bool) -> bool:
        """One reading (at `t`, seconds) of the pressure as a share of the curve's expected pressure; True while a
        slide stands under `SLIDE_RATIO` for `SLIDE_HOLD_S`. `learn`: the reading may teach the spread (a steady,
        unalarmed reading near the curve)."""
        if self.sliding:
            if share >= SLIDE_CLEAR_RATIO:
                self.sliding, self.detector, self.under_since = False, _page_hinkley(), None
            return self._held(share, t)
        sd = max(self.spread.get() ** 0.5, SLIDE_MIN_SPREAD)
        self.detector.update(max(min((share - 1.0) / sd, SLIDE_CLIP), -SLIDE_CLIP))  # type: ignore[no-untyped-call]  # river's drift detectors carry no annotations
        if learn and share >= NEAR_SHARE:  # the spread is learnt from the readings the curve itself learns
            self.spread.update(share)
        if self.detector.drift_detected:
            self.sliding = True
        return self._held(share, t)

    def _held(self, share: float, t: float) -> bool:
        if not self.sliding or share >= SLIDE_RATIO:
            self.under_since = None
            return False
        if self.under_since is None:
            self.under_since = t
        return t - self.under_since >= SLIDE_HOLD_S
