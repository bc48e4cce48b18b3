"""`forewarn tickets mediation start|end|show`: external mediation of a ticket (tickets/mediation.py; docs/lifecycle.md
"Complaint handling and mediation"). Times are ISO 8601; without a zone they are local time of the configured time
zone. Bad input exits 2 with a one-line message; a conflict with the ticket's state exits 1."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import psycopg
import typer

from tickets.config import TicketConfig
from tickets.errors import InvalidInput, NotFound
from tickets.mediation import MediationConflict, end_mediation, mediations, start_mediation

app = typer.Typer(help="External mediation (residents' committee, mediator…): pauses the ticket's SLA clocks.",
                  no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: the configured one).")]
TicketArg = Annotated[int, typer.Argument(help="Ticket number.", min=1)]
AtOption = Annotated[str | None, typer.Option("--at", help="when, e.g. 2026-12-01T09:00 (local time; default now)")]
ByOption = Annotated[str | None, typer.Option("--by", help="the staff user recording it")]


def _time(ctx: typer.Context, text: str | None) -> datetime | None:
    from tickets.cli import _config  # tickets.cli mounts this group: imported when a command runs

    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a time; write e.g. 2026-12-01T09:00 or 2026-12-01T09:00+08:00",
                                 param_hint="--at") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=_config(ctx).tz)


def _connect(ctx: typer.Context, db: str | None) -> psycopg.Connection:
    from tickets.cli import database_url

    return psycopg.connect(database_url(ctx, db))


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command("start")
def start(
    ctx: typer.Context, ticket: TicketArg,
    party: Annotated[str, typer.Option("--party", help="who mediates: committee (社区居委会), owners_committee "
                                                       "(业委会), mediator, street_office or other")],
    name: Annotated[str, typer.Option("--name", help="the party's name, e.g. 滨江社区居委会")],
    at: AtOption = None, by: ByOption = None,
    note: Annotated[str, typer.Option("--note", help="what is taken to mediation")] = "",
    db: DbOption = None,
) -> None:
    """Take a ticket to external mediation: records the party and the start, and pauses the ticket's SLA clocks
    until the mediation ends."""
    started = _time(ctx, at)
    with _connect(ctx, db) as conn:
        try:
            made = start_mediation(conn, ticket, party=party, name=name, at=started, by=by, note=note,
                                   now=datetime.now(UTC), config=_ticket_config(ctx))
        except (InvalidInput, NotFound) as exc:
            raise _fail(str(exc), 2) from None
        except MediationConflict as exc:
            raise _fail(str(exc), 1) from None
    typer.echo(f"mediation {made.id} of ticket #{ticket} by {made.party_kind} {made.party_name} from "
               f"{made.started_at.astimezone(_ticket_config(ctx).tz):%Y-%m-%d %H:%M%z}; the ticket's SLA clocks "
               "are paused")


@app.command("end")
def end(
    ctx: typer.Context, ticket: TicketArg,
    outcome: Annotated[str, typer.Option("--outcome", help="agreed, not_agreed or withdrawn")],
    agreement: Annotated[str, typer.Option("--agreement", help="what was agreed (required when agreed)")] = "",
    at: AtOption = None, by: ByOption = None, db: DbOption = None,
) -> None:
    """End the ticket's open mediation with its outcome and agreement; the SLA clocks resume and the deadlines
    move by the time paused."""
    ended = _time(ctx, at)
    with _connect(ctx, db) as conn:
        try:
            done = end_mediation(conn, ticket, outcome=outcome, agreement=agreement, at=ended, by=by,
                                 now=datetime.now(UTC), config=_ticket_config(ctx))
        except (InvalidInput, NotFound) as exc:
            raise _fail(str(exc), 2) from None
        except MediationConflict as exc:
            raise _fail(str(exc), 1) from None
        due = conn.execute("SELECT respond_due, resolve_due FROM tickets WHERE id = %s", (ticket,)).fetchone()
    typer.echo(f"mediation {done.id} of ticket #{ticket} ended {done.outcome}; clocks resumed"
               + (f", resolve due {due[1].astimezone(_ticket_config(ctx).tz):%Y-%m-%d %H:%M%z}"
                  if due and due[1] else ""))


def _ticket_config(ctx: typer.Context) -> TicketConfig:
    from tickets.cli import _config

    return _config(ctx)


@app.command("show")
def show(ctx: typer.Context, ticket: TicketArg, db: DbOption = None) -> None:
    """The ticket's mediations: party, dates, outcome and agreement."""
    with _connect(ctx, db) as conn:
        try:
            rows = mediations(conn, ticket)
        except NotFound as exc:
            raise _fail(str(exc), 1) from None
    if not rows:
        typer.echo(f"ticket #{ticket} has not been to mediation")
    tz = _ticket_config(ctx).tz
    for m in rows:
        until = f"{m.ended_at.astimezone(tz):%Y-%m-%d %H:%M%z}" if m.ended_at else "open (clocks paused)"
        typer.echo(f"{m.id}: {m.party_kind} {m.party_name}, {m.started_at.astimezone(tz):%Y-%m-%d %H:%M%z} – {until}"
                   + (f", {m.outcome}" if m.outcome else "") + (f": {m.agreement}" if m.agreement else ""))
