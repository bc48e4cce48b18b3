"""The pure generator: a scenario in, contract messages out, in simulated-time order — no MQTT involved.

`Simulation(scenario, start).messages()` yields `SimMessage(topic, payload, at)`; benchmarks and tests can feed
them straight to `ingest.decode.decode(topic, payload, now=at)`. The runner publishes the same stream. Same
scenario, same seed, same start → byte-identical messages.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from ingest.contract import CONTRACT_VERSION, topic_for
from ingest.estate import Device
from ingest.reading import Channel, DeviceKind
from simulators.access_door import AccessDoorSim
from simulators.device import DeviceSim, Emission
from simulators.elevator import ElevatorSim
from simulators.faults import FAULTS, LIFE, FaultWindow
from simulators.labels import complaint_record
from simulators.misbehaviour import EXPECTED_REASON, Misbehaver, MisbehaviourWindow
from simulators.residents import EmulatedComplaint, plan_complaints
from simulators.scenario import FaultEntry, Scenario
from simulators.water import WaterSim

SIMULATORS: dict[DeviceKind, type[DeviceSim]] = {
    DeviceKind.ELEVATOR: ElevatorSim,
    DeviceKind.ACCESS_DOOR: AccessDoorSim,
    DeviceKind.WATER: WaterSim,
}


class SimMessage(NamedTuple):
    """One MQTT message of the simulation: topic, payload bytes and the simulated time it is published at."""

    topic: str
    payload: bytes
    at: datetime

    @property
    def retain(self) -> bool:
        """Status messages are retained, so a late subscriber learns every device's presence."""
        return self.topic.endswith("/status")


# One encoder for the whole run: `json.dumps` with non-default options builds a new encoder on every call, which
# is a tenth of the cost of a message when a day of the estate is half a million of them.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _dumps(body: dict[str, Any]) -> bytes:
    return _ENCODE(body).encode()


def _tagged(index: int, sim: DeviceSim) -> Iterator[tuple[float, int, Emission]]:
    """A device's emissions keyed for `heapq.merge`: time first, then the device index (never the emission)."""
    for emission in sim.run():
        yield emission.t, index, emission


class Simulation:
    """One run of a scenario from simulated time `start`."""

    def __init__(self, scenario: Scenario, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated start needs a UTC offset")
        self.scenario = scenario
        self.start = start
        self.end = start + timedelta(seconds=scenario.duration_s)
        estate = scenario.estate
        wanted = set(scenario.device_ids)
        self.devices: list[Device] = [d for d in estate.devices if d.id in wanted]
        self.tz = {s.id: ZoneInfo(s.timezone) for s in estate.sites}
        self.faults = [FaultWindow(e.device_id, e.name, *self._window(e), e.shape) for e in scenario.faults]
        self.misbehaviour = [MisbehaviourWindow(e.device_id, e.name, *self._window(e))
                             for e in scenario.misbehaviour]
        # Ordinary life (scenario `nuisance:`): played like a fault or a misbehaviour, labelled as neither.
        self.nuisance = [(e, *self._window(e)) for e in scenario.nuisance]
        physical = [(e, a, b) for e, a, b in self.nuisance if e.name in FAULTS or e.name in LIFE]
        self._physics = self.faults + [FaultWindow(e.device_id, e.name, a, b) for e, a, b in physical]
        self._messaging = self.misbehaviour + [MisbehaviourWindow(e.device_id, e.name, a, b)
                                               for e, a, b in self.nuisance if (e, a, b) not in physical]
        residents = scenario.residents
        self.complaints: list[EmulatedComplaint] = (
            plan_complaints(self.faults, estate, scenario.seed, delay_scale=residents.delay_scale,
                            share_scale=residents.share_scale)
            if residents.enabled else []
        )

    def _window(self, entry: FaultEntry) -> tuple[datetime, datetime]:
        begin = self.start + timedelta(seconds=entry.offset_s)
        return begin, min(begin + timedelta(seconds=entry.duration_s), self.end)

    def status_payload(self, device: Device, online: bool, at: float) -> bytes:
        ts = datetime.fromtimestamp(at, self.tz[device.site_id]).isoformat(timespec="milliseconds")
        return _dumps({"v": CONTRACT_VERSION, "ts": ts, "state": "online" if online else "offline"})

    def status_topic(self, device: Device) -> str:
        return topic_for(device.site_id, device.kind, device.id, Channel.STATUS)

    def _sim(self, device: Device) -> DeviceSim:
        scenario = self.scenario
        rng = random.Random(f"{scenario.seed}/{device.id}")
        tz = self.tz[device.site_id]
        offset = (self.start.astimezone(tz).utcoffset() or timedelta()).total_seconds()
        faults = [w for w in self._physics if w.device_id == device.id]
        args = (device, rng, self.start.timestamp(), self.end.timestamp(), scenario.intervals[device.kind],
                faults, offset)
        noise = scenario.noise.get(device.id, 1.0)
        if device.kind is DeviceKind.ELEVATOR:
            floors = next((b.floors for b in scenario.estate.buildings if b.id == device.building_id), 25)
            return ElevatorSim(*args, floors=floors, noise=noise)
        return SIMULATORS[device.kind](*args, noise=noise)

    def timed(self) -> Iterator[tuple[float, str, str, bytes]]:
        """The stream as (POSIX seconds, device id, topic, payload): what the runner publishes, cheaply."""
        t_start, t_end = self.start.timestamp(), self.end.timestamp()
        for device in self.devices:
            yield t_start, device.id, self.status_topic(device), self.status_payload(device, True, t_start)
        streams = [_tagged(i, self._sim(device)) for i, device in enumerate(self.devices)]
        streams.append(iter(self._presence_changes()))
        topics = [
            {ch: topic_for(d.site_id, d.kind, d.id, ch) for ch in (Channel.TELEMETRY, Channel.EVENT)}
            for d in self.devices
        ]
        zones = [self.tz[d.site_id] for d in self.devices]
        seqs = [0] * len(self.devices)
        misbehavers = self._misbehavers()
        fromtimestamp = datetime.fromtimestamp
        for t, i, emission in heapq.merge(*streams):
            if emission.channel is Channel.STATUS:  # a `disconnected` window: the last will, then back online
                device = self.devices[i]
                online = bool(emission.data["online"])
                yield t, device.id, self.status_topic(device), self.status_payload(device, online, t)
                continue
            seqs[i] += 1
            body = self._body(emission, seqs[i], fromtimestamp(t, zones[i]).isoformat(timespec="milliseconds"))
            payload = _dumps(body)
            device_id, topic = self.devices[i].id, topics[i][emission.channel]
            bad = misbehavers.get(i)
            if bad is None:
                yield t, device_id, topic, payload
                continue
            for at, out in bad.apply(t, body, payload):
                yield at, device_id, topic, out
        for i, bad in misbehavers.items():
            device = self.devices[i]
            for _, out in bad.flush(t_end):
                yield t_end, device.id, topics[i][Channel.TELEMETRY], out
        for device in self.devices:
            yield t_end, device.id, self.status_topic(device), self.status_payload(device, False, t_end)

    @staticmethod
    def _body(emission: Emission, seq: int, ts: str) -> dict[str, Any]:
        body: dict[str, Any] = {"v": CONTRACT_VERSION, "ts": ts, "seq": seq}
        if emission.event is not None:
            body["event"] = emission.event
        body["data"] = emission.data
        return body

    def _presence_changes(self) -> list[tuple[float, int, Emission]]:
        """Status changes of `disconnected` windows, in time order: offline (the will) at the start, online at
        the end (unless the run ends first)."""
        index = {d.id: i for i, d in enumerate(self.devices)}
        t_end = self.end.timestamp()
        out = []
        for window in self._messaging:
            if window.mode != "disconnected":
                continue
            i = index[window.device_id]
            out.append((window.start.timestamp(), i, Emission(window.start.timestamp(), Channel.STATUS, None,
                                                              {"online": False})))
            if window.end.timestamp() < t_end:
                out.append((window.end.timestamp(), i, Emission(window.end.timestamp(), Channel.STATUS, None,
                                                                {"online": True})))
        return sorted(out, key=lambda item: (item[0], item[1]))

    def _misbehavers(self) -> dict[int, Misbehaver]:
        index = {d.id: i for i, d in enumerate(self.devices)}
        out: dict[int, Misbehaver] = {}
        for window in self._messaging:
            i = index[window.device_id]
            bad = out.setdefault(i, Misbehaver(self.devices[i].kind, []))
            bad.windows.append((window.mode, window.start.timestamp(), window.end.timestamp()))
        return out

    def messages(self) -> Iterator[SimMessage]:
        """The stream as `SimMessage`s with timezone-aware simulated times."""
        for t, _device, topic, payload in self.timed():
            yield SimMessage(topic, payload, datetime.fromtimestamp(t, UTC))

    def labels(self) -> list[dict[str, Any]]:
        """The ground truth of this run (see `simulators.labels` for the record format)."""
        kinds = {d.id: d for d in self.scenario.estate.devices}
        records: list[dict[str, Any]] = [{
            "record": "run", "scenario": self.scenario.name, "seed": self.scenario.seed,
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "devices": len(self.devices),
        }]
        for w in self.faults:
            visible = w.visible_at
            records.append({
                "record": "fault", "device": w.device_id, "kind": kinds[w.device_id].kind.value,
                "site": kinds[w.device_id].site_id, "fault": w.fault, "start": w.start.isoformat(),
                "end": w.end.isoformat(), "resident_visible": w.spec.resident_visible,
                "visible_at": visible.isoformat() if visible else None, "shape": w.shape.record(),
            })
        for m in self.misbehaviour:
            records.append({
                "record": "misbehaviour", "device": m.device_id, "mode": m.mode, "start": m.start.isoformat(),
                "end": m.end.isoformat(), "expected_reason": EXPECTED_REASON[m.mode],
            })
        for entry, start, end in self.nuisance:
            records.append({
                "record": "nuisance", "device": entry.device_id, "what": entry.name, "start": start.isoformat(),
                "end": end.isoformat(),
            })
        records += [complaint_record(c) for c in self.complaints]
        return records

