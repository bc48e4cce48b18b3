"""Resident accounts from the estate registry: invitations and moving out.

`invite_residents` creates (or re-invites) the user of each active resident of a unit, building or site, issues a
one-time sign-up link and 6-digit code (a new invitation withdraws the previous one) and sends them by the
resident's channel; what no configured channel can carry is returned for the operator to hand over.
`disable_moved_out` disables the users of residents the registry no longer lists as living there and ends their
sessions (`forewarn estate load` calls it after saving the registry)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from api.auth import ensure_resident_user
from api.web import queries
from api.web.accounts import account_by_id, issue_code
from api.web.delivery import SEND_ERRORS, CodeMessage, CodeSender
from api.web.i18n import DEFAULT_LANG, Catalogues, normalise_lang
from api.web.sessions import end_user_sessions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Invitation:
    user_id: str
    resident_id: str
    name: str
    unit_id: str
    code: str
    link: str
    sent_via: str | None  # where it went, or None: the operator must hand it over
    error: str | None = None  # why sending failed (then it is also handed over)


class NoResidents(LookupError):  # noqa: N818
    pass


def residents_to_invite(conn: psycopg.Connection, *, unit: str | None = None, building: str | None = None,
                        site: str | None = None) -> list[str]:
    """The ids of the active residents of the unit / building / site. At least one of them must be given."""
    if unit is None and building is None and site is None:
        raise ValueError("name a unit, a building or a site")
    rows = conn.execute(queries.RESIDENTS_TO_INVITE, {"unit": unit, "building": building, "site": site}).fetchall()
    if not rows:
        where = " / ".join(f"{k} {v}" for k, v in (("unit", unit), ("building", building), ("site", site)) if v)
        raise NoResidents(f"no active residents in {where}: check the id against `forewarn estate load`'s file")
    return [str(r[0]) for r in rows]


def invite_residents(conn: psycopg.Connection, resident_ids: list[str], *, now: datetime, ttl: timedelta,
                     public_url: str, sender: CodeSender | None, catalogues: Catalogues,
                     progress: Callable[[int], None] | None = None) -> list[Invitation]:
    """Invite each resident (commits as it goes: a code that was sent is a code that is stored)."""
    invitations = []
    for done, resident_id in enumerate(resident_ids, 1):
        user_id = ensure_resident_user(conn, resident_id)
        conn.execute(queries.REACTIVATE_USER, {"user_id": user_id})
        issued = issue_code(conn, user_id, purpose="signup", now=now, ttl=ttl)
        conn.commit()
        account = account_by_id(conn, user_id)
        assert account is not None and issued.link_token is not None
        link = f"{public_url.rstrip('/')}/signup?code={issued.link_token}"
        _ = catalogues.gettext(normalise_lang(account.lang) or DEFAULT_LANG)
        text = _("%(name)s, you are invited to Forewarn, your estate's service app. Sign up: %(link)s or sign in "
                 "with your phone and the code %(code)s (valid %(hours)s hours).", name=account.name, link=link,
                 code=issued.code, hours=int(ttl.total_seconds() // 3600))
        sent_via, error = None, None
        if sender is not None:
            try:
                sent_via = sender.send(account, CodeMessage("signup", issued.code, link, text))
            except SEND_ERRORS as exc:
                error = str(exc)
                log.warning("invitation for %s not sent: %s", user_id, exc)
        row = conn.execute("SELECT unit_id FROM residents WHERE id = %s", (resident_id,)).fetchone()
        invitations.append(Invitation(user_id, resident_id, account.name, str(row[0]) if row else "", issued.code,
                                      link, sent_via, error))
        if progress is not None:
            progress(done)
    return invitations


def disable_moved_out(conn: psycopg.Connection, *, now: datetime) -> list[str]:
    """Disable the users of residents who moved out and end their sessions; returns their user ids."""
    disabled = [str(r[0]) for r in conn.execute(queries.DISABLE_MOVED_OUT).fetchall()]
    for user_id in disabled:
        end_user_sessions(conn, user_id, now=now)
    return disabled
