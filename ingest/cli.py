"""Ingest's commands: `forewarn ingest dead-letters` and `forewarn mqtt acl`.

The `forewarn` CLI mounts `app` as `forewarn ingest` and `mqtt_app` as `forewarn mqtt`. Its context object
(`ctx.obj`) offers `database_url()`; ingest uses it duck-typed, without importing the product package.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from ingest import acl
from ingest.estate_store import load_registry
from ingest.storage import count_dead_letters, list_dead_letters

console = Console()
app = typer.Typer(help="Ingest: the MQTT consumer's dead letters.", no_args_is_help=True)
mqtt_app = typer.Typer(help="Broker security: per-device passwords and an ACL from the estate registry.",
                       no_args_is_help=True)


@app.callback()
def ingest_group() -> None:
    """Ingest: the MQTT consumer's dead letters."""


@mqtt_app.callback()
def mqtt_group() -> None:
    """Broker security: per-device passwords and an ACL from the estate registry."""


def _database_url(ctx: typer.Context) -> str:
    obj = ctx.obj
    if obj is None or not hasattr(obj, "database_url"):
        raise typer.BadParameter("no database configured (run through the `forewarn` command)")
    url: str = obj.database_url()
    return url


def _missing_schema() -> typer.Exit:
    console.print("[red]error:[/red] the database has no ingest tables yet; run `forewarn db migrate` first")
    return typer.Exit(2)


@app.command("dead-letters")
def dead_letters(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="show at most this many, newest first")] = 50,
    reason: Annotated[str | None, typer.Option(help="only this reason, e.g. bad_json, out_of_range")] = None,
    device: Annotated[str | None, typer.Option(help="only this device id")] = None,
    hours: Annotated[float | None, typer.Option(min=0, help="only the last HOURS hours")] = None,
) -> None:
    """List the messages ingest rejected: when, why, from which device and topic, and the start of the payload."""
    since = datetime.now(UTC) - timedelta(hours=hours) if hours is not None else None
    try:
        with psycopg.connect(_database_url(ctx)) as conn:
            letters = list_dead_letters(conn, limit=limit, reason=reason, device_id=device, since=since)
            totals = count_dead_letters(conn)
    except psycopg.errors.UndefinedTable:
        raise _missing_schema() from None
    if not letters:
        console.print("no dead letters" + (" matching the filters" if reason or device or hours else ""))
        return
    table = Table(title=f"dead letters (newest {len(letters)})")
    for column in ("received (UTC)", "reason", "device", "topic", "detail", "payload"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(letter.received_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), letter.reason,
                      letter.device_id or "-", letter.topic, letter.detail,
                      f"{letter.payload_text(60)} ({letter.payload_size} B)")
    console.print(table)
    console.print("all time: " + ", ".join(f"{name} {n}" for name, n in totals.items()))


@mqtt_app.command("acl")
def mqtt_acl(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="directory for the password files, ACLs, credentials.csv and "
                                           "mosquitto-auth.conf")] = Path("mqtt-auth"),
    platform_user: Annotated[str, typer.Option(help="the broker account of the platform's clients")
                             ] = acl.PLATFORM_USER,
    device_port: Annotated[int, typer.Option(help="the listener devices connect to")] = 1883,
    device_host: Annotated[str | None, typer.Option(help="address of the device listener (default: all)")] = None,
    platform_port: Annotated[int, typer.Option(help="the listener the platform connects to")] = 1884,
    platform_host: Annotated[str, typer.Option(help="address of the platform listener")] = "127.0.0.1",
    broker_group: Annotated[str, typer.Option(help="group the broker runs as: may read the password files")
                            ] = acl.BROKER_GROUP,
) -> None:
    """Generate Mosquitto password files, ACLs and listeners that bind client ids to accounts.

    Every active device of the estate registry gets an account named after its id that may publish only under
    forewarn/v1/{site}/{kind}/{device}/, on the device listener, where a client's id is always its user name; the
    platform's account may read every device topic, on the platform listener, where it is the only account (so
    the ids forewarn-* are the platform's alone). Anonymous clients are refused. Passwords already in
    OUT/credentials.csv are kept, so re-running after adding devices is safe. Use OUT/mosquitto-auth.conf as the
    broker's listener configuration, give each device its line of credentials.csv, point FOREWARN_MQTT_URL at the
    platform listener and set FOREWARN_MQTT_USERNAME / FOREWARN_MQTT_PASSWORD to the platform's account.
    """
    try:
        with psycopg.connect(_database_url(ctx)) as conn:
            devices = load_registry(conn).devices
    except psycopg.errors.UndefinedTable:
        raise _missing_schema() from None
    if not devices:
        console.print("[red]error:[/red] the estate registry has no devices; load one with `forewarn estate load`")
        raise typer.Exit(2)
    existing = acl.read_credentials(out / "credentials.csv")
    try:
        creds = acl.credentials(devices, existing, platform_user=platform_user)
    except acl.AclError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    listeners = acl.Listeners(device_port, device_host, platform_port, platform_host)
    paths = acl.write_files(out, creds, listeners=listeners, broker_group=broker_group)
    added = sum(1 for c in creds if c.username not in existing)
    console.print(f"{len(creds) - 1} device accounts and the platform's ({platform_user}); {added} new, "
                  f"{len(creds) - added} kept")
    for path in paths:
        console.print(f"  wrote {path}")
    if (out / "passwd").stat().st_mode & 0o040 == 0:
        console.print(f"[yellow]warning:[/yellow] no group {broker_group!r} here (or not allowed to use it): the "
                      "password files are readable by their owner only; run the broker as this user, or re-run "
                      "with --broker-group set to the broker's group")
    console.print(f"use {out / 'mosquitto-auth.conf'} as the broker's listener configuration (include it first, "
                  "with no other listener) and reload Mosquitto (kill -HUP) after re-generating")
