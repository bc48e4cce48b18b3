"""Write an `Estate` to PostgreSQL (idempotently) and read the registry back."""

from __future__ import annotations

import psycopg

from ingest import storage
from ingest.estate import (
    Building,
    Device,
    Estate,
    Language,
    NoticeChannel,
    Resident,
    ResidentGroup,
    Site,
    Unit,
)
from ingest.reading import DeviceKind

# Upserts keyed on id: re-loading the same file changes nothing; a changed file updates rows in place.
_UPSERT_SITE = """INSERT INTO sites (id, name, timezone) VALUES (%s, %s, %s)
    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone"""
_UPSERT_BUILDING = """INSERT INTO buildings (id, site_id, name, floors, grid) VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (id) DO UPDATE SET site_id = EXCLUDED.site_id, name = EXCLUDED.name,
        floors = EXCLUDED.floors, grid = EXCLUDED.grid"""
_UPSERT_UNIT = """INSERT INTO units (id, building_id, floor, number, unit_type) VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (id) DO UPDATE SET building_id = EXCLUDED.building_id, floor = EXCLUDED.floor,
        number = EXCLUDED.number, unit_type = EXCLUDED.unit_type"""
_UPSERT_RESIDENT = """INSERT INTO residents
        (id, unit_id, name, language, channel, phone, email, resident_group, age_band, moved_in, needs_help, active)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true)
    ON CONFLICT (id) DO UPDATE SET unit_id = EXCLUDED.unit_id, name = EXCLUDED.name,
        language = EXCLUDED.language, channel = EXCLUDED.channel, phone = EXCLUDED.phone, email = EXCLUDED.email,
        resident_group = EXCLUDED.resident_group, age_band = EXCLUDED.age_band,
        moved_in = EXCLUDED.moved_in, needs_help = EXCLUDED.needs_help, active = true"""
_UPSERT_DEVICE = """INSERT INTO devices (id, kind, site_id, building_id, location, active)
    VALUES (%s, %s, %s, %s, %s, true)
    ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, site_id = EXCLUDED.site_id,
        building_id = EXCLUDED.building_id, location = EXCLUDED.location, active = true"""

# Every change to the registry bumps its version, in the same transaction, and wakes listeners at commit: running
# workers compare the version to the one they loaded (ingest/service.py, forewarn/pipeline.py).
_BUMP_VERSION = "UPDATE registry_version SET version = version + 1, changed_at = now()"
_NOTIFY = "NOTIFY forewarn_registry"
registry_version = storage.registry_version  # one home for the query (ingest/storage.py)


def save_estate(conn: psycopg.Connection, estate: Estate) -> dict[str, int]:
    """Upsert the whole estate in the caller's transaction. Residents and devices of the sites in the file that
    the file no longer lists are deactivated (never deleted: tickets and notices refer to them)."""
    with conn.cursor() as cur:
        cur.executemany(_UPSERT_SITE, [(s.id, s.name, s.timezone) for s in estate.sites])
        cur.executemany(_UPSERT_BUILDING, [(b.id, b.site_id, b.name, b.floors, b.grid) for b in estate.buildings])
        cur.executemany(_UPSERT_UNIT, [(u.id, u.building_id, u.floor, u.number, u.unit_type) for u in estate.units])
        cur.executemany(
            _UPSERT_RESIDENT,
            [
                (r.id, r.unit_id, r.name, r.language.value, r.channel.value, r.phone, r.email, r.group.value,
                 r.age_band, r.moved_in, r.needs_help)
                for r in estate.residents
            ],
        )
        cur.executemany(
            _UPSERT_DEVICE,
            [(d.id, d.kind.value, d.site_id, d.building_id, d.location) for d in estate.devices],
        )
        site_ids = [s.id for s in estate.sites]
        device_ids = [d.id for d in estate.devices]
        cur.execute("DELETE FROM device_units WHERE device_id = ANY(%s)", (device_ids,))
        cur.executemany(
            "INSERT INTO device_units (device_id, unit_id) VALUES (%s, %s)",
            [(d.id, unit) for d in estate.devices for unit in sorted(d.serves)],
        )
        cur.execute(
            """UPDATE residents r SET active = false FROM units u JOIN buildings b ON b.id = u.building_id
               WHERE r.unit_id = u.id AND b.site_id = ANY(%s) AND NOT r.id = ANY(%s) AND r.active""",
            (site_ids, [r.id for r in estate.residents]),
        )
        cur.execute(
            "UPDATE devices SET active = false WHERE site_id = ANY(%s) AND NOT id = ANY(%s) AND active",
            (site_ids, device_ids),
        )
        cur.execute(_BUMP_VERSION)
        cur.execute(_NOTIFY)
    return estate.summary()


def load_registry(conn: psycopg.Connection) -> Estate:
    """The active estate as stored: what ingest, the detectors and tickets read."""
    estate = Estate()
    estate.sites = [Site(*row) for row in conn.execute("SELECT id, name, timezone FROM sites ORDER BY id")]
    estate.buildings = [
        Building(*row) for row in conn.execute("SELECT id, site_id, name, floors, grid FROM buildings ORDER BY id")
    ]
    estate.units = [Unit(*row) for row in conn.execute(
        "SELECT id, building_id, floor, number, unit_type FROM units ORDER BY id")]
    estate.residents = [
        Resident(rid, unit, name, Language(lang), NoticeChannel(ch), phone, email, ResidentGroup(group), age,
                 moved_in, needs_help)
        for rid, unit, name, lang, ch, phone, email, group, age, moved_in, needs_help in conn.execute(
            """SELECT id, unit_id, name, language, channel, phone, email, resident_group, age_band, moved_in,
                      needs_help
               FROM residents WHERE active ORDER BY id"""
        )
    ]
    served: dict[str, set[str]] = {}
    for device_id, unit_id in conn.execute("SELECT device_id, unit_id FROM device_units"):
        served.setdefault(device_id, set()).add(unit_id)
    estate.devices = [
        Device(did, DeviceKind(kind), site, building, location, frozenset(served.get(did, ())))
        for did, kind, site, building, location in conn.execute(
            "SELECT id, kind, site_id, building_id, location FROM devices WHERE active ORDER BY id"
        )
    ]
    return estate


def known_devices(conn: psycopg.Connection) -> dict[str, DeviceKind]:
    """Active device id → kind: what ingest validates topics against."""
    return {did: DeviceKind(kind) for did, kind in conn.execute("SELECT id, kind FROM devices WHERE active")}
