"""A wave report as text (the terminal) and as CSV or XLSX (a spreadsheet): one row per figure, in long form, so
that a pivot table can rebuild any view; the XLSX holds the same rows as the CSV. Renders what
tickets/survey_analysis.py computed; computes nothing itself."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

CSV_COLUMNS = ("section", "key", "label_zh", "label_en", "group_of", "responses", "mean", "share_4_5", "weight",
               "quadrant", "previous", "change", "nps", "nps_low", "nps_high", "households", "sampled", "target",
               "shortfall")


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's figures as flat rows with CSV_COLUMNS keys."""
    wave = report["wave"]
    rows: list[dict[str, Any]] = [{"section": "wave", "key": str(wave["id"]), "label_en": f"{wave['site']} "
                                   f"{wave['kind']} ({wave['status']})", "responses": report["responses"],
                                   "households": wave["households"]}]
    for mode, planned in report["plan"].items():
        rows.append({"section": "mode", "key": mode, "sampled": planned, "responses": report["collected"][mode]})
    for s in report["coverage"]:
        rows.append({"section": "coverage", "key": s["building"], "households": s["households"],
                     "sampled": s["sampled"], "responses": s["responded"], "target": s["target"],
                     "shortfall": s["shortfall"]})
    if report["hidden"]:
        return rows
    nps, trend = report["nps"], report["nps_trend"]
    rows.append({"section": "overall", "key": "overall", "responses": report["responses"],
                 "mean": report["overall_mean"], **report["overall_trend"]})
    rows.append({"section": "nps", "key": "nps", "responses": report["responses"], "nps": nps["score"],
                 "nps_low": nps["low"], "nps_high": nps["high"], **trend})
    labels = report["labels"]
    for level, section in (("dimensions", "dimension"), ("items", "item")):
        for key, figures in report[level].items():
            label = labels[level][key]
            rows.append({"section": section, "key": key, "label_zh": label["zh-CN"], "label_en": label["en"],
                         "group_of": label.get("dimension", ""), "responses": report["responses"],
                         **{k: figures.get(k) for k in ("mean", "share_4_5", "weight", "quadrant", "previous",
                                                        "change")}})
    for attribute, groups in report["groups"].items():
        for g in groups:
            rows.append({"section": f"group:{attribute}", "key": g["group"], "responses": g["responses"],
                         "mean": g.get("overall_mean"), "nps": g.get("nps"),
                         "label_en": "hidden (fewer than 5)" if g["hidden"] else None})
    return rows


def report_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for row in report_rows(report):
        writer.writerow({column: "" if row.get(column) is None else row[column] for column in CSV_COLUMNS})
    return out.getvalue()


def report_xlsx(report: dict[str, Any]) -> bytes:
    """The CSV's rows in one sheet, numbers as numbers."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"wave {report['wave']['id']}"
    sheet.append(list(CSV_COLUMNS))
    for row in report_rows(report):
        sheet.append([row.get(column) for column in CSV_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+g}"


def report_text(report: dict[str, Any]) -> str:
    wave = report["wave"]
    lines = [f"survey wave {wave['id']}: {wave['site']}, {wave['kind']}, {wave['status']}, questionnaire "
             f"{wave['template']}, sample {wave['sample_share']:.1%} of {wave['households']:,} households",
             "plan by mode: " + ", ".join(f"{m} {n} (answered {report['collected'][m]})"
                                          for m, n in report["plan"].items())
             + f"; {report['assisted']} answers entered by staff (assisted)",
             "coverage per building (responses / needed of households):"]
    for s in report["coverage"]:
        flag = f"  UNDER-COVERED: top up {s['shortfall']}" if s["shortfall"] else ""
        lines.append(f"  {s['building']}: {s['responded']} / {s['target']} of {s['households']} "
                     f"(sampled {s['sampled']}, coverage {s['coverage']}%){flag}")
    if report["hidden"]:
        lines.append(f"{report['responses']} responses: fewer than 5, the figures are hidden")
        return "\n".join(lines) + "\n"
    nps = report["nps"]
    lines.append(f"responses {report['responses']}; overall {report['overall_mean']} / 10 "
                 f"(change {_signed(report['overall_trend']['change'])})")
    lines.append(f"NPS {nps['score']:+g} (95% interval {nps['low']:+g} to {nps['high']:+g}; promoters "
                 f"{nps['promoters']}%, detractors {nps['detractors']}%; "
                 f"{'excellent' if nps['excellent'] else 'below excellent (≥ 50)'}; "
                 f"change {_signed(report['nps_trend']['change'])})")
    for level in ("dimensions", "items"):
        since = f"change since wave {report['previous_wave']}" if report["previous_wave"] else "no previous wave"
        lines.append(f"{level}: mean / share 4–5 / weight / quadrant / {since}")
        for key, f in report[level].items():
            lines.append(f"  {key}: {f['mean']} / {f['share_4_5']}% / "
                         f"{'—' if f['weight'] is None else str(f['weight']) + '%'} / {f['quadrant'] or '—'} / "
                         f"{_signed(f['change'])}")
    for attribute, groups in report["groups"].items():
        shown = [f"{g['group']} n={g['responses']} overall {g['overall_mean']} NPS {g['nps']:+g}" if not g["hidden"]
                 else f"{g['group']} n={g['responses']} hidden (fewer than 5)" for g in groups]
        lines.append(f"by {attribute}: " + "; ".join(shown))
    return "\n".join(lines) + "\n"
