"""`DetectorEngine`: the one entry point the runtime calls — readings in, alarm transitions out.

The engine keeps one `DeviceState` per device (its rule baselines, online models, alarm hysteresis tracks
and the last few readings for evidence), routes each reading to the rule set of its kind, and turns the
rules' observations into `Alarm` transitions. It also links per-device water alarms to a site-wide supply
outage (correlation), applies engineers' false-alarm verdicts, and checkpoints per-device state as bytes.

Time is reading time: `process` judges durations by the readings' own timestamps, so a replay or a
time-accelerated simulator sees exactly what live data would. `tick(now)` covers conditions that need no
reading (a silent device, a door held open).
"""

from __future__ import annotations

import math
import pickle
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from detectors import absence, learned, peers
from detectors.alarm import DEVICE_OFFLINE as OFFLINE
from detectors.alarm import Alarm, AlarmState, Evidence
from detectors.hysteresis import Observation, Policy, Track, Transition
from detectors.presence import RECONNECT_GRACE_S, Presence
from detectors.rules.access_door import AccessDoorRules
from detectors.rules.base import RuleSet
from detectors.rules.elevator import ElevatorRules
from detectors.rules.sensor import SensorHealth
from detectors.rules.water import WaterRules
from ingest.reading import DeviceKind, Reading

# Bump whenever the pickled state's layout changes: an older checkpoint is then refused (the runtime logs it and
# the device starts fresh) instead of resuming with attributes missing. 2: presence reports, telemetry-rate health.
# 3: a door's last reported open time, a tank's usual level. 4: the learned normal (`detectors.learned`) and
# the usual activity per hour (`detectors.absence`). 5: a water device's pressure-flow curve and flow step.
# 6: a lift motor's usual temperature. 7: a water supply's slide under its curve. 8: the hours of the day a water
# device's usual flow has learnt. 9: the activity due since a device's last event (`detectors.absence`). 10: a door's
# last granted swipe and its run of closed, unlocked reports. 11: the activity of a device's last two whole hours.
# 13: a lift door's usual cycle. 14: a lift's levelling judged per stop. 15: a lift's last travelling vibrations.
# 16: a door's share of its site's card reads (`detectors.peers`).
SNAPSHOT_VERSION = 16
# Evidence carries the last few readings; five is enough to show the trend without bloating the alarm.
EVIDENCE_READINGS = 5
# Each false-alarm verdict doubles that fault's raise delay on that device, up to this factor; each
# confirmed verdict halves it again (never below 1).
MAX_SLOWDOWN = 8.0
# Water faults that a site-wide supply outage explains; they are linked to the outage's root device.
OUTAGE_ROOT_FAULT = "supply_outage"
OUTAGE_CHILDREN = frozenset({"supply_outage", "pump_failure", "tank_low", "sensor_dropout", OFFLINE})


@dataclass(slots=True)
class DeviceState:
    """Everything the engine remembers about one device; pickled as its checkpoint."""

    device_id: str
    kind: DeviceKind
    site_id: str
    building_id: str | None
    rules: Any
    presence: Presence = field(default_factory=Presence)
    sensors: SensorHealth = field(default_factory=SensorHealth)
    tracks: dict[str, Track] = field(default_factory=dict)
    slowdown: dict[str, float] = field(default_factory=dict)
    verdicts: dict[str, list[int]] = field(default_factory=dict)  # fault -> [false alarms, confirmed]
    recent: deque[tuple[float, int, dict[str, float], str | None]] = field(
        default_factory=lambda: deque(maxlen=EVIDENCE_READINGS)
    )
    last_seq: int = -1
    last_t: float | None = None
    learned: learned.LearnedState = field(default_factory=learned.LearnedState)
    absence: absence.AbsenceState = field(default_factory=absence.AbsenceState)
    peers: peers.PeerState = field(default_factory=peers.PeerState)

    def alarmed(self) -> bool:
        return any(track.raised for track in self.tracks.values())

    def raised_faults(self) -> list[str]:
        return [fault for fault, track in self.tracks.items() if track.raised]


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def _since(since: float, now: float, tz: tzinfo = UTC) -> str:
    """When an episode began, as an engineer reads it: in the estate's time with its offset, with the date if it was
    another day there.

    >>> from zoneinfo import ZoneInfo
    >>> _since(1_700_000_000, 1_700_003_600, ZoneInfo("Asia/Shanghai"))
    '06:13 UTC+08:00'
    >>> _since(1_700_000_000, 1_700_100_000)
    '2023-11-14 22:13 UTC'
    """
    start, end = datetime.fromtimestamp(since, tz=tz), datetime.fromtimestamp(now, tz=tz)
    offset = int((start.utcoffset() or UTC.utcoffset(None)).total_seconds()) // 60
    zone = "UTC" if offset == 0 else f"UTC{'+' if offset > 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return start.strftime("%H:%M" if start.date() == end.date() else "%Y-%m-%d %H:%M") + f" {zone}"


class DetectorEngine:
    """Per-device streaming detection for every device kind.

    Unknown devices are registered on their first reading from the reading's kind and site, so
    `register_device` is only needed to attach a building or to detect silence before any reading arrives.
    """

    def __init__(self, now_fn: Callable[[], datetime] | None = None, *,
                 offline_grace_s: float = RECONNECT_GRACE_S, tz: tzinfo = UTC) -> None:
        self._now = now_fn or (lambda: datetime.now(UTC))
        self.tz = tz  # the estate's: the times an alarm's words name ("since 17:12 UTC+08:00")
        # A last will raises `device_offline` only once the device has stayed away this long (detectors/presence.py).
        self._offline_policy = Policy(offline_grace_s, 0.0, cooldown_s=0.0)
        self._devices: dict[str, DeviceState] = {}
        self._rules: dict[DeviceKind, RuleSet] = {
            DeviceKind.WATER: WaterRules(),
            DeviceKind.ELEVATOR: ElevatorRules(),
            DeviceKind.ACCESS_DOOR: AccessDoorRules(),
        }
        self._policies: dict[tuple[str, str], Policy] = {}  # (rule set's name, fault) -> policy: `_policy`
        # (site_id, building_id or None for the site main) -> device whose supply_outage is the root cause there
        self._outage_root: dict[tuple[str, str | None], str] = {}
        self._site_reads: dict[str, int] = {}  # card reads per site since start: `detectors.peers`

    # -- registration and checkpoints ---------------------------------------------------------------

    def register_device(
        self, device_id: str, kind: DeviceKind, site_id: str, building_id: str | None = None
    ) -> None:
        """Declare a device (idempotent); a known device keeps its state and gets the new site/building."""
        state = self._devices.get(device_id)
        if state is not None and state.kind == kind:
            state.site_id, state.building_id = site_id, building_id
            return
        kind = DeviceKind(kind)
        self._devices[device_id] = DeviceState(
            device_id, kind, site_id, building_id, self._rules[kind].new_state(), learned=learned.new_state(kind)
        )

    def forget(self, device_id: str) -> None:
        """Drop a device's state (removed from the registry, or its site moved to another worker); an outage it was
        the root of no longer explains anything here."""
        state = self._devices.pop(device_id, None)
        if state is not None:
            for key, root in list(self._outage_root.items()):
                if root == device_id:
                    del self._outage_root[key]

    def knows(self, device_id: str) -> bool:
        return device_id in self._devices

    def site_of(self, device_id: str) -> str:
        return self._devices[device_id].site_id

    def position(self, device_id: str) -> tuple[DeviceKind, str, datetime, int] | None:
        """(kind, site, time, sequence) of the last reading the device's state has judged; None before any."""
        state = self._devices[device_id]
        if state.last_t is None:
            return None
        return state.kind, state.site_id, _dt(state.last_t), state.last_seq

    def devices(self) -> list[str]:
        """The ids of every device the engine holds state for."""
        return list(self._devices)

    def snapshot(self, device_id: str) -> bytes:
        """The device's whole detector state as bytes (a few KB), for `restore` after a restart."""
        return pickle.dumps((SNAPSHOT_VERSION, self._devices[device_id]), protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, device_id: str, blob: bytes) -> None:
        """Resume a device from a `snapshot` blob (from our own checkpoint table only: it is a pickle)."""
        version, state = pickle.loads(blob)  # noqa: S301 - blobs come only from our own database
        if version != SNAPSHOT_VERSION or not isinstance(state, DeviceState) or state.device_id != device_id:
            raise ValueError(f"checkpoint for {device_id!r} is not a version-{SNAPSHOT_VERSION} state of it")
        self._devices[device_id] = state
        peers.forget_counts(state.peers)  # the site's count of reads started again with this engine
        for fault, track in state.tracks.items():
            if fault == OUTAGE_ROOT_FAULT and track.raised and track.extra.get("root") is None:
                self._outage_root.setdefault((state.site_id, state.building_id), device_id)

    # -- the stream ---------------------------------------------------------------------------------

    def process(self, reading: Reading) -> list[Alarm]:
        """Judge one reading; return the alarm transitions it causes (usually none)."""
        state = self._devices.get(reading.device_id)
        if state is None or state.kind != reading.kind:
            self.register_device(reading.device_id, reading.kind, reading.site_id)
            state = self._devices[reading.device_id]
        t = reading.ts.timestamp()
        last = state.last_t
        if last is not None and (t < last or (t == last and reading.seq <= state.last_seq)):
            return []  # a redelivered or out-of-order message: the stream has already moved past it
        rules = self._rules[state.kind]
        raised = [fault for fault, track in state.tracks.items() if track.raised] if state.tracks else []
        learning = not raised
        observations = rules.observe(state.rules, reading, t, learning)
        observations.extend(state.sensors.observe(reading, t, learning))
        observations.append(state.presence.seen(t))
        # Only what the raised faults would corrupt is frozen.
        frozen = learned.frozen_metrics(raised) if raised else learned.NOTHING
        observations.append(learned.observe(state.learned, reading.values, reading.ts, frozen, t))
        missing = absence.event(state.absence, reading.event, reading.ts, state.kind, t)
        if missing is not None:
            observations.append(missing)
        if state.kind is DeviceKind.ACCESS_DOOR:
            # A reader failing its self-test is already the door's fault; its silence is that fault, not another.
            if raised and "reader_offline" in raised:
                observations.append(peers.explained(state.peers))
            else:
                observations.append(peers.observe(state.peers, self._site_reads, state.site_id, reading.event,
                                                  reading.ts, t))
        state.recent.append((t, reading.seq, dict(reading.values), reading.event))
        state.last_t, state.last_seq = t, reading.seq
        return self._decide(state, observations, t, rules)

    def tick(self, now: datetime, heard_from: Callable[[str], float | None] | None = None) -> list[Alarm]:
        """Check conditions that need no reading (silence, doors held open) at wall-clock time `now`.

        `heard_from(site_id)`: since when the platform has been hearing that site's devices (epoch seconds; None
        while it cannot hear them, e.g. ingest disconnected from the broker), so that its own deafness — a restart
        after downtime, a lost connection — is not read as every device falling silent. Without it, always."""
        t = now.timestamp()
        alarms: list[Alarm] = []
        for state in self._devices.values():
            rules = self._rules[state.kind]
            observations = rules.on_tick(state.rules, t)
            since = -math.inf if heard_from is None else heard_from(state.site_id)
            if since is not None:
                silence = state.presence.check(t, since)
                if silence is not None:
                    observations.append(silence)
                observations.append(absence.check(state.absence, now, t, since))
            alarms.extend(self._decide(state, observations, t, rules))
        return alarms

    def presence(self, device_id: str, *, online: bool, ts: datetime) -> list[Alarm]:
        """Ingest's presence news for a device: offline (last will, heartbeat timeout) or back online at `ts`.

        Offline raises `device_offline` once the device has stayed offline for `RECONNECT_GRACE_S` (at the `tick`
        that finds it so: a reconnect within it was a glitch); online, or any reading newer than the offline report,
        clears it. A device the engine has never heard of returns [].
        """
        state = self._devices.get(device_id)
        if state is None:
            return []
        t = ts.timestamp()
        observation = state.presence.reported(t, online=online)
        return self._decide(state, [observation], t, self._rules[state.kind])

    def apply_verdict(self, device_id: str, fault: str, *, false_alarm: bool) -> list[Alarm]:
        """Record an engineer's verdict on `fault` for `device_id`.

        A false alarm doubles that fault's raise delay on this device (up to `MAX_SLOWDOWN`×) and, if the
        alarm is still raised, clears it now (the returned transition); a confirmed fault halves the delay.
        """
        state = self._devices.get(device_id)
        if state is None:
            raise KeyError(f"unknown device {device_id!r}")
        counts = state.verdicts.setdefault(fault, [0, 0])
        slowdown = state.slowdown.get(fault, 1.0)
        if not false_alarm:
            counts[1] += 1
            state.slowdown[fault] = max(1.0, slowdown / 2)
            return []
        counts[0] += 1
        state.slowdown[fault] = min(MAX_SLOWDOWN, slowdown * 2)
        if fault == learned.FAULT:
            learned.relearn(state.learned)  # "this is normal now": the metric it was about learns afresh
        track = state.tracks.get(fault)
        t = self._now().timestamp()
        obs = Observation(fault, False, summary="an engineer marked this alarm as a false alarm")
        was_root = self._was_root(state, fault)
        transition = track.reset(t, obs) if track is not None else None
        if transition is None:
            return []
        rules = self._rules[state.kind]
        orphans = self._orphans(state, t) if was_root else []  # what it explained and is not over stands alone
        return [*orphans, self._alarm(state, fault, transition, t, self._detector_name(rules, fault))]

    # -- from observations to alarms ------------------------------------------------------------------

    def _decide(
        self, state: DeviceState, observations: list[Observation], t: float, rules: RuleSet
    ) -> list[Alarm]:
        alarms: list[Alarm] = []
        for obs in observations:
            track = state.tracks.get(obs.fault)
            if track is None:
                if not obs.active:
                    continue  # nothing pending, nothing raised: the common case costs one dict lookup
                track = state.tracks[obs.fault] = Track()
            if obs.fault == OFFLINE:
                policy = self._offline_policy
            else:
                policy = self._policies.get((rules.name, obs.fault)) or self._policy(rules, obs.fault)
            transition = track.update(obs, t, policy, state.slowdown.get(obs.fault, 1.0))
            if transition is not None:
                detector = self._detector_name(rules, obs.fault)
                if transition.state is AlarmState.CLEARED and self._was_root(state, obs.fault):
                    alarms.extend(self._orphans(state, t))  # before the root's clear: nobody hears "restored" early
                alarms.append(self._alarm(state, obs.fault, transition, t, detector))
        return alarms

    def _policy(self, rules: RuleSet, fault: str) -> Policy:
        """The hysteresis policy of `fault` under these rules; found once per (rules, fault), then kept (the policy
        tables are constants)."""
        for source in (rules.policies, SensorHealth.policies, Presence.policies, learned.POLICIES, absence.POLICIES,
                       peers.POLICIES):
            policy = source.get(fault)
            if policy is not None:
                break
        else:
            policy = Policy(0.0, 0.0)
        self._policies[(rules.name, fault)] = policy
        return policy

    @staticmethod
    def _detector_name(rules: RuleSet, fault: str) -> str:
        if fault in rules.policies:
            return rules.name
        if fault in (learned.FAULT, absence.FAULT):
            return learned.NAME
        if fault == peers.FAULT:
            return peers.NAME
        return SensorHealth.name if fault in SensorHealth.policies else Presence.name

    def _alarm(self, state: DeviceState, fault: str, tr: Transition, t: float, detector: str) -> Alarm:
        obs = tr.observation
        if tr.state is AlarmState.CLEARED:
            back = f"; {obs.metric} now {obs.value:g}" if obs.metric and obs.value is not None else ""
            summary = obs.summary or f"back to normal{back} (was: {tr.raised_summary})"
        else:
            summary = f"{obs.summary}, since {_since(tr.since, t, self.tz)}" if obs.summary else obs.summary
        evidence = Evidence(
            summary=summary,
            metric=obs.metric,
            value=obs.value,
            baseline=obs.baseline,
            score=obs.score,
            readings=tuple(
                {"ts": _dt(rt).isoformat(), "seq": seq, **values, **({"event": ev} if ev else {})}
                for rt, seq, values, ev in state.recent
            ),
        )
        track = state.tracks[fault]
        if tr.state is AlarmState.RAISED:
            parent = self._correlate(state, fault)
            track.extra["root"] = parent
        else:  # an episode keeps the root it was raised under (until that root clears: `_orphans`)
            parent = track.extra.get("root")
            if tr.state is AlarmState.CLEARED:
                track.extra.pop("root", None)
                self._release_root(state, fault)
        return Alarm(
            device_id=state.device_id,
            fault=fault,
            state=tr.state,
            severity=tr.severity,
            since=_dt(tr.since),
            ts=_dt(t),
            detector=detector,
            evidence=evidence,
            parent_device_id=parent,
            parent_fault=OUTAGE_ROOT_FAULT if parent is not None else None,
            extra={"kind": state.kind.value, "site_id": state.site_id, "building_id": state.building_id},
        )

    def _correlate(self, state: DeviceState, fault: str) -> str | None:
        """The root device of a water outage that explains this newly raised alarm, if any: the site main's outage
        explains every water alarm of the site; without it, the first outage in a building explains that building's
        only (two buildings losing water independently are two faults, not one)."""
        if state.kind is not DeviceKind.WATER or fault not in OUTAGE_CHILDREN:
            return None
        key = (state.site_id, state.building_id)
        root = self._root_for(state)
        if fault == OUTAGE_ROOT_FAULT and root is None:
            self._outage_root[key] = state.device_id
            return None
        return root

    def _root_for(self, state: DeviceState) -> str | None:
        """The outage root explaining water alarms of this device now (never the device itself)."""
        main = self._outage_root.get((state.site_id, None))
        root = main if main is not None else self._outage_root.get((state.site_id, state.building_id))
        return root if root != state.device_id else None

    def _was_root(self, state: DeviceState, fault: str) -> bool:
        key = (state.site_id, state.building_id)
        return fault == OUTAGE_ROOT_FAULT and self._outage_root.get(key) == state.device_id

    def _release_root(self, state: DeviceState, fault: str) -> None:
        key = (state.site_id, state.building_id)
        if fault == OUTAGE_ROOT_FAULT and self._outage_root.get(key) == state.device_id:
            del self._outage_root[key]

    def _orphans(self, root: DeviceState, t: float) -> list[Alarm]:
        """The root's outage is over but some alarms it explained are not (a booster pump that failed during a
        site outage still fails after it): each is re-homed, as an UPDATED transition, under the root that explains
        it now, or as a fault of its own — its outage the new root of its building. An alarm already on its way to
        clearing keeps its root. Emitted before the root's clear, so that consumers warn those residents about what
        is still wrong instead of telling them all is well."""
        self._release_root(root, OUTAGE_ROOT_FAULT)
        children = [(s, fault, track) for s in self._devices.values() if s.site_id == root.site_id
                    for fault, track in s.tracks.items()
                    if track.raised and track.normal_since is None and track.extra.get("root") == root.device_id]
        children.sort(key=lambda c: c[1] != OUTAGE_ROOT_FAULT)  # outages first: they may root their building
        alarms = []
        for state, fault, track in children:
            parent = self._root_for(state)
            if parent is None and fault == OUTAGE_ROOT_FAULT:
                self._outage_root.setdefault((state.site_id, state.building_id), state.device_id)
            track.extra["root"] = parent
            still = Observation(fault, True, track.severity,
                                f"{track.summary}; still so after {root.device_id}'s supply outage ended")
            transition = Transition(AlarmState.UPDATED, track.since, track.severity, still, track.summary)
            alarms.append(self._alarm(state, fault, transition, t, self._detector_name(self._rules[state.kind],
                                                                                          fault)))
        return alarms
