"""Scenario files: which estate, which devices, which faults when, the seed and the speed — validated up front.

A scenario is checked completely before anything is published; every mistake names the file, the line and the
field (``scenarios/x.yaml, line 12: faults[1].device: 'rs-b9-elev-a' is not a device of the estate``).
Format, abridged (see `simulators/scenarios/*.yaml`)::

    name: entrapment
    estate: ../../forewarn/data/demo-estate.yaml   # relative to this file; "demo" means the bundled demo estate
    seed: 7
    speed: 60              # simulated seconds per wall second, or "max"
    start: auto            # auto | "HH:MM" (local, most recent plausible) | RFC 3339 with offset
    duration: 2h           # 90s, 15m, 2h, 7d or plain seconds
    devices: [rs-b1-*]     # ids or shell patterns; "all" (the default) is every device of the estate
    intervals: {elevator: 5s, access_door: 30s, water: 5s}
    faults:
      - {device: rs-b1-elev-a, fault: entrapment, start: 40m, duration: 25m}
      - {device: rs-b1-water-low, fault: supply_outage, start: 1h, duration: 30m,
         shape: {amplitude: 0.8, ramp: 10m}}   # optional: amplitude, ramp, variant, alarm_after (FaultShape)
    misbehaviour:
      - {device: rs-b1-door-east, mode: malformed_json, start: 1h, duration: 5m}
    nuisance:              # ordinary life, not a fault: played like the fault or mode named, labelled `nuisance`
      - {device: rs-b1-elev-b, fault: out_of_service, start: 3h, duration: 90m}   # parked for a maintenance visit
      - {device: rs-b2-elev-a, mode: silent, start: 5h, duration: 60s}           # a power blip
      - {device: rs-b1-elev-a, fault: door_holds, start: 0s, duration: 2h}       # passengers holding the door
    residents: {enabled: true, delay_scale: 1.0}
    noise: {rs-b1-water-low: 2.5}   # factor on a device's measurement noise (1 = the simulator's own), or one number
"""

from __future__ import annotations

import fnmatch
import functools
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from ingest.estate import Estate
from ingest.estate_file import EstateFileError, load_estate_file
from ingest.reading import DeviceKind
from simulators.faults import AMPLITUDE, DEFAULT_SHAPE, FAULTS, LIFE, RAMPED, VARIANTS, FaultShape, water_role
from simulators.misbehaviour import MODES

DEMO_ESTATE = Path(__file__).resolve().parents[1] / "forewarn" / "data" / "demo-estate.yaml"
DEFAULT_INTERVALS = {DeviceKind.ELEVATOR: 5.0, DeviceKind.ACCESS_DOOR: 30.0, DeviceKind.WATER: 5.0}
_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
# A year is more than any test needs, and keeps every simulated time far inside what datetime can hold.
MAX_DURATION_S = 366 * 86400.0
MAX_NOISE = 10.0  # a factor on the simulator's own measurement noise; beyond it readings are mostly noise
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ScenarioError(ValueError):
    """A mistake in a scenario file, located by file, line and field."""

    def __init__(self, path: str, line: int | None, field: str, message: str) -> None:
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {field}: {message}")
        self.path, self.line, self.field, self.message = path, line, field, message


@dataclass(frozen=True, slots=True)
class FaultEntry:
    device_id: str
    name: str  # a fault of `simulators.faults.FAULTS` or a mode of `simulators.misbehaviour.MODES`
    offset_s: float  # from the scenario start
    duration_s: float
    shape: FaultShape = DEFAULT_SHAPE  # how hard and how suddenly (faults only; the simulator's own by default)


@dataclass(slots=True)
class ResidentsConfig:
    """How emulated residents behave: on/off, a factor on every complaint delay, a factor on how many complain."""

    enabled: bool = True
    delay_scale: float = 1.0
    share_scale: float = 1.0
    # bench.anticipation's experiment, not a scenario file's key: uses of a car running through its fault are its
    # own trips (simulators/usage.py `SERVED_THROUGH`).
    uses_from_trips: bool = False


@dataclass(slots=True)
class Scenario:
    """A validated scenario. `speed` None means as fast as possible; `start` None means "auto"."""

    name: str
    path: str
    estate_path: Path
    estate: Estate
    seed: int
    speed: float | None
    start: datetime | None
    start_clock: tuple[int, int] | None  # ("HH", "MM") local, when start was given as a time of day
    duration_s: float
    device_ids: list[str]
    intervals: dict[DeviceKind, float]
    faults: list[FaultEntry] = field(default_factory=list)
    misbehaviour: list[FaultEntry] = field(default_factory=list)
    # Ordinary-life events (a lift parked for a maintenance visit, a power blip): played like the fault or
    # misbehaviour mode they name, but no fault: labelled `nuisance`, they explain no alarm and draw no complaint.
    nuisance: list[FaultEntry] = field(default_factory=list)
    residents: ResidentsConfig = field(default_factory=ResidentsConfig)
    # Factor on each device's sensor measurement noise (`DeviceSim.noise`): 1, the simulator's own, when not named.
    noise: dict[str, float] = field(default_factory=dict)


class _Node(dict):
    line: int = 0  # where the mapping starts
    key_lines: dict[str, int]  # where each of its keys is


class _LineLoader(_Loader):  # type: ignore[misc, valid-type]
    pass


def _mapping(loader: Any, node: yaml.MappingNode) -> _Node:
    out = _Node(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1
    out.key_lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_duration(value: object) -> float:
    """Seconds in `value`: a number of seconds or a string like ``90s``, ``15m``, ``2h``, ``7d``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration (use e.g. 90s, 15m, 2h, 7d)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file (and its estate). Raises `ScenarioError` for any mistake."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(source, None, "(file)", f"cannot be read: {exc.strerror or exc}") from None
    try:
        doc = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(source, mark.line + 1 if mark else None, "(file)",
                            f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return _Parser(source, path.parent).scenario(doc)


@functools.lru_cache(maxsize=8)
def _estate(path: Path, mtime_ns: int, size: int) -> Estate:
    """The parsed estate file, kept while the file is unchanged: the demo estate takes a noticeable fraction of a
    second to parse, and listing or testing scenarios loads it once per scenario."""
    return load_estate_file(path)


class _Parser:
    def __init__(self, source: str, base: Path) -> None:
        self.source, self.base = source, base

    def fail(self, node: Any, field: str, message: str, key: str | None = None) -> ScenarioError:
        """An error at `node`'s line, or at the line of its `key` when given (the field's own line)."""
        line = getattr(node, "line", None)
        key = key or re.sub(r"\[\d+\]$", "", field.rsplit(".", 1)[-1])
        line = getattr(node, "key_lines", {}).get(key, line)
        return ScenarioError(self.source, line, field, message)

    def duration(self, node: _Node, key: str, path: str, default: Any = ..., positive: bool = True) -> float:
        if key not in node:
            if default is ...:
                raise self.fail(node, f"{path}{key}", "is required")
            return default
        try:
            seconds = parse_duration(node[key])
        except ValueError as exc:
            raise self.fail(node, f"{path}{key}", str(exc), key) from None
        if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0):
            raise self.fail(node, f"{path}{key}", f"{node[key]!r} must be {'positive' if positive else '>= 0'}",
                            key)
        if seconds > MAX_DURATION_S:
            raise self.fail(node, f"{path}{key}", f"{node[key]!r} is longer than {MAX_DURATION_S // 86400:g} days",
                            key)
        return seconds

    def scenario(self, doc: Any) -> Scenario:
        if not isinstance(doc, _Node):  # every mapping the loader makes
            raise self.fail(None, "(file)", "must be a mapping with at least 'estate' and 'duration'")
        known = {"name", "estate", "seed", "speed", "start", "duration", "devices", "intervals", "faults",
                 "misbehaviour", "nuisance", "residents", "noise", "description"}
        for key in doc:
            if key not in known:
                raise self.fail(doc, str(key), f"unknown field; expected one of {', '.join(sorted(known))}")
        estate_path, estate = self.estate(doc)
        seed = doc.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise self.fail(doc, "seed", f"must be an integer, got {seed!r}")
        start, clock = self.start(doc)
        duration = self.duration(doc, "duration", "")
        device_ids = self.devices(doc, estate)
        by_id = {d.id: d for d in estate.devices if d.id in set(device_ids)}
        faults = [self.entry(item, f"faults[{i}]", by_id, duration, "fault")
                  for i, item in enumerate(self.items(doc, "faults"))]
        misbehaviour = [self.entry(item, f"misbehaviour[{i}]", by_id, duration, "mode")
                        for i, item in enumerate(self.items(doc, "misbehaviour"))]
        nuisance = [self.entry(item, f"nuisance[{i}]", by_id, duration, "fault" if "fault" in item else "mode", True)
                    for i, item in enumerate(self.items(doc, "nuisance"))]
        name = str(doc.get("name") or Path(self.source).stem)
        return Scenario(name, self.source, estate_path, estate, seed, self.speed(doc), start, clock, duration,
                        device_ids, self.intervals(doc), faults, misbehaviour, nuisance, self.residents(doc),
                        self.noise(doc, device_ids))

    def estate(self, doc: _Node) -> tuple[Path, Estate]:
        raw = doc.get("estate")
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(doc, "estate", "is required: a path to an estate file, or 'demo'")
        path = DEMO_ESTATE if raw.strip() == "demo" else (self.base / raw).resolve()
        try:
            stat = path.stat()
            return path, _estate(path, stat.st_mtime_ns, stat.st_size)
        except OSError as exc:
            raise self.fail(doc, "estate", f"{raw!r} cannot be read: {exc.strerror or exc}") from None
        except EstateFileError as exc:
            raise self.fail(doc, "estate", f"the estate file has a mistake: {exc}") from None

    def speed(self, doc: _Node) -> float | None:
        raw = doc.get("speed", 1)
        if raw == "max":
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw < math.inf:
            raise self.fail(doc, "speed", f"must be a positive number or 'max', got {raw!r}")
        return float(raw)

    def start(self, doc: _Node) -> tuple[datetime | None, tuple[int, int] | None]:
        raw = doc.get("start", "auto")
        if isinstance(raw, datetime):  # YAML parses an unquoted timestamp itself
            raw = raw.isoformat()
        text = str(raw).strip()
        if text == "auto":
            return None, None
        clock = _CLOCK.match(text)
        if clock:
            return None, (int(clock.group(1)), int(clock.group(2)))
        if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 1440:
            return None, divmod(raw, 60)  # YAML 1.1 reads an unquoted 01:30 as the sexagesimal integer 90
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise self.fail(doc, "start", f"{raw!r} must be 'auto', 'HH:MM' or RFC 3339 with an offset")
        if not 1971 <= moment.year <= 2200:  # POSIX seconds and a year of simulation must fit either side
            raise self.fail(doc, "start", f"{raw!r} is not a plausible time for a simulation (1971-2200)")
        return moment, None

    def devices(self, doc: _Node, estate: Estate) -> list[str]:
        raw = doc.get("devices", "all")
        ids = [d.id for d in estate.devices]
        if raw == "all":
            return ids
        if not isinstance(raw, list) or not raw:
            raise self.fail(doc, "devices", "must be 'all' or a non-empty list of device ids or patterns")
        chosen: list[str] = []
        for i, item in enumerate(raw):
            matches = fnmatch.filter(ids, str(item))
            if not matches:
                raise self.fail(doc, f"devices[{i}]", f"{item!r} is not a device of the estate")
            chosen += [m for m in matches if m not in chosen]
        return chosen

    def intervals(self, doc: _Node) -> dict[DeviceKind, float]:
        out = dict(DEFAULT_INTERVALS)
        raw = doc.get("intervals", _Node())
        if not isinstance(raw, _Node):
            raise self.fail(doc, "intervals", "must map a device kind to a telemetry interval")
        for key in raw:
            try:
                kind = DeviceKind(key)
            except ValueError:
                raise self.fail(raw, f"intervals.{key}", "is not a device kind "
                                f"({', '.join(k.value for k in DeviceKind)})") from None
            out[kind] = self.duration(raw, key, "intervals.")
        return out

    def noise(self, doc: _Node, device_ids: list[str]) -> dict[str, float]:
        """`noise:` as one factor for every device played or a mapping of device id to factor (0 to MAX_NOISE)."""
        raw = doc.get("noise", _Node())
        pairs = list(raw.items()) if isinstance(raw, dict) else [(None, raw)]
        out: dict[str, float] = {}
        for device, value in pairs:
            where = "noise" if device is None else f"noise.{device}"
            if device is not None and str(device) not in device_ids:
                raise self.fail(doc, where, f"{device!r} is not a device of this scenario")
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_NOISE:
                raise self.fail(doc, where, f"{value!r} is not a noise factor (a number from 0 to {MAX_NOISE:g}; "
                                "1 is the simulator's own)")
            out.update(dict.fromkeys(device_ids, float(value)) if device is None else {str(device): float(value)})
        return out

    def items(self, doc: _Node, key: str) -> list[_Node]:
        raw = doc.get(key) or []
        if not isinstance(raw, list):
            raise self.fail(doc, key, "must be a list")
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                raise self.fail(doc, f"{key}[{i}]", "must be a mapping with device, start and duration")
        return raw

    def entry(self, node: _Node, path: str, devices: dict, total: float, key: str, life: bool = False) -> FaultEntry:
        """One fault, misbehaviour or nuisance entry; `life`: ordinary-life names (`simulators.faults.LIFE`) allowed."""
        device_id = node.get("device")
        device = devices.get(str(device_id))
        if device is None:
            raise self.fail(node, f"{path}.device", f"{device_id!r} is not a device of the estate"
                            " (or not among the scenario's devices)", "device")
        name = node.get(key)
        if key == "fault" and life and str(name) in LIFE:
            kinds = LIFE[str(name)][0]
            if device.kind not in kinds:
                raise self.fail(node, f"{path}.fault", f"{name} does not apply to {device.kind} {device.id}",
                                "fault")
        elif key == "fault":
            spec = FAULTS.get(str(name))
            if spec is None:
                raise self.fail(node, f"{path}.fault", f"{name!r} is not a known fault; "
                                "`forewarn simulate faults` lists them", "fault")
            if device.kind not in spec.kinds:
                raise self.fail(node, f"{path}.fault", f"{name} does not apply to {device.kind} {device.id}",
                                "fault")
            if spec.roles and water_role(device.id) not in spec.roles:
                raise self.fail(node, f"{path}.fault", f"{name} needs a {'/'.join(sorted(spec.roles))} "
                                f"device; {device.id} is a {water_role(device.id)}", "fault")
        elif str(name) not in MODES:
            raise self.fail(node, f"{path}.mode", f"{name!r} is not one of {', '.join(MODES)}", "mode")
        offset = self.duration(node, "start", f"{path}.", positive=False)
        duration = self.duration(node, "duration", f"{path}.")
        if offset >= total:
            raise self.fail(node, f"{path}.start", "is after the end of the scenario", "start")
        shape = self.shape(node, path, str(name)) if key == "fault" and "shape" in node else DEFAULT_SHAPE
        return FaultEntry(device.id, str(name), offset, duration, shape)

    def shape(self, entry: _Node, path: str, fault: str) -> FaultShape:
        """A fault entry's optional `shape:` mapping, checked against what the fault can do."""
        node, path = entry["shape"], f"{path}.shape"
        if not isinstance(node, _Node):
            raise self.fail(entry, path, "must be a mapping (amplitude, ramp, variant, alarm_after)", "shape")
        known = ("amplitude", "ramp", "variant", "alarm_after")
        for key in node:
            if key not in known:
                raise self.fail(node, f"{path}.{key}", f"unknown field; expected one of {', '.join(known)}", str(key))
        amplitude = node.get("amplitude", 1.0)
        if "amplitude" in node:
            if isinstance(amplitude, bool) or not isinstance(amplitude, int | float) or not 0 < amplitude <= 10:
                raise self.fail(node, f"{path}.amplitude", f"must be a number above 0 (at most 10), "
                                f"got {amplitude!r}", "amplitude")
            if fault not in AMPLITUDE:
                raise self.fail(node, f"{path}.amplitude", f"has no effect on {fault}; it scales "
                                f"{', '.join(sorted(AMPLITUDE))}", "amplitude")
        ramp = self.duration(node, "ramp", f"{path}.", default=0.0, positive=False)
        if "ramp" in node and fault not in RAMPED:
            raise self.fail(node, f"{path}.ramp", f"{fault} cannot start gradually; "
                            f"{', '.join(sorted(RAMPED))} can", "ramp")
        variant = str(node.get("variant") or "")
        if variant and variant not in VARIANTS.get(fault, {}):
            choices = ", ".join(VARIANTS.get(fault, {})) or "none"
            raise self.fail(node, f"{path}.variant", f"{variant!r} is not a variant of {fault} "
                            f"(its variants: {choices})", "variant")
        alarm = None
        if "alarm_after" in node:
            if fault != "entrapment":
                raise self.fail(node, f"{path}.alarm_after", "applies to entrapment only", "alarm_after")
            alarm = self.duration(node, "alarm_after", f"{path}.", positive=False)
        return FaultShape(float(amplitude), ramp, variant, alarm)

    def residents(self, doc: _Node) -> ResidentsConfig:
        raw = doc.get("residents", {})
        if not isinstance(raw, dict):
            raise self.fail(doc, "residents", "must be a mapping (enabled, delay_scale, share_scale)")
        config = ResidentsConfig()
        for key, value in raw.items():
            if key == "enabled" and isinstance(value, bool):
                config.enabled = value
            elif (key in ("delay_scale", "share_scale") and isinstance(value, int | float)
                  and not isinstance(value, bool) and 0 < value <= 100):
                setattr(config, key, float(value))
            else:
                raise self.fail(raw, f"residents.{key}", f"{value!r} is not valid here")
        return config
