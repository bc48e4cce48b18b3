"""`forewarn tickets work-order …`: bring another department in on a ticket (a work order of its own, with its own
clock) and list a ticket's work orders (`tickets.dispatch`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import psycopg
import typer

from tickets.cli import DbOption, _config, _fail, database_url
from tickets.dispatch import add_work_order, ticket_work_orders
from tickets.errors import InvalidInput, NotAllowed, NotFound, WorkOrderExists

app = typer.Typer(help="Work orders across departments: add one for another department, list a ticket's.",
                  no_args_is_help=True)
TicketArg = Annotated[int, typer.Argument(help="Ticket number.", min=1)]


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ") if at else "-"


@app.command("add")
def add(ctx: typer.Context, ticket_id: TicketArg,
        department: Annotated[str, typer.Option("--department", help="engineering, cleaning, security, "
                                                "customer_service, … (see `forewarn estate`).")],
        reason: Annotated[str, typer.Option("--reason", help="Why this department is brought in.")] = "",
        by: Annotated[str | None, typer.Option("--by", help="The user adding it (an agent, a department head or a "
                                                "manager); recorded and checked. Default: the operator.")] = None,
        db: DbOption = None) -> None:
    """Add a work order for another department to a ticket: its own clock from the ticket's tier and SLA profile;
    the ticket's owner stays the owner; the ticket resolves when every work order is done."""
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            added = add_work_order(conn, ticket_id, department.strip(), by_user=by, now=datetime.now(UTC),
                                   reason=reason, config=_config(ctx))
        except (NotFound, InvalidInput, NotAllowed, WorkOrderExists) as exc:
            raise _fail(str(exc)) from exc
    typer.echo(f"work order {added.id} for {added.department_id} on ticket #{ticket_id}: "
               f"respond by {_when(added.respond_due)}, resolve by {_when(added.resolve_due)}")


@app.command("list")
def list_(ctx: typer.Context, ticket_id: TicketArg, db: DbOption = None) -> None:
    """A ticket's work orders, oldest first: id, department, status, assignee, its own deadlines, reason."""
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            orders = ticket_work_orders(conn, ticket_id)
        except NotFound as exc:
            raise _fail(str(exc)) from exc
    for w in orders:
        typer.echo(f"#{w.id:<6} {w.department_id:<17} {w.status:<13} {w.assignee_id or '-':<12} "
                   f"respond {_when(w.respond_due)}  resolve {_when(w.resolve_due)}  {w.reason}")
