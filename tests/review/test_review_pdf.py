"""`forewarn review month --format pdf`: the PDF opens and its text carries the JSON review's numbers, beside their
targets, with the high-frequency points, the unclosed tickets and the breaches; the Chinese report is Chinese."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import psycopg
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from tickets.reply_templates import CATEGORY_NAMES
from tickets.review import report
from tickets.review.cli import app

runner = CliRunner()


def _pdf(estate_db_url: str, tmp_path: Path, lang: str) -> tuple[bytes, str]:
    out = tmp_path / f"october-{lang}.pdf"
    done = runner.invoke(app, ["month", "2026-10", "--format", "pdf", "--lang", lang, "--out", str(out),
                               "--db", estate_db_url])
    assert done.exit_code == 0, done.output
    data = out.read_bytes()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return data, " ".join(text.split())  # one table cell a line: the cells of a row in order, space-separated


def test_the_pdf_holds_the_json_figures(conn: psycopg.Connection, month: list[int], estate_db_url: str,
                                        tmp_path: Path) -> None:
    review = json.loads(runner.invoke(app, ["month", "2026-10", "--db", estate_db_url]).output)
    data, text = _pdf(estate_db_url, tmp_path, "en")
    assert data.startswith(b"%PDF-")
    assert "Review 2026-10 — portfolio" in text, text[:200]
    figures = review["figures"]["complaint"]
    for key, metric, mark in (("closed_loop_rate", "closed-loop rate", "missed"),
                              ("satisfaction_rate", "satisfaction rate", "met")):
        f = figures[key]
        row = f"Complaints {metric} {report.shown(key, f['value'])} {report.shown(key, f['target'])} {mark}"
        assert row in text, (row, text)
    assert "Complaints closed-loop rate 92.5 % 95.0 % missed" in text
    top = review["points"][0]  # the JSON keeps the building's id, the PDF names it
    assert f"lift fault {review['names'][top['building']]} {top['complaints']} {top['share']:g}" in text
    sources = {"complaint": "Complaints", "preventive": "Preventive"}
    for source, states in review["unclosed"].items():
        for state, n in states.items():
            assert f"{sources[source]} {state} {n}" in text
    assert f"SLA breaches ({len(review['breaches'])})" in text
    if review["breaches"]:
        assert str(review["breaches"][0]["ticket"]) in text
    for category, n in review["volume"]["category"].items():
        assert CATEGORY_NAMES["en"][category] in text and str(n) in text  # the bars' labels (by name) and values


def test_the_chinese_pdf_is_in_chinese(conn: psycopg.Connection, month: list[int], estate_db_url: str,
                                       tmp_path: Path) -> None:
    _, text = _pdf(estate_db_url, tmp_path, "zh-CN")
    assert "月度复盘 2026-10" in text and "高频点位" in text and "未达标" in text
    assert "投诉 闭环率 92.5 % 95.0 % 未达标" in text and "投诉 满意率 92.0 % 90.0 % 达标" in text
    assert "1号楼 Building 1" in text and "rs-b1" not in text and "响应时限" in text and "resolve clock" not in text
    assert "设施维修" in text and "facility" not in text  # the categories' bars, by their Chinese names


def test_breach_times_are_shanghai_time_for_people_and_iso_for_tools(
        conn: psycopg.Connection, month: list[int], estate_db_url: str, tmp_path: Path) -> None:
    """A manager in Shanghai read a breach's deadline "2026-10-20T22:05:00+00:00" as 22:05 local: the HTML, the PDF
    and the XLSX give it as the site's wall clock, the next morning; the JSON keeps the ISO instant for other tools."""
    ticket = month[-1]  # never resolved: its resolve clock is a breach
    conn.execute("UPDATE tickets SET resolve_due = '2026-10-20 22:05:00+00' WHERE id = %s", (ticket,))
    conn.commit()
    review = json.loads(runner.invoke(app, ["month", "2026-10", "--db", estate_db_url]).output)
    due = next(b["due"] for b in review["breaches"] if b["ticket"] == ticket and b["clock"] == "resolve")
    assert due == "2026-10-20T22:05:00+00:00"

    html = runner.invoke(app, ["month", "2026-10", "--format", "html", "--lang", "en", "--db", estate_db_url]).output
    assert f"<tr><td>{ticket}</td>" in html and "<td>2026-10-21 06:05</td>" in html and "T22:05" not in html
    _, text = _pdf(estate_db_url, tmp_path, "zh-CN")
    assert "2026-10-21 06:05" in text and "T22:05" not in text

    xlsx = tmp_path / "october.xlsx"
    runner.invoke(app, ["month", "2026-10", "--format", "xlsx", "--out", str(xlsx), "--db", estate_db_url])
    row = next(r for r in load_workbook(xlsx)["breaches"].iter_rows(min_row=2) if r[0].value == ticket)
    assert row[4].value == datetime(2026, 10, 21, 6, 5) and row[4].number_format == "yyyy-mm-dd hh:mm"
    assert row[5].value is None  # not met


def test_pdf_needs_out(estate_db_url: str) -> None:
    done = runner.invoke(app, ["month", "2026-10", "--format", "pdf", "--db", estate_db_url])
    assert done.exit_code == 2 and "--out" in done.output
