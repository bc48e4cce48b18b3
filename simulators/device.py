"""What every simulated device shares: its clock, its random stream, its fault windows and the sensor faults.

A device simulator is an iterator of `Emission` tuples in time order. It knows nothing about MQTT, JSON or
sequence numbers; `simulators.generator` turns emissions into contract messages. Times are POSIX seconds (floats)
of the simulated clock, because a simulated day of an estate is about a million of them and datetimes are slow.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ingest.contract import SPEC_BY_NAME
from ingest.estate import Device
from ingest.reading import Channel
from simulators.faults import DEFAULT_SHAPE, SENSOR_METRIC, FaultShape, FaultWindow


class Emission(NamedTuple):
    """One thing a device says at simulated time `t`: telemetry or an event, with contract metric values."""

    t: float
    channel: Channel
    event: str | None
    data: dict[str, float | int | bool]


@dataclass(slots=True)
class ActiveFault:
    """A fault window in simulator time, with the random parameters drawn once for it and its shape."""

    name: str
    start: float
    end: float
    params: dict[str, float]
    shape: FaultShape = field(default=DEFAULT_SHAPE)

    def progress(self, t: float) -> float:
        """0 at the start of the fault, approaching 1 at its end."""
        return (t - self.start) / (self.end - self.start)

    @property
    def amplitude(self) -> float:
        return self.shape.amplitude

    @property
    def variant(self) -> str:
        return self.shape.variant

    def strength(self, t: float) -> float:
        """How far the fault has departed from normal at `t`: amplitude × the share of its ramp gone by (exactly
        the amplitude, 1.0 by default, once the ramp is over or when there is none)."""
        ramp = self.shape.ramp_s
        if ramp <= 0 or t - self.start >= ramp:
            return self.shape.amplitude
        return self.shape.amplitude * max(t - self.start, 0.0) / ramp


class DeviceSim:
    """Base class: subclasses implement `step(t0, t1)` returning the emissions of the interval (t0, t1]."""

    def __init__(
        self,
        device: Device,
        rng: random.Random,
        start: float,
        end: float,
        interval: float,
        faults: list[FaultWindow],
        utc_offset_s: float,
        noise: float = 1.0,
    ) -> None:
        self.device = device
        self.rng = rng
        self.start = start
        self.end = end
        self.interval = interval
        self.utc_offset_s = utc_offset_s
        self.noise = noise  # factor on the sensors' measurement noise: 1 = the simulator's own, 3 = three times it
        self.faults = [
            ActiveFault(w.fault, w.start.timestamp(), w.end.timestamp(), self.fault_params(w.fault), w.shape)
            for w in faults
        ]
        self._sensor_metric = SENSOR_METRIC[device.kind]
        self._stuck_value: float | int | bool | None = None
        self._specs = SPEC_BY_NAME[device.kind]

    # -- for subclasses -------------------------------------------------------------------------------------

    def fault_params(self, fault: str) -> dict[str, float]:
        """Random parameters of one fault occurrence (drawn at construction, so runs are reproducible)."""
        return {}

    def step(self, t0: float, t1: float) -> list[Emission]:
        raise NotImplementedError

    def active(self, name: str, t: float) -> ActiveFault | None:
        """The window of fault `name` covering time `t`, if any."""
        for fault in self.faults:
            if fault.name == name and fault.start <= t < fault.end:
                return fault
        return None

    def hour(self, t: float) -> float:
        """Local hour of day (0-24) at simulated time `t`, in the device's site time zone."""
        return ((t + self.utc_offset_s) % 86400.0) / 3600.0

    def usual(self, profile: Weekly, t: float) -> float:
        """`profile` at simulated time `t` on the device's site clock (its hour, and whether it is the weekend)."""
        return profile.at(t + self.utc_offset_s)

    def measured(self, mu: float, sd: float) -> float:
        """A sensor's reading of `mu` with its measurement noise (`sd` at noise 1, scaled by the device's `noise`;
        at 1 exactly the draw it always was, so a run without noise is byte-identical)."""
        return self.rng.gauss(mu, sd * self.noise)

    def spread(self, lo: float, hi: float) -> float:
        """A factor drawn from [lo, hi] around 1 (a meter's reading error), widened by the device's `noise`."""
        x = self.rng.uniform(lo, hi)
        return x if self.noise == 1.0 else 1.0 + (x - 1.0) * self.noise

    def jitter(self) -> float:
        """A small random offset so that devices do not all report on the same instant."""
        return self.rng.random() * self.interval

    # -- driving --------------------------------------------------------------------------------------------

    def run(self) -> Iterator[Emission]:
        """All emissions from start to end, in time order."""
        t0 = self.start
        t1 = self.start + self.jitter()
        while t1 < self.end:
            for emission in self.step(t0, t1):
                if emission.channel is Channel.TELEMETRY:
                    data = self._sensor_faults(emission.t, emission.data)
                    if data is None:
                        continue
                    if data is not emission.data:
                        emission = emission._replace(data=data)
                yield emission
            t0, t1 = t1, t1 + self.interval

    def _sensor_faults(self, t: float, data: dict) -> dict | None:
        metric = self._sensor_metric
        if not self.faults or metric not in data:
            return data
        if self.active("sensor_dropout", t) and self.rng.random() < 0.9:
            return None
        if self.active("sensor_stuck", t):
            if self._stuck_value is None:
                self._stuck_value = data[metric]
            data[metric] = self._stuck_value
        else:
            self._stuck_value = None
        if self.active("sensor_spikes", t) and self.rng.random() < 0.05:
            spec = self._specs[metric]
            spiked = max(float(data[metric]), 1.0) * self.rng.uniform(3.0, 8.0)
            data[metric] = round(min(spiked, spec.maximum), 2)
        return data


def scaled(faulty: float, normal: float, strength: float) -> float:
    """`faulty` moved toward `normal` by a fault's strength: `faulty` itself at strength 1 (no rounding, so a run
    with default shapes is byte-identical to one without shapes), `normal` at 0, beyond `faulty` above 1."""
    return faulty if strength == 1.0 else normal + (faulty - normal) * strength


def next_arrival(rng: random.Random, t: float, rate_per_hour: Callable[[float], float], peak_per_hour: float) -> float:
    """The next event of a Poisson process whose rate changes with the time of day, after time `t`.

    Thinning (Lewis & Shedler): candidates arrive at the peak rate and each is kept with probability
    rate(t) / peak. Drawing one exponential gap at the rate of *now* instead would let a single long night-time
    gap (mean one hour at one trip an hour) jump straight over the morning rush.
    """
    scale = 3600.0 / peak_per_hour
    while True:
        t += rng.expovariate(1.0) * scale
        if rng.random() * peak_per_hour <= rate_per_hour(t):
            return t


EPOCH_WEEKDAY = 3  # 1970-01-01, day 0 of POSIX time, was a Thursday (Monday = 0)


def weekend(local_s: float) -> bool:
    """Whether local time `local_s` (POSIX seconds plus the site's UTC offset) falls on a Saturday or Sunday."""
    return (int(local_s // 86400.0) + EPOCH_WEEKDAY) % 7 >= 5


@dataclass(frozen=True, slots=True)
class Weekly:
    """A quantity by local hour of day, one 24-entry table for working days and one for Saturday and Sunday. Between
    two hours it is interpolated linearly, across midnight into the next day's table (Friday 23:30 lies
    between Friday 23:00 and Saturday 00:00). Public holidays and the working weekends that make up for them are
    not modelled: every Monday-Friday is a working day.

    >>> w = Weekly(weekday=tuple(range(24)), weekend=(0.0,) * 24)
    >>> friday_2330 = 1 * 86400.0 + 23.5 * 3600.0  # 1970-01-02 was a Friday
    >>> w.at(friday_2330), w.at(friday_2330 + 86400.0), w.peak
    (11.5, 0.0, 23)
    """

    weekday: tuple[float, ...]
    weekend: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.weekday) != 24 or len(self.weekend) != 24:
            raise ValueError("a Weekly profile needs 24 hourly values for working days and 24 for the weekend")

    @property
    def peak(self) -> float:
        return max(max(self.weekday), max(self.weekend))

    def table(self, local_s: float) -> tuple[float, ...]:
        return self.weekend if weekend(local_s) else self.weekday

    def at(self, local_s: float) -> float:
        """The value at local time `local_s` (POSIX seconds plus the site's UTC offset)."""
        hour = (local_s % 86400.0) / 3600.0
        i = int(hour)
        here = self.table(local_s)[i]
        after = self.table(local_s + 3600.0)[(i + 1) % 24]
        return here + (after - here) * (hour - i)
