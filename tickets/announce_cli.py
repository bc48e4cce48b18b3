"""`forewarn announce …`: announcements to a site or one building (planned outages, rectification and community
notices), one notice per current resident, and their figures: recipients, delivered, read."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import psycopg
import typer

from tickets.announcements import (
    Announcement,
    AnnouncementKind,
    AnnouncementProblem,
    AnnouncementRefused,
    create_announcement,
    get_announcement,
    list_announcements,
    stats,
)
from tickets.cli import DbOption, _config, database_url, in_estate_zone
from tickets.errors import InvalidInput, NotFound

app = typer.Typer(help="Announcements to a site or building, with delivered and read figures.",
                  no_args_is_help=True)
KINDS = ", ".join(k.value for k in AnnouncementKind)
# Refusals the command line says in terms of its own options (the back end's messages name no option).
OPTION_WORDS = {
    AnnouncementProblem.NOT_AN_OUTAGE: "--starts and --ends belong to a planned outage (--kind planned_outage)",
}


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _time(ctx: typer.Context, text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"bad {option} {text!r}: give an ISO 8601 time, e.g. 2026-12-05T09:00+08:00", 2) from None
    return in_estate_zone(ctx, value)


def _line(conn: psycopg.Connection, a: Announcement) -> str:
    s = stats(conn, a.id)
    return (f"#{a.id:<5} {a.created_at.astimezone(UTC):%Y-%m-%d %H:%MZ}  {a.site_id}/{a.building_id or '*':<8} "
            f"{a.kind:<15} recipients {s.recipients}, delivered {s.delivered}, read {s.read}  {a.title_zh}")


@app.command("create")
def create(
    ctx: typer.Context,
    site: Annotated[str, typer.Option("--site", help="The site (e.g. riverside).")],
    kind: Annotated[str, typer.Option("--kind", help=f"One of: {KINDS}.")],
    title_zh: Annotated[str, typer.Option("--title-zh", help="Title in Chinese.")],
    body_zh: Annotated[str, typer.Option("--body-zh", help="Text in Chinese.")],
    building: Annotated[str | None, typer.Option("--building", help="Only this building (default: the whole "
                                                                    "site).")] = None,
    title_en: Annotated[str | None, typer.Option("--title-en", help="Title in English (default: the Chinese).")
                        ] = None,
    body_en: Annotated[str | None, typer.Option("--body-en", help="Text in English (default: the Chinese).")
                       ] = None,
    starts: Annotated[str | None, typer.Option("--starts", help="A planned outage's start, ISO 8601 (without an "
                                                                "offset: the estate's local time).")] = None,
    ends: Annotated[str | None, typer.Option("--ends", help="A planned outage's end, ISO 8601.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Author (default: the login name).")] = None,
    db: DbOption = None,
) -> None:
    """Announce to every current resident of a site or one building: one notice each, on their own channel (the
    outbox delivers it; quiet hours apply). Prints the announcement's id."""
    if kind not in {k.value for k in AnnouncementKind}:
        raise _fail(f"unknown --kind {kind!r}: use one of {KINDS}", 2)
    starts_at, ends_at = _time(ctx, starts, "--starts"), _time(ctx, ends, "--ends")
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            announcement, sent = create_announcement(
                conn, site_id=site, building_id=building, kind=kind, title_zh=title_zh, body_zh=body_zh,
                title_en=title_en, body_en=body_en, starts_at=starts_at, ends_at=ends_at,
                author=by or getpass.getuser(), now=datetime.now(UTC), config=_config(ctx))
        except AnnouncementRefused as exc:
            raise _fail(OPTION_WORDS.get(exc.problem, str(exc)), 2) from exc
        except InvalidInput as exc:
            raise _fail(str(exc), 2) from exc
    typer.echo(f"announcement #{announcement.id}: {sent} notice(s) to residents of "
               f"{building or 'every building of ' + site}")


@app.command("list")
def list_(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Option("--site", help="Only this site.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, newest first.")] = 50,
    db: DbOption = None,
) -> None:
    """Announcements, newest first, with recipients, delivered and read."""
    with psycopg.connect(database_url(ctx, db)) as conn:
        found = list_announcements(conn, site_id=site, limit=limit)
        for a in found:
            typer.echo(_line(conn, a))
    if not found:
        typer.echo("no announcements")


@app.command("show")
def show(ctx: typer.Context, announcement_id: Annotated[int, typer.Argument(help="The announcement's id.")],
         db: DbOption = None) -> None:
    """One announcement: its text and times, and how many residents it reached and read it."""
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            a = get_announcement(conn, announcement_id)
        except NotFound as exc:
            raise _fail(str(exc)) from exc
        s = stats(conn, a.id)
    typer.echo(f"announcement #{a.id} ({a.kind}) to {a.site_id}/{a.building_id or 'whole site'} by {a.author} at "
               f"{a.created_at.astimezone(UTC):%Y-%m-%d %H:%MZ}")
    if a.starts_at or a.ends_at:
        typer.echo(f"  from {a.starts_at.isoformat() if a.starts_at else '—'} to "
                   f"{a.ends_at.isoformat() if a.ends_at else '—'}")
    typer.echo(f"  zh: {a.title_zh} — {a.body_zh}")
    typer.echo(f"  en: {a.title_en} — {a.body_en}")
    typer.echo(f"  recipients {s.recipients}, delivered {s.delivered}, read {s.read}")
