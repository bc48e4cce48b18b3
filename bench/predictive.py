"""river's seasonal forecast as a detector, beside our learned normal, for `bench.detectors`' simulator comparison.

`Predictive` is river's candidate for the live path's "usual value by hour" (`detectors.learned`): per device and per
metric the learned normal watches (`detectors.learned.WATCHED`: a water feed's flow, pressure and pump current, a
car's motor current, motor temperature and door cycle time), readings are averaged over 15-minute bins (as a
forecaster of demand by hour would be fed; readings come every 5-60 s), and each closed bin is judged by river's
`anomaly.PredictiveAnomalyDetection` around `time_series.SNARIMAX` with a daily season (96 bins, seasonal
difference, AR(2) on the differences, a standard-scaled linear regressor as in river's own example), thresholded by
river's `anomaly.QuantileFilter`. A bin the filter calls anomalous is learnt as its forecast (the season stays
aligned, the fault is not learnt); a bin no reading fell in is learnt as its forecast too, unjudged. Nothing is
judged before two days of learning (the learned normal's own warm-up), and an alarm needs `persist` anomalous bins
in a row on one metric (an hour); the episode ends at the first bin normal on every metric. It names no fault, so it
is scored as the baselines are.

Chosen on the simulator's tuning split only (seed 1, `--quick` runs): `persist` 1 / 2 / 4 bins gave 61.5 / 17.9 /
2.6 false alarms per 100 device-days; `q` changed nothing from 0.99 to 0.999, because PredictiveAnomalyDetection's
score saturates at 1.0 whenever the squared error passes its own mean + `n_std` spreads, so the filter's quantile
sits at 1.0 and it flags exactly those bins.

`LearnedNormal` is ours alone, for the like-for-like column: `detectors.learned.observe` through the same hysteresis
(`detectors.hysteresis.Track`, `learned.POLICIES`) the engine gives it, with nothing frozen (no rule runs beside it),
scored as naming no fault either (its `unusual_behaviour` is no label's name).

Both time every 16th reading for the cost figure (µs per reading, as `bench.detector_play.Engine` does).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from time import perf_counter_ns

from river import anomaly, linear_model, optim, preprocessing, time_series

from bench.detector_play import Detector
from detectors import learned
from detectors.alarm import AlarmState
from detectors.hysteresis import Track
from ingest.reading import Reading


@dataclass(frozen=True, slots=True)
class PredictiveParams:
    """The candidate's values (a bench candidate, not shipped): chosen before any run, checked on the simulator's
    tuning split only (docs/detectors.md, "river beside ours")."""

    bin_s: float = 900.0  # readings are averaged over 15 minutes before the forecaster sees them
    season: int = 96  # bins per day: the daily season of demand, pressure and traffic
    p: int = 2  # AR order on the seasonally differenced bins
    sgd_lr: float = 0.005  # river's own PredictiveAnomalyDetection example
    n_std: float = 3.0  # PredictiveAnomalyDetection's dynamic threshold (its default)
    q: float = 0.999  # QuantileFilter: a bin scoring at or above this quantile of the scores so far is anomalous
    warmup_s: float = 2 * 86400.0  # nothing judged before two days (the learned normal's warm-up)
    persist: int = 4  # anomalous bins in a row on one metric before an alarm (an hour; tuning split: see docs)


P = PredictiveParams()


def forecaster(params: PredictiveParams = P) -> anomaly.QuantileFilter:
    """One metric's model: SNARIMAX inside PredictiveAnomalyDetection inside QuantileFilter."""
    model = time_series.SNARIMAX(
        p=params.p, d=0, q=0, m=params.season, sp=0, sd=1, sq=0,
        regressor=preprocessing.StandardScaler() | linear_model.LinearRegression(
            optimizer=optim.SGD(params.sgd_lr), intercept_lr=0.0),
    )
    pad = anomaly.PredictiveAnomalyDetection(model, horizon=1, n_std=params.n_std, warmup_period=params.season)
    return anomaly.QuantileFilter(pad, q=params.q, protect_anomaly_detector=False)


@dataclass(slots=True)
class MetricForecast:
    model: anomaly.QuantileFilter
    bin: int | None = None  # index of the bin being filled
    total: float = 0.0
    count: int = 0
    run: int = 0  # anomalous bins in a row


@dataclass(slots=True)
class DeviceForecast:
    metrics: dict[str, MetricForecast] = field(default_factory=dict)
    first_t: float | None = None
    alarmed: bool = False


class _Timed(Detector):
    """A detector naming no fault that times every 16th reading (`us`, as the engine's column does)."""

    names_faults = False

    def __init__(self) -> None:
        self.us: list[float] = []
        self.n = 0

    def reading(self, reading: Reading) -> Iterable[tuple[str, str | None, float]]:
        self.n += 1
        if self.n % 16:
            return self._reading(reading)
        start = perf_counter_ns()
        out = self._reading(reading)
        self.us.append((perf_counter_ns() - start) / 1000.0)
        return out

    def _reading(self, reading: Reading) -> list[tuple[str, str | None, float]]:
        raise NotImplementedError


class Predictive(_Timed):
    """river's PredictiveAnomalyDetection(SNARIMAX, daily season) + QuantileFilter per device and watched metric."""

    def __init__(self, params: PredictiveParams = P) -> None:
        super().__init__()
        self.params = params
        self.devices: dict[str, DeviceForecast] = {}

    def _reading(self, reading: Reading) -> list[tuple[str, str | None, float]]:
        watched = learned.WATCHED.get(reading.kind, ())
        if not watched:
            return []
        state = self.devices.get(reading.device_id)
        if state is None:
            state = self.devices[reading.device_id] = DeviceForecast({m: MetricForecast(forecaster(self.params))
                                                                      for m in watched})
        t = reading.ts.timestamp()
        if state.first_t is None:
            state.first_t = t
        b = int(t // self.params.bin_s)
        closed = False
        for metric, mf in state.metrics.items():
            value = reading.values.get(metric)
            if value is None or isinstance(value, bool) or not math.isfinite(value):
                continue
            if mf.bin is not None and b > mf.bin:
                self._close(mf, b, judging=t - state.first_t >= self.params.warmup_s)
                closed = True
            if mf.bin is None or b > mf.bin:
                mf.bin, mf.total, mf.count = b, 0.0, 0
            mf.total += value
            mf.count += 1
        if not closed:
            return []
        anomalous = any(mf.run >= self.params.persist for mf in state.metrics.values())
        if anomalous and not state.alarmed:
            state.alarmed = True
            return [(reading.device_id, None, t)]
        if not any(mf.run for mf in state.metrics.values()):
            state.alarmed = False
        return []

    def _close(self, mf: MetricForecast, new_bin: int, judging: bool) -> None:
        """Judge the bin just filled, learn it, and learn any empty bins up to `new_bin` as their forecasts."""
        assert mf.bin is not None
        model = mf.model
        pad: anomaly.PredictiveAnomalyDetection = model.anomaly_detector  # type: ignore[assignment]
        snarimax: time_series.SNARIMAX = pad.predictive_model  # type: ignore[assignment]
        y = mf.total / mf.count
        forecast = snarimax.forecast(1)[0]
        score = model.score_one(None, y)
        flagged = judging and model.classify(score)
        if pad.iter >= pad.warmup_period:
            model.quantile.update(score)
        pad.learn_one(None, forecast if flagged else y)  # a forecaster needs no x
        mf.run = mf.run + 1 if flagged else 0
        for _ in range(min(new_bin - mf.bin - 1, self.params.season)):  # silent bins keep the season aligned
            pad.learn_one(None, snarimax.forecast(1)[0])


class LearnedNormal(_Timed):
    """Our learned normal alone (`detectors.learned`), through the engine's hysteresis, naming no label's fault."""

    def __init__(self) -> None:
        super().__init__()
        self.states: dict[str, tuple[learned.LearnedState, Track]] = {}

    def _reading(self, reading: Reading) -> list[tuple[str, str | None, float]]:
        if not learned.WATCHED.get(reading.kind):
            return []
        held = self.states.get(reading.device_id)
        if held is None:  # not `setdefault`: its default would build a whole new state for every reading, timed
            held = self.states[reading.device_id] = (learned.new_state(reading.kind), Track())
        state, track = held
        obs = learned.observe(state, reading.values, reading.ts, frozenset())
        t = reading.ts.timestamp()
        transition = track.update(obs, t, learned.POLICIES[learned.FAULT])
        if transition is not None and transition.state is AlarmState.RAISED:
            return [(reading.device_id, None, t)]
        return []
