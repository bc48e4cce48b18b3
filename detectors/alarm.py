"""The `Alarm` value: what the detectors tell the tickets package (raised, updated, cleared),
with evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# The fault a device raises when it has gone silent or its last will fired (detectors/presence.py); the tickets side
# groups several of one building into one likely power cut (tickets/silence.py).
DEVICE_OFFLINE = "device_offline"


class AlarmState(StrEnum):
    RAISED = "raised"  # a new fault on this device
    UPDATED = "updated"  # the same fault, with a changed severity or fresh evidence
    CLEARED = "cleared"  # the device is back to normal


class Severity(StrEnum):
    """Alarm severity, mapped to ticket severity tiers by the tickets package."""

    CRITICAL = "critical"  # resident-visible now or a safety risk: entrapment, burst, outage, forced door
    WARNING = "warning"  # degradation that will become visible: bearing wear, slow leak, levelling drift
    INFO = "info"  # worth a look, no resident impact expected


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why the detector believes this: a sentence for the engineer, plus the numbers behind it."""

    summary: str
    metric: str | None = None
    value: float | None = None
    baseline: float | None = None
    score: float | None = None
    readings: tuple[Mapping[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "metric": self.metric,
            "value": self.value,
            "baseline": self.baseline,
            "score": self.score,
            "readings": [dict(r) for r in self.readings],
        }


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm transition for one fault on one device.

    `fault` names the fault class (for example ``"supply_outage"``, ``"entrapment"``); `since` is when the
    abnormal condition began (first abnormal reading), `ts` when this transition was decided.

    Correlation: when another alarm explains this one, `parent_device_id` and `parent_fault` name that root
    alarm (the pair identifies it, as ``(device_id, fault)`` identifies every open alarm). Today the one root
    cause is a site-wide water outage: the site's main (a water device registered with no building) is the root
    once its `supply_outage` is raised — until then the first water device of the site with a raised
    `supply_outage` stands in (`parent_*` None on the root's own alarm) — and every water alarm explained on that
    site while the root is raised
    (`supply_outage`, `pump_failure`, `tank_low`, `sensor_dropout`, `device_offline` on other devices) carries
    ``parent_device_id=<root device>, parent_fault="supply_outage"``. A consumer should fold such a child into the
    root's incident instead of opening a ticket of its own. Both are None on uncorrelated alarms.
    """

    device_id: str
    fault: str
    state: AlarmState
    severity: Severity
    since: datetime
    ts: datetime
    detector: str
    evidence: Evidence
    parent_device_id: str | None = None  # the root alarm's device, when correlation explains this alarm
    extra: Mapping[str, Any] = field(default_factory=dict)
    parent_fault: str | None = None  # the root alarm's fault (e.g. "supply_outage"), with `parent_device_id`
