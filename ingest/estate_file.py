"""Parse and validate a YAML estate file into an `Estate`; every error names the file, the line and the field.

Format (version 1), abridged — see `forewarn/data/demo-estate.yaml` for a full example::

    version: 1
    sites:
      - id: riverside
        name: 滨江花园
        timezone: Asia/Shanghai
        buildings:
          - id: rs-b1
            name: 1号楼
            floors: 18
            grid: G1
            units:
              - id: rs-b1-1801
                floor: 18
                number: "1801"
                type: 3室2厅               # optional: the unit type (户型), free text
                residents:
                  - {id: r-00001, name: 王芳, language: zh-CN, channel: app, group: owner, age_band: 30-44,
                     moved_in: 2019-05-01, needs_help: false}
        devices:
          - id: rs-b1-elev-a
            kind: elevator            # elevator | access_door | water
            building: rs-b1
            location: 1号楼 A梯
            serves: {building: rs-b1} # or: site | {building: B, floors: [10, 18]} | {units: [U1, U2]}
        manager: mgr-wang             # optional: the site manager, the escalation ladder's last rung
        grids:                        # optional: each grid's owner per department (first responsibility)
          G1: {engineering: eng-li, customer_service: cs-chen}
    departments:                      # optional: who works where
      - id: engineering
        head: eng-head                # the supervisor of every member listed (the ladder's second rung)
        members: [eng-li, eng-zhang]

A resident's `group` is their tenure (owner or tenant, the default owner); `age_band`, `moved_in` (a date,
YYYY-MM-DD) and `needs_help` (true or false: elderly or disabled, needing assistance) are optional, as is a unit's
`type`: the survey report's cross-analysis groups households by them (docs/surveys.md).

Staff accounts are created with `forewarn user add`; the file says who is responsible where. Users and
departments are checked against the database when the file is loaded (an unknown one is an error naming the line).
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ingest.estate import (
    Building,
    Device,
    Estate,
    FilePlace,
    GridOwner,
    Language,
    Membership,
    NoticeChannel,
    Resident,
    ResidentGroup,
    Site,
    SiteManager,
    Unit,
)
from ingest.reading import DeviceKind

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class EstateFileError(ValueError):
    """A mistake in an estate file, located by file, line and field path."""

    def __init__(self, path: str, line: int | None, field: str, message: str) -> None:
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {field}: {message}")
        self.path, self.line, self.field, self.message = path, line, field, message


class _Node(dict[str, Any]):
    """A mapping that remembers the line it started on, and the line of each of its keys."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(_Loader):  # type: ignore[misc, valid-type]
    pass


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> _Node:
    mapping = _Node(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value if hasattr(k, "value")}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay text for the parser to read: YAML's own timestamp constructor raises a bare ValueError, without a line,
# on a date such as 2020-13-01.
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def load_estate_file(path: Path) -> Estate:
    """Read and validate `path`. Raises `EstateFileError` (or `OSError` for an unreadable file)."""
    text = path.read_text(encoding="utf-8")
    return parse_estate(text, str(path))


def parse_estate(text: str, source: str = "<estate>") -> Estate:
    try:
        doc = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise EstateFileError(source, line, "(file)", f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return _Parser(source).estate(doc)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out = Estate()
        self.ids: dict[str, str] = {}  # every id → the field path that defined it, to refuse duplicates
        self.units_by_building: dict[str, list[Unit]] = {}

    def fail(self, node: Any, field: str, message: str) -> EstateFileError:
        """An error at `field` of `node`: on the line of that key when the node has it, else where the node starts."""
        key = field.rsplit(".", 1)[-1]
        line = getattr(node, "key_lines", {}).get(key) or getattr(node, "line", None)
        return EstateFileError(self.source, line, field, message)

    def get(self, node: _Node, key: str, path: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in node:
            if default is ...:
                raise self.fail(node, f"{path}.{key}", "is required")
            return default
        value = node[key]
        if isinstance(value, bool) and kind is int or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(node, f"{path}.{key}", f"must be {names}, got {value!r}")
        return value

    def new_id(self, node: _Node, path: str) -> str:
        value = self.get(node, "id", path, (str, int))
        ident = str(value).strip()
        if not ident or "/" in ident or "+" in ident or "#" in ident:
            raise self.fail(node, f"{path}.id", f"{ident!r} must be non-empty without '/', '+' or '#'")
        if ident in self.ids:
            raise self.fail(node, f"{path}.id", f"{ident!r} is already used by {self.ids[ident]}")
        self.ids[ident] = path
        return ident

    def enum(self, node: _Node, key: str, path: str, enum: type[Enum], default: Any) -> Any:
        raw = self.get(node, key, path, str, default.value)
        try:
            return enum(raw)
        except ValueError:
            choices = ", ".join(e.value for e in enum)
            raise self.fail(node, f"{path}.{key}", f"{raw!r} is not one of {choices}") from None

    def items(self, node: Any, key: str, path: str) -> list[Any]:
        value: list[Any] = self.get(node, key, path, list, [])
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(node, f"{path}.{key}[{i}]", "must be a mapping")
        return value

    def estate(self, doc: Any) -> Estate:
        if not isinstance(doc, _Node):  # every mapping the loader makes
            raise self.fail(None, "(file)", "must be a mapping with 'version' and 'sites'")
        version = self.get(doc, "version", "estate", int)
        if version != 1:
            raise self.fail(doc, "version", f"{version} is not supported (expected 1)")
        sites = self.items(doc, "sites", "estate")
        if not sites:
            raise self.fail(doc, "sites", "needs at least one site")
        for i, site in enumerate(sites):
            self.site(site, f"sites[{i}]")
        for i, department in enumerate(self.items(doc, "departments", "estate")):
            self.department(department, f"departments[{i}]")
        return self.out

    def place(self, node: Any, field: str) -> FilePlace:
        key = field.rsplit(".", 1)[-1]
        line = getattr(node, "key_lines", {}).get(key) or getattr(node, "line", None)
        return FilePlace(self.source, line, field)

    def user_id(self, node: Any, key: str, path: str, value: Any) -> str:
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            raise self.fail(node, f"{path}.{key}", f"must be a user id, got {value!r}")
        return str(value).strip()

    def staff(self, node: _Node, path: str, site_id: str) -> None:
        """The optional `manager` and `grids` of a site, once its buildings (and so its grids) are known."""
        if "manager" in node:
            user = self.user_id(node, "manager", path, node["manager"])
            self.out.site_managers.append(SiteManager(site_id, user, self.place(node, f"{path}.manager")))
        grids = self.get(node, "grids", path, dict, {})
        known = sorted({b.grid for b in self.out.buildings if b.site_id == site_id and b.grid})
        for grid, owners in grids.items():
            where = f"{path}.grids.{grid}"
            if str(grid) not in known:
                raise self.fail(grids, where, f"no building of {site_id} is in grid {grid!r}; its grids are "
                                              f"{', '.join(known) or 'none (give buildings a grid)'}")
            if not isinstance(owners, dict) or not owners:
                raise self.fail(grids, where, "must map departments to users, e.g. {engineering: eng-li}")
            for department, user in owners.items():
                self.out.grid_owners.append(GridOwner(
                    site_id, str(grid), str(department), self.user_id(owners, str(department), where, user),
                    self.place(owners, f"{where}.{department}")))

    def department(self, node: _Node, path: str) -> None:
        department = str(self.get(node, "id", path, str)).strip()
        head = self.user_id(node, "head", path, node["head"]) if "head" in node else None
        members = self.get(node, "members", path, list, [])
        seen = {m.user_id: m.at for m in self.out.memberships}
        for user in ([head] if head else []) + [self.user_id(node, "members", path, m) for m in members]:
            if user in seen:
                earlier = seen[user]
                raise self.fail(node, f"{path}.members", f"{user!r} is already a member at "
                                                         f"{earlier.field if earlier else 'another department'}")
            field = f"{path}.head" if user == head else f"{path}.members"
            # The head keeps their own supervisor; every other member reports to the head (if one is named).
            membership = Membership(user, department, None if user == head else head, self.place(node, field),
                                    self.place(node, f"{path}.id"))
            self.out.memberships.append(membership)
            seen[user] = membership.at

    def site(self, node: _Node, path: str) -> None:
        site_id = self.new_id(node, path)
        tz = self.get(node, "timezone", path, str, "Asia/Shanghai")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(node, f"{path}.timezone", f"{tz!r} is not an IANA time zone") from None
        self.out.sites.append(Site(site_id, self.get(node, "name", path, str), tz))
        for i, building in enumerate(self.items(node, "buildings", path)):
            self.building(building, f"{path}.buildings[{i}]", site_id)
        for i, device in enumerate(self.items(node, "devices", path)):
            self.device(device, f"{path}.devices[{i}]", site_id)
        self.staff(node, path, site_id)

    def building(self, node: _Node, path: str, site_id: str) -> None:
        building_id = self.new_id(node, path)
        floors = self.get(node, "floors", path, int)
        if floors < 1:
            raise self.fail(node, f"{path}.floors", "must be at least 1")
        grid = self.get(node, "grid", path, str, None)
        self.out.buildings.append(Building(building_id, site_id, self.get(node, "name", path, str), floors, grid))
        units = self.units_by_building.setdefault(building_id, [])
        for i, unit_node in enumerate(self.items(node, "units", path)):
            unit = self.unit(unit_node, f"{path}.units[{i}]", building_id, floors)
            units.append(unit)

    def unit(self, node: _Node, path: str, building_id: str, floors: int) -> Unit:
        unit_id = self.new_id(node, path)
        floor = self.get(node, "floor", path, int)
        if not -5 <= floor <= floors or floor == 0:
            raise self.fail(node, f"{path}.floor", f"{floor} is not a floor of this building (1..{floors})")
        unit_type = self.get(node, "type", path, (str, int), None)
        unit = Unit(unit_id, building_id, floor, str(self.get(node, "number", path, (str, int))),
                    None if unit_type is None else str(unit_type).strip() or None)
        self.out.units.append(unit)
        for i, resident in enumerate(self.items(node, "residents", path)):
            self.resident(resident, f"{path}.residents[{i}]", unit_id)
        return unit

    def resident(self, node: _Node, path: str, unit_id: str) -> None:
        self.out.residents.append(
            Resident(
                id=self.new_id(node, path),
                unit_id=unit_id,
                name=self.get(node, "name", path, str),
                language=self.enum(node, "language", path, Language, Language.ZH_CN),
                channel=self.enum(node, "channel", path, NoticeChannel, NoticeChannel.APP),
                phone=self.get(node, "phone", path, (str, int), None),
                email=self.get(node, "email", path, str, None),
                group=self.enum(node, "group", path, ResidentGroup, ResidentGroup.OWNER),
                age_band=self.get(node, "age_band", path, str, None),
                moved_in=self.date(node, "moved_in", path),
                needs_help=self.flag(node, "needs_help", path),
            )
        )

    def date(self, node: _Node, key: str, path: str) -> date | None:
        """An optional calendar date: YAML's 2019-05-01 (or the same as a quoted string)."""
        value = node.get(key)
        if value is None:
            return None
        try:
            if not isinstance(value, str) or len(value.strip()) != len("YYYY-MM-DD"):
                raise ValueError
            return date.fromisoformat(value.strip())
        except ValueError:
            raise self.fail(node, f"{path}.{key}", f"{value!r} is not a date: write YYYY-MM-DD") from None

    def flag(self, node: _Node, key: str, path: str) -> bool | None:
        """An optional true/false."""
        value = node.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.fail(node, f"{path}.{key}", f"must be true or false, got {value!r}")
        return value

    def device(self, node: _Node, path: str, site_id: str) -> None:
        device_id = self.new_id(node, path)
        kind = self.enum(node, "kind", path, DeviceKind, DeviceKind.WATER) if "kind" in node else None
        if kind is None:
            raise self.fail(node, f"{path}.kind", "is required (elevator, access_door or water)")
        building = self.get(node, "building", path, str, None)
        if building is not None and building not in self.units_by_building:
            raise self.fail(node, f"{path}.building", f"{building!r} is not a building of this estate")
        serves = self.serves(node, f"{path}.serves", site_id)
        location = self.get(node, "location", path, str, "")
        self.out.devices.append(Device(device_id, kind, site_id, building, location, serves))

    def serves(self, node: _Node, path: str, site_id: str) -> frozenset[str]:
        spec = node.get("serves")
        if spec == "site":
            buildings = {b.id for b in self.out.buildings if b.site_id == site_id}
            return frozenset(u.id for b in buildings for u in self.units_by_building[b])
        if not isinstance(spec, _Node):
            raise self.fail(node, path, "must be 'site', {building: B[, floors: [lo, hi]]} or {units: [...]}")
        if "units" in spec:
            units = spec["units"]
            known = {u.id for u in self.out.units}
            if not isinstance(units, list) or not units:
                raise self.fail(spec, f"{path}.units", "must be a non-empty list of unit ids")
            missing = [u for u in units if str(u) not in known]
            if missing:
                raise self.fail(spec, f"{path}.units", f"unknown unit(s): {', '.join(map(str, missing[:5]))}")
            return frozenset(str(u) for u in units)
        building = self.get(spec, "building", path, str)
        if building not in self.units_by_building:
            raise self.fail(spec, f"{path}.building", f"{building!r} is not a building of this estate")
        lo, hi = -99, 999
        if "floors" in spec:
            floors = spec["floors"]
            if not (isinstance(floors, list) and len(floors) == 2 and all(isinstance(f, int) for f in floors)):
                raise self.fail(spec, f"{path}.floors", "must be [lowest, highest]")
            lo, hi = floors
        served = frozenset(u.id for u in self.units_by_building[building] if lo <= u.floor <= hi)
        if not served:
            raise self.fail(spec, path, "serves no unit: check the building and floor range")
        return served
