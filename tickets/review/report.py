"""A review as a report: JSON (everything), CSV and XLSX (the figures table: metric, value, target, mark, previous,
last year, numerator, denominator; plus points and breaches sheets in XLSX), HTML with inline SVG bar charts
(high-frequency points and complaints by channel) and the breaches, and PDF (the same tables, bars of complaints by
category). Every figure stands beside its target, red or green.

JSON and CSV are read by other tools, and keep the codes (complaint, green, rs-b1, engineering). What people read —
HTML, XLSX and PDF — names the buildings, sites and departments (`Review.names`), and HTML and PDF put the source,
the mark, the tier and the milestone in words. Times follow the same split: JSON keeps a breach's due and met-at
instants as ISO strings with their offset (UTC), HTML, XLSX and PDF show them on the review's wall clock (`Review.tz`,
the site's zone), to the minute."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from tickets.milestones import LABEL as MILESTONE_LABEL
from tickets.reply_templates import CATEGORY_NAMES
from tickets.review.compute import SOURCES, Review
from tickets.review.definitions import METRICS, Unit, channel_name, point_name
from tickets.taxonomy import TIER_NAMES

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet
    from reportlab.graphics.shapes import Drawing

FORMATS = ("json", "csv", "html", "xlsx", "pdf")
LEAGUE_COLUMNS = ("complaints", "resolution_rate", "closed_loop_rate", "satisfaction_rate", "response_24h")
ACTION_HEADER = {"zh-CN": ("编号", "改进措施", "部门", "负责人", "期限", "状态", "指标", "范围", "之前月均", "之后月均",
                           "变化"),
                 "en": ("id", "action", "department", "owner", "deadline", "status", "metric", "slice",
                        "before (monthly mean)", "after (monthly mean)", "change")}
STATUS_NAMES = {"zh-CN": {"planned": "计划中", "in_progress": "进行中", "done": "已完成", "cancelled": "已取消"},
                "en": {"planned": "planned", "in_progress": "in progress", "done": "done", "cancelled": "cancelled"}}
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


SOURCE_NAMES = {"zh-CN": {"complaint": "投诉", "preventive": "预防性工单"},
                "en": {"complaint": "Complaints", "preventive": "Preventive"}}


def rows(review: Review, lang: str) -> list[list[str]]:
    """The figures table, one row per source and metric, in the definitions' order. The source and the mark are
    codes (complaint, green), as the CSV gives them to other tools; `worded` is the row as people read it."""
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


def worded(row: list[str], lang: str) -> list[str]:
    """A figures row (`rows`) with its source and its mark in words (投诉, 达标), as the HTML and the PDF show it."""
    words = PDF_WORDS[lang]
    return [SOURCE_NAMES[lang].get(row[0], row[0]), *row[1:4], words[row[4]] if row[4] else "", *row[5:]]


def action_rows(review: Review, lang: str) -> list[list[str]]:
    """The improvement actions, one row each, the department and the slice named from the review's names: the
    metric's monthly mean before and after the start, the change in percent (with the months still to come when the
    after side is not complete)."""
    return action_rows_of(review.actions, lang, review.names)


def action_rows_of(actions: Sequence[dict[str, Any]], lang: str,
                   names: Mapping[str, str] | None = None) -> list[list[str]]:
    """As `action_rows`. With `names` (a name by id for the sites, buildings and departments, as a page has them)
    the department and the slice are named ("1号楼 Building 1 · 电梯故障"); without, their codes."""
    out = []
    for a in actions:
        e, key = a["effect"], a["metric"]
        change = "-" if e["change_pct"] is None else f"{e['change_pct']:+.1f} %"
        if e["pending"]:
            change += f" ({e['pending']} …)"
        department = a["department_id"] if names is None else names.get(a["department_id"], a["department_id"])
        where = e["slice"] if names is None else _slice_words(a, lang, names)
        out.append([str(a["id"]), a["title"], department, a["owner"], str(a["deadline"]),
                    STATUS_NAMES[lang].get(a["status"], a["status"]), METRICS[key].name(lang), where,
                    shown(key, e["before"]), shown(key, e["after"]), change])
    return out


def _slice_words(action: Mapping[str, Any], lang: str, names: Mapping[str, str]) -> str:
    """An action's slice by name: its site, building, department, fault point and team; the whole portfolio."""
    parts = [names.get(action[k], action[k]) for k in ("slice_site", "slice_building", "slice_department")
             if action.get(k)]
    if action.get("slice_point"):
        parts.append(point_name(action["slice_point"], lang))
    if action.get("slice_team"):
        parts.append(str(action["slice_team"]))
    return " · ".join(parts) or WHOLE[lang]


WHOLE = {"zh-CN": "全部", "en": "portfolio"}


def slice_words(review: Review, lang: str) -> str:
    """The review's slice by name ("1号楼 Building 1 · 电梯故障"), read from its label ("building=rs-b1, point=…")."""
    if review.slice == "portfolio":
        return WHOLE[lang]
    parts = []
    for part in review.slice.split(", "):
        key, _, value = part.partition("=")
        parts.append(point_name(value, lang) if key == "point" else review.names.get(value, value))
    return " · ".join(parts)


CAUSE_HEADER = {"zh-CN": ("编号", "对象", "什么", "哪里", "何时", "谁", "为什么", "怎么", "五个为什么"),
                "en": ("id", "on", "what", "where", "when", "who", "why", "how", "chain of whys")}


def cause_rows(review: Review, lang: str) -> list[list[str]]:
    """The root causes recorded in the period: what they are on, the 5W1H, the chain of whys joined by arrows. A
    building is named from the review's names where it has a name there, else by its id."""
    names = review.names
    out = []
    for c in review.causes:
        if c["ticket_id"] is not None:
            subject = f"#{c['ticket_id']}"
        else:
            building = c["building_id"]
            subject = point_name(c["point"], lang) + (f" · {names.get(building, building)}" if building else "")
        out.append([str(c["id"]), subject, *(c[k] for k in ("what", "where", "when", "who", "why", "how")),
                    " → ".join(c["whys"])])
    return out


def action_mark(action: dict[str, Any]) -> str:
    return {True: "green", False: "red", None: ""}[action["effect"]["improved"]]


def local_time(instant: str | None, tz: ZoneInfo) -> datetime | None:
    """An instant as the review keeps it (ISO with its offset, UTC from the database) on the wall clock of `tz`,
    naive: a manager in Shanghai read the raw "06:12+00:00" as 06:12 local, and an XLSX cell holds no zone."""
    return datetime.fromisoformat(instant).astimezone(tz).replace(tzinfo=None) if instant else None


def local_words(instant: str | None, tz: ZoneInfo) -> str:
    """`local_time` as people read it, to the minute ("2026-11-03 14:12"); nothing for no time (a clock never met)."""
    local = local_time(instant, tz)
    return "" if local is None else f"{local:%Y-%m-%d %H:%M}"


def breach_rows(review: Review, lang: str) -> list[list[str]]:
    """The first PDF_BREACHES breaches as the HTML and the PDF list them: the source, tier and milestone in words,
    the due and met-at times on the review's wall clock (`local_words`)."""
    sources, tz = SOURCE_NAMES[lang], review.tz
    return [[str(b["ticket"]), sources.get(b["source"], b["source"]), tier_name(b["tier"], lang),
             milestone_name(b["milestone"], lang), local_words(b["due"], tz), local_words(b["met_at"], tz)]
            for b in review.breaches[:PDF_BREACHES]]


def breach_header(lang: str) -> list[str]:
    """The header of `breach_rows`, in the reader's language."""
    words = PDF_WORDS[lang]
    return [words[k] for k in ("ticket", "source", "tier", "milestone", "due", "met")]


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
        points.append([point_name(p.point, lang), review.names.get(p.building, p.building), p.complaints, p.share])
    _breaches_sheet(book.create_sheet("breaches"), review)
    actions = book.create_sheet("actions")
    actions.append(list(ACTION_HEADER[lang]))
    for row in action_rows(review, lang):
        actions.append(row)
    causes = book.create_sheet("causes")
    causes.append(list(CAUSE_HEADER[lang]))
    for row in cause_rows(review, lang):
        causes.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX_TIME = "yyyy-mm-dd hh:mm"


def _breaches_sheet(sheet: Worksheet, review: Review) -> None:
    """Every breach, its due and met-at times as date cells on the review's wall clock (`local_time`), so that a
    spreadsheet sorts and filters them as times; a clock never met leaves its cell empty."""
    sheet.append(["ticket", "source", "tier", "milestone", "due", "met at"])
    for b in review.breaches:
        sheet.append([b["ticket"], b["source"], b["tier"], b["milestone"], local_time(b["due"], review.tz),
                      local_time(b["met_at"], review.tz)])
        for cell in sheet[sheet.max_row][4:]:
            cell.number_format = XLSX_TIME


def bar_chart(bars: Sequence[tuple[str, float]], *, title: str, unit: str = "", empty: str = "-") -> str:
    """A horizontal bar chart as inline SVG (no script, no external file); with no bars, the title and `empty`."""
    if not bars:
        return f'<p class="empty">{escape(title)}: {escape(empty)}</p>'
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
    """The high-frequency points' and the channels' bars; a point's building is named from the review's names where
    it has a name there, else by its id."""
    names = review.names
    points = [(f"{point_name(p.point, lang)} · {names.get(p.building, p.building)}", p.share) for p in review.points]
    channels = sorted(review.volume.get("channel", {}).items(), key=lambda kv: -kv[1])
    zh = lang == "zh-CN"
    none = "本期没有投诉" if zh else "no complaints in this period"
    return (bar_chart(points, title="高频点位" if zh else "High-frequency points", unit=" %", empty=none)
            + bar_chart([(channel_name(k, lang), float(v)) for k, v in channels],
                        title="投诉渠道" if zh else "Complaints by channel", empty=none))


def to_html(review: Review, lang: str) -> str:
    """A standalone page (the CLI's --format html); the manager page renders the same table and charts."""
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADER[lang])
    body = "".join("<tr>" + "".join(f'<td class="{escape(r[4])}">{escape(c)}</td>' for c in worded(r, lang)) + "</tr>"
                   for r in rows(review, lang))
    title = f"{'月度复盘' if lang == 'zh-CN' else 'Review'} {review.period} — {slice_words(review, lang)}"
    return (f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{escape(title)}</title>'
            "<style>td.red{color:#b00020;font-weight:bold}td.green{color:#1b7f3b}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style>"
            f"<h1>{escape(title)}</h1><table><tr>{head}</tr>{body}</table>{charts(review, lang)}"
            f"{breaches_html(review, lang)}{actions_html(review, lang)}</html>")


def breaches_html(review: Review, lang: str) -> str:
    """The breaches, counted, the first PDF_BREACHES listed as in the PDF (`breach_rows`: times on the review's
    wall clock); all of them are in the JSON and the XLSX."""
    words = PDF_WORDS[lang]
    out = f'<h2>{escape(words["breaches"])} ({len(review.breaches)})</h2>'
    if review.breaches:
        heads = "".join(f"<th>{escape(h)}</th>" for h in breach_header(lang))
        cells = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                        for row in breach_rows(review, lang))
        out += f'<table id="breaches"><tr>{heads}</tr>{cells}</table>'
    if len(review.breaches) > PDF_BREACHES:
        out += f"<p>{escape(words['more'].format(n=len(review.breaches) - PDF_BREACHES))}</p>"
    return out


def actions_html(review: Review, lang: str) -> str:
    """The root causes recorded in the period (their buildings named, as in `cause_rows`), then the improvement
    actions' table (named too, as in `action_rows`), each change green when it went the metric's good way, red when
    not."""
    causes = ""
    if review.causes:
        cells = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                        for row in cause_rows(review, lang))
        heads = "".join(f"<th>{escape(h)}</th>" for h in CAUSE_HEADER[lang])
        causes = (f'<h2>{"根本原因" if lang == "zh-CN" else "Root causes"}</h2>'
                  f'<table id="causes"><tr>{heads}</tr>{cells}</table>')
    if not review.actions:
        return causes
    head = "".join(f"<th>{escape(h)}</th>" for h in ACTION_HEADER[lang])
    body = "".join(f'<tr class="{action_mark(a)}">' + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for a, row in zip(review.actions, action_rows(review, lang), strict=True))
    title = "改进措施" if lang == "zh-CN" else "Improvement actions"
    return (f'{causes}<h2>{title}</h2><table id="actions"><tr>{head}</tr>{body}</table>'
            "<style>#actions tr.red td:last-child{color:#b00020;font-weight:bold}"
            "#actions tr.green td:last-child{color:#1b7f3b}</style>")


PDF_FONT = "STSong-Light"  # Adobe's CID font for simplified Chinese: built into reportlab, no font file to ship
PDF_WORDS = {
    "zh-CN": {"title": "月度复盘", "figures": "指标与目标", "points": "高频点位", "volume": "投诉类别",
              "unclosed": "未关闭工单", "breaches": "超时工单", "point": "点位", "building": "楼栋",
              "complaints": "投诉", "share": "占比 %", "state": "状态", "tickets": "工单", "ticket": "工单号",
              "tier": "等级", "milestone": "节点", "due": "期限", "met": "完成于", "source": "来源",
              "more": "另有 {n} 条未列出（见 JSON/XLSX）", "green": "达标", "red": "未达标",
              "actions": "改进措施", "causes": "根本原因"},
    "en": {"title": "Review", "figures": "Figures and targets", "points": "High-frequency points",
           "volume": "Complaints by category", "unclosed": "Unclosed tickets", "breaches": "SLA breaches",
           "point": "point", "building": "building", "complaints": "complaints", "share": "share %", "state": "state",
           "tickets": "tickets", "ticket": "ticket", "tier": "tier", "milestone": "milestone", "due": "due",
           "met": "met at", "source": "source", "more": "{n} more not listed (see JSON/XLSX)", "green": "met",
           "red": "missed", "actions": "Improvement actions", "causes": "Root causes"},
}
PDF_BREACHES = 40  # rows of the breaches list in the PDF and the HTML; the rest are counted, listed in JSON and XLSX


def tier_name(tier: str, lang: str) -> str:
    """A tier in words (重大 / Major); its code if it has no name."""
    names = TIER_NAMES.get(tier)
    return names[0 if lang == "zh-CN" else 1] if names else tier


def milestone_name(milestone: str, lang: str) -> str:
    """A milestone in the reader's language (响应时限 / respond clock), from the staff alerts' bilingual names."""
    zh, _, en = MILESTONE_LABEL.get(milestone, milestone).partition(" / ")
    return zh if lang == "zh-CN" or not en else en


def _pdf_bars(bars: Sequence[tuple[str, float]], title: str, font: str) -> Drawing:
    """Horizontal bars drawn with reportlab's graphics primitives (the PDF twin of `bar_chart`)."""
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib.colors import HexColor

    blue = HexColor("#3b6ea5")
    top = max((v for _, v in bars), default=0.0) or 1.0
    height = 18 * len(bars) + 24
    drawing = Drawing(520, height)
    drawing.add(String(0, height - 12, title, fontName=font, fontSize=11))
    for i, (label, value) in enumerate(bars):
        y = height - 32 - 18 * i
        width = 300 * value / top
        drawing.add(String(0, y + 3, label, fontName=font, fontSize=9))
        bar = Rect(170, y, width, 13)
        bar.fillColor, bar.strokeColor = blue, None
        drawing.add(bar)
        drawing.add(String(176 + width, y + 3, f"{value:g}", fontName=font, fontSize=9))
    return drawing


def to_pdf(review: Review, lang: str) -> bytes:
    """The review as an A4 landscape PDF: title with period and slice, the figures table (value beside target,
    red or green, previous period and last year), high-frequency points, complaints by category (bars), the
    unclosed breakdown and the first PDF_BREACHES breaches (`breach_rows`)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    words = PDF_WORDS[lang]
    styles = getSampleStyleSheet()
    for name in ("Title", "Heading2", "Normal"):
        styles[name].fontName = PDF_FONT
    grid = [("FONTNAME", (0, 0), (-1, -1), PDF_FONT), ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#cccccc")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))]

    def table(header: Sequence[str], body: list[list[str]], extra: list[tuple[Any, ...]] | None = None) -> Table:
        t = Table([list(header), *body], repeatRows=1, hAlign="LEFT")
        t.setStyle(TableStyle(grid + (extra or [])))
        return t

    title = f"{words['title']} {review.period} — {slice_words(review, lang)}"
    story: list[Flowable] = [Paragraph(escape(title), styles["Title"]),
                             Paragraph(words["figures"], styles["Heading2"])]
    figures = rows(review, lang)
    marks: list[tuple[Any, ...]] = [("TEXTCOLOR", (2, i), (4, i), colors.HexColor("#b00020" if row[4] == "red"
                                     else "#1b7f3b")) for i, row in enumerate(figures, start=1) if row[4]]
    story.append(table(HEADER[lang], [worded(row, lang) for row in figures], marks))
    sources, buildings = SOURCE_NAMES[lang], review.names

    story += [Paragraph(words["points"], styles["Heading2"]),
              table((words["point"], words["building"], words["complaints"], words["share"]),
                    [[point_name(p.point, lang), buildings.get(p.building, p.building), str(p.complaints),
                      f"{p.share:g}"]
                     for p in review.points])]
    categories = sorted(review.volume.get("category", {}).items(), key=lambda kv: -kv[1])
    if categories:
        names = CATEGORY_NAMES.get(lang, CATEGORY_NAMES["en"])
        story += [Spacer(1, 8), _pdf_bars([(names.get(k, k), float(v)) for k, v in categories], words["volume"],
                                          PDF_FONT)]

    story += [Paragraph(words["unclosed"], styles["Heading2"]),
              table((words["source"], words["state"], words["tickets"]),
                    [[sources.get(source, source), state, str(n)] for source, states in review.unclosed.items()
                     for state, n in states.items()])]

    story.append(Paragraph(f"{words['breaches']} ({len(review.breaches)})", styles["Heading2"]))
    if review.breaches:
        story.append(table(breach_header(lang), breach_rows(review, lang)))
        if len(review.breaches) > PDF_BREACHES:
            story.append(Paragraph(words["more"].format(n=len(review.breaches) - PDF_BREACHES), styles["Normal"]))

    if review.causes:
        story += [Paragraph(words["causes"], styles["Heading2"]), table(CAUSE_HEADER[lang], cause_rows(review, lang))]
    if review.actions:
        story += [Paragraph(words["actions"], styles["Heading2"]),
                  table(ACTION_HEADER[lang], action_rows(review, lang))]

    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=landscape(A4), title=f"{words['title']} {review.period} {review.slice}",
                      leftMargin=36, rightMargin=36, topMargin=36, bottomMargin=36).build(story)
    return out.getvalue()
