"""`forewarn review month|quarter`: the exports carry the same numbers; bad input is a clear error."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import psycopg
from openpyxl import load_workbook
from typer.testing import CliRunner

from tickets.review.cli import app

runner = CliRunner()


def test_every_command_has_help() -> None:
    for command in app.registered_commands:
        assert command.callback is not None and command.callback.__doc__, command.name


def test_json_csv_html_and_xlsx_agree(conn: psycopg.Connection, month: list[int], estate_db_url: str,
                                      tmp_path: Path) -> None:
    got = runner.invoke(app, ["month", "2026-10", "--db", estate_db_url])
    assert got.exit_code == 0, got.output
    data = json.loads(got.output)
    closed = data["figures"]["complaint"]["closed_loop_rate"]
    assert (closed["value"], closed["ok"]) == (92.5, False)
    assert data["figures"]["complaint"]["satisfaction_rate"]["value"] == 92.0

    table = list(csv.reader(io.StringIO(runner.invoke(app, ["month", "2026-10", "--format", "csv", "--lang", "en",
                                                            "--db", estate_db_url]).output)))
    by_metric = {(r[0], r[1]): r for r in table[1:]}
    assert by_metric[("complaint", "closed-loop rate")][2:5] == ["92.5 %", "95.0 %", "red"]
    assert by_metric[("complaint", "satisfaction rate")][2:5] == ["92.0 %", "90.0 %", "green"]

    xlsx = tmp_path / "october.xlsx"
    done = runner.invoke(app, ["month", "2026-10", "--format", "xlsx", "--lang", "en", "--out", str(xlsx),
                               "--db", estate_db_url])
    assert done.exit_code == 0, done.output
    book = load_workbook(xlsx)
    sheet_rows = [[str(c) if c is not None else "" for c in row] for row in book["figures"].iter_rows(values_only=True)]
    assert sheet_rows == table
    top = next(book["points"].iter_rows(min_row=2, values_only=True))
    assert top == ("lift fault", "1号楼 Building 1", 60, 30.0)  # the XLSX names the building; JSON keeps its id

    html = runner.invoke(app, ["month", "2026-10", "--format", "html", "--lang", "en", "--db", estate_db_url]).output
    assert "<svg" in html and 'class="red">92.5 %' in html and "lift fault · 1号楼 Building 1" in html


def test_quarter_has_a_league_table_of_sites(conn: psycopg.Connection, month: list[int], estate_db_url: str) -> None:
    got = runner.invoke(app, ["quarter", "2026Q4", "--db", estate_db_url])
    assert got.exit_code == 0, got.output
    league = json.loads(got.output)["league"]
    sites = [r["site"] for r in league]
    assert sites[0] == "riverside" and set(sites) == {r[0] for r in conn.execute("SELECT id FROM sites")}
    assert league[0]["complaints"] == 200 and league[0]["closed_loop_rate"] == 92.5


def test_bad_period_and_format_are_clear_errors(estate_db_url: str) -> None:
    bad = runner.invoke(app, ["month", "October", "--db", estate_db_url])
    assert bad.exit_code == 2 and "2026Q4" in bad.output
    wrong_kind = runner.invoke(app, ["month", "2026Q4", "--db", estate_db_url])
    assert wrong_kind.exit_code == 2 and "not a month" in wrong_kind.output
    doc = runner.invoke(app, ["month", "2026-10", "--format", "doc", "--db", estate_db_url])
    assert doc.exit_code == 2 and "json, csv, html, xlsx, pdf" in doc.output
