"""Routing: category → department; building grid → the department's owner there (first-responsibility);
and the escalation ladder above an owner (supervisor, then the site manager)."""

from __future__ import annotations

import psycopg


def grid_owner(conn: psycopg.Connection, building_id: str | None, department_id: str) -> str | None:
    """The user who owns the building's grid for the department; else the department's first active staff
    member (deterministic), so that no ticket is left without an owner when grids are not yet assigned."""
    if building_id is not None:
        row = conn.execute(
            """SELECT g.user_id FROM buildings b
               JOIN grid_owners g ON g.grid = b.grid AND g.department_id = %s
               JOIN users u ON u.id = g.user_id AND u.active
               WHERE b.id = %s""",
            (department_id, building_id),
        ).fetchone()
        if row:
            return str(row[0])
    row = conn.execute(
        """SELECT id FROM users WHERE department_id = %s AND active AND role IN ('agent', 'engineer')
           ORDER BY id LIMIT 1""",
        (department_id,),
    ).fetchone()
    return row[0] if row else None


def supervisor_of(conn: psycopg.Connection, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    row = conn.execute("SELECT supervisor_id FROM users WHERE id = %s", (user_id,)).fetchone()
    return row[0] if row else None


def site_manager(conn: psycopg.Connection, site_id: str) -> str | None:
    row = conn.execute(
        """SELECT user_id FROM site_managers WHERE site_id = %s
           UNION ALL (SELECT id FROM users WHERE role = 'manager' AND active ORDER BY id LIMIT 1)
           LIMIT 1""",
        (site_id,),
    ).fetchone()
    return row[0] if row else None
