"""`forewarn survey wave create|close|report|topup|worklist|answer|invite`: survey waves as handbook 001 runs them
(see docs/surveys.md). Bad input exits 2 with a one-line message, a missing wave 1."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer

from tickets.cli import _config, database_url
from tickets.errors import InvalidInput, NotFound
from tickets.survey_analysis import wave_report
from tickets.survey_export import report_csv, report_text, report_xlsx
from tickets.survey_links import LINK_DAYS, invite_online, renew_expired
from tickets.survey_template import ITEM_KEYS
from tickets.survey_waves import WaveKind, close_wave, coverage, create_wave, record_response, top_up, worklist

app = typer.Typer(help="Satisfaction surveys: waves, samples, responses and reports.", no_args_is_help=True)
wave_app = typer.Typer(help="Survey waves: a ≥ 10 % sample of a site's households, asked online, in person or "
                            "by phone.", no_args_is_help=True)
app.add_typer(wave_app, name="wave")

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: the configured one).")]
WaveId = Annotated[int, typer.Argument(help="the wave's number (from `survey wave create`)")]
FORMATS = ("text", "json", "csv", "xlsx")


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"Error: {exc}", err=True)
    return typer.Exit(1 if isinstance(exc, NotFound) else 2)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@wave_app.command("create")
def wave_create(
    ctx: typer.Context,
    site: Annotated[str, typer.Option("--site", help="the site, e.g. riverside")],
    kind: Annotated[str, typer.Option("--kind", help="routine | special | move_out")] = WaveKind.ROUTINE.value,
    sample: Annotated[float, typer.Option("--sample", help="a share of the households (0.10 = 10 %, the minimum) "
                                                           "or, above 1, a number of households")] = 0.10,
    seed: Annotated[int, typer.Option("--seed", help="the random start of the systematic draw")] = 0,
    reason: Annotated[str, typer.Option("--reason", help="why, in words (e.g. a fee change)")] = "",
    incident: Annotated[int | None, typer.Option(
        "--incident", help="a special wave after this incident: sample the households its device serves")] = None,
    by: Annotated[str | None, typer.Option("--by", help="who opens it (default: the login name)")] = None,
    db: DbOption = None, as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text")] = False,
) -> None:
    """Open a wave: draw ≥ 10 % of the site's households systematically by unit and plan each one's mode."""
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            wave = create_wave(conn, site_id=site, kind=kind, sample=sample, seed=seed, reason=reason,
                               incident_id=incident,
                               by=by or getpass.getuser(), now=datetime.now(UTC))
        except (InvalidInput, NotFound) as exc:
            raise _fail(exc) from None
        strata = coverage(conn, wave.id)
        plan = wave_report(conn, wave.id)["plan"]
    if as_json:
        _echo_json({"id": wave.id, "site": wave.site_id, "kind": wave.kind, "households": wave.households,
                    "sampled": sum(s.sampled for s in strata), "plan": plan})
        return
    typer.echo(f"survey wave {wave.id} opened: {wave.site_id}, {wave.kind}, {sum(s.sampled for s in strata)} of "
               f"{wave.households:,} households (seed {wave.seed})")
    typer.echo("plan: " + ", ".join(f"{mode} {n}" for mode, n in plan.items()))
    for s in strata:
        typer.echo(f"  {s.building_id}: {s.sampled} of {s.households}")


@wave_app.command("close")
def wave_close(ctx: typer.Context, wave_id: WaveId, db: DbOption = None) -> None:
    """Close a wave: it takes no more responses."""
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            wave = close_wave(conn, wave_id, now=datetime.now(UTC))
        except (InvalidInput, NotFound) as exc:
            raise _fail(exc) from None
    typer.echo(f"survey wave {wave.id} closed")


@wave_app.command("report")
def wave_report_command(
    ctx: typer.Context, wave_id: WaveId, db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="the same as --format json")] = False,
    fmt: Annotated[str, typer.Option("--format", help=f"one of {', '.join(FORMATS)}")] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="write here instead of stdout (xlsx needs it)")] = None,
) -> None:
    """The wave's report: coverage, NPS with its 95 % interval, items and dimensions with trend, groups, matrix."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not a format: use one of {', '.join(FORMATS)}", param_hint="--format")
    if fmt == "xlsx" and out is None:
        raise typer.BadParameter("xlsx is binary: pass --out FILE.xlsx", param_hint="--out")
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            report = wave_report(conn, wave_id)
        except NotFound as exc:
            raise _fail(exc) from None
    if fmt == "xlsx" and out is not None:
        out.write_bytes(report_xlsx(report))
        return
    if as_json or fmt == "json":
        text = json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n"
    else:
        text = report_csv(report) if fmt == "csv" else report_text(report)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


@wave_app.command("topup")
def wave_topup(ctx: typer.Context, wave_id: WaveId, db: DbOption = None) -> None:
    """Add households (for a phone interview) to every building short of its share of responses."""
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            added = top_up(conn, wave_id)
        except (InvalidInput, NotFound) as exc:
            raise _fail(exc) from None
    typer.echo(f"{len(added)} households added to wave {wave_id}" + (": " + ", ".join(added) if added else ""))


@wave_app.command("worklist")
def wave_worklist(ctx: typer.Context, wave_id: WaveId, db: DbOption = None,
                  as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text")] = False) -> None:
    """The sampled households that have not answered, with a resident and phone number to call."""
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            contacts = worklist(conn, wave_id)
        except NotFound as exc:
            raise _fail(exc) from None
    if as_json:
        _echo_json([{"unit": c.unit_id, "building": c.building_id, "planned_mode": c.mode,
                     "resident": c.resident_id, "name": c.name, "phone": c.phone} for c in contacts])
        return
    typer.echo(f"{len(contacts)} households of wave {wave_id} have not answered")
    for c in contacts:
        typer.echo(f"  {c.unit_id}\t{c.mode}\t{c.name or '—'}\t{c.phone or 'no phone on file'}")


@wave_app.command("answer")
def wave_answer(
    ctx: typer.Context, wave_id: WaveId,
    unit: Annotated[str, typer.Option("--unit", help="the household's unit, e.g. rs-b1-0101")],
    scores: Annotated[str, typer.Option("--scores", help="the 1–5 item scores in order, comma-separated: "
                                                         + ", ".join(ITEM_KEYS))],
    overall: Annotated[int, typer.Option("--overall", help="overall satisfaction, 1–10")],
    recommend: Annotated[int, typer.Option("--recommend", help="would recommend us, 0–10 (NPS)")],
    by: Annotated[str, typer.Option("--by", help="the staff member entering the answer (it is marked assisted)")],
    mode: Annotated[str, typer.Option("--mode", help="phone | in_person")] = "phone",
    resident: Annotated[str | None, typer.Option("--resident", help="the resident who answered")] = None,
    comment: Annotated[str, typer.Option("--comment", help="the open comment")] = "",
    db: DbOption = None,
) -> None:
    """Enter a phone or in-person (paper, door-to-door) answer for a sampled household; marked assisted."""
    try:
        values = [int(v) for v in scores.split(",")]
    except ValueError:
        raise typer.BadParameter(f"{scores!r}: give {len(ITEM_KEYS)} whole numbers 1–5, comma-separated",
                                 param_hint="--scores") from None
    if len(values) != len(ITEM_KEYS):
        raise typer.BadParameter(f"{len(values)} scores given, the questionnaire has {len(ITEM_KEYS)} items: "
                                 + ", ".join(ITEM_KEYS), param_hint="--scores")
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            response_id = record_response(conn, wave_id, unit, scores=dict(zip(ITEM_KEYS, values, strict=True)),
                                          overall=overall, recommend=recommend, comment=comment, mode=mode,
                                          entered_by=by, resident_id=resident, now=datetime.now(UTC))
        except (InvalidInput, NotFound) as exc:
            raise _fail(exc) from None
    typer.echo(f"response {response_id} recorded for {unit} in wave {wave_id} ({mode}, assisted)")


def _public_url(ctx: typer.Context) -> str | None:
    """The configured address of the pages (`public_url`, else the API's host and port), duck-typed as `_config`."""
    settings = getattr(ctx.find_root().obj, "settings", None)
    if settings is None:
        return None
    url = getattr(settings, "public_url", None)
    return str(url) if url else f"http://{settings.api_host}:{settings.api_port}"


@wave_app.command("invite")
def wave_invite(
    ctx: typer.Context, wave_id: WaveId,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="where residents open the pages, e.g. https://estate.example (default: public_url)")] = None,
    days: Annotated[int, typer.Option("--days", help="how many days a link answers")] = LINK_DAYS,
    renew: Annotated[bool, typer.Option(
        "--renew", help="instead, send a new link to each resident whose link expired unused")] = False,
    db: DbOption = None,
) -> None:
    """Send a one-time survey link to each resident of the wave's online households that have not answered (a
    rerun sends none twice); with --renew, a fresh link to those whose link expired unused (the old one stops
    answering)."""
    url = base_url or _public_url(ctx)
    if url is None:
        raise typer.BadParameter("no public_url configured: pass --base-url https://…", param_hint="--base-url")
    send = renew_expired if renew else invite_online
    with psycopg.connect(database_url(ctx, db)) as conn:
        try:
            issued = send(conn, wave_id, datetime.now(UTC), url, config=_config(ctx), days=days)
        except (InvalidInput, NotFound) as exc:
            raise _fail(exc) from None
    households = len({i.unit_id for i in issued})
    done = "expired survey links renewed for" if renew else "survey links sent to"
    typer.echo(f"{len(issued)} {done} {households} households of wave {wave_id} "
               f"({sum(i.notices for i in issued)} new notices)")
