"""`forewarn db …`, `forewarn estate …`, `forewarn user …`: the operator's commands for storage and master data."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from api.auth import Role, create_user, issue_token
from api.web.accounts import PasswordTooWeak, set_password
from api.web.invitations import disable_moved_out
from forewarn.context import CliContext
from forewarn.migrate import available_migrations, current_version, migrate
from ingest.estate import Estate
from ingest.estate_file import EstateFileError, load_estate_file
from ingest.estate_store import save_estate

console = Console()
db_app = typer.Typer(help="Database: migrations and storage mode.", no_args_is_help=True)
estate_app = typer.Typer(help="Estate registry: sites, buildings, units, residents, devices.", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts and API tokens.", no_args_is_help=True)


@db_app.command("migrate")
def db_migrate(ctx: typer.Context) -> None:
    """Apply pending migrations (also done at start-up). Safe to run from several processes at once."""
    cli: CliContext = ctx.obj
    url = cli.database_url()
    mode, applied = migrate(url, cli.settings.db_mode)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "none (already up to date)"
    console.print(f"storage mode: [bold]{mode.name}[/bold] — applied: {names}")


@db_app.command("info")
def db_info(ctx: typer.Context) -> None:
    """Say which storage mode is active (TimescaleDB or plain PostgreSQL), its version and licence, and why."""
    cli: CliContext = ctx.obj
    url = cli.database_url()
    mode, _ = migrate(url, cli.settings.db_mode)
    with psycopg.connect(url) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
        version = current_version(conn)
        readings = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    table = Table(show_header=False, box=None)
    table.add_row("mode", "TimescaleDB" if mode.timescale else "plain PostgreSQL")
    table.add_row("why", mode.reason)
    if mode.timescale:
        table.add_row("timescaledb", f"{mode.version} (licence: {mode.license})")
        table.add_row("readings", "hypertable, columnstore + retention policies, hourly continuous aggregate")
    else:
        table.add_row("readings", "plain table with a BRIN index; hourly rollup refreshed by the scheduler")
    table.add_row("postgresql", server)
    table.add_row("schema version", f"{version} of {max(m.version for m in available_migrations(mode))}")
    table.add_row("readings stored", f"{readings:,}")
    table.add_row("database", cli.redacted_url())
    console.print(table)


def _read_estate(file: Path) -> Estate:
    """The estate in FILE, or a usage error naming the file, line and field."""
    try:
        return load_estate_file(file)
    except EstateFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from None
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc.strerror}", param_hint="FILE") from None


@estate_app.command("load")
def estate_load(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="YAML estate file")]) -> None:
    """Validate FILE and load it; re-loading the same file changes nothing."""
    cli: CliContext = ctx.obj
    estate = _read_estate(file)
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    with psycopg.connect(url) as conn:
        counts = save_estate(conn, estate)
        # Residents no longer in the file have moved out: their accounts stop working, now.
        moved_out = disable_moved_out(conn, now=datetime.now(UTC))
    console.print("loaded " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    if moved_out:
        console.print(f"moved out: {len(moved_out)} resident accounts disabled and signed out "
                      f"({', '.join(moved_out[:10])}{' …' if len(moved_out) > 10 else ''})")


@estate_app.command("check")
def estate_check(file: Annotated[Path, typer.Argument(help="YAML estate file")]) -> None:
    """Validate FILE without touching the database."""
    estate = _read_estate(file)
    console.print("valid: " + ", ".join(f"{n} {what}" for what, n in estate.summary().items()))


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="login id, e.g. eng-li")],
    name: Annotated[str, typer.Option(help="display name")],
    role: Annotated[Role, typer.Option(help="agent, engineer, manager or admin")],
    department: Annotated[str | None, typer.Option(help="department id, e.g. engineering")] = None,
    supervisor: Annotated[str | None, typer.Option(help="user id of the department head")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="also set a web sign-in password, read "
                                                                            "from stdin")] = False,
) -> None:
    """Create (or update) a staff account and print a new API token for it (shown once)."""
    if role is Role.RESIDENT:
        raise typer.BadParameter("resident logins are created from the estate registry, not here", param_hint="--role")
    cli: CliContext = ctx.obj
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    with psycopg.connect(url) as conn:
        if department and not conn.execute("SELECT 1 FROM departments WHERE id = %s", (department,)).fetchone():
            known = ", ".join(r[0] for r in conn.execute("SELECT id FROM departments ORDER BY id"))
            raise typer.BadParameter(f"unknown department {department!r}; known: {known}", param_hint="--department")
        if supervisor and not conn.execute("SELECT 1 FROM users WHERE id = %s", (supervisor,)).fetchone():
            raise typer.BadParameter(f"no user {supervisor!r}", param_hint="--supervisor")
        create_user(conn, user_id=user_id, name=name, role=role, department_id=department, supervisor_id=supervisor)
        if password_stdin:
            try:
                set_password(conn, user_id, sys.stdin.readline().rstrip("\r\n"))
            except PasswordTooWeak as exc:
                raise typer.BadParameter(str(exc), param_hint="--password-stdin") from None
        token = issue_token(conn, user_id, label="cli")
        conn.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('cli', 'user.add', %s)", (user_id,))
    console.print(f"user {user_id} ({role.value}) ready. API token (shown once):\n{token}")
