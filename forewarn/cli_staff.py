"""`forewarn estate owner …`, `forewarn estate manager …` and `forewarn user set`: who is responsible where, the
same assignments an estate file's `grids`, `manager` and `departments` sections make (forewarn/estate.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import psycopg
import typer
from rich.console import Console

from api.auth import set_department
from forewarn.context import CliContext
from forewarn.estate import ResponsibilityError, check_department, check_site, check_staff
from forewarn.migrate import migrate
from tickets.routing import grid_owners, remove_grid_owner, set_grid_owner, set_site_manager, site_managers
from tickets.teams import TeamError, check_team, set_team

console = Console()
owner_app = typer.Typer(help="Grid owners: who owns a service grid for a department (first responsibility).",
                        no_args_is_help=True)
manager_app = typer.Typer(help="Site managers: the last rung of a site's escalation ladder.", no_args_is_help=True)

Department = Annotated[str, typer.Option("--department", help="department id, e.g. engineering")]
Grid = Annotated[str | None, typer.Option("--grid", help="the grid, e.g. rs-G1")]
Building = Annotated[str | None, typer.Option("--building", help="or a building: its grid")]


def _connect(ctx: typer.Context) -> psycopg.Connection:
    cli: CliContext = ctx.obj
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    return psycopg.connect(url)


def _grid(conn: psycopg.Connection, grid: str | None, building: str | None) -> str:
    """The grid named, or the grid of the building named: exactly one of them."""
    if (grid is None) == (building is None):
        raise typer.BadParameter("give either --grid or --building", param_hint="--grid/--building")
    if grid is not None:
        if conn.execute("SELECT 1 FROM buildings WHERE grid = %s", (grid,)).fetchone() is None:
            raise typer.BadParameter(f"no building is in grid {grid!r}", param_hint="--grid")
        return grid
    row = conn.execute("SELECT grid FROM buildings WHERE id = %s", (building,)).fetchone()
    if row is None:
        raise typer.BadParameter(f"unknown building {building!r}", param_hint="--building")
    if row[0] is None:
        raise typer.BadParameter(f"building {building!r} has no grid (set one in the estate file)",
                                 param_hint="--building")
    return str(row[0])


def _checked(hint: str, check: Callable[[], None]) -> None:
    """Run a forewarn.estate check; its error becomes a usage error on `hint`."""
    try:
        check()
    except ResponsibilityError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None


@owner_app.command("set")
def owner_set(ctx: typer.Context, user: Annotated[str, typer.Argument(help="staff user id, e.g. eng-li")],
              department: Department, grid: Grid = None, building: Building = None) -> None:
    """USER owns the grid (of --grid, or of --building's) for --department from now on."""
    with _connect(ctx) as conn:
        target = _grid(conn, grid, building)
        _checked("--department", lambda: check_department(conn, department))
        _checked("USER", lambda: check_staff(conn, user))
        set_grid_owner(conn, grid=target, department_id=department, user_id=user)
    console.print(f"grid {target}: {department} → {user}")


@owner_app.command("remove")
def owner_remove(ctx: typer.Context, department: Department, grid: Grid = None, building: Building = None) -> None:
    """Nobody owns the grid for --department any more (its tickets go to the department's first staff member)."""
    with _connect(ctx) as conn:
        target = _grid(conn, grid, building)
        removed = remove_grid_owner(conn, grid=target, department_id=department)
    console.print(f"grid {target}: {department} " + ("has no owner now" if removed else "had no owner"))


@owner_app.command("list")
def owner_list(ctx: typer.Context) -> None:
    """Every grid owner: grid, department, user."""
    with _connect(ctx) as conn:
        rows = grid_owners(conn)
    for grid, department, user in rows:
        console.print(f"{grid:<12} {department:<18} {user}")
    if not rows:
        console.print("no grid owners yet")


@manager_app.command("set")
def manager_set(ctx: typer.Context, site: Annotated[str, typer.Argument(help="site id, e.g. riverside")],
                user: Annotated[str, typer.Argument(help="a manager's (or admin's) user id")]) -> None:
    """USER manages SITE: escalations that pass the department head reach them."""
    with _connect(ctx) as conn:
        _checked("SITE", lambda: check_site(conn, site))
        _checked("USER", lambda: check_staff(conn, user, manager=True))
        set_site_manager(conn, site_id=site, user_id=user)
    console.print(f"site {site}: manager {user}")


@manager_app.command("list")
def manager_list(ctx: typer.Context) -> None:
    """Every site's manager."""
    with _connect(ctx) as conn:
        rows = site_managers(conn)
    for site, user in rows:
        console.print(f"{site:<16} {user}")
    if not rows:
        console.print("no site managers yet")


def user_set(ctx: typer.Context, user: Annotated[str, typer.Argument(help="staff user id")],
             department: Department,
             supervisor: Annotated[str | None, typer.Option(help="the department head, their supervisor "
                                                             "(default: unchanged)")] = None,
             team: Annotated[str | None, typer.Option(help="a team of --department, e.g. lift (default: unchanged "
                                                      "if the department is; moving department leaves the team)")
                             ] = None) -> None:
    """Move an existing staff member to --department (and under --supervisor, into --team); no new token is
    issued."""
    with _connect(ctx) as conn:
        _checked("--department", lambda: check_department(conn, department))
        _checked("USER", lambda: check_staff(conn, user))
        if supervisor is not None:
            _checked("--supervisor", lambda: check_staff(conn, supervisor))
        if team is not None:
            try:
                check_team(conn, team, department)
            except TeamError as exc:
                raise typer.BadParameter(str(exc), param_hint="--team") from None
        set_department(conn, user_id=user, department_id=department, supervisor_id=supervisor)
        if team is not None:
            set_team(conn, user, team)
    console.print(f"user {user}: department {department}" + (f", supervisor {supervisor}" if supervisor else "")
                  + (f", team {team}" if team else ""))
