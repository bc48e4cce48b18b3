"""`forewarn estate invite` (resident accounts from the registry) and `forewarn user passwd` (a staff password,
read from the terminal or stdin, never from the command line). Registered on the `estate` and `user` groups."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from api.web.accounts import PasswordTooWeak, set_password
from api.web.i18n import Catalogues
from api.web.invitations import Invitation, NoResidents, invite_residents, residents_to_invite
from forewarn.cli_db import estate_app, user_app
from forewarn.context import CliContext
from forewarn.migrate import migrate
from forewarn.web_wiring import code_sender, public_url

console = Console()
PROGRESS_FROM = 20  # show a progress bar when inviting at least this many residents


@estate_app.command("invite")
def estate_invite(
    ctx: typer.Context,
    unit: Annotated[str | None, typer.Option(help="invite the residents of this unit")] = None,
    building: Annotated[str | None, typer.Option(help="invite the residents of this building")] = None,
    site: Annotated[str | None, typer.Option(help="only within this site (or alone: the whole site)")] = None,
) -> None:
    """Create (or re-invite) resident accounts and send each a one-time sign-up link and 6-digit code by their
    channel (the SMS/WeChat gateway webhook or SMTP e-mail, when configured); codes no channel carries are printed
    for you to hand over. A new invitation replaces the last one; codes expire after FOREWARN_SIGNUP_CODE_HOURS."""
    if unit is None and building is None and site is None:
        raise typer.BadParameter("name a --unit, a --building or a --site", param_hint="--unit/--building/--site")
    cli: CliContext = ctx.obj
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    settings = cli.settings
    with psycopg.connect(url) as conn:
        try:
            residents = residents_to_invite(conn, unit=unit, building=building, site=site)
        except NoResidents as exc:
            raise typer.BadParameter(str(exc), param_hint="--unit/--building/--site") from None
        now, catalogues, sender = datetime.now(UTC), Catalogues.load(), code_sender(settings)

        def invite(progress: Callable[[int], None] | None = None) -> list[Invitation]:
            return invite_residents(conn, residents, now=now, ttl=timedelta(hours=settings.signup_code_hours),
                                    public_url=public_url(settings), sender=sender, catalogues=catalogues,
                                    progress=progress)

        if len(residents) >= PROGRESS_FROM:
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task("inviting", total=len(residents))
                invitations = invite(lambda done: bar.update(task, completed=done))
        else:
            invitations = invite()
        conn.execute("INSERT INTO audit_log (actor, action, subject, detail) VALUES ('cli', 'estate.invite', %s, "
                     "jsonb_build_object('residents', %s::int))", (unit or building or site, len(invitations)))
    _print_invitations(invitations, settings.signup_code_hours)


def _print_invitations(invitations: list[Invitation], hours: int) -> None:
    handed = [i for i in invitations if i.sent_via is None]
    sent = len(invitations) - len(handed)
    console.print(f"invited {len(invitations)} residents: {sent} sent by their channel, {len(handed)} to hand over "
                  f"(valid {hours} h)")
    if handed:
        table = Table("unit", "resident", "user", "code", "sign-up link", "note")
        for inv in handed:
            table.add_row(inv.unit_id, inv.name, inv.user_id, inv.code, inv.link,
                          f"send failed: {inv.error}" if inv.error else "no channel configured")
        console.print(table)


@user_app.command("passwd")
def user_passwd(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="the account's user id")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Set an account's web sign-in password: typed at a hidden prompt, or read from stdin (--password-stdin)."""
    password = read_password(password_stdin)
    cli: CliContext = ctx.obj
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    with psycopg.connect(url) as conn:
        try:
            set_password(conn, user_id, password)
        except LookupError:
            raise typer.BadParameter(f"no user {user_id!r}", param_hint="USER_ID") from None
        except PasswordTooWeak as exc:
            raise typer.BadParameter(str(exc), param_hint="password") from None
        conn.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('cli', 'user.passwd', %s)", (user_id,))
    console.print(f"password set for {user_id}")


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        raise typer.BadParameter("the two passwords differ", param_hint="password")
    return str(first)
