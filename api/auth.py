"""API tokens and roles. A token is shown once at creation and stored only as its SHA-256 digest; it ends at its
own expiry (set when it is issued), when it is revoked, or when its user is disabled."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import psycopg

from tickets.names import resident_name


class Role(StrEnum):
    RESIDENT = "resident"
    AGENT = "agent"  # customer-service staff (客服)
    ENGINEER = "engineer"  # engineering team (工程部)
    SUPERVISOR = "supervisor"  # heads a department's staff (主管): a department head, on-call ladder's second rung
    MANAGER = "manager"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.AGENT, Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user, their role, and for a resident their resident id and unit."""

    user_id: str
    name: str
    role: Role
    department_id: str | None = None
    resident_id: str | None = None
    unit_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_user(
    conn: psycopg.Connection,
    *,
    user_id: str,
    name: str,
    role: Role,
    department_id: str | None = None,
    supervisor_id: str | None = None,
    resident_id: str | None = None,
) -> None:
    """Create or update a user (idempotent on id)."""
    conn.execute(
        """INSERT INTO users (id, name, role, department_id, supervisor_id, resident_id)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,
               department_id = EXCLUDED.department_id, supervisor_id = EXCLUDED.supervisor_id,
               resident_id = EXCLUDED.resident_id, active = true,
               -- a team belongs to one department: moving to another leaves the team (migration 0097)
               team_id = CASE WHEN users.department_id IS NOT DISTINCT FROM EXCLUDED.department_id
                              THEN users.team_id END""",
        (user_id, name, role.value, department_id, supervisor_id, resident_id),
    )


# The default lifetime of a token (FOREWARN_API_TOKEN_DAYS): a quarter, so a leaked token does not work for ever
# and staff renew theirs a few times a year.
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)

_SQL_ISSUE = """INSERT INTO api_tokens (token_sha256, user_id, label, expires_at)
                VALUES (%(digest)s, %(user)s, %(label)s, now() + %(lifetime)s)"""
# The tokens of one user (or of everyone), newest first, with whether each still works.
_SQL_LIST = """SELECT t.id, t.user_id, t.label, t.created_at, t.expires_at, t.revoked_at,
                      (t.revoked_at IS NULL AND t.expires_at > now() AND u.active) AS usable
               FROM api_tokens t JOIN users u ON u.id = t.user_id
               WHERE %(user)s::text IS NULL OR t.user_id = %(user)s ORDER BY t.id DESC"""
# Revoke one token by id; a token already revoked keeps its first revocation time.
_SQL_REVOKE = "UPDATE api_tokens SET revoked_at = now() WHERE id = %(id)s AND revoked_at IS NULL RETURNING id"
_SQL_REVOKE_ALL = """UPDATE api_tokens SET revoked_at = now() WHERE user_id = %(user)s AND revoked_at IS NULL
                     RETURNING id"""
# Disable a user: no token of theirs works again, even if the user is re-enabled later.
_SQL_DISABLE = "UPDATE users SET active = false WHERE id = %(user)s RETURNING id"
_SQL_AUTHENTICATE = """SELECT u.id, u.name, u.role, u.department_id, u.resident_id, r.unit_id
                       FROM api_tokens t JOIN users u ON u.id = t.user_id
                       LEFT JOIN residents r ON r.id = u.resident_id
                       WHERE t.token_sha256 = %(digest)s AND t.revoked_at IS NULL AND t.expires_at > now()
                         AND u.active"""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One token as an operator sees it (never the token itself)."""

    id: int
    user_id: str
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    usable: bool


def issue_token(conn: psycopg.Connection, user_id: str, label: str = "", *,
                lifetime: timedelta = DEFAULT_TOKEN_LIFETIME) -> str:
    """A new bearer token for `user_id`, valid for `lifetime`; only its digest is stored."""
    if lifetime <= timedelta(0):
        raise ValueError(f"a token's lifetime must be positive, not {lifetime}")
    token = "fw_" + secrets.token_urlsafe(32)
    conn.execute(_SQL_ISSUE, {"digest": _digest(token), "user": user_id, "label": label, "lifetime": lifetime})
    return token


def list_tokens(conn: psycopg.Connection, user_id: str | None = None) -> list[TokenInfo]:
    """The tokens of `user_id` (or of every user), newest first."""
    rows = conn.execute(_SQL_LIST, {"user": user_id}).fetchall()
    return [TokenInfo(*row) for row in rows]


def revoke_token(conn: psycopg.Connection, token_id: int) -> bool:
    """Revoke one token by its id; False when no unrevoked token has that id."""
    return conn.execute(_SQL_REVOKE, {"id": token_id}).fetchone() is not None


def disable_user(conn: psycopg.Connection, user_id: str) -> int:
    """Disable a user and revoke all their tokens (one transaction). Returns how many tokens were revoked;
    raises LookupError for an unknown user."""
    with conn.transaction():
        if conn.execute(_SQL_DISABLE, {"user": user_id}).fetchone() is None:
            raise LookupError(f"no user {user_id!r}")
        return len(conn.execute(_SQL_REVOKE_ALL, {"user": user_id}).fetchall())


def ensure_resident_user(conn: psycopg.Connection, resident_id: str) -> str:
    """The user id of a resident's login, created on first use."""
    row = conn.execute("SELECT id FROM users WHERE resident_id = %s", (resident_id,)).fetchone()
    if row:
        return str(row[0])
    name = resident_name(conn, resident_id)
    if name is None:
        raise LookupError(f"no resident {resident_id!r}")
    user_id = f"u-{resident_id}"
    create_user(conn, user_id=user_id, name=name, role=Role.RESIDENT, resident_id=resident_id)
    return user_id


def authenticate(conn: psycopg.Connection, token: str) -> Principal | None:
    """The principal a bearer token stands for, or None for an unknown, expired or revoked token or a disabled
    user."""
    row = conn.execute(_SQL_AUTHENTICATE, {"digest": _digest(token)}).fetchone()
    if row is None:
        return None
    user_id, name, role, department, resident, unit = row
    return Principal(user_id, name, Role(role), department, resident, unit)


# -- department membership (set from the estate file and `forewarn user set`) --------------------------------------


def staff_roles(conn: psycopg.Connection, user_ids: list[str]) -> dict[str, Role]:
    """The role of each of `user_ids` that is an active staff account (unknown ids and residents are left out)."""
    return {uid: Role(role) for uid, role in conn.execute(
        "SELECT id, role FROM users WHERE id = ANY(%s) AND active AND role <> 'resident'", (user_ids,))}


def set_department(conn: psycopg.Connection, *, user_id: str, department_id: str,
                   supervisor_id: str | None = None) -> bool:
    """Put a staff member in a department; with `supervisor_id`, also make that user their supervisor (the
    department head), else leave their supervisor as it is. False if no such staff account."""
    row = conn.execute(
        """UPDATE users SET department_id = %(department)s, supervisor_id = coalesce(%(supervisor)s, supervisor_id),
               team_id = CASE WHEN department_id = %(department)s THEN team_id END  -- a team is in one department
           WHERE id = %(user)s AND role <> 'resident' RETURNING id""",
        {"user": user_id, "department": department_id, "supervisor": supervisor_id},
    ).fetchone()
    return row is not None
