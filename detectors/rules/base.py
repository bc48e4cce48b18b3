"""The shape every per-kind rule set has, so the engine can route readings without knowing the kinds."""

from __future__ import annotations

from typing import Any, Protocol

from detectors.hysteresis import Observation, Policy
from ingest.reading import Reading


class RuleSet(Protocol):
    """Domain rules for one device kind.

    `observe` sees every reading of a device (with `learning` False while the device has a raised alarm, so
    baselines do not absorb a fault) and returns one `Observation` per fault it evaluated; `on_tick` is called
    with the wall-clock time for conditions that need no reading (a door held open, a silent device).
    """

    name: str
    policies: dict[str, Policy]

    def new_state(self) -> Any: ...

    def observe(self, state: Any, reading: Reading, t: float, learning: bool) -> list[Observation]: ...

    def on_tick(self, state: Any, now: float) -> list[Observation]: ...
