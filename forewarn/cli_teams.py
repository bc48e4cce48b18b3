"""`forewarn team add|list`: the teams of a department (engineering's lift team, water team). A staff user joins
one with `forewarn user add … --team T` or `forewarn user set … --team T` (a team of their own department)."""

from __future__ import annotations

from typing import Annotated

import psycopg
import typer
from rich.console import Console

from forewarn.context import CliContext
from forewarn.migrate import migrate
from tickets.teams import TeamError, add_team, list_teams

console = Console()
team_app = typer.Typer(help="Teams inside a department: a staff user belongs to at most one; the review and the "
                       "scorecards slice by team.", no_args_is_help=True)


def _connect(ctx: typer.Context) -> psycopg.Connection:
    cli: CliContext = ctx.obj
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    return psycopg.connect(url)


@team_app.command("add")
def team_add(ctx: typer.Context, team_id: Annotated[str, typer.Argument(help="team id, e.g. lift")],
             department: Annotated[str, typer.Option("--department", help="its department, e.g. engineering")],
             name: Annotated[str, typer.Option("--name", help="display name, e.g. '电梯组 Lift team'")]) -> None:
    """Create a team in --department (or rename it; a team never changes department)."""
    with _connect(ctx) as conn:
        try:
            add_team(conn, team_id, department, name)
        except TeamError as exc:
            raise typer.BadParameter(str(exc), param_hint="TEAM_ID/--department") from None
        conn.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('cli', 'team.add', %s)", (team_id,))
    console.print(f"team {team_id} ({department}) ready")


@team_app.command("list")
def team_list(ctx: typer.Context, department: Annotated[str | None, typer.Option(
        "--department", help="only this department's teams")] = None) -> None:
    """Every team: id, department, name and its active members."""
    with _connect(ctx) as conn:
        teams = list_teams(conn, department)
    for t in teams:
        console.print(f"{t.id:<14} {t.department_id:<18} {t.name}  [{', '.join(t.members) or 'no members'}]",
                      markup=False)
    if not teams:
        console.print("no teams yet" + (f" in {department}" if department else ""))
