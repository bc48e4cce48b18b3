"""`forewarn review month 2026-10` and `forewarn review quarter 2026Q4`: the review as JSON, CSV, HTML, XLSX or PDF,
on stdout or into --out. The quarterly review adds the league table of sites."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer

from tickets.cli import _config, _url
from tickets.errors import InvalidInput
from tickets.review import report
from tickets.review.compute import Review, Slice, Targets, compute_review, league_table
from tickets.review.periods import Kind, parse_period

app = typer.Typer(help="The monthly and quarterly review: figures against targets, exports.", no_args_is_help=True)

SiteOption = Annotated[str | None, typer.Option("--site", help="one site's review (default: the portfolio)")]
FormatOption = Annotated[str, typer.Option("--format", help=f"one of {', '.join(report.FORMATS)}")]
OutOption = Annotated[Path | None, typer.Option("--out", help="write here instead of stdout (xlsx and pdf need it)")]
LangOption = Annotated[str, typer.Option("--lang", help="zh-CN or en")]
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: the configured one).")]


def targets_from(ctx: typer.Context) -> Targets:
    """The targets from the settings (duck-typed, so that this package never imports the product package)."""
    settings: Any = getattr(ctx.find_root().obj, "settings", None)
    if settings is None:
        return Targets()
    return Targets(satisfaction_rate=settings.review_satisfaction_target,
                   closed_loop_rate=settings.review_closed_loop_target)


def _emit(review: Review, fmt: str, lang: str, out: Path | None, extra: str = "") -> None:
    if fmt not in report.FORMATS:
        raise typer.BadParameter(f"{fmt!r}: use one of {', '.join(report.FORMATS)}",
                                 param_hint="--format")
    if lang not in ("zh-CN", "en"):
        raise typer.BadParameter(f"{lang!r}: use zh-CN or en", param_hint="--lang")
    if fmt in ("xlsx", "pdf"):
        if out is None:
            raise typer.BadParameter(f"{fmt} is binary: pass --out FILE.{fmt}", param_hint="--out")
        out.write_bytes(report.to_xlsx(review, lang) if fmt == "xlsx" else report.to_pdf(review, lang))
        return
    if fmt == "json":
        text = report.to_json(review)
    else:
        text = (report.to_csv(review, lang) if fmt == "csv" else report.to_html(review, lang)) + extra
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


def _run(ctx: typer.Context, text: str, kind: Kind, site: str | None, fmt: str, lang: str, out: Path | None,
         db: str | None) -> None:
    try:
        period = parse_period(text, _config(ctx).tz)
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc), param_hint="PERIOD") from None
    if period.kind is not kind:
        raise typer.BadParameter(f"{text!r} is not a {kind.value}", param_hint="PERIOD")
    targets = targets_from(ctx)
    with psycopg.connect(_url(ctx, db)) as conn:
        review = compute_review(conn, period, Slice(site=site), targets=targets)
        league = league_table(conn, period, targets=targets) if kind is Kind.QUARTER else None
    if league is not None and fmt == "json":
        data = review.as_dict() | {"league": league}
        text_out = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        (out.write_text(text_out, encoding="utf-8") if out else sys.stdout.write(text_out))
        return
    extra = ""
    if league is not None and fmt == "csv":
        extra = "\nsite,name," + ",".join(report.LEAGUE_COLUMNS) + "\n" + "".join(
            f"{r['site']},{r['name']}," + ",".join("" if r[k] is None else f"{r[k]:g}"
                                                   for k in report.LEAGUE_COLUMNS) + "\n" for r in league)
    _emit(review, fmt, lang, out, extra)


@app.command("month")
def month(ctx: typer.Context, period: Annotated[str, typer.Argument(help="e.g. 2026-10")], site: SiteOption = None,
          fmt: FormatOption = "json", lang: LangOption = "zh-CN", out: OutOption = None, db: DbOption = None) -> None:
    """The monthly review, against the previous month and the same month last year."""
    _run(ctx, period, Kind.MONTH, site, fmt, lang, out, db)


@app.command("quarter")
def quarter(ctx: typer.Context, period: Annotated[str, typer.Argument(help="e.g. 2026Q4")], site: SiteOption = None,
            fmt: FormatOption = "json", lang: LangOption = "zh-CN", out: OutOption = None,
            db: DbOption = None) -> None:
    """The quarterly review, with the league table of sites (json and csv)."""
    _run(ctx, period, Kind.QUARTER, site, fmt, lang, out, db)
