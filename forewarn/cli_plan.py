"""`forewarn device maintenance-plan …`: recurring maintenance (tickets/maintenance_plan.py) — each lift every two
weeks opens its work order on the due date, and its completion is told to the units the lift serves."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import psycopg
import typer

from tickets.cli import DbOption, database_url, in_estate_zone
from tickets.errors import InvalidInput, NotFound
from tickets.maintenance_plan import DEVICE_KINDS, Plan, add_plan, list_plans, parse_every, stop_plan

plan_app = typer.Typer(help="Recurring maintenance: a work order per device every N days.", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _line(plan: Plan) -> str:
    return (f"#{plan.id:<5} {plan.target:<32} every {plan.every_days} d, next due "
            f"{plan.next_due.astimezone(UTC):%Y-%m-%d %H:%MZ}, {plan.department_id}")


@plan_app.command("add")
def add(
    ctx: typer.Context,
    device: Annotated[str | None, typer.Argument(help="Device id (e.g. rs-b1-elev-a); or use --site and --kind.")
                      ] = None,
    every: Annotated[str, typer.Option("--every", help="Interval in days, e.g. 14d.")] = "",
    site: Annotated[str | None, typer.Option("--site", help="With --kind: every such device of this site.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help=f"Device kind: {', '.join(DEVICE_KINDS)}.")] = None,
    first: Annotated[str | None, typer.Option("--first", help="First due time, ISO 8601 (without an offset: the "
                                                              "estate's local time). Default: now.")] = None,
    department: Annotated[str, typer.Option("--department", help="Who does it.")] = "engineering",
    by: Annotated[str | None, typer.Option("--by", help="Who sets it (default: the login name).")] = None,
    db: DbOption = None,
) -> None:
    """Add a plan: DEVICE --every 14d, or --site S --kind elevator --every 14d for each of its lifts. On each due
    date the scheduler opens one ticket with one work order for the department, per device."""
    if not every:
        raise _fail("give the interval, e.g. --every 14d")
    if bool(device) == bool(site or kind):
        raise _fail("name one DEVICE, or --site and --kind (not both)")
    if not device and not (site and kind):
        raise _fail("a plan for a device kind needs both --site and --kind")
    now = datetime.now(UTC)
    first_due = now
    if first:
        try:
            first_due = datetime.fromisoformat(first)
        except ValueError:
            raise _fail(f"bad --first {first!r}: give an ISO 8601 time, e.g. 2026-12-01T09:00+08:00") from None
        first_due = in_estate_zone(ctx, first_due)
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            plan = add_plan(conn, every_days=parse_every(every), first_due=first_due,
                            created_by=by or getpass.getuser(), now=now, department_id=department,
                            device_id=device, site_id=site, device_kind=kind)
        except InvalidInput as exc:
            raise _fail(str(exc)) from exc
    typer.echo(f"plan added: {_line(plan)}")


@plan_app.command("list")
def list_(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Option("--site", help="Only this site's plans.")] = None,
    db: DbOption = None,
) -> None:
    """Active plans, soonest due first."""
    with psycopg.connect(database_url(ctx, db)) as conn:
        plans = list_plans(conn, site_id=site)
    for plan in plans:
        typer.echo(_line(plan))
    if not plans:
        typer.echo("no maintenance plans")


@plan_app.command("stop")
def stop(ctx: typer.Context, plan_id: Annotated[int, typer.Argument(help="The plan's id (see list).")],
         db: DbOption = None) -> None:
    """Stop a plan: no more work orders from it (those already open stay open)."""
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            plan = stop_plan(conn, plan_id)
        except NotFound as exc:
            raise _fail(str(exc), 1) from exc
    typer.echo(f"plan stopped: {_line(plan)}")
