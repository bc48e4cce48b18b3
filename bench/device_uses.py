"""The cars' own trips in an anticipation seed, for the experiment in which a resident's use of a car that keeps
running through its fault is one of its trips (`python -m bench.anticipation --uses-from-trips`;
`simulators.usage.SERVED_THROUGH`). Each device draws from its own random stream (``{seed}/{device}``), so the
devices played alone send what they send in the whole estate's run (`tests/bench/test_fault_trace.py`)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from ingest.decode import decode
from ingest.reading import Reading
from simulators.generator import Simulation
from simulators.scenario import FaultEntry, Scenario
from simulators.usage import SERVED_THROUGH


def alone(scenario: Scenario, device_ids: set[str]) -> Scenario:
    """The scenario narrowed to these devices: their faults, misbehaviour and ordinary life, no residents."""

    def mine(entries: list[FaultEntry]) -> list[FaultEntry]:
        return [e for e in entries if e.device_id in device_ids]

    return dataclasses.replace(scenario, device_ids=sorted(device_ids), faults=mine(scenario.faults),
                               misbehaviour=mine(scenario.misbehaviour), nuisance=mine(scenario.nuisance),
                               residents=dataclasses.replace(scenario.residents, enabled=False))


def car_trips(scenario: Scenario) -> dict[str, list[float]]:
    """Trip times (epoch seconds) of every device with a fault it keeps running through, over the whole run."""
    cars = {f.device_id for f in scenario.faults if f.name in SERVED_THROUGH}
    trips: dict[str, list[float]] = {car: [] for car in cars}
    if not cars:
        return trips
    start = scenario.start
    assert start is not None, "an anticipation scenario has its start"
    for t, _device, topic, payload in Simulation(alone(scenario, cars), start).timed():
        message = decode(topic, payload, now=datetime.fromtimestamp(t, start.tzinfo))
        if isinstance(message, Reading) and message.event == "trip":
            trips[message.device_id].append(t)
    return trips
