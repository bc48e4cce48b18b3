"""`forewarn user contact`: how a staff member's work-order pushes reach them besides the pages (registered on the
`user` command group by import, like forewarn/cli_accounts.py)."""

from __future__ import annotations

from typing import Annotated

import psycopg
import typer
from rich.console import Console

from forewarn.cli_db import user_app
from forewarn.context import CliContext
from forewarn.migrate import migrate
from tickets.errors import InvalidInput, NotFound
from tickets.staff_push import STAFF_CHANNELS, set_staff_contact

console = Console()


@user_app.command("contact")
def user_contact(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="the staff member's login id, e.g. eng-li")],
    channel: Annotated[str, typer.Option(help=f"one of {', '.join(STAFF_CHANNELS)}; sms and wechat go through the "
                                              "gateway webhook (FOREWARN_WEBHOOK_URL), email through SMTP")],
    phone: Annotated[str | None, typer.Option(help="mobile number, for sms or wechat")] = None,
    email: Annotated[str | None, typer.Option(help="e-mail address, for email")] = None,
) -> None:
    """Send a staff member's work-order pushes by SMS, WeChat or e-mail as well as in-app."""
    cli: CliContext = ctx.obj
    url = cli.database_url()
    migrate(url, cli.settings.db_mode)
    with psycopg.connect(url) as conn:
        try:
            stored = set_staff_contact(conn, user_id, channel=channel, phone=phone, email=email)
        except NotFound as exc:
            raise typer.BadParameter(str(exc), param_hint="USER_ID") from None
        except InvalidInput as exc:
            raise typer.BadParameter(str(exc), param_hint="--channel") from None
        conn.execute("INSERT INTO audit_log (actor, action, subject, detail) VALUES ('cli', 'user.contact', %s, "
                     "jsonb_build_object('channel', %s::text))", (user_id, channel))
    console.print(f"user {user_id}: work orders pushed in-app" + ("" if stored[0] == "app" else f" and by {stored[0]}"))
