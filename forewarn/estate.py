"""Loading an estate file whole: its master data (ingest's registry) and who is responsible where — department
membership (api.auth), grid owners and site managers (tickets.routing) — in one transaction, so a file with one
unknown user changes nothing. The CLI's `forewarn estate owner|manager` and `forewarn user set` check with the
same functions."""

from __future__ import annotations

import psycopg

from api.auth import Role, set_department, staff_roles
from ingest.estate import Estate, FilePlace
from ingest.estate_file import EstateFileError
from ingest.estate_store import save_estate
from tickets.routing import set_grid_owner, set_site_manager

MANAGER_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


class ResponsibilityError(ValueError):
    """A user or department that the database does not know (or of the wrong kind) for a responsibility."""


def departments(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT id FROM departments ORDER BY id")]


def check_department(conn: psycopg.Connection, department_id: str) -> None:
    known = departments(conn)
    if department_id not in known:
        raise ResponsibilityError(f"unknown department {department_id!r}; the departments are {', '.join(known)}")


def check_staff(conn: psycopg.Connection, user_id: str, *, manager: bool = False) -> None:
    """Raise unless `user_id` is an active staff account (a manager or admin, with `manager`)."""
    role = staff_roles(conn, [user_id]).get(user_id)
    if role is None:
        raise ResponsibilityError(f"unknown staff user {user_id!r}: create it first with `forewarn user add`")
    if manager and role not in MANAGER_ROLES:
        raise ResponsibilityError(f"{user_id!r} is {role.value}; a site manager must be a manager or admin")


def check_site(conn: psycopg.Connection, site_id: str) -> None:
    if conn.execute("SELECT 1 FROM sites WHERE id = %s", (site_id,)).fetchone() is None:
        raise ResponsibilityError(f"unknown site {site_id!r}; load the estate file that defines it first")


def _at(place: FilePlace | None, exc: ResponsibilityError) -> Exception:
    if place is None:
        return exc
    return EstateFileError(place.source, place.line, place.field, str(exc))


def save_responsibilities(conn: psycopg.Connection, estate: Estate) -> None:
    """Department membership, grid owners and site managers of `estate`, checked against the database; the first
    unknown user or department raises `EstateFileError` naming its line (the caller's transaction rolls back)."""
    for m in estate.memberships:
        try:
            check_department(conn, m.department_id)
        except ResponsibilityError as exc:
            raise _at(m.department_at, exc) from None
        try:
            check_staff(conn, m.user_id)
            if m.supervisor_id is not None:
                check_staff(conn, m.supervisor_id)
        except ResponsibilityError as exc:
            raise _at(m.at, exc) from None
        set_department(conn, user_id=m.user_id, department_id=m.department_id, supervisor_id=m.supervisor_id)
    for g in estate.grid_owners:
        try:
            check_department(conn, g.department_id)
            check_staff(conn, g.user_id)
        except ResponsibilityError as exc:
            raise _at(g.at, exc) from None
        set_grid_owner(conn, grid=g.grid, department_id=g.department_id, user_id=g.user_id)
    for s in estate.site_managers:
        try:
            check_staff(conn, s.user_id, manager=True)
        except ResponsibilityError as exc:
            raise _at(s.at, exc) from None
        set_site_manager(conn, site_id=s.site_id, user_id=s.user_id)


def load_estate(conn: psycopg.Connection, estate: Estate) -> dict[str, int]:
    """The whole file in one transaction: master data, then responsibilities. Loading it again changes nothing."""
    with conn.transaction():
        counts = save_estate(conn, estate)
        save_responsibilities(conn, estate)
    return counts
