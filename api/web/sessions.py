"""Browser sessions and CSRF tokens. A session id is 32 random bytes in an HttpOnly, SameSite=Lax cookie; only its
SHA-256 is stored (`web_sessions`), with an expiry. A CSRF token is an HMAC of the session id (or, before sign-in,
of a random anonymous cookie) with the secret key, so it is bound to the browser that got the form."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import psycopg

from api.auth import Principal, Role
from api.web import queries

SESSION_COOKIE = "fw_session"
ANON_COOKIE = "fw_anon"  # binds the CSRF token of forms shown before sign-in (the login page itself)


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def start_session(conn: psycopg.Connection, user_id: str, *, now: datetime, days: int, client: str = "") -> str:
    """A new session for `user_id`; returns the id to put in the cookie (it is not stored)."""
    session_id = secrets.token_urlsafe(32)
    conn.execute(queries.INSERT_SESSION, {"digest": _digest(session_id), "user_id": user_id,
                                          "expires_at": now + timedelta(days=days), "client": client[:200]})
    return session_id


def session_principal(conn: psycopg.Connection, session_id: str, *, now: datetime) -> Principal | None:
    """Who a live session belongs to; None for an unknown, ended or expired session or an inactive user."""
    row = conn.execute(queries.SESSION_PRINCIPAL, {"digest": _digest(session_id), "now": now}).fetchone()
    if row is None:
        return None
    user_id, name, role, department, resident, unit = row
    return Principal(user_id, name, Role(role), department, resident, unit)


def end_session(conn: psycopg.Connection, session_id: str, *, now: datetime) -> None:
    conn.execute(queries.END_SESSION, {"digest": _digest(session_id), "now": now})


def end_user_sessions(conn: psycopg.Connection, user_id: str, *, now: datetime) -> int:
    """End every live session of a user (moving out, a disabled account); returns how many were ended."""
    return conn.execute(queries.END_USER_SESSIONS, {"user_id": user_id, "now": now}).rowcount


def csrf_token(secret: str, binding: str) -> str:
    """The CSRF token for forms shown to the browser holding `binding` (its session id or anonymous id)."""
    return hmac.new(secret.encode(), b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: str, binding: str | None, token: str | None) -> bool:
    if not binding or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, binding), token)


def prune_expired(conn: psycopg.Connection, *, now: datetime) -> int:
    """Delete sessions, one-time codes and throttle windows that have been over for a day; returns how many."""
    before = now - timedelta(days=1)
    return sum(conn.execute(statement, {"before": before}).rowcount
               for statement in (queries.PRUNE_SESSIONS, queries.PRUNE_CODES, queries.PRUNE_THROTTLE))
