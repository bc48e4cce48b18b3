"""The estate registry (master data): sites → buildings → units → residents, and devices with the units each serves.

This is the one home of master data. It sits in `ingest`, the bottom layer, so that every other package can read
it without importing upward. `ingest.estate_file` parses the YAML estate file into these values;
`ingest.estate_store` writes and reads them in PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ingest.reading import DeviceKind


class Language(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


class NoticeChannel(StrEnum):
    """How a resident prefers to be told: in the app (and SSE), MQTT push, SMS/WeChat webhook, or email."""

    APP = "app"
    MQTT = "mqtt"
    SMS = "sms"
    WECHAT = "wechat"
    EMAIL = "email"


class ResidentGroup(StrEnum):
    """The resident's tenure: survey cross-analysis reports it as "tenure" (001: 自住户 / 出租户)."""

    OWNER = "owner"  # owner-occupier (业主)
    TENANT = "tenant"  # 租户


@dataclass(frozen=True, slots=True)
class Resident:
    id: str
    unit_id: str
    name: str
    language: Language = Language.ZH_CN
    channel: NoticeChannel = NoticeChannel.APP
    phone: str | None = None
    email: str | None = None
    group: ResidentGroup = ResidentGroup.OWNER
    age_band: str | None = None  # e.g. "30-44"; used for survey cross-analysis
    moved_in: date | None = None  # when they moved in: the survey's tenure-length bands (<1 y, 1–3 y, 3–10 y, ≥10 y)
    needs_help: bool | None = None  # elderly or disabled, needing assistance (None: not stated)


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    building_id: str
    floor: int
    number: str
    unit_type: str | None = None  # 户型, free text ("3室2厅", "studio"): a survey cross-analysis attribute


@dataclass(frozen=True, slots=True)
class Building:
    id: str
    site_id: str
    name: str
    floors: int
    grid: str | None = None  # the service grid (网格) that routes complaints to an owner


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    kind: DeviceKind
    site_id: str
    building_id: str | None
    location: str
    serves: frozenset[str] = field(default_factory=frozenset)  # unit ids whose residents this device affects


@dataclass(frozen=True, slots=True)
class FilePlace:
    """Where an estate file states something that can only be checked against the database (a user, a
    department): the error then names the file, the line and the field."""

    source: str
    line: int | None
    field: str


@dataclass(frozen=True, slots=True)
class GridOwner:
    """The first-responsibility owner of a service grid for one department (table grid_owners)."""

    site_id: str
    grid: str
    department_id: str
    user_id: str
    at: FilePlace | None = None


@dataclass(frozen=True, slots=True)
class SiteManager:
    """The last rung of a site's escalation ladder (table site_managers)."""

    site_id: str
    user_id: str
    at: FilePlace | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    """A staff member's department, and its head as their supervisor (users.department_id, supervisor_id)."""

    user_id: str
    department_id: str
    supervisor_id: str | None
    at: FilePlace | None = None
    department_at: FilePlace | None = None  # where the department itself is named


@dataclass(slots=True)
class Estate:
    """A whole estate file's worth of master data, validated and expanded (served units listed)."""

    sites: list[Site] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    # Optional: who is responsible where. The staff accounts themselves are created with `forewarn user add`.
    memberships: list[Membership] = field(default_factory=list)
    grid_owners: list[GridOwner] = field(default_factory=list)
    site_managers: list[SiteManager] = field(default_factory=list)

    def device(self, device_id: str) -> Device:
        for device in self.devices:
            if device.id == device_id:
                return device
        raise KeyError(device_id)

    def residents_served_by(self, device_id: str) -> list[Resident]:
        served = self.device(device_id).serves
        return [r for r in self.residents if r.unit_id in served]

    def summary(self) -> dict[str, int]:
        return {
            "sites": len(self.sites),
            "buildings": len(self.buildings),
            "units": len(self.units),
            "residents": len(self.residents),
            "devices": len(self.devices),
            **{name: len(items) for name, items in (("department members", self.memberships),
                                                     ("grid owners", self.grid_owners),
                                                     ("site managers", self.site_managers)) if items},
        }
