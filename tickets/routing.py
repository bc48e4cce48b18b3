"""Routing: category → department; building grid → the department's owner there (first-responsibility);
and the escalation ladder above an owner (supervisor, then the site manager).

The complaint-handling group (投诉处理组, handbook 003 §01: "专项解决业主复杂投诉"): a complex-tier complaint (a
billing dispute, a house-quality or neighbour case) and every billing fault point route to `COMPLAINT_GROUP`
instead of their category's department (`group_department`); its owner is the group's grid owner for the
building, else its first staff member, like any department's.

Requests the desk answers (`kind_department`): an enquiry (咨询) or a suggestion (建议) goes to customer service
(客服中心, `DESK_DEPARTMENT`) whatever its words are about. Handbook 003 §01 gives the front desk "基礎問題解答" and
§02 an ordinary enquiry a 2-hour answer: "when does the gym reopen?" mentions a facility but is no repair, and no
engineer's work order."""

from __future__ import annotations

import psycopg

from tickets.taxonomy import Category, Tier

COMPLAINT_GROUP = "complaint_handling"
DESK_DEPARTMENT = "customer_service"
# Request kinds (`tickets.requests.RequestKind`) the desk answers itself, on a ticket of their own.
ANSWERED_AT_DESK = frozenset({"enquiry", "suggestion"})


def kind_department(request_kind: str | None) -> str | None:
    """`DESK_DEPARTMENT` for a request the desk answers (an enquiry, a suggestion), whatever its category; None
    when a request of this kind goes where its words send it (a complaint, a repair)."""
    return DESK_DEPARTMENT if request_kind in ANSWERED_AT_DESK else None


def group_department(category: Category | str, tier: Tier | str) -> str | None:
    """`COMPLAINT_GROUP` when a ticket of this category and tier belongs to the complaint-handling group (complex
    tier, or a billing dispute); None when it goes to its category's department as usual."""
    if str(tier) == Tier.COMPLEX.value or str(category) == Category.BILLING.value:
        return COMPLAINT_GROUP
    return None


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


# -- who is responsible where (set from the estate file and `forewarn estate owner|manager`) ------------------------

_SET_GRID_OWNER = """INSERT INTO grid_owners (grid, department_id, user_id) VALUES (%s, %s, %s)
    ON CONFLICT (grid, department_id) DO UPDATE SET user_id = EXCLUDED.user_id"""
_SET_SITE_MANAGER = """INSERT INTO site_managers (site_id, user_id) VALUES (%s, %s)
    ON CONFLICT (site_id) DO UPDATE SET user_id = EXCLUDED.user_id"""


def set_grid_owner(conn: psycopg.Connection, *, grid: str, department_id: str, user_id: str) -> None:
    """`user_id` owns `grid` for the department from now on (replacing any earlier owner)."""
    conn.execute(_SET_GRID_OWNER, (grid, department_id, user_id))


def remove_grid_owner(conn: psycopg.Connection, *, grid: str, department_id: str) -> bool:
    """Nobody owns `grid` for the department any more (its tickets go to the department's first staff member)."""
    return conn.execute("DELETE FROM grid_owners WHERE grid = %s AND department_id = %s RETURNING grid",
                        (grid, department_id)).fetchone() is not None


def set_site_manager(conn: psycopg.Connection, *, site_id: str, user_id: str) -> None:
    conn.execute(_SET_SITE_MANAGER, (site_id, user_id))


def grid_owners(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """(grid, department, user) for every grid owner, ordered."""
    return [(g, d, u) for g, d, u in conn.execute(
        "SELECT grid, department_id, user_id FROM grid_owners ORDER BY grid, department_id")]


def site_managers(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(site, user) for every site with a manager, ordered."""
    return [(s, u) for s, u in conn.execute("SELECT site_id, user_id FROM site_managers ORDER BY site_id")]
