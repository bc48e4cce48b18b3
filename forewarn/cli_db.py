"""`forewarn db …`, `forewarn estate …`, `forewarn user …`: the operator's commands for storage and master data."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from api.auth import Role, create_user, disable_user, issue_token, list_tokens, revoke_token
from api.web.accounts import PasswordTooWeak, set_password
from api.web.invitations import disable_moved_out
from forewarn.context import CliContext
from forewarn.estate import load_estate
from forewarn.migrate import available_migrations, current_version, migrate
from ingest.estate import Estate
from ingest.estate_file import EstateFileError, load_estate_file
from tickets.teams import TeamError, check_team, set_team

console = Console()
db_app = typer.Typer(help="Database: migrations and storage mode.", no_args_is_help=True)
estate_app = typer.Typer(help="Estate registry: sites, buildings, units, residents, devices.", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts and API tokens.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens: list and revoke (a token is never shown again).", no_args_is_help=True)
user_app.add_typer(tokens_app, name="tokens")


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
        server = (conn.execute("SHOW server_version").fetchone() or ("?",))[0]
        version = current_version(conn)
        readings = (conn.execute("SELECT count(*) FROM readings").fetchone() or (0,))[0]
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
    """Validate FILE and load it all (master data, departments, grid owners, site managers) or nothing.

    Re-loading the same file changes nothing."""
    cli: CliContext = ctx.obj
    estate = _read_estate(file)
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    with psycopg.connect(url) as conn:
        try:
            counts = load_estate(conn, estate)
        except EstateFileError as exc:  # an unknown user or department: nothing was changed
            raise typer.BadParameter(str(exc), param_hint="FILE") from None
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
    role: Annotated[Role, typer.Option(help="agent, engineer, supervisor (heads a department), manager or admin")],
    department: Annotated[str | None, typer.Option(help="department id, e.g. engineering")] = None,
    supervisor: Annotated[str | None, typer.Option(help="user id of the department head")] = None,
    team: Annotated[str | None, typer.Option(help="a team of --department (forewarn team list), e.g. lift")] = None,
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
        if team:
            try:
                check_team(conn, team, department)
            except TeamError as exc:
                raise typer.BadParameter(str(exc), param_hint="--team") from None
        create_user(conn, user_id=user_id, name=name, role=role, department_id=department, supervisor_id=supervisor)
        if team:
            set_team(conn, user_id, team)
        if password_stdin:
            try:
                set_password(conn, user_id, sys.stdin.readline().rstrip("\r\n"))
            except PasswordTooWeak as exc:
                raise typer.BadParameter(str(exc), param_hint="--password-stdin") from None
        token = issue_token(conn, user_id, label="cli", lifetime=timedelta(days=cli.settings.api_token_days))
        conn.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('cli', 'user.add', %s)", (user_id,))
    console.print(f"user {user_id} ({role.value}) ready. API token (shown once):\n{token}")


@tokens_app.command("list")
def tokens_list(
    ctx: typer.Context,
    user_id: Annotated[str | None, typer.Argument(help="only this user's tokens")] = None,
) -> None:
    """List API tokens, newest first: id, user, label, issued, expires, revoked, and whether each still works."""
    cli: CliContext = ctx.obj
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    with psycopg.connect(url) as conn:
        tokens = list_tokens(conn, user_id)
    table = Table("id", "user", "label", "issued", "expires", "revoked", "works")
    for t in tokens:
        table.add_row(str(t.id), t.user_id, t.label, f"{t.created_at:%Y-%m-%d %H:%M}", f"{t.expires_at:%Y-%m-%d}",
                      f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "", "yes" if t.usable else "no")
    console.print(table if tokens else "no tokens" + (f" for {user_id}" if user_id else ""))


@tokens_app.command("revoke")
def tokens_revoke(ctx: typer.Context, token_id: Annotated[int, typer.Argument(help="the id `tokens list` shows")]
                  ) -> None:
    """Revoke one API token at once; requests with it are refused from now on."""
    cli: CliContext = ctx.obj
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    with psycopg.connect(url) as conn:
        if not revoke_token(conn, token_id):
            raise typer.BadParameter(f"no unrevoked token with id {token_id}", param_hint="TOKEN_ID")
        conn.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('cli', 'token.revoke', %s)",
                     (str(token_id),))
    console.print(f"token {token_id} revoked")


@user_app.command("disable")
def user_disable(ctx: typer.Context, user_id: Annotated[str, typer.Argument(help="login id")]) -> None:
    """Disable an account and revoke all its API tokens (`user add` enables it again, with a new token)."""
    cli: CliContext = ctx.obj
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    with psycopg.connect(url) as conn:
        try:
            revoked = disable_user(conn, user_id)
        except LookupError as exc:
            raise typer.BadParameter(str(exc), param_hint="USER_ID") from None
        conn.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('cli', 'user.disable', %s)", (user_id,))
    console.print(f"user {user_id} disabled; {revoked} token(s) revoked")
