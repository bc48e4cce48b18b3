"""`forewarn review cause add|list|show` (root causes: 5W1H and the chain of whys, on a ticket or a high-frequency
point) and `forewarn review action add|list|show|update` (improvement actions and their effect: the metric's
monthly figures before and after the action's start)."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, date, datetime
from typing import Annotated, Any

import psycopg
import typer

from tickets.cli import _config, _url
from tickets.errors import InvalidInput, NotFound
from tickets.review import actions as act
from tickets.review.compute import SOURCES, Slice
from tickets.review.definitions import METRICS
from tickets.review.report import shown

cause_app = typer.Typer(help="Root causes: the 5W1H and the chain of whys, on a ticket or a high-frequency point.",
                        no_args_is_help=True)
action_app = typer.Typer(help="Improvement actions: who does what by when, and whether the metric moved.",
                         no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: the configured one).")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who records it (default: the login name).")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of text.")]
METRIC_HELP = "the metric it should move, one of: " + ", ".join(METRICS)


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: use YYYY-MM-DD, e.g. 2026-12-31",
                                 param_hint=option) from None


def _fail(exc: Exception) -> typer.Exit:
    """A domain error as a one-line error (exit 2 for bad input, 1 for something missing)."""
    typer.echo(f"Error: {exc}", err=True)
    return typer.Exit(1 if isinstance(exc, NotFound) else 2)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _print_cause(cause: act.Cause) -> None:
    subject = f"ticket {cause.ticket_id}" if cause.ticket_id is not None else \
        f"point {cause.point}" + (f" × {cause.building_id}" if cause.building_id else "")
    typer.echo(f"root cause {cause.id} on {subject} ({cause.created_by}, {cause.created_at:%Y-%m-%d})")
    for name, value in cause.as_dict().items():
        if name in act.FIVE_W_ONE_H and value:
            typer.echo(f"  {name}: {value}")
    for i, why in enumerate(cause.whys, start=1):
        typer.echo(f"  why {i}: {why}")


@cause_app.command("add")
def cause_add(
    ctx: typer.Context,
    ticket: Annotated[int | None, typer.Option("--ticket", help="the ticket it explains")] = None,
    point: Annotated[str | None, typer.Option("--point", help="or a fault point, e.g. elevator")] = None,
    building: Annotated[str | None, typer.Option("--building", help="the point's building, e.g. rs-b1")] = None,
    what: Annotated[str, typer.Option("--what", help="what happened")] = "",
    where: Annotated[str, typer.Option("--where", help="where")] = "",
    when: Annotated[str, typer.Option("--when", help="when, how often")] = "",
    who: Annotated[str, typer.Option("--who", help="who was involved or affected")] = "",
    why: Annotated[str, typer.Option("--why", help="the root cause in a sentence")] = "",
    how: Annotated[str, typer.Option("--how", help="how it came about / how it is fixed")] = "",
    whys: Annotated[list[str] | None, typer.Option(
        "--why-chain", help="one answer of the chain of whys; repeat in order (why 1, why 2, ...)")] = None,
    by: ByOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Record a root cause on a ticket (--ticket) or a high-frequency point (--point [--building])."""
    with psycopg.connect(_url(ctx, db)) as conn:
        try:
            cause = act.add_cause(conn, by=by or getpass.getuser(), now=datetime.now(UTC), ticket_id=ticket,
                                  point=point, building_id=building, whys=whys or [], what=what, where=where,
                                  when=when, who=who, why=why, how=how)
        except (InvalidInput, NotFound) as exc:
            raise _fail(exc) from None
    _echo_json(cause.as_dict()) if as_json else _print_cause(cause)


@cause_app.command("list")
def cause_list(ctx: typer.Context, ticket: Annotated[int | None, typer.Option("--ticket")] = None,
               point: Annotated[str | None, typer.Option("--point")] = None, db: DbOption = None,
               as_json: JsonOption = False) -> None:
    """Root causes, newest first (of one ticket or point if given)."""
    with psycopg.connect(_url(ctx, db)) as conn:
        causes = act.list_causes(conn, ticket_id=ticket, point=point)
    if as_json:
        _echo_json([c.as_dict() for c in causes])
        return
    for cause in causes:
        _print_cause(cause)


@cause_app.command("show")
def cause_show(ctx: typer.Context, cause_id: Annotated[int, typer.Argument(help="the root cause's id")],
               db: DbOption = None, as_json: JsonOption = False) -> None:
    """One root cause with its 5W1H and its chain of whys, in order."""
    with psycopg.connect(_url(ctx, db)) as conn:
        try:
            cause = act.get_cause(conn, cause_id)
        except NotFound as exc:
            raise _fail(exc) from None
    _echo_json(cause.as_dict()) if as_json else _print_cause(cause)


def _print_action(v: act.ActionView) -> None:
    a, e = v.action, v.effect
    change = "-" if e.change_pct is None else f"{e.change_pct:+.1f} %"
    typer.echo(f"action {a.id} [{a.status}] {a.title} — {a.department_id}, {a.owner}, due {a.deadline}, "
               f"from {a.starts_on}")
    if a.measures:
        typer.echo(f"  measures: {a.measures}")
    typer.echo(f"  {METRICS[a.metric].en} ({a.source}, {e.slice}): before {shown(a.metric, e.before)}, "
               f"after {shown(a.metric, e.after)}, change {change}"
               + (f", {e.pending} month(s) after still to come" if e.pending else ""))
    if v.events:
        for m in e.months:
            typer.echo(f"    {m.month} {m.side:6} {shown(a.metric, m.value)}")
        for ev in v.events:
            detail = json.dumps(ev["detail"], ensure_ascii=False)
            typer.echo(f"  {ev['at']:%Y-%m-%d %H:%M} {ev['by_user']}: {ev['event']} "
                       f"{ev['from_status'] or ''}→{ev['to_status'] or ''} {detail}")


@action_app.command("add")
def action_add(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="what will be done, in a line")],
    department: Annotated[str, typer.Option("--department", help="the department that does it, e.g. engineering")],
    owner: Annotated[str, typer.Option("--owner", help="the person answerable for it")],
    deadline: Annotated[str, typer.Option("--deadline", help="YYYY-MM-DD")],
    metric: Annotated[str, typer.Option("--metric", help=METRIC_HELP)],
    measures: Annotated[str, typer.Option("--measures", help="the measures, in detail")] = "",
    start: Annotated[str | None, typer.Option("--start", help="YYYY-MM-DD it takes effect (default today): "
                                                           "the before/after split")] = None,
    source: Annotated[str, typer.Option("--source", help="complaint or preventive tickets")] = "complaint",
    site: Annotated[str | None, typer.Option("--site", help="slice: a site")] = None,
    building: Annotated[str | None, typer.Option("--building", help="slice: a building")] = None,
    slice_department: Annotated[str | None, typer.Option("--slice-department", help="slice: a department")] = None,
    point: Annotated[str | None, typer.Option("--point", help="slice: a fault point, e.g. elevator")] = None,
    slice_team: Annotated[str | None, typer.Option("--slice-team", help="slice: the tickets a team's members own "
                                                   "(forewarn team list)")] = None,
    cause: Annotated[int | None, typer.Option("--cause", help="the root cause it answers")] = None,
    by: ByOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Plan an improvement action and the metric and slice it should move."""
    due, starts = _day(deadline, "--deadline"), _day(start, "--start")
    assert due is not None
    if metric not in METRICS:
        raise typer.BadParameter(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}", param_hint="--metric")
    if source not in SOURCES:
        raise typer.BadParameter(f"{source!r}: use one of {', '.join(SOURCES)}", param_hint="--source")
    tz = _config(ctx).tz
    now = datetime.now(UTC)
    with psycopg.connect(_url(ctx, db)) as conn:
        try:
            action = act.add_action(conn, by=by or getpass.getuser(), now=now, title=title, department_id=department,
                                    owner=owner, deadline=due, metric=metric, measures=measures,
                                    starts_on=starts or now.astimezone(tz).date(), source=source,
                                    where=Slice(site, building, slice_department, point, team=slice_team),
                                    cause_id=cause)
            shown_view = act.view(conn, action, as_of=now, tz=tz)
        except (InvalidInput, NotFound) as exc:
            raise _fail(exc) from None
    _echo_json(shown_view.as_dict()) if as_json else _print_action(shown_view)


@action_app.command("list")
def action_list(ctx: typer.Context,
                status: Annotated[str | None, typer.Option("--status", help=", ".join(act.Status))] = None,
                department: Annotated[str | None, typer.Option("--department")] = None, db: DbOption = None,
                as_json: JsonOption = False) -> None:
    """Improvement actions by deadline, each with its metric before and after."""
    tz, now = _config(ctx).tz, datetime.now(UTC)
    with psycopg.connect(_url(ctx, db)) as conn:
        try:
            views = [act.view(conn, a, as_of=now, tz=tz)
                     for a in act.list_actions(conn, status=status, department_id=department)]
        except InvalidInput as exc:
            raise _fail(exc) from None
    if as_json:
        _echo_json([v.as_dict() for v in views])
        return
    for v in views:
        _print_action(v)


@action_app.command("show")
def action_show(ctx: typer.Context, action_id: Annotated[int, typer.Argument(help="the action's id")],
                db: DbOption = None, as_json: JsonOption = False) -> None:
    """One action: its metric month by month before and after, and its history."""
    tz, now = _config(ctx).tz, datetime.now(UTC)
    with psycopg.connect(_url(ctx, db)) as conn:
        try:
            v = act.view(conn, act.get_action(conn, action_id), as_of=now, tz=tz, with_events=True)
        except NotFound as exc:
            raise _fail(exc) from None
    _echo_json(v.as_dict()) if as_json else _print_action(v)


@action_app.command("update")
def action_update(
    ctx: typer.Context, action_id: Annotated[int, typer.Argument(help="the action's id")],
    status: Annotated[str | None, typer.Option("--status", help="planned, in_progress, done or cancelled "
                                                                "(planned→in_progress→done; done→in_progress; "
                                                                "planned/in_progress→cancelled→planned)")] = None,
    deadline: Annotated[str | None, typer.Option("--deadline", help="a new deadline, YYYY-MM-DD")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="a new owner")] = None,
    measures: Annotated[str | None, typer.Option("--measures", help="the measures, rewritten")] = None,
    note: Annotated[str, typer.Option("--note", help="why (kept in the action's history)")] = "",
    by: ByOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Move an action on (status) or change its deadline, owner or measures; every change is kept."""
    due = _day(deadline, "--deadline")
    tz, now = _config(ctx).tz, datetime.now(UTC)
    with psycopg.connect(_url(ctx, db)) as conn:
        try:
            action = act.update_action(conn, action_id, by=by or getpass.getuser(), now=now, status=status,
                                       deadline=due, owner=owner, measures=measures, note=note)
            v = act.view(conn, action, as_of=now, tz=tz, with_events=True)
        except (InvalidInput, NotFound, act.IllegalActionStatus) as exc:
            raise _fail(exc) from None
    _echo_json(v.as_dict()) if as_json else _print_action(v)
