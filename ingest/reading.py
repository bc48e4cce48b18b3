"""The `Reading` value: one decoded, validated device message, the contract between ingest and the detectors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class DeviceKind(StrEnum):
    """The kinds of device Forewarn understands; each has its own payload schema (see `ingest.contract`)."""

    ELEVATOR = "elevator"
    ACCESS_DOOR = "access_door"
    WATER = "water"


class Channel(StrEnum):
    """The MQTT channel a message arrived on: periodic telemetry, discrete events, retained presence."""

    TELEMETRY = "telemetry"
    EVENT = "event"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Reading:
    """One device message after validation.

    `values` holds numeric measurements only (booleans as 0.0/1.0), keyed by the metric names of the
    contract, so that detectors can treat every kind alike. `event` is set for messages on the event
    channel (for example ``"swipe"``), `None` for telemetry.
    """

    device_id: str
    kind: DeviceKind
    ts: datetime
    seq: int
    values: Mapping[str, float] = field(default_factory=dict)
    event: str | None = None
    site_id: str = ""

    def get(self, metric: str, default: float | None = None) -> float | None:
        """The value of `metric`, or `default` when this message did not carry it."""
        return self.values.get(metric, default)
