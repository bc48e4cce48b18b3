"""One-time survey links (issue 17 point 6, handbook 001 §2.2 "线上问卷"): each resident of a sampled household
planned for the online mode gets a link `/survey/<token>` on their own channel (a notice through
`tickets.notices.notify_residents`, deduplicated by `survey:<wave>:<unit>` so a rerun never sends twice). The token
is the credential of the answer page (no sign-in): only its SHA-256 is stored. A link answers once, before it
expires, while the wave is open and the household has not answered yet (one response per household per wave,
whichever of its links, or a phone call, comes first). A link that expired unused, while the wave is open and the
household has not answered, can be renewed (`renew_expired`): a new token on the same invitation, pushed again."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import InvalidInput, NotFound
from tickets.notices import ADDRESS, LANGUAGE, Recipient, format_time, notify_residents
from tickets.survey_waves import Wave, get_wave, record_response

LINK_DAYS = 14  # how long a link answers, by default: a wave's fieldwork takes about two weeks (001 §2.2)
TOKEN_BYTES = 24


class LinkGone(Exception):  # noqa: N818 - a state of the link, shown as a page
    """The link was good once but answers no more: `reason` is used, expired, closed or answered."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Issued:
    unit_id: str
    resident_id: str
    link: str
    notices: int  # 1 when the notice was written now, 0 when the resident already had it


@dataclass(frozen=True, slots=True)
class Invitation:
    id: int
    wave: Wave
    unit_id: str
    resident_id: str
    expires_at: datetime


# --- named statements -------------------------------------------------------------------------------------------
# The active residents of the wave's online households that have not answered, who have no link for it yet.
TO_INVITE = f"""SELECT r.id, r.unit_id, {LANGUAGE}, r.channel, {ADDRESS}
                FROM survey_wave_sample s JOIN residents r ON r.unit_id = s.unit_id AND r.active
                WHERE s.wave_id = %(wave)s AND s.mode = 'online'
                  AND NOT EXISTS (SELECT 1 FROM survey_wave_responses a
                                  WHERE a.wave_id = s.wave_id AND a.unit_id = s.unit_id)
                  AND NOT EXISTS (SELECT 1 FROM survey_invitations i
                                  WHERE i.wave_id = s.wave_id AND i.resident_id = r.id)
                ORDER BY s.position, r.id"""
INSERT_INVITATION = """INSERT INTO survey_invitations (wave_id, unit_id, resident_id, token_sha256, created_at,
                           expires_at)
                       VALUES (%(wave)s, %(unit)s, %(resident)s, %(hash)s, %(now)s, %(until)s)
                       ON CONFLICT (wave_id, resident_id) DO NOTHING RETURNING id"""
FIND = """SELECT i.id, i.wave_id, i.unit_id, i.resident_id, i.expires_at, i.used_at,
                 EXISTS (SELECT 1 FROM survey_wave_responses a WHERE a.wave_id = i.wave_id AND a.unit_id = i.unit_id)
          FROM survey_invitations i WHERE i.token_sha256 = %(hash)s"""
# The active residents of the wave's online households that have not answered, whose link expired unused: each is
# given a new token on the same invitation row (one row per resident per wave), so the old link stops matching.
TO_RENEW = f"""SELECT i.id, r.id, r.unit_id, {LANGUAGE}, r.channel, {ADDRESS}
               FROM survey_invitations i
               JOIN survey_wave_sample s ON s.wave_id = i.wave_id AND s.unit_id = i.unit_id
               JOIN residents r ON r.id = i.resident_id AND r.unit_id = i.unit_id AND r.active
               WHERE i.wave_id = %(wave)s AND s.mode = 'online' AND i.used_at IS NULL AND i.expires_at <= %(now)s
                 AND NOT EXISTS (SELECT 1 FROM survey_wave_responses a
                                 WHERE a.wave_id = i.wave_id AND a.unit_id = i.unit_id)
               ORDER BY s.position, r.id"""
# created_at becomes the time the current token was made (the row keeps no other issue time); the guard repeats
# the expiry test so a link renewed or used meanwhile (a concurrent run, a late answer) is not overwritten.
RENEW_INVITATION = """UPDATE survey_invitations
                      SET token_sha256 = %(hash)s, created_at = %(now)s, expires_at = %(until)s
                      WHERE id = %(id)s AND used_at IS NULL AND expires_at <= %(now)s RETURNING id"""
MARK_USED = "UPDATE survey_invitations SET used_at = %(now)s WHERE id = %(id)s AND used_at IS NULL"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check(conn: psycopg.Connection, wave_id: int, base_url: str, days: int) -> None:
    """The arguments a link needs: an open wave (links answer only while it is), a life of a day or more, and an
    address residents can open."""
    wave = get_wave(conn, wave_id)
    if wave.status != "open":
        raise InvalidInput(f"survey wave {wave_id} is closed: links go out for an open wave")
    if days < 1:
        raise InvalidInput(f"a link must answer for at least a day, not {days}")
    if not base_url.startswith(("http://", "https://")):
        raise InvalidInput(f"{base_url!r} is not an address residents can open: give http(s)://host")


def invite_online(conn: psycopg.Connection, wave_id: int, now: datetime, base_url: str, *,
                  config: TicketConfig = DEFAULT_CONFIG, days: int = LINK_DAYS) -> list[Issued]:
    """Issue a link to every resident of the wave's online households not yet answered who has none, and push it
    on their channel. Returns what was issued now (a rerun issues none to those already invited)."""
    _check(conn, wave_id, base_url, days)
    until = now + timedelta(days=days)
    issued: list[Issued] = []
    for row in conn.execute(TO_INVITE, {"wave": wave_id}).fetchall():
        who = Recipient(*row)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        made = conn.execute(INSERT_INVITATION, {"wave": wave_id, "unit": who.unit_id, "resident": who.resident_id,
                                                "hash": token_hash(token), "now": now, "until": until}).fetchone()
        if made is None:  # invited meanwhile by a concurrent run
            continue
        link = f"{base_url.rstrip('/')}/survey/{token}"
        sent = notify_residents(conn, [who], kind="survey", dedupe_key=f"survey:{wave_id}:{who.unit_id}", now=now,
                                config=config, link=link, eta=format_time(until, config))
        issued.append(Issued(who.unit_id, who.resident_id, link, sent))
    return issued


def renew_expired(conn: psycopg.Connection, wave_id: int, now: datetime, base_url: str, *,
                  config: TicketConfig = DEFAULT_CONFIG, days: int = LINK_DAYS) -> list[Issued]:
    """Give a new link to every resident of the wave's online households not yet answered whose link expired
    unused, and push it on their channel: fieldwork runs about two weeks (001 §2.2), and a resident who missed the
    link should still be able to answer while the wave is open. The new token replaces the old one on the same
    invitation, so the old link no longer answers (NotFound) and the new one answers until `now + days`. The
    notice's dedupe key names the new expiry, so the resident is told again, once per renewal. Returns what was
    renewed now (a rerun renews none: the new links have not expired)."""
    _check(conn, wave_id, base_url, days)
    until = now + timedelta(days=days)
    renewed: list[Issued] = []
    for invitation_id, *row in conn.execute(TO_RENEW, {"wave": wave_id, "now": now}).fetchall():
        who = Recipient(*row)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        made = conn.execute(RENEW_INVITATION, {"id": invitation_id, "hash": token_hash(token), "now": now,
                                               "until": until}).fetchone()
        if made is None:  # renewed or used meanwhile
            continue
        link = f"{base_url.rstrip('/')}/survey/{token}"
        sent = notify_residents(conn, [who], kind="survey", now=now, config=config, link=link,
                                dedupe_key=f"survey:{wave_id}:{who.unit_id}:renewed:{until.isoformat()}",
                                eta=format_time(until, config))
        renewed.append(Issued(who.unit_id, who.resident_id, link, sent))
    return renewed


def open_link(conn: psycopg.Connection, token: str, now: datetime, *, lock: bool = False) -> Invitation:
    """The invitation behind `token` if it still answers; NotFound for no such link, LinkGone otherwise."""
    if not token or len(token) > 200:
        raise NotFound("no such survey link")
    row = conn.execute(FIND + (" FOR UPDATE OF i" if lock else ""), {"hash": token_hash(token)}).fetchone()
    if row is None:
        raise NotFound("no such survey link")
    invitation_id, wave_id, unit_id, resident_id, expires_at, used_at, answered = row
    wave = get_wave(conn, wave_id)
    if used_at is not None:
        raise LinkGone("used", "this survey link has been used already")
    if answered:
        raise LinkGone("answered", f"household {unit_id} has already answered wave {wave_id}")
    if wave.status != "open":
        raise LinkGone("closed", f"survey wave {wave_id} is closed")
    if expires_at <= now:
        raise LinkGone("expired", "this survey link has expired")
    return Invitation(int(invitation_id), wave, unit_id, resident_id, expires_at)


def answer_by_link(conn: psycopg.Connection, token: str, *, scores: Mapping[str, int], overall: int,
                   recommend: int, now: datetime, comment: str = "") -> int:
    """Record the household's online response through its link and use the link up; returns the response id.
    InvalidInput for a bad answer (the link stays good), NotFound / LinkGone as `open_link`."""
    invitation = open_link(conn, token, now, lock=True)
    response_id = record_response(conn, invitation.wave.id, invitation.unit_id, scores=scores, overall=overall,
                                  recommend=recommend, comment=comment, mode="online",
                                  resident_id=invitation.resident_id, now=now)
    conn.execute(MARK_USED, {"id": invitation.id, "now": now})
    return response_id

