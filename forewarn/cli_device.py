"""`forewarn device …`: per-device operations. Today: planned maintenance windows (tickets/maintenance.py), during
which a device's new alarms open no incident, ticket or resident notice and count as no false alarm."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import psycopg
import typer

from forewarn.cli_plan import plan_app
from tickets.cli import database_url, in_estate_zone
from tickets.errors import InvalidInput, NotFound
from tickets.maintenance import (
    Window,
    end_window,
    list_windows,
    parse_duration,
    start_window,
    suppressed_count,
)

device_app = typer.Typer(help="Devices: planned maintenance windows and recurring maintenance plans.",
                         no_args_is_help=True)
device_app.add_typer(plan_app, name="maintenance-plan")


@device_app.callback()
def device_group() -> None:
    """Devices: planned maintenance windows and recurring maintenance plans."""


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _line(window: Window, held: int) -> str:
    ended = f" (ended by {window.ended_by})" if window.ended_by else ""
    return (f"#{window.id:<5} {window.device_id:<20} {_when(window.starts_at)} → {_when(window.ends_at)}{ended}  "
            f"by {window.set_by}, {held} alarm(s) held  {window.reason}")


@device_app.command("maintenance")
def maintenance(
    ctx: typer.Context,
    device: Annotated[str | None, typer.Argument(help="Device id (e.g. rs-b1-elev-a).")] = None,
    duration: Annotated[str | None, typer.Option("--for", help="How long: 30m, 2h, 1d (at most 7d).")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="The planned work (required with --for).")] = None,
    start: Annotated[str | None, typer.Option(
        "--from", help="Start, ISO 8601 (e.g. 2026-11-24T09:00+08:00; without an offset, the estate's local "
                       "time). Default: now.")] = None,
    end: Annotated[bool, typer.Option("--end", help="End the device's current (and withdraw its planned) "
                                                    "windows now.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List current and planned windows.")] = False,
    site: Annotated[str | None, typer.Option("--site", help="With --list: only this site's devices.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who sets it (default: the login name).")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: the configured one).")] = None,
) -> None:
    """Put a device in planned maintenance for a window: its new alarms then open no incident, work order or
    resident notice and count as no false alarm (they are logged as held back). `DEVICE --for 2h --reason …` sets
    a window, `DEVICE --end` ends it, `--list [--site S]` shows current and planned windows."""
    now = datetime.now(UTC)
    modes = sum((bool(duration), end, list_))
    if modes != 1:
        raise _fail("give exactly one of --for DURATION, --end or --list")
    if list_:
        if device:
            raise _fail("--list takes no device (use --site to narrow it)")
        with psycopg.connect(database_url(ctx, db)) as conn:
            windows = list_windows(conn, at=now, site_id=site)
            for window in windows:
                typer.echo(_line(window, suppressed_count(conn, window.id)))
        if not windows:
            typer.echo("no current or planned maintenance windows")
        return
    if not device:
        raise _fail("name the device, e.g. forewarn device maintenance rs-b1-elev-a --for 2h --reason '保养'")
    if site:
        raise _fail("--site only goes with --list")
    who = by or getpass.getuser()
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            if end:
                for window in end_window(conn, device, at=now, ended_by=who):
                    typer.echo(f"ended: {_line(window, suppressed_count(conn, window.id))}")
                return
            assert duration is not None
            length = parse_duration(duration)
            starts_at = now
            if start:
                try:
                    starts_at = datetime.fromisoformat(start)
                except ValueError:
                    raise InvalidInput(f"bad --from {start!r}: give an ISO 8601 time, e.g. 2026-11-24T09:00+08:00"
                                       ) from None
                starts_at = in_estate_zone(ctx, starts_at)
            window = start_window(conn, device, starts_at=starts_at, ends_at=starts_at + length,
                                  reason=reason or "", set_by=who)
        except (InvalidInput, NotFound) as exc:
            raise _fail(str(exc)) from exc
    typer.echo(f"in maintenance: {_line(window, 0)}")
