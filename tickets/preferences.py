"""A resident's preferred channel for news of their own requests (handbook 003: tell the resident at each step).

By default a resident hears about a request on the channel they used to file it (tickets/progress.py); here they
may choose another — the app, SMS, WeChat or e-mail — of those we have an address for (SMS and WeChat need their
phone number, e-mail their address, from the estate registry), or go back to the default. The choice is stored in
`residents.preferred_channel`, which an estate reload leaves alone (the registry's `channel` is the estate's; the
preference is the resident's own). So is the language every notice is written to them in
(`residents.preferred_language`, over the registry's `language`)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from tickets.errors import InvalidInput, NotFound
from tickets.notices import LANGS
from tickets.progress import NEEDS_ADDRESS

CHANNELS = ("app", "sms", "wechat", "email")

_RESIDENT = """SELECT channel, preferred_channel, phone, email, coalesce(preferred_language, language)
               FROM residents WHERE id = %s AND active"""
_SET = "UPDATE residents SET preferred_channel = %s WHERE id = %s"
_SET_LANGUAGE = "UPDATE residents SET preferred_language = %s WHERE id = %s"


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    preferred: str | None  # None: the channel each request came in on
    registered: str  # the estate registry's channel, where we reach them otherwise
    available: tuple[str, ...]  # the channels they may choose: those we have an address for
    language: str = LANGS[0]  # the language their notices are written in: their choice, else the registry's


def channel_choice(conn: psycopg.Connection, resident_id: str) -> ChannelChoice:
    row = conn.execute(_RESIDENT, (resident_id,)).fetchone()
    if row is None:
        raise NotFound(f"no active resident {resident_id!r}")
    registered, preferred, phone, email, language = row
    addresses = {"phone": phone, "email": email}
    available = tuple(c for c in CHANNELS if c not in NEEDS_ADDRESS or addresses[NEEDS_ADDRESS[c]])
    return ChannelChoice(preferred, registered, available, language)


def set_preferred_channel(conn: psycopg.Connection, resident_id: str, channel: str | None) -> ChannelChoice:
    """Set (or with None clear) the resident's preferred channel; refuses one we have no address for."""
    choice = channel_choice(conn, resident_id)
    if channel is not None and channel not in choice.available:
        if channel in CHANNELS:
            raise InvalidInput(f"we have no {NEEDS_ADDRESS[channel]} for you to be told by {channel}")
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    conn.execute(_SET, (channel, resident_id))
    return ChannelChoice(channel, choice.registered, choice.available, choice.language)


def set_preferred_language(conn: psycopg.Connection, resident_id: str, language: str) -> ChannelChoice:
    """Write every notice to the resident in `language` (one of `LANGS`) from now on."""
    choice = channel_choice(conn, resident_id)
    if language not in LANGS:
        raise InvalidInput(f"language must be one of {', '.join(LANGS)}, not {language!r}")
    conn.execute(_SET_LANGUAGE, (language, resident_id))
    return ChannelChoice(choice.preferred, choice.registered, choice.available, language)
