"""Accounts on the web: finding the account a person names on the login page, passwords, one-time codes
(sign-up invitations and sign-in codes) and sign-in throttling.

Passwords are hashed with argon2id (`argon2-cffi`, the password-hashing competition's winner and OWASP's first
choice; its `PasswordHasher` carries the parameters in the stored string and says when to re-hash). Codes and
link tokens are random; only their SHA-256, salted with the user id, is stored; each is single use and expires.
Throttling counts every guess (a password or a code) per account and per client address in one UPSERT (so
concurrent attempts cannot slip past the limit) and takes a successful sign-in back; the account is its user id, so
its phone, e-mail and user id share one budget. Asking for a code is no guess: it has its own limit per account
(each code is an SMS or an e-mail to the person)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.auth import Role
from api.web import queries

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@dataclass(frozen=True, slots=True)
class Account:
    user_id: str
    name: str
    role: Role
    password_hash: str | None
    phone: str | None
    email: str | None
    channel: str  # a resident's notice channel (app, sms, wechat, email, mqtt); staff: app
    lang: str
    ambiguous: bool = False  # several accounts share the phone or e-mail that found this one


class PasswordTooWeak(ValueError):  # noqa: N818
    pass


def find_accounts(conn: psycopg.Connection, identifier: str) -> list[Account]:
    """The active accounts a person may mean by a user id, a phone number or an e-mail address (a family can
    share a phone): the one whose user id it is first, then the oldest."""
    return [_account(row) for row in conn.execute(queries.FIND_ACCOUNTS, {"ident": identifier.strip()}).fetchall()]


def find_account(conn: psycopg.Connection, identifier: str) -> Account | None:
    """The first of `find_accounts` (where a sign-in code for that phone or address goes)."""
    found = find_accounts(conn, identifier)
    return found[0] if found else None


def account_by_id(conn: psycopg.Connection, user_id: str) -> Account | None:
    row = conn.execute(queries.ACCOUNT_BY_ID, {"user_id": user_id}).fetchone()
    return _account(row) if row else None


def _account(row: tuple[object, ...]) -> Account:
    user_id, name, role, password_hash, phone, email, channel, lang, ambiguous = row
    return Account(str(user_id), str(name), Role(str(role)), password_hash if isinstance(password_hash, str) else None,
                   phone if isinstance(phone, str) else None, email if isinstance(email, str) else None,
                   str(channel), str(lang), bool(ambiguous))


# -- passwords -------------------------------------------------------------------------------------------------

def set_password(conn: psycopg.Connection, user_id: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    updated = conn.execute(queries.SET_PASSWORD, {"user_id": user_id, "hash": _hasher.hash(password)}).rowcount
    if updated != 1:
        raise LookupError(f"no user {user_id!r}")


def password_matches(account: Account, password: str) -> bool:
    if not account.password_hash:
        return False
    try:
        return _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- one-time codes --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str  # six digits, to type in
    link_token: str | None  # for a sign-up invitation: the token of the /signup?code=... link


def _salted(user_id: str, secret: str) -> bytes:
    return hashlib.sha256(f"{user_id}:{secret}".encode()).digest()


def _link_digest(token: str) -> bytes:
    return hashlib.sha256(f"link:{token}".encode()).digest()


def issue_code(conn: psycopg.Connection, user_id: str, *, purpose: str, now: datetime, ttl: timedelta) -> IssuedCode:
    """A new code (and for 'signup' a link token); earlier unused codes of the same purpose are withdrawn."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    link = secrets.token_urlsafe(24) if purpose == "signup" else None
    conn.execute(queries.WITHDRAW_CODES, {"user_id": user_id, "purpose": purpose, "now": now})
    conn.execute(queries.INSERT_CODE, {"user_id": user_id, "purpose": purpose, "code": _salted(user_id, code),
                                       "link": _link_digest(link) if link else None, "expires_at": now + ttl})
    return IssuedCode(code, link)


def redeem_code(conn: psycopg.Connection, user_id: str, code: str, *, now: datetime) -> bool:
    """Use up a 6-digit code of `user_id` (an invitation's or a sign-in code); False if wrong, used or expired."""
    code = code.strip()
    if not (len(code) == 6 and code.isdigit()):
        return False
    return conn.execute(queries.REDEEM_CODE, {"user_id": user_id, "code": _salted(user_id, code),
                                              "now": now}).fetchone() is not None


def link_user(conn: psycopg.Connection, link_token: str, *, now: datetime) -> tuple[str, str] | None:
    """(user id, name) of a live sign-up link, without using it up."""
    row = conn.execute(queries.LINK_USER, {"link": _link_digest(link_token), "now": now}).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def redeem_link(conn: psycopg.Connection, link_token: str, *, now: datetime) -> str | None:
    row = conn.execute(queries.REDEEM_LINK, {"link": _link_digest(link_token), "now": now}).fetchone()
    return str(row[0]) if row else None


# -- throttling ------------------------------------------------------------------------------------------------

# One address may be a household's or an office's NAT, with several people signing in: it gets this many times
# an account's allowance before it must wait.
CLIENT_FACTOR = 4
CLIENT_SEND_FACTOR = 20  # sign-in codes asked for from one client address, per account's allowance


def count_attempt(conn: psycopg.Connection, limits: dict[str, int], *, now: datetime,
                  window: timedelta) -> float | None:
    """Count one attempt against each key (key -> its limit). None if allowed, else the seconds to wait."""
    wait = 0.0
    for key, limit in limits.items():
        row = conn.execute(queries.COUNT_ATTEMPT, {"key": key, "now": now, "window": window}).fetchone()
        assert row is not None
        window_start, attempts = row
        if attempts > limit:
            wait = max(wait, (window_start + window - now).total_seconds())
    return wait if wait > 0 else None


def throttle_wait(conn: psycopg.Connection, limits: dict[str, int], *, now: datetime,
                  window: timedelta) -> float | None:
    """Would the next attempt against these keys be refused? Counts nothing. None if not, else the seconds to wait."""
    wait = 0.0
    for key, window_start, attempts in conn.execute(queries.THROTTLE_STATE,
                                                    {"keys": list(limits), "since": now - window}).fetchall():
        if attempts >= limits[key]:
            wait = max(wait, (window_start + window - now).total_seconds())
    return wait if wait > 0 else None


def uncount_attempt(conn: psycopg.Connection, limits: dict[str, int]) -> None:
    conn.execute(queries.UNCOUNT_ATTEMPT, {"keys": list(limits)})


def _typed(identifier: str) -> str:
    return identifier.strip().lower()


def throttle_limits(identifier: str, client: str, max_failures: int, *, user_ids: Iterable[str] = ()
                    ) -> dict[str, int]:
    """The throttling keys of a guess (a password or a code) and their limits: the account, and the client address.
    The account is its user id (`user_ids`: the accounts `identifier` names), so its phone, e-mail and user id share
    one budget; a phone a family shares names each of their accounts, and a guess on it counts on each. An
    identifier that names no account is counted on what was typed, alike (the throttle tells no account apart)."""
    limits = ({f"account:{user_id}": max_failures for user_id in user_ids}
              or {f"ident:{_typed(identifier)}": max_failures})
    limits[f"client:{client}"] = max_failures * CLIENT_FACTOR
    return limits


def send_limits(identifier: str, user_id: str | None, client: str, max_sends: int) -> dict[str, int]:
    """The throttling keys of asking for a sign-in code and their limits: the account the code goes to (by user id),
    or for an identifier that names no account, what was typed (the same answers: the throttle tells no account
    apart); and the client address, with room for a building's worth of neighbours behind one network (a carrier's
    NAT, the estate's Wi-Fi) but not for one script walking the phone book, each text an SMS the estate pays for."""
    return {f"send:{user_id}" if user_id is not None else f"send-ident:{_typed(identifier)}": max_sends,
            f"client-send:{client}": max_sends * CLIENT_SEND_FACTOR}
