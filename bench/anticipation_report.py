"""The anticipation benchmark's printed report (`bench.anticipation`): one table per variant — a row per fault type,
the total, the same split by local hour of onset, the false tickets with their bound — several seeds merged into
one report, and the `RESULT` lines."""

from __future__ import annotations

import dataclasses

from bench.anticipation_plan import TZ
from tickets.anticipation import AnticipationFigures, AnticipationReport, by_hour_band, figures, wilson


def fmt(value: float | None, scale: float = 1.0, digits: int = 1, pct: bool = False) -> str:
    """A figure as printed: `value / scale` to `digits` places, or a whole percentage (`pct`); "—" for none."""
    if value is None:
        return "—"
    return f"{100 * value:.0f}%" if pct else f"{value / scale:.{digits}f}"


HEADER = (f"{'fault type':<16} {'n':>3} {'antic.':>6} {'95% CI':>9} {'onset→delivered s':>17} {'lead min':>15} "
          f"{'prec.':>6} {'recall':>6} {'folded':>6} {'compl.':>6} {'dup.':>4}")


def _row(f: AnticipationFigures) -> str:
    delay = f"{fmt(f.notice_delay_median_s, digits=0)}/{fmt(f.notice_delay_p90_s, digits=0)}"
    lead = f"{fmt(f.lead_median_s, 60)}/{fmt(f.lead_p10_s, 60)}"
    ci = f"{fmt(f.anticipation_lower95, pct=True)}-{fmt(f.anticipation_upper95, pct=True)}"
    return (f"{f.fault:<16} {f.visible:>3} {fmt(f.anticipation_rate, pct=True):>6} {ci:>9} {delay:>17} {lead:>15} "
            f"{fmt(f.notice_precision, pct=True):>6} {fmt(f.notice_recall, pct=True):>6} "
            f"{fmt(f.folding_share, pct=True):>6} {f.complaints:>6} {f.duplicate_tickets:>4}")


def print_table(variant: str, report: AnticipationReport, info: dict) -> None:
    print(f"\n== {variant} ==  ({info['messages']:,} messages, {info['complaints']} complaints, "
          f"{info['wall_s']:.0f} s wall, of which {info['waited_s']:.0f} s waiting for the platform to catch up "
          f"{info['waits']} times)")
    print(HEADER)
    for f in report.per_fault.values():
        if f.visible:
            print(_row(f))
    print(_row(report.total))
    print("by local hour of onset:")
    for band in by_hour_band(report.outcomes, TZ).values():
        print(_row(band))
    bound = wilson(report.false_alarms, max(1, round(report.device_days)))
    upper = f"{100 * bound[1]:.2f}" if bound else "—"
    print(f"false tickets: {report.false_alarms} preventive tickets = "
          f"{fmt(report.false_alarms_per_100_device_days, digits=2)} per 100 device-days "
          f"(95% upper bound {upper}; {report.device_days:.0f} device-days); residents disturbed by false notices: "
          f"{report.residents_disturbed}")


def merge(reports: list[AnticipationReport]) -> AnticipationReport:
    """Several seeds as one report: the outcomes pooled, the figures recomputed over them."""
    outcomes = [o for r in reports for o in r.outcomes]
    per_fault = {name: figures(name, [o for o in outcomes if o.fault.fault == name])
                 for name in sorted({o.fault.fault for o in outcomes})}
    total = figures("total", outcomes)
    notified = sum(len(o.notified) for o in outcomes) + sum(r.residents_disturbed for r in reports)
    hits = sum(len(o.notified & o.affected) for o in outcomes)
    total = dataclasses.replace(total, notice_precision=hits / notified if notified else None)
    days = sum(r.device_days for r in reports)
    false = sum(r.false_alarms for r in reports)
    return AnticipationReport(per_fault, total, false, days, 100.0 * false / days if days else None,
                              sum(r.residents_disturbed for r in reports), outcomes)


def print_results(prefix: str, report: AnticipationReport) -> None:
    """The `RESULT` lines of one variant: anticipation counted at delivery, with its lower 95 % Wilson bound."""
    t = report.total
    print(f"RESULT {prefix}anticipation_rate_delivered={fmt(t.anticipation_rate, digits=3)} ratio")
    print(f"RESULT {prefix}anticipation_lower95={fmt(t.anticipation_lower95, digits=3)} ratio")
    print(f"RESULT {prefix}faults_resident_visible={t.visible} count")
    print(f"RESULT {prefix}notice_delay_median_s={fmt(t.notice_delay_median_s, digits=0)} s")
    print(f"RESULT {prefix}lead_median_min={fmt(t.lead_median_s, 60)} min")
    print(f"RESULT {prefix}false_tickets_per_100_device_days={fmt(report.false_alarms_per_100_device_days, digits=2)}"
          " count")
    print(f"RESULT {prefix}device_days_normal={report.device_days:.1f} days")
    print(f"RESULT {prefix}residents_disturbed={report.residents_disturbed} count")
