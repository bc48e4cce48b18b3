"""`forewarn tickets …`: look at tickets, run the SLA sweep once, classify a text, regenerate the lifecycle
diagram in docs/lifecycle.md from the transition table, record a written plan or a progress report (`tickets plan`,
`tickets progress`) and external mediation (`tickets mediation`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer

from tickets.classify import Tier, classify_text
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import InvalidInput, NotFound
from tickets.lifecycle import TRANSITIONS, TicketState, mermaid
from tickets.mediation_cli import app as mediation_app
from tickets.milestones import LEGEND, milestones_for
from tickets.plans import record_plan, report_progress
from tickets.profiles import SlaProfile, UnknownProfile, set_site_profile, site_profile, site_profiles
from tickets.requests import Deadline, RequestKind, clocks_for, config_for_kind
from tickets.service import get_ticket
from tickets.sla import format_limit
from tickets.sweeps import sla_sweep

app = typer.Typer(help="Tickets: list, show, SLA sweep, classification and the lifecycle diagram.",
                  no_args_is_help=True)

app.add_typer(mediation_app, name="mediation")

DOC = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: the configured one).")]


def database_url(ctx: typer.Context, db: str | None) -> str:
    """The database URL: --db, or what the root command's context provides (duck-typed, so that this package
    never imports the product package). Other command groups use it too (`forewarn device`)."""
    if db:
        return db
    root: Any = ctx.find_root().obj
    if root is None or not hasattr(root, "database_url"):
        typer.echo("error: no database configured; pass --db postgresql://…", err=True)
        raise typer.Exit(2)
    return str(root.database_url())


_url = database_url


def _config(ctx: typer.Context) -> TicketConfig:
    """The lifecycle's configuration the root command built from the settings (duck-typed, as `_url`)."""
    make = getattr(ctx.find_root().obj, "ticket_config", None)
    return make() if callable(make) else DEFAULT_CONFIG


def in_estate_zone(ctx: typer.Context, value: datetime) -> datetime:
    """A time typed on the command line: as given with an offset; without one, the estate's local time
    (FOREWARN_TIMEZONE), as the pages read a time typed in their forms — never this machine's zone."""
    return value if value.tzinfo is not None else value.replace(tzinfo=_config(ctx).tz)


@app.command("list")
def list_tickets(
    ctx: typer.Context, db: DbOption = None,
    state: Annotated[str | None, typer.Option(help="Only tickets in this state (e.g. dispatched).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, newest first.")] = 50,
) -> None:
    """List tickets, newest first: id, state, source, severity, category, deadline, title."""
    states = [s.value for s in TicketState]
    if state is not None and state not in states:
        raise typer.BadParameter(f"unknown state {state!r}; use one of: {', '.join(states)}", param_hint="--state")
    with psycopg.connect(_url(ctx, db)) as conn:
        rows = conn.execute(
            """SELECT id, state, source, severity, category, resolve_due, title FROM tickets
               WHERE %(state)s::text IS NULL OR state = %(state)s ORDER BY id DESC LIMIT %(limit)s""",
            {"state": state, "limit": limit},
        ).fetchall()
    for row in rows:
        due = row[5].astimezone(UTC).strftime("%Y-%m-%d %H:%MZ") if row[5] else "-"
        typer.echo(f"#{row[0]:<6} {row[1]:<16} {row[2]:<10} {row[3]:<8} {row[4]:<16} due {due}  {row[6]}")


@app.command()
def show(ctx: typer.Context, ticket_id: Annotated[int, typer.Argument(help="Ticket number.")],
         db: DbOption = None) -> None:
    """Show one ticket and its whole timeline."""
    with psycopg.connect(_url(ctx, db)) as conn:
        try:
            ticket = get_ticket(conn, ticket_id)
        except NotFound as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        for key, value in ticket.as_dict().items():
            typer.echo(f"{key:>16}: {value}")
        for at, actor, event, source, target, note in conn.execute(
            "SELECT at, actor, event, from_state, to_state, note FROM ticket_events WHERE ticket_id = %s "
            "ORDER BY id", (ticket_id,)):
            typer.echo(f"  {at:%Y-%m-%d %H:%M:%S%z}  {actor or '-':<10} {event:<18} "
                       f"{source or '':>16} -> {target or '':<16} {note}")


@app.command()
def sweep(ctx: typer.Context, db: DbOption = None) -> None:
    """Run the SLA sweep once now: reminders at 50% and 80%, escalations at breach (safe to run twice)."""
    with psycopg.connect(_url(ctx, db)) as conn:
        count = sla_sweep(conn, now=datetime.now(UTC), config=_config(ctx))
    typer.echo(f"{count} SLA alerts sent")


@app.command()
def classify(ctx: typer.Context,
             text: Annotated[str, typer.Argument(help="A complaint's text: zh-CN, zh-TW or en.")]) -> None:
    """Show how a complaint's text would be classified (category, severity, device kind, matched words)."""
    found = classify_text(text, _config(ctx).taxonomy)
    typer.echo(f"category={found.category} severity={found.tier} subcategory={found.subcategory} "
               f"device_kind={found.device_kind} department={found.department} matched={','.join(found.matched)}")


def type_rows(config: TicketConfig, profile: SlaProfile | None = None) -> list[tuple[str, str, str]]:
    """(request kind, tier, its clocks) for every kind and tier on `profile` (None: the default), with the
    operator's SLA limits."""
    rows = []
    name = profile.name if profile else None
    for kind in RequestKind:
        kind_config = config_for_kind(kind, config, profile or config.profile(None))
        for tier in Tier:
            clocks = clocks_for(kind, tier, profile)
            policy = clocks.policy or config.policy("", tier, name)
            # Each clock named by what meets it: a major complaint's are "on_site" and "plan" (001), not
            # "respond" and "resolve".
            respond, resolve = milestones_for(kind_config, tier, name)
            limits = [(respond, policy.respond) if which is Deadline.RESPOND else (resolve, policy.resolve)
                      for _clock, which in clocks.shown]
            shown = ", ".join(f"{milestone}: {format_limit(limit)}" for milestone, limit in limits)
            rows.append((kind.value, tier.value, shown))
    return rows


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


SiteOption = Annotated[str | None, typer.Option("--site", help="A site id: its SLA profile's clocks.")]


@app.command()
def types(ctx: typer.Context, site: SiteOption = None, db: DbOption = None) -> None:
    """Print every request kind and severity tier with its clocks on a site's SLA profile (without --site: the
    default profile)."""
    config = _config(ctx)
    profile = config.profile(None)
    if site is not None:
        with psycopg.connect(_url(ctx, db)) as conn:
            try:
                profile = site_profile(conn, site, config.sla_profiles())
            except (NotFound, UnknownProfile) as exc:
                raise _fail(str(exc)) from exc
    typer.echo(f"SLA profile {profile.name}: {profile.title}" + (f" (site {site})" if site else " (the default)"))
    for kind, tier, shown in type_rows(config, profile):
        typer.echo(f"{kind:<11} {tier:<8} {shown}")
    typer.echo(legend())


def legend() -> str:
    """One line: what meets each milestone (tickets/milestones.py)."""
    return "met by: " + "; ".join(f"{milestone} = {what}" for milestone, what in LEGEND.items())


TextOption = Annotated[str, typer.Option("--text", help="The text, in the words the resident will read.")]
ByOption = Annotated[str, typer.Option("--by", help="The staff user recording it.")]


@app.command()
def plan(ctx: typer.Context, ticket_id: Annotated[int, typer.Argument(help="Ticket number.")], text: TextOption,
         by: ByOption = "cli", db: DbOption = None) -> None:
    """Record the written plan for a ticket (meets a 'plan' clock: a major complaint's 24 h, 001)."""
    _record(ctx, record_plan, ticket_id, text, by, db, "plan")


@app.command()
def progress(ctx: typer.Context, ticket_id: Annotated[int, typer.Argument(help="Ticket number.")],
             text: TextOption, by: ByOption = "cli", db: DbOption = None) -> None:
    """Record a progress report and send it to the residents whose requests are on the ticket (meets a
    'progress' clock: a complex complaint's 7 working days, 001)."""
    _record(ctx, report_progress, ticket_id, text, by, db, "progress report")


def _record(ctx: typer.Context, record: Any, ticket_id: int, text: str, by: str, db: str | None, what: str) -> None:
    with psycopg.connect(_url(ctx, db)) as conn:
        try:
            met = record(conn, ticket_id, text=text, by=by, now=datetime.now(UTC))
        except InvalidInput as exc:
            raise _fail(str(exc), 2) from exc
        except NotFound as exc:
            raise _fail(str(exc)) from exc
    clocks = ", ".join(f"{clock} clock ({milestone}) met" for clock, milestone in met.items())
    typer.echo(f"{what} recorded on ticket #{ticket_id}" + (f": {clocks}" if clocks else ""))


profile_app = typer.Typer(help="SLA profiles: which handbook's time limits each site runs on.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")


@profile_app.command("show")
def profile_show(ctx: typer.Context, db: DbOption = None) -> None:
    """List the SLA profiles with each limit and its handbook source, then every site with its profile."""
    known = _config(ctx).sla_profiles()
    for profile in known.by_name.values():
        default = " (default)" if profile.name == known.default else ""
        typer.echo(f"profile {profile.name}{default}: {profile.title}")
        for (key, limit), clause in profile.clauses.items():
            typer.echo(f"  {key:<15} {limit:<7} {format_limit(clause.limit):<16} {clause.milestone:<9} "
                       f"{clause.source}")
    with psycopg.connect(_url(ctx, db)) as conn:
        for site_id, name, profile in site_profiles(conn, known):
            typer.echo(f"site {site_id:<16} {profile.name:<5} {name}")


@profile_app.command("set")
def profile_set(ctx: typer.Context,
                name: Annotated[str, typer.Argument(help="The profile: 001 or 003 (see `profile show`).")],
                site: Annotated[str, typer.Option("--site", help="The site to switch.")],
                db: DbOption = None) -> None:
    """Run a site on an SLA profile. Tickets it opens from now on get that profile's clocks; open tickets keep
    the deadlines they were opened with."""
    known = _config(ctx).sla_profiles()
    with psycopg.connect(_url(ctx, db)) as conn:
        try:
            set_site_profile(conn, site, name, known)
        except UnknownProfile as exc:
            raise _fail(str(exc), 2) from exc
        except NotFound as exc:
            raise _fail(str(exc)) from exc
    typer.echo(f"site {site} now runs on SLA profile {name}: {known.get(name).title}")


def lifecycle_doc(current: str) -> str:
    """`current` with its mermaid block replaced by the diagram generated from the table."""
    block = "```mermaid\n" + mermaid() + "```"
    if "```mermaid" not in current:
        return current.rstrip() + "\n\n" + block + "\n"
    return re.sub(r"```mermaid\n.*?```", lambda _: block, current, count=1, flags=re.S)


@app.command()
def diagram(write: Annotated[bool, typer.Option("--write", help="Update docs/lifecycle.md in place.")] = False
            ) -> None:
    """Print the lifecycle as a Mermaid state diagram generated from the transition table."""
    if write:
        DOC.write_text(lifecycle_doc(DOC.read_text(encoding="utf-8") if DOC.exists() else ""), encoding="utf-8")
        typer.echo(f"wrote {DOC} ({len(TRANSITIONS)} transitions)")
    else:
        typer.echo(mermaid(), nl=False)


def _work_order_commands() -> None:
    """`forewarn tickets work-order …` lives in its own module (it imports this one for the shared options)."""
    from tickets.work_order_cli import app as work_order_app

    app.add_typer(work_order_app, name="work-order")


_work_order_commands()
