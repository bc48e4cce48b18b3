"""`forewarn roster add|show`: the 7×24 on-call roster per department (tickets/on_call.py; docs/lifecycle.md "On call
outside working hours"). Times are ISO 8601; without a zone they are local time of the configured time zone. Bad
input exits 2 with a one-line message; so does a person of another department without --cover."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import psycopg
import typer

from tickets.cli import _config, database_url
from tickets.errors import InvalidInput
from tickets.on_call import OtherDepartment, Rung, add_shift, shifts

app = typer.Typer(help="On-call roster: who is on duty for a department outside working hours.",
                  no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: the configured one).")]


def _time(ctx: typer.Context, text: str, option: str) -> datetime:
    """An ISO 8601 time; local time of the configured zone when it has none."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a time; write e.g. 2026-12-05T18:00 or 2026-12-05T18:00+08:00",
                                 param_hint=option) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=_config(ctx).tz)


@app.command("add")
def roster_add(
    ctx: typer.Context,
    department: Annotated[str, typer.Option("--department", help="department id, e.g. engineering")],
    user: Annotated[str, typer.Option("--user", help="the staff member on call")],
    start: Annotated[str, typer.Option("--from", help="shift start, e.g. 2026-12-05T18:00 (local time)")],
    end: Annotated[str, typer.Option("--to", help="shift end, e.g. 2026-12-07T08:30")],
    supervisor: Annotated[bool, typer.Option("--supervisor", help="on call as the supervisor (escalated to at "
                                                                  "breach), not the first line")] = False,
    cover: Annotated[bool, typer.Option("--cover", help="the person is of another department and covers this "
                                                        "one (without it, refused)")] = False,
    db: DbOption = None,
) -> None:
    """Put a staff member on call for their department: the first line takes urgent tickets opened outside working
    hours (owner and work order); the supervisor (--supervisor) is escalated to when they breach. Someone of
    another department goes on its rota only with --cover."""
    starts_at, ends_at = _time(ctx, start, "--from"), _time(ctx, end, "--to")
    rung = Rung.SUPERVISOR if supervisor else Rung.FIRST_LINE
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            shift = add_shift(conn, department_id=department, user_id=user, starts_at=starts_at, ends_at=ends_at,
                              rung=rung, cover=cover)
        except InvalidInput as exc:
            way_on = f"; add --cover if {user} is covering for {department}" if isinstance(exc, OtherDepartment) else ""
            typer.echo(f"Error: {exc}{way_on}", err=True)
            raise typer.Exit(2) from None
    tz = _config(ctx).tz
    typer.echo(f"shift {shift}: {user} on call for {department} as {rung.value.replace('_', ' ')}, "
               f"{starts_at.astimezone(tz):%Y-%m-%d %H:%M} to {ends_at.astimezone(tz):%Y-%m-%d %H:%M}")


@app.command("show")
def roster_show(
    ctx: typer.Context,
    department: Annotated[str | None, typer.Option("--department", help="only this department")] = None,
    at: Annotated[str | None, typer.Option("--at", help="who is on call at this time (default: every shift not "
                                                        "yet over)")] = None,
    db: DbOption = None,
) -> None:
    """The roster: department, rung, user, from, to (local time)."""
    when = _time(ctx, at, "--at") if at else None
    tz = _config(ctx).tz
    with psycopg.connect(database_url(ctx, db)) as conn:
        rows = shifts(conn, now=datetime.now(UTC), department_id=department, at=when)
    if not rows:
        typer.echo("nobody on call" + (f" for {department}" if department else "") +
                   (f" at {when.astimezone(tz):%Y-%m-%d %H:%M}" if when else ""))
        return
    for s in rows:
        typer.echo(f"{s.department_id:<18} {s.rung:<11} {s.user_id:<14} {s.name:<16} "
                   f"{s.starts_at.astimezone(tz):%Y-%m-%d %H:%M} → {s.ends_at.astimezone(tz):%Y-%m-%d %H:%M}")
