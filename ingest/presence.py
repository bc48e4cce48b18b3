"""Device presence as ingest sees it: status and last-will messages, data arriving, and silence past a timeout.

The tracker is in memory and owned by the writer thread; it hands back the rows to store with each batch and the
changes (a device going offline or coming back) to announce once that batch is committed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ingest.decode import PresenceChange
from ingest.reading import DeviceKind
from ingest.storage import PresenceRow

# A device is offline once silent for this many of its own usual gaps between messages, and never sooner than the
# configured heartbeat timeout: a flood sensor reporting every 6 minutes is not late after 5. Until a device's usual
# gap is known (one message heard since ingest started), it is late after `MISSED_GAPS` heartbeat timeouts: judged
# against the bare timeout, that sensor was called offline on its first gap after every start of ingest.
MISSED_GAPS = 3.0
GAP_ALPHA = 0.2  # the usual gap follows a device's reporting rhythm over its last ~5 messages
# A device's stored `last_seen` is refreshed at most this often while nothing else about it changes: every batch
# wrote a presence row per device heard, as many rows as readings under small batches. It only needs to be precise
# against the heartbeat timeout (minutes); a change of state is always written with the batch that causes it.
SEEN_WRITE_EVERY_S = 5.0


@dataclass(slots=True)
class _State:
    online: bool
    last_seen: datetime | None
    changed_at: datetime
    gap_s: float | None = None  # usual seconds between two messages, learnt while online
    stored_seen: datetime | None = None  # `last_seen` as last handed out to be stored


class PresenceTracker:
    """Online/offline per device, with the rows to write and the changes to announce."""

    def __init__(self, heartbeat_timeout_s: float) -> None:
        self._timeout = timedelta(seconds=heartbeat_timeout_s)
        self._seen_every = timedelta(seconds=min(SEEN_WRITE_EVERY_S, heartbeat_timeout_s / 10))
        self._states: dict[str, _State] = {}
        self._dirty: set[str] = set()
        self._devices: dict[str, tuple[DeviceKind, str]] = {}

    def load(self, rows: list[PresenceRow], registry: dict[str, tuple[DeviceKind, str]]) -> None:
        """Start from what was stored, so a device that fell silent while ingest was down is noticed."""
        self._devices = registry
        self._states = {r.device_id: _State(r.online, r.last_seen, r.changed_at) for r in rows}

    def set_registry(self, registry: dict[str, tuple[DeviceKind, str]]) -> None:
        self._devices = registry

    def heard(self, device_id: str, ts: datetime, at: datetime) -> PresenceChange | None:
        """A reading arrived from `device_id` at `at` (its own time `ts`); a device believed offline is back."""
        state = self._states.get(device_id)
        if state is None:
            self._states[device_id] = _State(True, at, at)
            self._dirty.add(device_id)
            return None
        if state.online and state.last_seen is not None:
            gap = (at - state.last_seen).total_seconds()
            if gap > 0:
                state.gap_s = gap if state.gap_s is None else state.gap_s + GAP_ALPHA * (gap - state.gap_s)
        state.last_seen = at
        if state.online:
            if state.stored_seen is None or at - state.stored_seen >= self._seen_every:
                self._dirty.add(device_id)
            return None
        self._dirty.add(device_id)
        state.online = True
        state.changed_at = at
        return self._change(device_id, True, ts, "telemetry")

    def status(self, change: PresenceChange, at: datetime) -> PresenceChange | None:
        """A status (or last-will) message; returns it when it changes what we believed. An offline one is dated
        when it arrived, if that is later than its `ts`: a last will is composed at connect time, so its `ts` may be
        days old (docs/mqtt-contract.md), and the detectors count the reconnect grace from when the device went."""
        if not change.online and change.ts < at:
            change = replace(change, ts=at)
        state = self._states.get(change.device_id)
        self._dirty.add(change.device_id)
        if state is None:
            self._states[change.device_id] = _State(change.online, at, at)
            return None if change.online else change
        if change.online:
            state.last_seen = at
        if state.online == change.online:
            return None
        state.online = change.online
        state.changed_at = at
        return change

    def expire(self, now: datetime, heard_from: datetime | None = None) -> list[PresenceChange]:
        """Devices online but silent for longer than the heartbeat timeout (or `MISSED_GAPS` of their own usual gaps,
        if longer; `MISSED_GAPS` timeouts while their usual gap is not known yet), now marked offline. Silence counts
        from `heard_from` at the earliest (ingest subscribed since): a device that fell silent while ingest was
        down is still noticed, once it has had its timeout to be heard again."""
        changes = []
        floor = self._timeout.total_seconds()
        for device_id, state in self._states.items():
            if not state.online or state.last_seen is None:
                continue
            timeout = max(floor, MISSED_GAPS * state.gap_s) if state.gap_s else MISSED_GAPS * floor
            quiet_since = state.last_seen if heard_from is None else max(state.last_seen, heard_from)
            if (now - quiet_since).total_seconds() > timeout:
                state.online = False
                state.changed_at = now
                self._dirty.add(device_id)
                change = self._change(device_id, False, now, "heartbeat")
                if change is not None:
                    changes.append(change)
        return changes

    def take_rows(self) -> list[PresenceRow]:
        """The rows changed since the last call (to write with the next batch)."""
        rows = []
        for device_id in sorted(self._dirty):
            state = self._states.get(device_id)
            if state is not None:
                rows.append(PresenceRow(device_id, state.online, state.last_seen, state.changed_at))
                state.stored_seen = state.last_seen
        self._dirty.clear()
        return rows

    def online(self, device_id: str) -> bool | None:
        state = self._states.get(device_id)
        return None if state is None else state.online

    def _change(self, device_id: str, online: bool, ts: datetime, reason: str) -> PresenceChange | None:
        known = self._devices.get(device_id)
        if known is None:
            return None
        kind, site = known
        return PresenceChange(device_id, site, kind, online, ts, reason)
