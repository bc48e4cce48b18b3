"""`forewarn demo history`: months of plausible resident activity on the demo estate, written through the real
lifecycle (`file_request`, `transition`, `record_return_visit`), each step at its historical time, so that the
monthly reviews have something to show and tests have known answers.

Planted, whatever the seed: lift faults are about 30 % of the facility complaints; one household complains about
its lift again every 8-12 days (a repeat within 30 days); one building (the first with residents) has a leak
complaint about every other day. About 85 % of requests are resolved, most the same day; return visits rate
4-5 mostly, an unsatisfied 1-2 now and then reopens the ticket, which is then resolved and rated again. Every
third night a device fault runs its course (a preventive ticket); the notices are delivered into in-memory
channels, so that no real resident is told about the past, the warnings two minutes after detection. Around the
faults (drawn from a second stream of the seed, so the complaints above are the same with or without them): a
served resident complains about most of them, ten minutes before detection (missed), one minute after (detected
first but not yet delivered), or a quarter or half an hour after (warned first); engineers give a verdict on most
tickets, a quarter of them false alarms; now and then the same device fault comes back three days later and
reopens its ticket (a repeat fault).
Deterministic for a seed and an end time."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import psycopg
import typer
from rich.console import Console
from rich.progress import Progress

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.channels import InAppChannel, MemoryChannel
from tickets.cli import database_url
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.flows import handle_alarm, record_verdict
from tickets.lifecycle import TicketEvent
from tickets.outbox import dispatch
from tickets.requests import RequestKind, file_request
from tickets.transitions import transition
from tickets.visits import Rating, record_return_visit

AGENT = "demo-history-agent"
LIFT = ("电梯停在3楼不动了", "电梯按钮失灵", "电梯门关不上")
LEAK = ("卫生间水管漏水", "厨房天花板漏水")
OTHER_FACILITY = ("楼道的灯坏了", "门禁刷卡没反应")
NON_FACILITY = ("楼上装修噪音太大", "物业费收费不合理", "保安态度很差", "小区停车位被占")
FAULTS = {"water": "supply_outage", "elevator": "out_of_service", "access_door": "reader_offline"}
LIFT_SHARE = 0.30  # of the facility complaints (the planted high-frequency point)
# A served resident's complaint about a device fault, by device kind, and when it comes (minutes from detection).
FAULT_COMPLAINT = {"water": "家里停水了", "elevator": "电梯停在3楼不动了", "access_door": "门禁刷卡没反应"}
COMPLAINT_OFFSETS = (-10, 1, 15, 30)
DELIVERY_DELAY = timedelta(minutes=2)  # the warnings' delivery after detection


@dataclass(frozen=True, slots=True)
class HistoryCounts:
    requests: int
    resolved: int
    visits: int
    reopened: int


def _text(rng: random.Random) -> str:
    if rng.random() < 0.7:  # facility
        roll = rng.random()
        if roll < LIFT_SHARE:
            return rng.choice(LIFT)
        return rng.choice(LEAK) if roll < 0.45 else rng.choice(OTHER_FACILITY)
    return rng.choice(NON_FACILITY)


def _handle(conn: psycopg.Connection, ticket: int, at: datetime, rng: random.Random, until: datetime,
            counts: dict[str, int], config: TicketConfig) -> None:
    """Acknowledge (mostly within the hour, now and then after more than a day), resolve, visit, maybe reopen."""
    if rng.random() < 0.1:
        return  # left open: the unclosed tickets
    ack = at + (timedelta(hours=rng.uniform(25, 40)) if rng.random() < 0.05 else timedelta(minutes=rng.randint(5, 90)))
    resolve = ack + timedelta(hours=rng.uniform(1, 30))
    if resolve >= until:
        return
    transition(conn, ticket, TicketEvent.ACKNOWLEDGE, actor=AGENT, now=ack, config=config)
    if rng.random() < 0.5:  # staff went on site
        transition(conn, ticket, TicketEvent.ARRIVE, actor=AGENT, now=ack + timedelta(minutes=rng.randint(10, 50)),
                   config=config)
    transition(conn, ticket, TicketEvent.RESOLVE, actor=AGENT, now=resolve, root_cause="demo history",
               config=config)
    counts["resolved"] += 1
    if rng.random() < 0.12:
        return  # resolved, never visited
    visit = resolve + timedelta(hours=rng.uniform(2, 60))
    if visit >= until:
        return
    overall = rng.choices((5, 4, 3, 2, 1), weights=(55, 30, 7, 5, 3))[0]
    record_return_visit(conn, ticket, Rating(overall, overall, max(overall, 3), overall, ""), by_user=None, now=visit,
                        config=config)
    counts["visits"] += 1
    if overall > 2:
        return
    counts["reopened"] += 1  # the visit reopened and re-dispatched it: fixed again, rated again
    again = visit + timedelta(hours=rng.uniform(1, 20))
    if again + timedelta(hours=6) >= until:
        return
    transition(conn, ticket, TicketEvent.ACKNOWLEDGE, actor=AGENT, now=again, config=config)
    transition(conn, ticket, TicketEvent.RESOLVE, actor=AGENT, now=again + timedelta(hours=2), root_cause="redone",
               config=config)
    record_return_visit(conn, ticket, Rating(4, 4, 4, 4, ""), by_user=None, now=again + timedelta(hours=6),
                        config=config)
    counts["visits"] += 1


def _fault(conn: psycopg.Connection, device: str, kind: str, at: datetime, config: TicketConfig,
           rng: random.Random, served: list[tuple[str, str]], channels: dict[str, Any]) -> None:
    """A night-time device fault's whole life (a preventive ticket): raised, its warnings delivered, taken, on
    site, cleared, resolved, judged; maybe a complaint from a resident it serves (`served`: resident, unit)."""
    fault = FAULTS[kind]

    def alarm(state: AlarmState, when: datetime) -> Alarm:
        return Alarm(device_id=device, fault=fault, state=state, severity=Severity.CRITICAL, since=when, ts=when,
                     detector="demo-history", evidence=Evidence("demo history: replayed fault"))

    def complain(when: datetime) -> None:
        resident, unit = rng.choice(served)
        file_request(conn, kind=RequestKind.COMPLAINT, resident_id=resident, unit_id=unit,
                     description=FAULT_COMPLAINT[kind], lang="zh-CN", now=when, config=config)

    offset = rng.choice(COMPLAINT_OFFSETS) if served and rng.random() < 0.7 else None
    if offset is not None and offset < 0:
        complain(at + timedelta(minutes=offset))
    opened = handle_alarm(conn, alarm(AlarmState.RAISED, at), now=at, config=config)
    conn.commit()
    dispatch(conn, now=at + DELIVERY_DELAY, channels=channels)
    if offset is not None and offset >= 0:
        complain(at + timedelta(minutes=offset))
    if opened.ticket_id is None:
        return
    for minutes, event in ((5, TicketEvent.ACKNOWLEDGE), (20, TicketEvent.ARRIVE)):
        transition(conn, opened.ticket_id, event, actor=AGENT, now=at + timedelta(minutes=minutes), config=config)
    handle_alarm(conn, alarm(AlarmState.CLEARED, at + timedelta(minutes=60)), now=at + timedelta(minutes=60),
                 config=config)
    transition(conn, opened.ticket_id, TicketEvent.RESOLVE, actor=AGENT, now=at + timedelta(minutes=70),
               root_cause="demo history", config=config)
    if rng.random() < 0.8:
        record_verdict(conn, opened.ticket_id, false_alarm=rng.random() < 0.25, by_user=AGENT, note="demo history",
                       now=at + timedelta(minutes=75), config=config)


def write_history(url: str, *, until: datetime, days: int, seed: int, per_day: int = 12,
                  progress: Callable[[int], None] | None = None, config: TicketConfig = DEFAULT_CONFIG,
                  ) -> HistoryCounts:
    """`days` of requests ending at `until`; `progress(day)` after each day is committed."""
    rng = random.Random(seed)
    faults_rng = random.Random(f"{seed}:faults")  # the faults' own stream: the complaints stay the same
    counts = {"requests": 0, "resolved": 0, "visits": 0, "reopened": 0}
    start = until - timedelta(days=days)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO users (id, name, role) VALUES (%s, 'Demo history agent', 'agent') "
                     "ON CONFLICT DO NOTHING", (AGENT,))
        rows = conn.execute("""SELECT r.id, r.unit_id, u.building_id FROM residents r JOIN units u ON u.id = r.unit_id
                               WHERE r.active ORDER BY u.building_id, r.id""").fetchall()
        conn.commit()
        if not rows:
            raise ValueError("no residents: load the demo estate first")
        residents = [(r, u) for r, u, _ in rows]
        leaky = [(r, u) for r, u, b in rows if b == rows[0][2]]  # the building with recurring leaks
        repeater = residents[len(residents) // 2]  # the household whose lift keeps failing
        channels = {"in_app": InAppChannel(), "webhook": MemoryChannel(), "mqtt": MemoryChannel(),
                    "email": MemoryChannel()}
        next_repeat = start + timedelta(days=rng.uniform(1, 5))
        devices = conn.execute("""SELECT d.id, d.kind FROM devices d
                                  WHERE EXISTS (SELECT 1 FROM device_units du WHERE du.device_id = d.id)
                                  ORDER BY d.id""").fetchall()
        served: dict[str, list[tuple[str, str]]] = {}
        for device, resident, unit in conn.execute(
                """SELECT du.device_id, r.id, r.unit_id FROM device_units du
                   JOIN residents r ON r.unit_id = du.unit_id AND r.active ORDER BY du.device_id, r.id"""):
            served.setdefault(device, []).append((resident, unit))
        conn.commit()
        last_fault: tuple[str, str] | None = None
        for d in range(days):
            day = start + timedelta(days=d)
            filings: list[tuple[datetime, tuple[str, str], str]] = []
            for _ in range(per_day):
                filings.append((day + timedelta(minutes=rng.randint(7 * 60, 22 * 60)), rng.choice(residents),
                                _text(rng)))
            if d % 2 == 0:
                filings.append((day + timedelta(hours=rng.uniform(8, 20)), rng.choice(leaky), rng.choice(LEAK)))
            if day <= next_repeat < day + timedelta(days=1):
                filings.append((next_repeat, repeater, rng.choice(LIFT)))
                next_repeat += timedelta(days=rng.uniform(8, 12))
            for at, (resident, unit), text in sorted(filings):
                if at >= until:
                    continue
                receipt = file_request(conn, kind=RequestKind.COMPLAINT, resident_id=resident, unit_id=unit,
                                       description=text, lang="zh-CN", now=at, config=config)
                counts["requests"] += 1
                if not receipt.folded:
                    _handle(conn, receipt.ticket_id, at, rng, until, counts, config)
            if devices and d % 3 == 0 and day + timedelta(hours=4) < until:  # preventive: out of residents' hours
                device, kind = rng.choice(devices)
                if last_fault is not None and faults_rng.random() < 0.25:
                    device, kind = last_fault  # the same fault came back: its ticket reopens
                _fault(conn, device, kind, day + timedelta(hours=2, minutes=rng.randint(0, 50)), config, faults_rng,
                       served.get(device, []), channels)
                last_fault = (device, kind)
            conn.commit()
            # The day's notices are history too: delivered into in-memory channels, never to real residents.
            dispatch(conn, now=min(day + timedelta(days=1), until), channels=channels)  # type: ignore[arg-type]
            if progress is not None:
                progress(d + 1)
    return HistoryCounts(**counts)


def history(
    ctx: typer.Context,
    months: Annotated[int, typer.Option("--months", min=1, max=36, help="how many months (30 days each)")] = 12,
    seed: Annotated[int, typer.Option("--seed", help="the same seed and --until write the same history")] = 1,
    per_day: Annotated[int, typer.Option("--per-day", min=1, max=500, help="ordinary requests a day")] = 12,
    until: Annotated[datetime | None, typer.Option("--until", help="end (default: now, UTC); ISO time")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: the configured one).")] = None,
) -> None:
    """Write months of resident complaints, their handling, return visits and reopens through the real lifecycle,
    with known shares planted: lift faults about 30 % of facility complaints, a household repeating its lift
    complaint within 30 days, a building with recurring leaks. Load the demo estate first."""
    end = until or datetime.now(UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    url = database_url(ctx, db)  # --db, else the configured one
    root = ctx.find_root().obj
    make_config = getattr(root, "ticket_config", None)  # the configured SLA clocks and calendar
    config = make_config() if callable(make_config) else DEFAULT_CONFIG
    days = months * 30
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"writing {days} days", total=days)
        try:
            counts = write_history(url, until=end, days=days, seed=seed, per_day=per_day,
                                   progress=lambda done: bar.update(task, completed=done), config=config)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"history: {days} days to {end.isoformat()}: {counts.requests} requests, {counts.resolved} "
               f"resolutions, {counts.visits} return visits, {counts.reopened} reopened")
