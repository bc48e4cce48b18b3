"""Teams: a team belongs to one department (engineering's lift team, water team); a staff user belongs to at most
one team, of their own department (migration 0097 enforces it; these functions say so in a sentence first). The
review attributes a ticket to the team of its owner (tickets.owner_id), as it attributes it to a person."""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg

from tickets.errors import InvalidInput

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class TeamError(InvalidInput):
    """An unknown team or department, a bad id, or a team outside the user's department."""


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    department_id: str
    name: str
    members: tuple[str, ...]


def _department_known(conn: psycopg.Connection, department_id: str) -> None:
    if conn.execute("SELECT 1 FROM departments WHERE id = %s", (department_id,)).fetchone() is None:
        known = ", ".join(r[0] for r in conn.execute("SELECT id FROM departments ORDER BY id"))
        raise TeamError(f"unknown department {department_id!r}; the departments are {known}")


def add_team(conn: psycopg.Connection, team_id: str, department_id: str, name: str) -> None:
    """Create a team in a department, or rename it (a team never moves to another department)."""
    if not _ID.match(team_id):
        raise TeamError(f"team id {team_id!r}: use lower-case letters, digits, '-' and '_' (e.g. lift)")
    if not name.strip():
        raise TeamError("a team needs a name, e.g. --name '电梯组 Lift team'")
    _department_known(conn, department_id)
    row = conn.execute("SELECT department_id FROM teams WHERE id = %s", (team_id,)).fetchone()
    if row is not None and row[0] != department_id:
        raise TeamError(f"team {team_id!r} belongs to {row[0]!r}; a team cannot move to {department_id!r}")
    conn.execute("""INSERT INTO teams (id, department_id, name) VALUES (%s, %s, %s)
                    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name""", (team_id, department_id, name.strip()))


def list_teams(conn: psycopg.Connection, department_id: str | None = None) -> list[Team]:
    rows = conn.execute(
        """SELECT t.id, t.department_id, t.name,
                  coalesce(array_agg(u.id ORDER BY u.id) FILTER (WHERE u.id IS NOT NULL), '{}')
           FROM teams t LEFT JOIN users u ON u.team_id = t.id AND u.active
           WHERE %(department)s::text IS NULL OR t.department_id = %(department)s
           GROUP BY t.id ORDER BY t.department_id, t.id""", {"department": department_id}).fetchall()
    return [Team(i, d, n, tuple(m)) for i, d, n, m in rows]


def team_department(conn: psycopg.Connection, team_id: str) -> str:
    """The department of a team; TeamError naming the known teams if there is no such team."""
    row = conn.execute("SELECT department_id FROM teams WHERE id = %s", (team_id,)).fetchone()
    if row is None:
        known = ", ".join(r[0] for r in conn.execute("SELECT id FROM teams ORDER BY id")) or "none yet"
        raise TeamError(f"unknown team {team_id!r}; the teams are {known} (create one with `forewarn team add`)")
    return str(row[0])


def check_team(conn: psycopg.Connection, team_id: str, department_id: str | None) -> None:
    """Raise unless `team_id` exists and belongs to `department_id` (a team member needs a department)."""
    department = team_department(conn, team_id)
    if department_id is None:
        raise TeamError(f"team {team_id!r} is in {department!r}: give the user --department {department}")
    if department != department_id:
        raise TeamError(f"team {team_id!r} belongs to {department!r}, not to {department_id!r}")


def set_team(conn: psycopg.Connection, user_id: str, team_id: str | None) -> None:
    """Put a staff user in a team of their department, or (None) in no team."""
    row = conn.execute("SELECT department_id FROM users WHERE id = %s AND role <> 'resident'", (user_id,)).fetchone()
    if row is None:
        raise TeamError(f"unknown staff user {user_id!r}: create it first with `forewarn user add`")
    if team_id is not None:
        check_team(conn, team_id, row[0])
    conn.execute("UPDATE users SET team_id = %s WHERE id = %s", (team_id, user_id))
