"""What `forewarn demo` prints for the pages: their address and ready sign-ins for a resident the scripted fault
affects (a one-time code, or a sign-up link to choose a password) and for the demo staff (a password made for
this run: the demo database is the user's own, and a fixed demo password would outlive the demo)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from api.web.accounts import issue_code, set_password


@dataclass(frozen=True, slots=True)
class DemoSignIn:
    who: str  # "resident" or the staff user's role
    login: str  # what to type as the account: a phone number or a user id
    name: str
    secret: str  # a one-time code (resident) or a password (staff)
    kind: str  # "code" or "password"
    link: str | None = None  # the resident's sign-up link


def demo_sign_ins(url: str, *, resident_user: str | None, staff: list[str], public_url: str,
                  code_hours: int) -> list[DemoSignIn]:
    """Sign-ins for the resident user `resident_user` (an invitation: code and link) and the `staff` user ids."""
    now = datetime.now(UTC)
    out = []
    with psycopg.connect(url) as conn:
        if resident_user is not None:
            row = conn.execute("SELECT u.name, r.phone, r.unit_id FROM users u "
                               "JOIN residents r ON r.id = u.resident_id WHERE u.id = %s", (resident_user,)).fetchone()
            if row is not None:
                name, phone, unit = row
                issued = issue_code(conn, resident_user, purpose="signup", now=now, ttl=timedelta(hours=code_hours))
                out.append(DemoSignIn("resident", phone or resident_user, f"{name}, {unit}", issued.code, "code",
                                      f"{public_url}/signup?code={issued.link_token}"))
        for user_id in staff:
            row = conn.execute("SELECT name, role FROM users WHERE id = %s", (user_id,)).fetchone()
            if row is None:
                continue
            password = "-".join(secrets.token_hex(2) for _ in range(3))  # e.g. 3f9a-01bc-77e2: easy to type
            set_password(conn, user_id, password)
            out.append(DemoSignIn(row[1], user_id, row[0], password, "password"))
    return out
