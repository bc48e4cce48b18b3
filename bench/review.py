"""Review benchmark: `python -m bench.review [--months N] [--per-month N] [--scales 1,10] [--modes plain,timescale]`.

For each database mode, a fresh embedded PostgreSQL with the demo estate and a generated history: `--months`
months (default 12) ending with October 2026, `--per-month` complaints each (default 200), written through the
real lifecycle functions — `intake_complaint`, then `transition` acknowledge → arrive → resolve, then
`record_return_visit` (a rating of 2 reopens the ticket, as in production) — with fixed shares left open (6 %),
resolved without a visit (4 %) and rated unsatisfied (8 %). Then, timed (median of `--repeat` runs):

- monthly: `compute_review` of 2026-10 (with the previous month and last year) + the HTML and XLSX exports; ≤ 2 s
- quarterly: `compute_review` of 2026Q4 + the league table of sites; ≤ 4 s
- digest: `build_digest` of the staff's daily digest; ≤ 0.5 s
- dashboard: the manager's site dashboard (`tickets.review.dashboard.build_dashboard`: open, overdue, today, and
  12 months of headline figures) of Riverside on 2026-10-31; no target of its own in the issue (a page: measured)
- baseline (same run): the proactive figures alone (`tickets.review.proactive.review_metrics`, what the review
  page had before) over the same month.

Each mode is run at each `--scale` (default 1 and 10: the history as above, then one with 10× the complaints per
month, in a fresh database), with the same targets. Prints a table per mode and scale, then `RESULT name=value
unit` lines (`review_monthly_plain`, and `review_monthly_plain_x10` for the 10× history).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from tickets.complaints import intake_complaint
from tickets.lifecycle import TicketEvent
from tickets.review import report
from tickets.review.compute import compute_review, league_table
from tickets.review.dashboard import Site, build_dashboard
from tickets.review.digest import build_digest
from tickets.review.periods import parse_period
from tickets.review.proactive import review_metrics
from tickets.transitions import transition
from tickets.visits import Rating, record_return_visit

DEMO = Path(__file__).resolve().parent.parent / "forewarn" / "data" / "demo-estate.yaml"
TZ = ZoneInfo("Asia/Shanghai")
TEXTS = ("电梯又坏了，停在三楼不动", "家里没水了", "楼下装修噪音太吵", "车位被别人占了", "物业费怎么多收了",
         "门禁刷卡开不了门", "小区路灯不亮", "保安态度很差")
TARGETS = {"monthly": 2.0, "quarterly": 4.0, "digest": 0.5}


@contextmanager
def database(timescale: bool) -> Iterator[str]:
    from forewarn.context import ensure_database
    from forewarn.embedded import EmbeddedPostgres, free_port
    from forewarn.migrate import migrate
    from forewarn.settings import DbMode
    from ingest.estate_file import load_estate_file
    from ingest.estate_store import save_estate

    with tempfile.TemporaryDirectory(prefix="fw-bench-review-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "data", free_port(), timescale=timescale, durable=False)
        admin = server.start()
        try:
            url = ensure_database(admin, "bench_review")
            migrate(url, DbMode.TIMESCALE if timescale else DbMode.PLAIN)
            with psycopg.connect(url) as conn:
                save_estate(conn, load_estate_file(DEMO))
            yield url
        finally:
            server.stop()


def _one(conn: psycopg.Connection, n: int, resident: tuple[str, str], at: datetime) -> None:
    ticket = intake_complaint(conn, resident_id=resident[1], unit_id=resident[0], channel="app",
                              description=TEXTS[n % len(TEXTS)], lang="zh-CN", reported_at=at, now=at).ticket_id
    if n % 50 < 3:  # 6 % left open
        return
    for step, event in enumerate((TicketEvent.ACKNOWLEDGE, TicketEvent.ARRIVE, TicketEvent.RESOLVE), start=1):
        transition(conn, ticket, event, actor="bench", now=at + timedelta(minutes=20 * step * (1 + n % 4)))
    if n % 25 == 3:  # 4 % resolved, no visit yet
        return
    overall = 2 if n % 25 in (4, 5) else 4 + n % 2
    record_return_visit(conn, ticket, Rating(5, 5, 5, overall), by_user=None, now=at + timedelta(hours=6))


def generate(url: str, months: int, per_month: int) -> int:
    """The history, month by month, ending with 2026-10; returns the complaints written."""
    with psycopg.connect(url) as conn:
        residents = conn.execute("SELECT unit_id, id FROM residents WHERE active ORDER BY id").fetchall()
        n = 0
        for m in range(months):
            period = parse_period("2026-10", TZ)
            for _ in range(months - 1 - m):
                period = period.previous()
            days = (period.last - period.first).days + 1
            for i in range(per_month):
                at = period.since + timedelta(days=i * days / per_month, hours=9 + i % 8)
                _one(conn, n, residents[(n * 7) % len(residents)], at)
                n += 1
                if n % 200 == 0:  # one transaction for the whole history made every query scan what the planner
                    conn.commit()  # could not see (no statistics for uncommitted rows): quadratic at 10x
            conn.execute("ANALYZE")
            conn.commit()
    return n


def timed(fn: Callable[[], Any], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = perf_counter()
        fn()
        runs.append(perf_counter() - start)
    return statistics.median(runs)


def measure(url: str, repeat: int) -> dict[str, float]:
    month, quarter = parse_period("2026-10", TZ), parse_period("2026Q4", TZ)
    with psycopg.connect(url, autocommit=True) as conn:
        def monthly() -> None:
            review = compute_review(conn, month)
            report.to_html(review, "zh-CN")
            report.to_xlsx(review, "zh-CN")

        def quarterly() -> None:
            compute_review(conn, quarter)
            league_table(conn, quarter)

        return {"baseline": timed(lambda: review_metrics(conn, since=month.since, until=month.until), repeat),
                "monthly": timed(monthly, repeat), "quarterly": timed(quarterly, repeat),
                "digest": timed(lambda: build_digest(conn, now=month.until + timedelta(hours=9), tz=TZ), repeat),
                "dashboard": timed(lambda: build_dashboard(conn, Site("riverside", "Riverside"),
                                                           now=month.until - timedelta(hours=6), tz=TZ), repeat)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--per-month", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--modes", default="plain,timescale")
    parser.add_argument("--scales", default="1,10", help="history sizes, as multiples of --per-month")
    args = parser.parse_args()
    try:
        scales = [int(x) for x in args.scales.split(",")]
        if any(x < 1 for x in scales):
            raise ValueError
    except ValueError:
        parser.error(f"--scales: whole numbers ≥ 1, comma-separated, not {args.scales!r}")
    from forewarn.embedded import timescaledb_installed

    results: list[str] = []
    for mode in args.modes.split(","):
        if mode == "timescale" and not timescaledb_installed():
            print("timescale: TimescaleDB is not built into the embedded server; mode skipped")
            continue
        for scale in scales:
            with database(mode == "timescale") as url:
                start = perf_counter()
                written = generate(url, args.months, args.per_month * scale)
                print(f"\n{mode}, {scale}× history: {written} complaints over {args.months} months "
                      f"in {perf_counter() - start:.1f} s")
                figures = measure(url, args.repeat)
            print(f"{'measure':<12}{'median s':>10}{'target s':>10}  met")
            suffix = "" if scale == 1 else f"_x{scale}"
            for name, seconds in figures.items():
                target = TARGETS.get(name)
                met = "" if target is None else ("yes" if seconds <= target else "NO")
                print(f"{name:<12}{seconds:>10.3f}{'' if target is None else f'{target:>10.1f}':>10}  {met}")
                results.append(f"RESULT review_{name}_{mode}{suffix}={seconds:.3f} s")
    print()
    print("\n".join(results))


if __name__ == "__main__":
    main()
