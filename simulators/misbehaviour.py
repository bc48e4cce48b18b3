"""Misbehaving devices on request: the ways real devices break the contract, and what ingest must make of them.

Each mode rewrites a device's messages while its window is active. `EXPECTED_REASON` says what
`ingest.decode.decode` must answer for an affected message: a `Rejection.reason`, or None when the message is
valid on its own and the problem is for storage (duplicates are stored once, keyed on device, time and
sequence) or for presence (a silent device). The modes in `PARTLY_KEPT` break values, not the message: ingest
drops the broken values and keeps the rest, so an affected message decodes to a `PartialReading` whose dead
letter has the expected reason — or to a `Rejection` with it when nothing valid is left (`wrong_type` breaks
every value, so only an event message keeps something: its event).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from ingest.contract import MAX_PAYLOAD_BYTES
from ingest.reading import DeviceKind
from simulators.faults import SENSOR_METRIC

MODES: dict[str, str] = {
    "malformed_json": "payload cut off mid-object, as after a buffer overrun",
    "wrong_type": "numbers sent as strings (\"351.2\"), booleans as \"true\"",
    "wrong_unit": "the watched metric sent in a unit 1000x smaller (Pa for kPa, mm/s² for m/s², ‰·10 for %)",
    "out_of_range": "the watched metric reports the sensor-error sentinel -999",
    "clock_skew": "the real-time clock reset to 2000-01-01 after a power loss",
    "oversized": "a debug dump appended, making the payload larger than the limit",
    "duplicate_seq": "every message sent twice with the same seq and ts (a retrying firmware)",
    "out_of_order_seq": "pairs of messages swapped, so a lower seq arrives after a higher one",
    "burst": "messages held back during the window and flushed in one burst at its end",
    "silent": "the device publishes nothing at all during the window (its connection stays up)",
    "disconnected": "the device drops off the network: its `offline` last will fires, its messages are lost (a "
                    "gap in seq), and it says `online` again on return",
}

EXPECTED_REASON: dict[str, str | None] = {
    "malformed_json": "bad_json",
    "wrong_type": "bad_type",
    "wrong_unit": "out_of_range",
    "out_of_range": "out_of_range",
    "clock_skew": "clock_skew",
    "oversized": "too_large",
    "duplicate_seq": None,
    "out_of_order_seq": None,
    "burst": None,
    "silent": None,
    "disconnected": None,
}

# Values broken, the message intact: stored without them (if anything valid is left), they become a dead letter.
PARTLY_KEPT: frozenset[str] = frozenset({"wrong_type", "wrong_unit", "out_of_range"})

SKEWED_TS = "2000-01-01T00:00:00.000+08:00"


@dataclass(frozen=True, slots=True)
class MisbehaviourWindow:
    """One misbehaviour mode applied to one device for [start, end)."""

    device_id: str
    mode: str
    start: datetime
    end: datetime


@dataclass(slots=True)
class Misbehaver:
    """Applies the windows of one device to its message stream; holds what `burst` and reordering delay."""

    kind: DeviceKind
    windows: list[tuple[str, float, float]]  # (mode, start, end) in POSIX seconds
    held: list[tuple[float, bytes]] = field(default_factory=list)
    swap: tuple[float, bytes] | None = None

    def mode_at(self, t: float) -> str | None:
        for mode, start, end in self.windows:
            if start <= t < end:
                return mode
        return None

    def apply(self, t: float, body: dict, encoded: bytes) -> list[tuple[float, bytes]]:
        """The (publish time, payload) pairs to send for one message due at `t` (possibly none, possibly many)."""
        out = self.flush(t)
        mode = self.mode_at(t)
        if mode is None:
            out.append((t, encoded))
            return out
        if mode in ("silent", "disconnected"):  # the status messages of `disconnected` come from the generator
            return out
        if mode == "burst":
            self.held.append((t, encoded))
            return out
        if mode == "duplicate_seq":
            out += [(t, encoded), (t, encoded)]
        elif mode == "out_of_order_seq":
            if self.swap is None:
                self.swap = (t, encoded)
            else:
                out += [(t, encoded), (t, self.swap[1])]
                self.swap = None
        else:
            out.append((t, self.corrupt(mode, body, encoded)))
        return out

    def flush(self, t: float) -> list[tuple[float, bytes]]:
        """Release what a finished window held back (a burst, an unpaired swap), published at time `t`."""
        if (self.held or self.swap) and self.mode_at(t) not in ("burst", "out_of_order_seq"):
            released = [(t, payload) for _, payload in self.held]
            if self.swap is not None:
                released.append((t, self.swap[1]))
            self.held, self.swap = [], None
            return released
        return []

    def corrupt(self, mode: str, body: dict, encoded: bytes) -> bytes:
        data = dict(body.get("data") or {})
        metric = SENSOR_METRIC[self.kind]
        if mode == "malformed_json":
            return encoded[: max(len(encoded) // 2, 1)]
        if mode == "clock_skew":
            return _dump({**body, "ts": SKEWED_TS})
        if mode == "oversized":
            return _dump({**body, "debug": "x" * (MAX_PAYLOAD_BYTES + 64)})
        if mode == "wrong_type":
            data = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in data.items()}
            if not data:
                data = {metric: "0"}
            return _dump({**body, "data": data})
        target = metric if metric in data else next(
            (k for k, v in data.items() if not isinstance(v, bool)), metric
        )
        if mode == "wrong_unit":
            value = data.get(target)
            data[target] = (abs(value) + 1.0) * 1000.0 if isinstance(value, int | float) else 1e6
        else:  # out_of_range
            data[target] = -999
        return _dump({**body, "data": data})


def _dump(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
