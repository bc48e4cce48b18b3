"""The names people read in place of ids: departments, staff, residents, units, buildings and sites, as the pages,
the pushes and the ticket notes write them. One home, so that every reader falls back the same way: a name when the
row has one, the id when it has no row (an id in an old event, a deleted building), "—" or None for no id at all.

Reads only. The lists the forms offer (every department, every site with its buildings) are here too, by id."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

_ONE = {
    "departments": "SELECT name FROM departments WHERE id = %s",
    "users": "SELECT name FROM users WHERE id = %s",
    "residents": "SELECT name FROM residents WHERE id = %s",
    "buildings": "SELECT name FROM buildings WHERE id = %s",
    "sites": "SELECT name FROM sites WHERE id = %s",
}


def _one(conn: psycopg.Connection, table: str, row_id: str) -> str | None:
    row = conn.execute(_ONE[table], (row_id,)).fetchone()
    return str(row[0]) if row else None


def department_name(conn: psycopg.Connection, department_id: str | None) -> str:
    """A department as people read it (环境部 Cleaning and environment); its id if it has no row, "—" for none."""
    if department_id is None:
        return "—"
    return _one(conn, "departments", department_id) or department_id


def staff_name(conn: psycopg.Connection, user_id: str | None) -> str:
    """A staff member as a note names them (王工); their id if they have no row, "—" for nobody."""
    if user_id is None:
        return "—"
    return _one(conn, "users", user_id) or user_id


def user_name(conn: psycopg.Connection, user_id: str | None) -> str | None:
    """A user's name, None for none or no row (the pages then show their own placeholder)."""
    return None if user_id is None else _one(conn, "users", user_id)


def resident_name(conn: psycopg.Connection, resident_id: str | None) -> str | None:
    """A resident's name, None for none or no row."""
    return None if resident_id is None else _one(conn, "residents", resident_id)


def building_name(conn: psycopg.Connection, building_id: str) -> str:
    """A building as people read it (1号楼 Building 1); its id if it has no row."""
    return _one(conn, "buildings", building_id) or building_id


def site_name(conn: psycopg.Connection, site_id: str) -> str:
    """A site (estate) as people read it; its id if it has no row."""
    return _one(conn, "sites", site_id) or site_id


def unit_name(conn: psycopg.Connection, unit_id: str | None) -> str | None:
    """A unit: its building's name and its number ("1号楼 Building 1 1301"); its id if it has no row, None for
    none."""
    if unit_id is None:
        return None
    row = conn.execute("SELECT b.name || ' ' || u.number FROM units u JOIN buildings b ON b.id = u.building_id "
                       "WHERE u.id = %s", (unit_id,)).fetchone()
    return str(row[0]) if row else unit_id


def actor_names(conn: psycopg.Connection, actors: Iterable[str | None]) -> dict[str, str]:
    """The name of each actor that is a staff user or a resident, by id (one query for a whole timeline)."""
    ids = sorted({a for a in actors if a})
    if not ids:
        return {}
    return dict(conn.execute("SELECT id, name FROM users WHERE id = ANY(%(ids)s) UNION ALL "
                             "SELECT id, name FROM residents WHERE id = ANY(%(ids)s)", {"ids": ids}).fetchall())


def building_names(conn: psycopg.Connection, site_id: str | None = None) -> dict[str, str]:
    """Every building's name by its id (of one site, if given), for what is keyed by building id."""
    return dict(conn.execute("SELECT id, name FROM buildings WHERE %(site)s::text IS NULL OR site_id = %(site)s",
                             {"site": site_id}).fetchall())


def place_names(conn: psycopg.Connection) -> dict[str, str]:
    """Every site's, building's and department's name by its id: what a slice or an owner column may hold."""
    return dict(conn.execute("SELECT id, name FROM sites UNION ALL SELECT id, name FROM buildings "
                             "UNION ALL SELECT id, name FROM departments").fetchall())


def departments(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(id, name) of every department, by id."""
    return [(r[0], r[1]) for r in conn.execute("SELECT id, name FROM departments ORDER BY id")]


def sites(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(id, name) of every site, by id."""
    return [(r[0], r[1]) for r in conn.execute("SELECT id, name FROM sites ORDER BY id")]


def sites_and_buildings(conn: psycopg.Connection) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(site id, site name, [(building id, name)]) of every site, for the forms that target a site or building."""
    buildings: dict[str, list[tuple[str, str]]] = {}
    for site_id, building_id, name in conn.execute("SELECT site_id, id, name FROM buildings ORDER BY site_id, id"):
        buildings.setdefault(site_id, []).append((building_id, name))
    return [(site_id, name, buildings.get(site_id, [])) for site_id, name in sites(conn)]
