"""`forewarn review month 2026-10` and `forewarn review quarter 2026Q4`: the review as JSON, CSV, HTML, XLSX or PDF,
on stdout or into --out. The quarterly review adds the league table of sites. `forewarn review export --raw`: the
rows the figures are computed from, as CSV files, so that anyone can recompute them."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer

from tickets.cli import _config, _url
from tickets.errors import InvalidInput
from tickets.review import report
from tickets.review.actions import attach_actions
from tickets.review.actions_cli import action_app, cause_app
from tickets.review.compute import Review, Slice, Targets, compute_review, league_table
from tickets.review.periods import Kind, parse_period
from tickets.review.quarterly import league_csv

app = typer.Typer(help="The monthly and quarterly review: figures against targets, exports, root causes and "
                  "improvement actions.", no_args_is_help=True)

SiteOption = Annotated[str | None, typer.Option("--site", help="one site's review (default: the portfolio)")]
DepartmentOption = Annotated[str | None, typer.Option("--department", help="the tickets of one department")]
TeamOption = Annotated[str | None, typer.Option("--team", help="the tickets owned by one team's members "
                                                "(forewarn team list)")]
PersonOption = Annotated[str | None, typer.Option("--person", help="the tickets one staff user owns")]
FormatOption = Annotated[str, typer.Option("--format", help=f"one of {', '.join(report.FORMATS)}")]
OutOption = Annotated[Path | None, typer.Option("--out", help="write here instead of stdout (xlsx and pdf need it)")]
LangOption = Annotated[str, typer.Option("--lang", help="zh-CN or en")]
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: the configured one).")]


def targets_from(ctx: typer.Context) -> Targets:
    """The targets from the settings (duck-typed, so that this package never imports the product package)."""
    settings: Any = getattr(ctx.find_root().obj, "settings", None)
    if settings is None:
        return Targets()
    return Targets.of(settings)


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


def _check_slice(conn: psycopg.Connection, where: Slice) -> None:
    """Usage errors for a site, department, team or person that does not exist (an empty review would hide it)."""
    for hint, table, value, extra in (("--site", "sites", where.site, ""),
                                      ("--department", "departments", where.department, ""),
                                      ("--team", "teams", where.team, ""),
                                      ("--person", "users", where.person, " AND role <> 'resident'")):
        if value is not None and conn.execute(f"SELECT 1 FROM {table} WHERE id = %s{extra}",  # noqa: S608
                                              (value,)).fetchone() is None:
            known = ", ".join(r[0] for r in conn.execute(f"SELECT id FROM {table} WHERE true{extra} ORDER BY id"
                                                         " LIMIT 20"))  # noqa: S608
            raise typer.BadParameter(f"unknown {hint[2:]} {value!r}; known: {known or 'none yet'}", param_hint=hint)


def _run(ctx: typer.Context, text: str, kind: Kind, where: Slice, fmt: str, lang: str, out: Path | None,
         db: str | None) -> None:
    try:
        period = parse_period(text, _config(ctx).tz)
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc), param_hint="PERIOD") from None
    if period.kind is not kind:
        raise typer.BadParameter(f"{text!r} is not a {kind.value}", param_hint="PERIOD")
    targets = targets_from(ctx)
    with psycopg.connect(_url(ctx, db)) as conn:
        _check_slice(conn, where)
        review = attach_actions(conn, compute_review(conn, period, where, targets=targets), period, where)
        league = league_table(conn, period, targets=targets) if kind is Kind.QUARTER else None
    if league is not None and fmt == "json":
        data = review.as_dict() | {"league": league}
        text_out = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        (out.write_text(text_out, encoding="utf-8") if out else sys.stdout.write(text_out))
        return
    extra = league_csv(league) if league is not None and fmt == "csv" else ""
    _emit(review, fmt, lang, out, extra)


@app.command("month")
def month(ctx: typer.Context, period: Annotated[str, typer.Argument(help="e.g. 2026-10")], site: SiteOption = None,
          department: DepartmentOption = None, team: TeamOption = None, person: PersonOption = None,
          fmt: FormatOption = "json", lang: LangOption = "zh-CN", out: OutOption = None, db: DbOption = None) -> None:
    """The monthly review, against the previous month and the same month last year."""
    _run(ctx, period, Kind.MONTH, Slice(site=site, department=department, team=team, person=person), fmt, lang,
         out, db)


@app.command("quarter")
def quarter(ctx: typer.Context, period: Annotated[str, typer.Argument(help="e.g. 2026Q4")], site: SiteOption = None,
            department: DepartmentOption = None, team: TeamOption = None, person: PersonOption = None,
            fmt: FormatOption = "json", lang: LangOption = "zh-CN", out: OutOption = None,
            db: DbOption = None) -> None:
    """The quarterly review, with the league table of sites (json and csv)."""
    _run(ctx, period, Kind.QUARTER, Slice(site=site, department=department, team=team, person=person), fmt, lang,
         out, db)


# The raw export: (file, what it holds, the query). Times are written in UTC (ISO 8601). The tickets are those
# created in the period plus those the exported complaints belong to; complaints start 30 days before the period,
# since a repeat complaint looks back 30 days.
RAW_FILES: tuple[tuple[str, str, str], ...] = (
    ("tickets.csv", "tickets created in the period or holding an exported complaint: state, category, subcategory "
     "(the point), severity, building, clocks (created, respond/resolve due, responded, resolved, closed), transfers, "
     "each clock's milestone and when it was met (respond/resolve milestone, respond/resolve met at), and since when "
     "its clocks are paused (sla paused at; empty when running)",
     """SELECT id, source, state, category, subcategory, severity, site_id, building_id, unit_id, department_id,
               created_at, respond_due, resolve_due, responded_at, resolved_at, closed_at, transfers,
               respond_milestone, resolve_milestone, respond_met_at, resolve_met_at, sla_paused_at
        FROM tickets WHERE (created_at >= %(since)s AND created_at < %(until)s) OR id IN (
            SELECT ticket_id FROM complaints WHERE reported_at >= %(back)s AND reported_at < %(until)s)
        ORDER BY id"""),
    ("ticket_events.csv", "every transition of those tickets (acknowledge, arrive, resolve, reopen, close, ...)",
     """SELECT e.ticket_id, e.event, e.at FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
        WHERE t.created_at >= %(since)s AND t.created_at < %(until)s ORDER BY e.ticket_id, e.at, e.id"""),
    ("complaints.csv", "complaint rows reported from 30 days before the period to its end, with their ticket",
     """SELECT id, ticket_id, unit_id, channel, category, severity, reported_at, request_kind FROM complaints
        WHERE reported_at >= %(back)s AND reported_at < %(until)s ORDER BY id"""),
    ("return_visits.csv", "return visits (ratings 1-5) of the period's tickets, within_48h of resolution or not",
     """SELECT v.id, v.ticket_id, v.at, v.response_speed, v.professionalism, v.attitude, v.overall, v.within_48h
        FROM return_visits v JOIN tickets t ON t.id = v.ticket_id
        WHERE t.created_at >= %(since)s AND t.created_at < %(until)s ORDER BY v.id"""),
    ("sla_alerts.csv", "SLA reminders and breach escalations of the period's tickets",
     """SELECT a.ticket_id, a.clock, a.level FROM sla_alerts a JOIN tickets t ON t.id = a.ticket_id
        WHERE t.created_at >= %(since)s AND t.created_at < %(until)s ORDER BY a.ticket_id, a.clock, a.level"""),
    ("proactive_notices.csv", "notices to residents about incidents detected in the period (who was told "
     "proactively), with the incident's device site and building",
     """SELECT n.id, n.resident_id, n.incident_id, i.detected_at, d.site_id, d.building_id
        FROM notices n JOIN incidents i ON i.id = n.incident_id JOIN devices d ON d.id = i.device_id
        WHERE n.resident_id IS NOT NULL AND i.detected_at >= %(since)s AND i.detected_at < %(until)s
        ORDER BY n.id"""),
    # The rows of the proactive figures (tickets/review/proactive.py): incidents, what was delivered and
    # complained about them, the system's reopens, the engineers' verdicts, the period's return visits.
    ("incidents.csv", "incidents detected in the period: root (empty for a root incident), detector, device with "
     "its site and building, severity, status, detection time, ticket",
     """SELECT i.id, i.root_incident_id, i.detector, i.device_id, d.site_id, d.building_id, i.fault, i.severity,
               i.status, i.detected_at, i.recovered_at, i.ticket_id
        FROM incidents i JOIN devices d ON d.id = i.device_id
        WHERE i.detected_at >= %(since)s AND i.detected_at < %(until)s ORDER BY i.id"""),
    ("incident_complaints.csv", "complaints linked to an incident detected in the period (whenever reported), and "
     "every complaint reported in the period: its incident (empty if none), time, anticipated (detected first)",
     """SELECT c.id, c.incident_id, c.reported_at, c.folded, c.anticipated FROM complaints c
        WHERE (c.reported_at >= %(since)s AND c.reported_at < %(until)s) OR c.incident_id IN (
            SELECT id FROM incidents WHERE detected_at >= %(since)s AND detected_at < %(until)s)
        ORDER BY c.id"""),
    ("incident_notices.csv", "every notice to a resident about an incident detected in the period: kind (warning, "
     "update, restored, status), written (created_at) and delivered (delivered_at, empty while undelivered)",
     """SELECT n.id, n.incident_id, n.resident_id, n.kind, n.created_at, n.delivered_at
        FROM notices n JOIN incidents i ON i.id = n.incident_id
        WHERE n.resident_id IS NOT NULL AND i.detected_at >= %(since)s AND i.detected_at < %(until)s
        ORDER BY n.id"""),
    ("reopens.csv", "reopen events in the period, of any ticket: the ticket's source, who reopened it (forewarn: "
     "the same device fault came back) and when",
     """SELECT e.ticket_id, t.source, e.actor, e.at FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
        WHERE e.event = 'reopen' AND e.at >= %(since)s AND e.at < %(until)s ORDER BY e.ticket_id, e.at, e.id"""),
    ("verdicts.csv", "engineers' verdicts given in the period (detector labels, one per fault of the ticket's "
     "device): the ticket, the fault's incident and its detector (empty if none), the fault, the verdict and whether "
     "it was a false alarm",
     """SELECT l.id, l.ticket_id, COALESCE(l.incident_id, t.incident_id) AS incident_id, i.detector, l.fault, l.verdict,
               l.false_alarm, l.at
        FROM detector_labels l LEFT JOIN tickets t ON t.id = l.ticket_id
             LEFT JOIN incidents i ON i.id = COALESCE(l.incident_id, t.incident_id)
        WHERE l.at >= %(since)s AND l.at < %(until)s ORDER BY l.id"""),
    ("period_visits.csv", "return visits made in the period, of any ticket (ratings 1-5)",
     """SELECT id, ticket_id, at, overall FROM return_visits WHERE at >= %(since)s AND at < %(until)s
        ORDER BY id"""),
)


def export_raw(conn: psycopg.Connection, since: datetime, until: datetime, out: Path) -> list[Path]:
    """Write RAW_FILES into `out` (created if missing); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    params = {"since": since, "until": until, "back": since - timedelta(days=30)}
    conn.execute("SET TIME ZONE 'UTC'")
    written = []
    with psycopg.ClientCursor(conn) as cur:  # mogrify: the parameters bound into the COPY's query
        for name, _, query in RAW_FILES:
            path = out / name
            sql = cur.mogrify(query, params)
            with path.open("wb") as f, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                for chunk in copy:
                    f.write(chunk)
            written.append(path)
    return written


@app.command("export", help="The raw rows the review's figures are computed from, one CSV file each (with a header) "
             "in --out: " + "; ".join(f"{name}: {what}" for name, what, _ in RAW_FILES) + ".")
def export(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="first day, e.g. 2026-01-01 (local midnight)")],
    until: Annotated[str, typer.Option("--until", help="day after the last, e.g. 2026-04-01 (exclusive)")],
    raw: Annotated[bool, typer.Option("--raw", help="the event rows (the only export so far; required)")] = False,
    out: Annotated[Path, typer.Option("--out", help="directory for the CSV files")] = Path("."),
    db: DbOption = None,
) -> None:
    """The raw rows behind the review, as CSV files."""
    if not raw:
        raise typer.BadParameter("only the raw export exists: pass --raw", param_hint="--raw")
    tz = _config(ctx).tz
    try:
        first, end = date.fromisoformat(since), date.fromisoformat(until)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}: use YYYY-MM-DD", param_hint="--since/--until") from None
    if end <= first:
        raise typer.BadParameter("--until must be after --since", param_hint="--until")
    with psycopg.connect(_url(ctx, db)) as conn:
        files = export_raw(conn, datetime.combine(first, datetime.min.time(), tz),
                           datetime.combine(end, datetime.min.time(), tz), out)
    for path in files:
        typer.echo(str(path))


app.add_typer(cause_app, name="cause")
app.add_typer(action_app, name="action")
