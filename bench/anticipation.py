"""The anticipation benchmark: `python -m bench.anticipation [--quick] [--seeds N] [--days D]`.

Runs the real platform in-process — embedded PostgreSQL, a real Mosquitto, the same roles as `forewarn demo`
(ingest + detectors, scheduler with the notice outbox, the API) — against simulated days of the demo estate at full
speed, with every resident-visible fault type of `simulators.faults` injected several times at seeded random times,
sensor faults, non-visible door faults and misbehaving devices mixed in, and the emulated residents complaining
through `POST /api/v1/complaints`. Each seed is played four times, each on a fresh database and broker, the plays
side by side in their own processes (`--jobs`, `bench.anticipation_jobs`; `--jobs 1`: one after the other):

- ``forewarn``: the platform as shipped;
- ``threshold-only``: a competent fixed-threshold rule set — every fault whose shipped rule needs a learned baseline
  (`LEARNED_FAULTS`: burst, pump current, night flow, vibration reference, spikes, telemetry rate) is replaced by a
  fixed limit where one exists physically (`fixed_limits`: a booster's pressure floor for the pump, a flow ceiling
  per zone for a burst) and otherwise never raised; a rule with a fixed limit beside a learnt one (the tank: its 20%
  floor, or well under its usual level) keeps only the fixed limit (observations marked `learned`);
- ``complaint-only``: no detection at all; every ticket comes from a complaint. It watches no device, so no device
  traffic is played to it (`WATCHES`): the same complaints reach the API at their own times, the clock following
  them (`tests/bench/test_anticipation_watches.py`: the same complaints, tickets and figures as with the traffic);
- ``alarm-button``: complaints plus the lift alarm button — only the entrapment rule raises, and only the lifts'
  traffic is played to it (`WATCHES`).

The outcome is then read from the database only, by `tickets.anticipation` (the same functions a manager's report
uses), given the run's ground-truth label file as the list of known faults; one table per variant, a row per fault
type and a total, then the `RESULT` lines for the shipped platform.

Simulated time. The platform's clock (`Platform(clock=…)`) is the newest reading the detectors have judged, and an
alarm is handled at its own decision time (the reading that raised it), so ticket, incident and notice times are
simulated times. Complaints are delivered at their simulated time only once the platform has judged every reading up
to that time (the bench's player publishes in lockstep with the platform, at most `LEAD_S` simulated seconds ahead
of it), so a complaint never overtakes the readings that came before it. Notices count from their delivery
(`notices.delivered_at`, tickets/outbox.py): the outbox runs in lockstep too, right after each detector step that
raised an alarm and otherwise every 5 simulated seconds, delivering each pending row at its own due time as the
scheduler's dispatcher would (`LockstepOutbox`: its 1 s wall interval would be minutes of simulated time at full
speed, and a step's newest reading is up to `LEAD_S` past an alarm), on the product's channels with fake gateways
for SMS/WeChat, e-mail and push that accept at once; quiet hours hold what the product's policy holds
(tickets/notices.py `delivery_plan`).

Seams, no patching: the run drives the platform through `Platform(clock=…, hooks=PipelineHooks(…))` — the variant's
engine (`engine`), each alarm handled at its own time (`alarm_time`), and the lockstep clock told after each
detector step (`on_judged`).

Simplifications, stated. The in-process platform judges about 1,000 messages per wall second on 2 cores, so a
simulated week of the whole estate (four variants, several seeds) does not fit. Instead: telemetry every 30 s
(elevators, water) and 60 s (doors) instead of 5/5/30 s; per seed, 0.4 simulated days of the whole estate with every
acute resident-visible fault type injected twice (`--days`, `--repeats`), each seed's run starting at a seeded
moment anywhere in the week (`seed_start`), 15 seeds (so 30 faults per acute type, onsets spread over 24 h × 7
days: 10 seeds injected 20 per type, but only 159 of those 283 faults met a resident — a car out of service at
03:00 or a slow side door is often met by nobody — under the ≥ 180 resident-visible faults the figures need, and
12–15 of the door, reader and out-of-service types; seeds 1–10 are unchanged, 11–15 added); 30 % of entrapments,
out-of-service cars, reader and door faults intermittent (`episodes`); 10 degradation runs
(`--degradation-seeds`) of 4.5 simulated days (`--degradation-days`), each starting at its seed's moment of the week,
with two devices drawn per seed for each degradation type (bearing wear, levelling drift, slow leak: 20 of each),
those devices alone, telemetry every 60 s (`DEGRADATION_INTERVAL_S`); and
the silence-and-loss run of bench/silence.py (`--silence-hours`). Each acute run also carries ordinary life
(bench/anticipation_nuisance.py): a lift parked for a declared maintenance visit, a building's power blip and
passengers holding every lift's door at 2 % of stops, no fault, so whatever ticket they open is a false ticket.
The fault shapes are not the simulator's own (`simulators/*.py` `fault_params`, the ones the detectors were
developed on) but drawn per seed and fault from
ranges two to three times wider (`bench.fault_shapes`): amplitude (a door fault of 7-14 s cycles up to 15-56 s, a
burst of a fifth to one and a half times the usual, a supply that only weakens), 40 % of doors, bursts, pumps and
supplies failing gradually over 1-30 min, an entrapment's alarm pressed after 10 s to 5 min, and a quarter of
pumps, readers and out-of-service cars failing another way (a pump running without delivering, a reader that stays
"healthy" but reads nothing, a car parked without a fault code); an intermittent fault's episodes share one shape.
`--quick`: one seed, 6 simulated hours, every acute type once, no degradation or silence run.

Where each part lives: the faults each seed plays and the label file read back as known faults in
`bench.anticipation_plan`; ordinary life in `bench.anticipation_nuisance`; the fault shapes in `bench.fault_shapes`;
the plays side by side in `bench.anticipation_jobs`; the printed tables, the merge of seeds and the `RESULT` lines in
`bench.anticipation_report`, the verdict on the issue's targets in `bench.anticipation_targets`; the variants (the
engine's switches, what each watches, the fixed limits) in `bench.anticipation_variants`; the player, the simulated
clock and the lockstep outbox in `bench.anticipation_lockstep`; here, one play against a fresh platform
(`run_variant`) and the command.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import psycopg

from api.auth import Role as UserRole
from api.auth import create_user, issue_token
from bench.anticipation_lockstep import INGEST_FLUSH_MS, LockstepOutbox, Loss, SimClock, play
from bench.anticipation_nuisance import declare, visits
from bench.anticipation_nuisance import describe as describe_nuisance
from bench.anticipation_plan import (
    ACUTE_VISIBLE,
    DAY,
    DEGRADATION_PER_TYPE,
    DEGRADATION_SEEDS,
    START,
    TAIL_S,
    TZ,
    fault_shapes,
    known_faults,
    scenario_for,
    seed_start,
)
from bench.anticipation_report import fmt, merge, print_results, print_table
from bench.anticipation_targets import activity_before_deadline, verdict
from bench.anticipation_variants import PREFIX, VARIANTS, WATCHES, BenchEngine
from detectors.alarm import Alarm
from forewarn.configs import ticket_config
from forewarn.context import ensure_database
from forewarn.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from forewarn.pipeline import PipelineHooks
from forewarn.runtime import Platform
from forewarn.settings import load_settings
from ingest.estate_store import save_estate
from simulators.residents import HttpComplaintSink
from simulators.scenario import Scenario
from tickets.anticipation import (
    AnticipationReport,
    KnownFault,
    anticipation_report,
    quantile,
)

log = logging.getLogger("bench.anticipation")


# -- one run ------------------------------------------------------------------------------------------------------


def _prepare_database(admin_url: str, name: str) -> str:
    url = ensure_database(admin_url, name)
    return url


def _agent_token(url: str) -> str:
    with psycopg.connect(url) as conn:
        create_user(conn, user_id="bench-agent", name="Bench Agent", role=UserRole.AGENT)
        return issue_token(conn, "bench-agent", label="bench")


# The distinct moments at which pending outbox rows fell due, up to now (tickets/outbox.py `_CLAIM` takes the rows
# due at a moment): the lockstep outbox delivers each at its own.
def run_variant(admin_url: str, workdir: Path, scenario: Scenario, variant: str,
                loss: Loss = Loss()) -> tuple[AnticipationReport, dict]:
    """Play `scenario` against a fresh platform running `variant`; the figures read back from its database.
    Its broker and API ports are picked as it starts (free then; `bench.anticipation_jobs` retries if taken). Its
    database, broker directory and label file are named after the scenario and variant, not the seed: an acute run
    and a degradation run share their seed, and side by side one's start would drop the other's database."""
    name = re.sub(r"[^a-z0-9]+", "_", f"bench_{scenario.name}_{variant}".lower())
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    url = ensure_database(admin_url, name)
    broker_port, api_port = free_port(), free_port()
    broker = EmbeddedBroker(workdir / f"broker-{name}", broker_port)
    broker.start()
    clock = SimClock(scenario.start or START)
    settings = load_settings(environ={}, database_url=url, mqtt_url=broker.url, api_port=api_port,
                             data_dir=workdir / name, ingest_max_past_s=30 * 86400, ingest_max_future_s=30 * 86400,
                             ingest_batch_size=300, ingest_flush_ms=INGEST_FLUSH_MS,
                             secret_key="bench-anticipation-not-a-secret")

    def prepare(platform: Platform) -> None:
        with psycopg.connect(platform.database_url) as conn:
            save_estate(conn, scenario.estate)  # as the scenario read it: one parse per run, not one per play
            declare(conn, scenario.start or START, visits(scenario))  # the engineers' planned visits

    engine = BenchEngine(clock, variant)  # the pipeline registers the estate's devices into it
    outbox = LockstepOutbox(clock, ticket_config(settings))

    def judged(alarms: list[Alarm]) -> None:
        try:
            outbox.deliver(alarms)  # notices written by this step reach residents at this simulated moment
        except psycopg.Error:  # the next lockstep dispatch takes every row due by then; the step is still judged
            log.exception("lockstep outbox dispatch failed")
        finally:
            clock.settle(alarms)

    hooks = PipelineHooks(engine=engine, alarm_time=lambda alarm: alarm.ts, on_judged=judged)
    platform = Platform(settings, prepare=prepare, clock=clock.now, hooks=hooks, channels=outbox.channels,
                        caller_runs=LockstepOutbox.RUNS)
    wall0 = time.monotonic()
    sink = None
    try:
        platform.start()  # inside: a platform that cannot start still stops the broker started for it
        outbox.url = platform.database_url
        ingest = platform.ingest
        assert ingest is not None, "the bench runs every role"
        sink = HttpComplaintSink(f"http://127.0.0.1:{settings.api_port}", _agent_token(url))
        labels = workdir / f"{name}.labels.jsonl"
        service = ingest.service
        assert service is not None, "the bench runs one consumer for every site"

        def refused() -> int:
            stats = service.stats  # a snapshot: read it at each call, or the count never moves
            return stats.dead_lettered + stats.duplicates

        def ingest_state() -> str:
            n = service.stats
            return (f"ingest: {n.received} received, {n.stored} stored, {n.queue_depth} queued, {n.batches} batches, "
                    f"{n.db_retries} database retries, connected {n.connected}")

        def advance(moment: float) -> None:  # no device traffic: the clock follows the complaints
            clock.t = max(clock.t, moment)
            judged([])

        watched = WATCHES.get(variant)
        summary = play(scenario, platform.broker_host, platform.broker_port, labels, sink, clock, refused, loss,
                       ingest_state, watched, advance if watched == frozenset() else None)
        # Let the platform judge the last readings (the measured period ends `TAIL_S` before the run).
        clock.wait_until((scenario.start or START).timestamp() + scenario.duration_s - TAIL_S, 120)
        wall = time.monotonic() - wall0
    finally:
        if sink is not None:
            sink.close()
        platform.stop()
        outbox.close()
        broker.stop()
    faults, since, until = known_faults(labels)
    with psycopg.connect(url) as conn:
        report = anticipation_report(conn, faults, since=since, until=until,
                                     device_days=len(scenario.device_ids) * (until - since).total_seconds() / DAY)
        if log.isEnabledFor(logging.INFO):
            _explain(conn, variant, report)
        rescue = rescue_delays(conn, faults)
        nuisance = describe_nuisance(conn, scenario, report.false_alarm_tickets)
        activity = activity_before_deadline(conn, report.outcomes)
    info = {"database": url, "labels": labels, "messages": summary.messages, "wall_s": wall,
            "complaints": summary.complaints, "complaints_failed": summary.complaints_failed,
            "complaints_retried": sink.retried if sink is not None else 0,
            "late_complaints": summary.stalls, "waits": summary.waits, "waited_s": summary.waited_s,
            "alarm_failures": ingest.alarms.failed + ingest.alarms.retries + ingest.pipeline.queue_failures,
            "rescue_s": rescue, "nuisance": nuisance, "activity": activity, "shapes": fault_shapes(labels)}
    return report, info


def rescue_delays(conn: psycopg.Connection, faults: list[KnownFault]) -> list[float | None]:
    """For each entrapment: seconds from the passengers' alarm press (the stored `alarm_button` reading: their
    report) to the first entrapment work order on the car — opened as one, or escalated to one from the car's
    routine order (`tickets.escalation`: its `escalated_at`); None when no work order came while it lasted."""
    out: list[float | None] = []
    for fault in (f for f in faults if f.fault == "entrapment"):
        press = conn.execute(
            """SELECT min(ts) FROM readings WHERE device_id = %s AND metric = 'alarm_button' AND value > 0
               AND ts >= %s AND ts < %s""", (fault.device_id, fault.onset, fault.end)).fetchone()
        if press is None or press[0] is None:
            continue  # released before anyone pressed
        order = conn.execute(
            """SELECT min(COALESCE(escalated_at, created_at)) FROM work_orders WHERE device_id = %s
               AND fault = 'entrapment' AND COALESCE(escalated_at, created_at) >= %s
               AND COALESCE(escalated_at, created_at) < %s""",
            (fault.device_id, fault.onset - timedelta(seconds=1), fault.end)).fetchone()
        out.append((order[0] - press[0]).total_seconds() if order and order[0] else None)
    return out


def _explain(conn: psycopg.Connection, variant: str, report: AnticipationReport) -> None:
    """--verbose: each known fault with what the platform made of it, for whoever tunes the detectors."""
    for o in report.outcomes:
        rows = conn.execute("SELECT id, fault, detected_at, ticket_id FROM incidents WHERE id = ANY(%s) ORDER BY id",
                            (o.incidents,)).fetchall()
        found = ", ".join(f"{fault}@+{(at - o.fault.onset).total_seconds():.0f}s#t{ticket}"
                          for _id, fault, at, ticket in rows)
        log.info("%s %s %s %s +%.0fs visible=%s complaints=%d first=%s notice=%s tickets=%s: %s", variant,
                 o.fault.device_id, o.fault.fault, o.fault.onset.isoformat(), (o.fault.end - o.fault.onset)
                 .total_seconds(), o.fault.visible_at and (o.fault.visible_at - o.fault.onset).total_seconds(),
                 o.complaints, o.first_complaint and (o.first_complaint - o.fault.onset).total_seconds(),
                 o.notice_delay_s, sorted(o.tickets), found)
    for line in false_alarms(conn, report.false_alarm_tickets):
        log.info("%s false alarm %s", variant, line)


def false_alarms(conn: psycopg.Connection, tickets: Sequence[int]) -> list[str]:
    """Each incident on these tickets (the false alarms), as one line: the ticket, the device, the fault, when it was
    detected and the ticket's description."""
    return [f"#t{ticket}: {device} {fault} at {at.astimezone(TZ):%a %H:%M:%S}: {summary}"
            for ticket, device, fault, at, summary in conn.execute(
                """SELECT t.id, i.device_id, i.fault, i.detected_at, t.description FROM tickets t
                   JOIN incidents i ON i.ticket_id = t.id WHERE t.id = ANY(%s) ORDER BY t.id, i.id""",
                (list(tickets),))]


def main(argv: list[str] | None = None) -> None:
    from bench.anticipation_jobs import default_jobs, run_plays  # it builds on this module

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 simulated hours, acute faults only (CI)")
    parser.add_argument("--seeds", type=int, default=None, help="how many seeds (default: 1 quick, 15 full)")
    parser.add_argument("--days", type=float, default=None, help="simulated days per seed (default 0.25 / 0.4)")
    parser.add_argument("--degradation-days", type=float, default=4.5,
                        help="simulated days of each degradation run (full mode; 0: none)")
    parser.add_argument("--degradation-seeds", type=int, default=DEGRADATION_SEEDS,
                        help=f"degradation runs, each with {DEGRADATION_PER_TYPE} faults of every degradation type "
                             f"(full mode; default {DEGRADATION_SEEDS}; 0: none)")
    parser.add_argument("--repeats", type=int, default=None, help="injections per acute visible fault type")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " +
                        ", ".join(VARIANTS))
    parser.add_argument("--verbose", action="store_true", help="log each fault and what the platform did")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--silence-hours", type=float, default=None,
                        help="simulated hours of the silence-and-loss run (default: 0 quick, 6 full; 0: none)")
    jobs = default_jobs()
    parser.add_argument("--uses-from-trips", action="store_true",
                        help="an experiment, not the benchmark: residents' uses of a car that keeps running through "
                             "its fault (door, bearing, levelling) are its own trips, not draws from the hourly rate "
                             "(simulators/usage.py)")
    parser.add_argument("--jobs", type=int, default=jobs,
                        help=f"plays run at once, each in its own process (default {jobs}: one more than the cores; "
                             "1: one by one, in this process)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    configure_logging(args.verbose)
    seeds = args.seeds or (1 if args.quick else 15)
    days = args.days or (0.25 if args.quick else 0.4)
    repeats = args.repeats or (1 if args.quick else 2)
    degradation_days = 0.0 if args.quick else args.degradation_days
    degradation_seeds = args.degradation_seeds if degradation_days else 0
    if degradation_seeds < 0:
        parser.error("--degradation-seeds cannot be negative")
    variants = [v for v in args.variants.split(",") if v]
    silence_hours = args.silence_hours if args.silence_hours is not None else (0.0 if args.quick else 6.0)
    silence: list[str] = []
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="fw-bench-anticipation-"))
    pg = EmbeddedPostgres(workdir / "postgres", free_port(), durable=False)
    admin = pg.start()
    try:
        tied = args.uses_from_trips
        plays = [scenario_for(seed, days * 24, repeats=repeats, start=seed_start(seed), uses_from_trips=tied)
                 for seed in range(1, seeds + 1)]
        plays += [scenario_for(seed, degradation_days * 24, repeats=0, degradation=True, start=seed_start(seed),
                               uses_from_trips=tied) for seed in range(1, degradation_seeds + 1)]

        def progress(scenario: Scenario, variant: str, outcome: tuple[AnticipationReport, dict]) -> None:
            # On stderr: a full run takes many minutes, and its table comes only at the end.
            info = outcome[1]
            print(f"{scenario.name} {variant}: {info['messages']:,} messages, {info['wall_s']:.0f} s wall "
                  f"({info['waited_s']:.0f} s waiting {info['waits']} times, {info['late_complaints']} stalls); "
                  f"{time.monotonic() - started:.0f} s since the start", file=sys.stderr, flush=True)

        extra = []
        if silence_hours:
            from bench.silence import run as run_silence  # it builds on this module

            extra.append((run_silence, (admin, workdir, silence_hours)))
        results, others = run_plays(admin, workdir, plays, variants, jobs=args.jobs, verbose=args.verbose,
                                    done=progress, extra=extra)
        if others:
            silence, _ = others[0]
    finally:
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nanticipation benchmark: {seeds} seed(s) × {days:g} simulated days of the demo estate (acute faults)"
          + (f", + {degradation_seeds} run(s) × {degradation_days:g} days of {DEGRADATION_PER_TYPE} devices per"
             f" degradation type (degradation faults)" if degradation_seeds else "")
          + "; rates over resident-visible faults; times median/p90 (onset→notice) and median/p10 (lead)")
    if args.uses_from_trips:
        print("EXPERIMENT (--uses-from-trips), not the benchmark's figures: residents' uses of a car running through "
              "its fault are its own trips (simulators/usage.py SERVED_THROUGH); every other use is drawn as usual")
    merged = {}
    for variant in variants:
        runs = results[variant]
        merged[variant] = merge([r for r, _ in runs])
        info = {"messages": sum(i["messages"] for _, i in runs), "complaints": sum(i["complaints"] for _, i in runs),
                "wall_s": sum(i["wall_s"] for _, i in runs), "waits": sum(i["waits"] for _, i in runs),
                "waited_s": sum(i["waited_s"] for _, i in runs)}
        print_table(variant, merged[variant], info)
        rescue = [d for _, i in runs for d in i["rescue_s"]]
        done = [d for d in rescue if d is not None]
        if WATCHES.get(variant) == frozenset():
            print("entrapment rescue: no device is watched in this variant, so no alarm press reaches the platform "
                  "(no device traffic is played to it)")
        else:
            print(f"entrapment rescue: work order relative to the passengers' alarm press (negative: dispatched "
                  f"before anyone pressed), median {fmt(quantile(done, 0.5), digits=0)} s, p90 "
                  f"{fmt(quantile(done, 0.9), digits=0)} s ({len(done)} of {len(rescue)} presses got one while the "
                  f"car was stuck)")
        nuisance = {k: sum(i["nuisance"][k] for _, i in runs) for k in runs[0][1]["nuisance"]} if runs else {}
        if nuisance.get("visits") or nuisance.get("blips"):
            print(f"ordinary life in the normal running: {nuisance['visits']} planned maintenance visit(s) (lift "
                  f"parked 1-2 h, declared; {nuisance['suppressed_alarms']} alarm(s) held back by the windows) and "
                  f"{nuisance['blips']} power blip(s) of a building (30-120 s): {nuisance['false_tickets']} of the "
                  "false tickets on a device they touched; passengers held every lift's door at 2 % of its stops")
        if variant == "forewarn":  # the shipped platform: each target met or not, and why a fault was missed
            activity = {key: events for _, i in runs for key, events in i["activity"].items()}
            shapes = {key: shape for _, i in runs for key, shape in i["shapes"].items()}
            print("\n".join(verdict(merged[variant], ACUTE_VISIBLE, TZ, activity, shapes)))
        late = sum(i["late_complaints"] + i["complaints_failed"] + i["alarm_failures"] for _, i in runs)
        if late:
            print(f"note: {late} stall(s) of the player, failed complaint(s) or unhandled alarm(s) — see the log")
        if retried := sum(i["complaints_retried"] for _, i in runs):
            print(f"note: {retried} complaint post(s) sent again after a lost answer or a 5xx, under the same "
                  "Idempotency-Key (each complaint filed once)")
    if silence:
        print("\n== silence and loss (bench/silence.py) ==")
        print("\n".join(silence))
    if args.json:
        args.json.write_text(json.dumps({v: dataclasses.asdict(r.total) for v, r in merged.items()}, indent=2))
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    for variant, report in merged.items():
        print_results(PREFIX.get(variant, variant.replace("-", "_") + "_"), report)


def configure_logging(verbose: bool) -> None:
    """The run's logging (also each play's process when they run side by side, `bench.anticipation_jobs`)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: already running" while notices pile up
    if verbose:
        log.setLevel(logging.INFO)


if __name__ == "__main__":
    main()
