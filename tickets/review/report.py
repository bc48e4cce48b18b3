"""A review as a report: JSON (everything), CSV and XLSX (the figures table: metric, value, target, mark, previous,
last year, numerator, denominator; plus points and breaches sheets in XLSX), and HTML with inline SVG bar charts
(high-frequency points and complaints by channel). Every figure stands beside its target, red or green."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from html import escape

from openpyxl import Workbook

from tickets.review.compute import SOURCES, Review
from tickets.review.definitions import METRICS, Unit, point_name

FORMATS = ("json", "csv", "html", "xlsx")
LEAGUE_COLUMNS = ("complaints", "resolution_rate", "closed_loop_rate", "satisfaction_rate", "response_24h")
HEADER = {"zh-CN": ("来源", "指标", "数值", "目标", "达标", "上期", "去年同期", "分子", "分母"),
          "en": ("source", "metric", "value", "target", "met", "previous", "last year", "numerator", "denominator")}


def shown(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    unit = METRICS[key].unit
    if unit is Unit.PERCENT:
        return f"{value:.1f} %"
    if unit is Unit.SECONDS:
        return f"{value / 3600:.1f} h"
    return f"{value:g}"


def rows(review: Review, lang: str) -> list[list[str]]:
    """The figures table, one row per source and metric, in the definitions' order."""
    out = []
    for source in SOURCES:
        figures = review.figures.get(source, {})
        for key, metric in METRICS.items():
            f = figures.get(key)
            if f is None:
                continue
            mark = {True: "green", False: "red", None: ""}[f.ok]
            compare = (review.previous.get(key), review.last_year.get(key)) if source == "complaint" else (None, None)
            out.append([source, metric.name(lang), shown(key, f.value), shown(key, f.target), mark,
                        shown(key, compare[0]), shown(key, compare[1]),
                        "" if f.numerator is None else f"{f.numerator:g}",
                        "" if f.denominator is None else str(f.denominator)])
    return out


def to_json(review: Review) -> str:
    return json.dumps(review.as_dict(), ensure_ascii=False, indent=2, default=str)


def to_csv(review: Review, lang: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER[lang])
    writer.writerows(rows(review, lang))
    return buffer.getvalue()


def to_xlsx(review: Review, lang: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "figures"
    sheet.append(list(HEADER[lang]))
    for row in rows(review, lang):
        sheet.append(row)
    points = book.create_sheet("points")
    points.append(["point", "building", "complaints", "share %"])
    for p in review.points:
        points.append([point_name(p.point, lang), p.building, p.complaints, p.share])
    breaches = book.create_sheet("breaches")
    breaches.append(["ticket", "source", "tier", "milestone", "due", "met at"])
    for b in review.breaches:
        breaches.append([b["ticket"], b["source"], b["tier"], b["milestone"], b["due"], b["met_at"] or ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bar_chart(bars: Sequence[tuple[str, float]], *, title: str, unit: str = "") -> str:
    """A horizontal bar chart as inline SVG (no script, no external file)."""
    if not bars:
        return f'<p class="empty">{escape(title)}: -</p>'
    top = max(v for _, v in bars) or 1.0
    height = 22 * len(bars) + 28
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="520" height="{height}" '
             f'viewBox="0 0 520 {height}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(bars):
        y = 22 + 22 * i
        width = 300 * value / top
        parts.append(f'<text x="0" y="{y + 12}" font-size="12">{escape(label)}</text>'
                     f'<rect x="170" y="{y}" width="{width:.1f}" height="16" fill="#3b6ea5"/>'
                     f'<text x="{176 + width:.1f}" y="{y + 12}" font-size="12">{value:g}{escape(unit)}</text>')
    parts.append(f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)}</text></svg>')
    return "".join(parts)


def charts(review: Review, lang: str) -> str:
    points = [(f"{point_name(p.point, lang)} · {p.building}", p.share) for p in review.points]
    channels = sorted(review.volume.get("channel", {}).items(), key=lambda kv: -kv[1])
    return (bar_chart(points, title="高频点位" if lang == "zh-CN" else "High-frequency points", unit=" %")
            + bar_chart([(k, float(v)) for k, v in channels],
                        title="投诉渠道" if lang == "zh-CN" else "Complaints by channel"))


def to_html(review: Review, lang: str) -> str:
    """A standalone page (the CLI's --format html); the manager page renders the same table and charts."""
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADER[lang])
    body = "".join("<tr>" + "".join(f'<td class="{escape(r[4])}">{escape(c)}</td>' for c in r) + "</tr>"
                   for r in rows(review, lang))
    title = f"{'月度复盘' if lang == 'zh-CN' else 'Review'} {review.period} — {review.slice}"
    return (f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{escape(title)}</title>'
            "<style>td.red{color:#b00020;font-weight:bold}td.green{color:#1b7f3b}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style>"
            f"<h1>{escape(title)}</h1><table><tr>{head}</tr>{body}</table>{charts(review, lang)}</html>")
