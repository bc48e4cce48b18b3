"""The service report of one ticket (handbook 003: tell the resident the result): what was found, the cause, what
was done, the photos before and after, the warranty, and the times against the ticket's clocks — as data for the
resident's page and as a PDF (`to_pdf`, reportlab with its built-in Chinese CID font, like the review's PDF).

Where each part comes from:
- title: the ticket's stored title in the reader's words and language (`tickets.titles.title_words`: "供水中断 @ 1号楼
  高区加压泵", not "water supply_outage @ …"); the stored title itself is left as it is;
- found: the notes of the on-site steps (`ticket_events` `arrive`), else what the alarm's fault means in the
  residents' words and the reader's language (a preventive ticket's incident; its detector evidence, English and in
  UTC, only for a fault without such words);
- cause: the root cause recorded on the ticket (`tickets.root_cause`), else the engineer's verdict on an alarm
  (`detector_labels`: a real fault or a false alarm);
- done: the notes of the resolve steps (the engineer's resolution note);
- photos: the resident's uploads are "before", the staff's "after";
- clocks: responded against respond-by, resolved against resolve-by (the first resolution; a reopened ticket's
  last one is shown too), the warranty's end (`tickets.warranty_until`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import psycopg

from tickets.errors import NotFound
from tickets.notices import fault_words
from tickets.titles import title_words

_TICKET = """SELECT t.id, t.title, t.category, t.severity, t.state, t.created_at, t.respond_due, t.respond_met_at,
                    t.resolve_due, t.resolve_met_at, t.resolved_at, t.root_cause, t.warranty_until,
                    i.evidence->>'summary', i.fault, coalesce(t.respond_milestone, 'respond'),
                    coalesce(t.resolve_milestone, 'resolve')
             FROM tickets t LEFT JOIN incidents i ON i.id = t.incident_id WHERE t.id = %s"""
_NOTES = """SELECT event, note, at FROM ticket_events
            WHERE ticket_id = %s AND event IN ('arrive', 'resolve') AND note <> '' ORDER BY at, id"""
_VERDICT = "SELECT false_alarm, note FROM detector_labels WHERE ticket_id = %s ORDER BY at DESC, id DESC LIMIT 1"
_PHOTOS = """SELECT a.id, u.role = 'resident' FROM attachments a LEFT JOIN users u ON u.id = a.uploaded_by
             WHERE a.ticket_id = %s ORDER BY a.created_at, a.id"""
PDF_FONT = "STSong-Light"


@dataclass(frozen=True, slots=True)
class ServiceReport:
    ticket_id: int
    title: str  # in the reader's words (`title_words`), not as stored
    category: str
    severity: str
    state: str
    created_at: datetime
    found: list[str]
    cause: str | None
    false_alarm: bool | None  # the engineer's verdict on an alarm, when there is one
    done: list[str]
    before_photos: list[int]
    after_photos: list[int]
    # The two clocks, each met by its own milestone (tickets/milestones.py): a major complaint's first clock is
    # "someone on site", its second "a written plan"; both as the review counts them.
    respond_due: datetime | None
    respond_met_at: datetime | None
    resolve_due: datetime | None
    resolve_met_at: datetime | None
    resolved_at: datetime | None
    warranty_until: datetime | None
    respond_milestone: str = "respond"
    resolve_milestone: str = "resolve"

    @property
    def respond_met(self) -> bool | None:
        return _met(self.respond_met_at, self.respond_due)

    @property
    def resolve_met(self) -> bool | None:
        return _met(self.resolve_met_at, self.resolve_due)


def _met(at: datetime | None, due: datetime | None) -> bool | None:
    return None if at is None or due is None else at <= due


def service_report(conn: psycopg.Connection, ticket_id: int, lang: str = "zh-CN") -> ServiceReport:
    """The report of one ticket, for a reader of `lang` (its title, and the words of a fault found without an
    on-site note)."""
    row = conn.execute(_TICKET, (ticket_id,)).fetchone()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}")
    (tid, title, category, severity, state, created_at, respond_due, respond_met_at, resolve_due, resolve_met_at,
     resolved_at, root_cause, warranty_until, alarm_summary, fault, respond_milestone, resolve_milestone) = row
    notes = conn.execute(_NOTES, (ticket_id,)).fetchall()
    alarm = fault_words(fault, lang) or alarm_summary
    found = [n for event, n, _ in notes if event == "arrive"] or ([alarm] if alarm else [])
    done = [n for event, n, _ in notes if event == "resolve"]
    verdict = conn.execute(_VERDICT, (ticket_id,)).fetchone()
    cause = root_cause or (verdict[1] if verdict and verdict[1] else None)
    photos = conn.execute(_PHOTOS, (ticket_id,)).fetchall()
    return ServiceReport(
        tid, title_words(title, lang), category, severity, state, created_at, found, cause,
        verdict[0] if verdict else None, done, [p for p, by_resident in photos if by_resident],
        [p for p, by_resident in photos if not by_resident],
        respond_due, respond_met_at, resolve_due, resolve_met_at, resolved_at, warranty_until, respond_milestone,
        resolve_milestone)


PDF_WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {"title": "服务报告", "ticket": "工单", "found": "现场发现", "cause": "原因", "done": "处理措施",
              "photos": "照片", "before": "处理前", "after": "处理后", "clock": "时限", "due": "应于", "at": "实际",
              "met": "达成", "missed": "超时", "pending": "未完成", "respond": "响应", "resolve": "解决",
              "on_site": "到场", "plan": "书面方案", "progress": "进展反馈", "answer": "答复",
              "warranty": "保修至", "none": "—", "false_alarm": "误报", "real_fault": "确有故障"},
    "en": {"title": "Service report", "ticket": "Ticket", "found": "Found on site", "cause": "Cause",
           "done": "What was done", "photos": "Photos", "before": "before", "after": "after", "clock": "Clock",
           "due": "due", "at": "done", "met": "met", "missed": "missed", "pending": "pending", "respond": "Response",
           "resolve": "Resolution", "on_site": "On site", "plan": "Written plan", "progress": "Progress report",
           "answer": "Answer", "warranty": "Warranty until", "none": "—", "false_alarm": "false alarm",
           "real_fault": "real fault"},
}


def to_pdf(report: ServiceReport, lang: str, *, local: Any) -> bytes:
    """The report as an A4 PDF; `local(t)` formats a time the reader's way (the estate's zone)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    w = PDF_WORDS["en" if lang == "en" else "zh-CN"]
    styles = getSampleStyleSheet()
    for name in ("Title", "Heading2", "Normal"):
        styles[name].fontName = PDF_FONT

    def para(text: str, style: str = "Normal") -> Paragraph:
        return Paragraph(escape(text), styles[style])

    def verdict(met: bool | None) -> str:
        return w["pending"] if met is None else w["met"] if met else w["missed"]

    story: list[Any] = [para(f"{w['title']} · {w['ticket']} #{report.ticket_id}", "Title"), para(report.title)]
    for key, lines in (("found", report.found), ("cause", [report.cause] if report.cause else []),
                       ("done", report.done)):
        story.append(para(w[key], "Heading2"))
        story += [para(line) for line in lines] or [para(w["none"])]
    if report.false_alarm is not None:
        story.append(para(w["false_alarm"] if report.false_alarm else w["real_fault"]))
    story += [para(w["clock"], "Heading2"), Table([
        ["", w["due"], w["at"], ""],
        [w[report.respond_milestone], local(report.respond_due), local(report.respond_met_at),
         verdict(report.respond_met)],
        [w[report.resolve_milestone], local(report.resolve_due), local(report.resolve_met_at),
         verdict(report.resolve_met)],
    ], style=[("FONTNAME", (0, 0), (-1, -1), PDF_FONT), ("FONTSIZE", (0, 0), (-1, -1), 9)], hAlign="LEFT")]
    story += [para(f"{w['photos']}: {w['before']} {len(report.before_photos)}, {w['after']} "
                   f"{len(report.after_photos)}"),
              para(f"{w['warranty']}: {local(report.warranty_until)}")]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=f"{w['title']} #{report.ticket_id}").build(story)
    return out.getvalue()
