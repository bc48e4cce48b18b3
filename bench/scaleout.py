"""`python -m bench.scaleout`: ingest/detector workers that scale by site, and what a SIGKILLed one costs.

Everything on loopback: an embedded PostgreSQL and Mosquitto, the demo estate (forewarn/data/demo-estate.yaml: two
sites, riverside and lakeview; `--copies N` adds N-1 copies of both under new ids) and its demo scenario
(simulators/scenarios/demo.yaml: riverside's rs-b1-water-high loses its supply 30 s in, for 20 minutes). Workers are
separate `forewarn run --role ingest --worker-id wN` processes. Only telemetry and events are published (not the
retained status messages, which would leave every device "offline" on the broker between phases).

1. Rate, the baseline in the same run: a backlog of `--messages` of the scenario's traffic, published as fast as
   possible once 1 worker serves every site, is drained; then the same with 3 workers (a fresh stretch of simulated
   time). `rate_ratio` = readings/s with 3 workers over readings/s with 1. A site is served by one worker, so the
   ratio cannot exceed min(3, sites); on a machine with fewer free cores than workers, expect less.
2. Kill: the scenario at its real rate ×`--speed` on the 3 workers; `--kill-at` s in, the worker serving riverside
   (the site with the fault) is killed with SIGKILL. `takeover_s`: from the kill until readings of its sites are
   stored again. Then the run finishes and the backlog drains.

Simulated time runs ahead of the wall clock (readings up to hours ahead are accepted: FOREWARN_INGEST_MAX_FUTURE_S), so
that the detectors' wall-clock tick never sees a device as silent because its readings are simulated in the past.

`readings_lost`: published messages of every phase with no stored reading; `readings_duplicated`: stored rows beyond
one per (device, sequence, metric) of a phase; `alarms_lost`: a labelled fault of the kill phase with no incident
opened on its device, or not recovered though it ended a minute before the phase did, plus queued alarms never
applied (pending or failed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from forewarn.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from forewarn.migrate import migrate
from forewarn.settings import DbMode
from ingest.estate import Estate
from ingest.estate_store import save_estate
from ingest.leases import holders
from simulators.generator import Simulation
from simulators.publisher import Publisher
from simulators.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "simulators" / "scenarios" / "demo.yaml"
FAULTED_SITE = "riverside"
MAX_FUTURE_S = 24 * 3600  # simulated time may run this far ahead of the wall clock (each phase adds its stretch)
SETTLE_S = 120.0  # the longest wait for workers to start, a backlog to drain, or alarms to be applied
RATE_SIM_S = 4 * 3600.0  # simulated time a rate round's backlog is cut from (the demo estate sends ~7 messages/s)
Published = set[tuple[str, int]]  # (device, sequence) of one phase


@dataclasses.dataclass
class Phase:
    name: str
    start: datetime
    end: datetime
    published: Published = dataclasses.field(default_factory=set)
    wall_s: float = 0.0


# -- the estate and the scenario ----------------------------------------------------------------------------------

def copied(estate: Estate, n: int) -> Estate:
    """The estate plus n-1 copies of it, every id suffixed `-cK` (a copy is a site of its own)."""
    if n <= 1:
        return estate
    out = dataclasses.replace(estate, sites=list(estate.sites), buildings=list(estate.buildings),
                              units=list(estate.units), residents=list(estate.residents), devices=list(estate.devices))
    for k in range(2, n + 1):
        def c(x: str, k: int = k) -> str:
            return f"{x}-c{k}"

        def co(x: str | None, k: int = k) -> str | None:
            return None if x is None else f"{x}-c{k}"
        out.sites += [dataclasses.replace(s, id=c(s.id)) for s in estate.sites]
        out.buildings += [dataclasses.replace(b, id=c(b.id), site_id=c(b.site_id), grid=co(b.grid))
                          for b in estate.buildings]
        out.units += [dataclasses.replace(u, id=c(u.id), building_id=c(u.building_id)) for u in estate.units]
        out.residents += [dataclasses.replace(r, id=c(r.id), unit_id=c(r.unit_id)) for r in estate.residents]
        out.devices += [dataclasses.replace(d, id=c(d.id), site_id=c(d.site_id), building_id=co(d.building_id),
                                            serves=frozenset(f"{u}-c{k}" for u in d.serves)) for d in estate.devices]
    return out


def scenario_for(base: Scenario, estate: Estate, copies: int, minutes: float) -> Scenario:
    faults = [*base.faults, *(dataclasses.replace(f, device_id=f"{f.device_id}-c{k}")
                              for k in range(2, copies + 1) for f in base.faults)]
    return dataclasses.replace(base, estate=estate, device_ids=[d.id for d in estate.devices],
                               duration_s=minutes * 60, faults=faults)


def telemetry(sim: Simulation) -> list[tuple[float, str, int, str, bytes]]:
    """(time, device, sequence, topic, payload) of every telemetry and event message of a simulation."""
    out = []
    for t, device, topic, payload in sim.timed():
        if not topic.endswith("/status"):
            out.append((t, device, int(json.loads(payload)["seq"]), topic, payload))
    return out


# -- workers ------------------------------------------------------------------------------------------------------

class Workers:
    def __init__(self, url: str, mqtt_url: str, work: Path) -> None:
        self.url, self.mqtt_url, self.work = url, mqtt_url, work
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, worker_id: str) -> None:
        env = {**os.environ, "FOREWARN_DATABASE_URL": self.url, "FOREWARN_MQTT_URL": self.mqtt_url,
               "FOREWARN_DATA_DIR": str(self.work / worker_id), "FOREWARN_LOG_LEVEL": "WARNING",
               "FOREWARN_DB_POOL_SIZE": "6", "FOREWARN_INGEST_MAX_FUTURE_S": str(MAX_FUTURE_S)}
        log = (self.work / f"{worker_id}.log").open("ab")
        self.procs[worker_id] = subprocess.Popen(
            [sys.executable, "-m", "forewarn", "run", "--role", "ingest", "--worker-id", worker_id],
            env=env, stdout=log, stderr=log)

    def kill(self, worker_id: str) -> None:
        proc = self.procs.pop(worker_id)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.procs.clear()

    def wait_split(self, sites: int) -> dict[str, str]:
        """Until every site is held and the live workers hold a fair share each (min(workers, sites) holders)."""
        wanted = min(len(self.procs), sites)
        deadline = time.monotonic() + SETTLE_S
        with psycopg.connect(self.url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                held = holders(conn)
                if len(held) == sites and len(set(held.values())) == wanted and set(held.values()) <= set(self.procs):
                    time.sleep(2.0)  # one more connect: the holders' consumers subscribe right after their claim
                    return held
                time.sleep(0.2)
        raise RuntimeError(f"the workers did not split the sites within {SETTLE_S:g} s; see {self.work}/*.log")


# -- measuring ----------------------------------------------------------------------------------------------------

def stored(conn: psycopg.Connection, phase: Phase, devices: list[str] | None = None) -> int:
    """Messages of the phase with at least one stored reading (of these devices, if given)."""
    row = conn.execute(
        """SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM readings WHERE ts >= %s AND ts <= %s
           AND (%s::text[] IS NULL OR device_id = ANY(%s))) m""",
        (phase.start, phase.end, devices, devices)).fetchone()
    return int(row[0]) if row else 0


def wait_stored(url: str, phase: Phase, timeout: float = SETTLE_S) -> float:
    """Wall seconds until every message of the phase is stored (or the timeout)."""
    began = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        while stored(conn, phase) < len(phase.published) and time.monotonic() - began < timeout:
            time.sleep(0.1)
    return time.monotonic() - began


def publish(port: int, messages: list[tuple[float, str, int, str, bytes]], phase: Phase, *,
            speed: float | None = None, stop: threading.Event | None = None) -> None:
    """Publish at `speed` × simulated time (None: as fast as possible); every message acknowledged by the broker."""
    publisher = Publisher("127.0.0.1", port, client_id=f"bench-scaleout-{phase.name}")
    publisher.connect()
    wall0, t0 = time.monotonic(), messages[0][0]
    try:
        for t, device, seq, topic, payload in messages:
            if speed is not None:
                due = wall0 + (t - t0) / speed
                if due > time.monotonic():
                    publisher.wait(due - time.monotonic())
            publisher.publish(topic, payload, qos=1)
            phase.published.add((device, seq))
            if stop is not None and stop.is_set():
                break
        publisher.drain(60)
    finally:
        publisher.close()


def rate_round(workers: Workers, port: int, url: str, count: int, sites: int, scenario: Scenario,
               start: datetime, limit: int) -> tuple[Phase, float]:
    """`count` workers drain a backlog of `limit` messages published as fast as possible: (phase, readings/s)."""
    for i in range(count):
        workers.start(f"w{i + 1}")
    workers.wait_split(sites)
    sim = Simulation(dataclasses.replace(scenario, duration_s=RATE_SIM_S), start)
    phase = Phase(f"rate-{count}", sim.start, sim.end)
    messages = telemetry(sim)[:limit]
    phase.end = datetime.fromtimestamp(messages[-1][0], UTC)
    began = time.monotonic()
    publish(port, messages, phase)
    wait_stored(url, phase)
    phase.wall_s = time.monotonic() - began
    return phase, len(phase.published) / phase.wall_s


def kill_phase(workers: Workers, port: int, url: str, scenario: Scenario, start: datetime, speed: float,
               kill_at: float) -> tuple[Phase, float, str, list[str]]:
    """The scenario at `speed`; the worker serving the faulted site is killed `kill_at` wall seconds in.
    Returns (phase, takeover seconds, the victim, its sites)."""
    sim = Simulation(scenario, start)
    phase = Phase("kill", sim.start, sim.end)
    messages = telemetry(sim)
    player = threading.Thread(target=publish, args=(port, messages, phase), kwargs={"speed": speed}, daemon=True)
    began = time.monotonic()
    player.start()
    time.sleep(kill_at)  # the moment of the kill is the scenario's, not an event to wait for
    with psycopg.connect(url, autocommit=True) as conn:
        held = holders(conn)
        victim = held[FAULTED_SITE]
        sites = sorted(site for site, worker in held.items() if worker == victim)
        devices = [r[0] for r in conn.execute("SELECT id FROM devices WHERE site_id = ANY(%s)", (sites,))]
        workers.kill(victim)
        killed = time.monotonic()
        before = stored(conn, phase, devices)
        while stored(conn, phase, devices) <= before:
            if time.monotonic() - killed > SETTLE_S:
                raise RuntimeError(f"nobody took over {sites} within {SETTLE_S:g} s")
            time.sleep(0.1)
        takeover = time.monotonic() - killed
    player.join(scenario.duration_s / speed + SETTLE_S)
    wait_stored(url, phase)
    phase.wall_s = time.monotonic() - began
    return phase, takeover, victim, sites


def duplicated(conn: psycopg.Connection, phase: Phase) -> int:
    row = conn.execute(
        """SELECT count(*) - count(DISTINCT (device_id, seq, metric)) FROM readings WHERE ts >= %s AND ts <= %s""",
        (phase.start, phase.end)).fetchone()
    return int(row[0]) if row else 0


def alarms_lost(conn: psycopg.Connection, sim_faults: list[dict[str, str]], phase: Phase) -> tuple[int, list[str]]:
    """Labelled faults with no incident, or not recovered although they ended a minute before the phase did, plus
    queued alarms never applied; with a line saying what each was."""
    lost: list[str] = []
    deadline = time.monotonic() + SETTLE_S
    while conn.execute("SELECT count(*) FROM alarm_queue WHERE done_at IS NULL AND failed_at IS NULL"
                       ).fetchone()[0] and time.monotonic() < deadline:  # type: ignore[index]
        time.sleep(0.2)
    for f in sim_faults:
        rows = conn.execute("SELECT status FROM incidents WHERE device_id = %s AND fault = %s AND since >= %s",
                            (f["device"], f["fault"], phase.start)).fetchall()
        ended_early = datetime.fromisoformat(f["end"]) < phase.end - timedelta(minutes=1)
        if not rows:
            lost.append(f"{f['device']} {f['fault']}: no incident")
        elif ended_early and all(r[0] == "open" for r in rows):
            lost.append(f"{f['device']} {f['fault']}: never cleared")
    for qid, device, fault, state, error in conn.execute(
            "SELECT id, device_id, fault, state, last_error FROM alarm_queue WHERE done_at IS NULL"):
        lost.append(f"queued alarm {qid} ({device} {fault} {state}) never applied: {error}")
    return len(lost), lost


# -- the run ------------------------------------------------------------------------------------------------------

def run(args: argparse.Namespace, url: str, port: int, work: Path) -> None:
    base = load_scenario(SCENARIO)
    estate = copied(base.estate, args.copies)
    with psycopg.connect(url) as conn:
        save_estate(conn, estate)
    scenario = scenario_for(base, estate, args.copies, args.minutes)
    sites = len(estate.sites)
    workers = Workers(url, f"mqtt://127.0.0.1:{port}", work)
    # Every phase in its own stretch of simulated time, later than the one before (the detectors judge by reading
    # time, so a phase earlier than the last would be "out of order"), all ahead of the wall clock.
    t = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    phases: list[Phase] = []
    try:
        one, rate1 = rate_round(workers, port, url, 1, sites, scenario, t, args.messages)
        workers.stop_all()
        phases.append(one)
        three, rate3 = rate_round(workers, port, url, 3, sites, scenario, one.end + timedelta(minutes=1),
                                  args.messages)
        phases.append(three)
        ahead = (three.end - datetime.now(UTC)).total_seconds() + args.minutes * 60
        if ahead > MAX_FUTURE_S - 600:
            raise SystemExit(f"the phases reach {ahead / 3600:.1f} h ahead of the wall clock, past what the workers "
                             f"accept ({MAX_FUTURE_S / 3600:g} h): use fewer --messages or --minutes")
        kill, takeover, victim, moved = kill_phase(workers, port, url, scenario, three.end + timedelta(minutes=1),
                                                   args.speed, args.kill_at)
        phases.append(kill)
        faults = [r for r in Simulation(scenario, kill.start).labels() if r["record"] == "fault"]
        with psycopg.connect(url, autocommit=True) as conn:
            lost = {p.name: len(p.published) - stored(conn, p) for p in phases}
            doubled = {p.name: duplicated(conn, p) for p in phases}
            alarms, why = alarms_lost(conn, faults, kill)
            incidents = conn.execute(
                """SELECT device_id, fault, extract(epoch FROM detected_at - %(t0)s),
                          extract(epoch FROM recovered_at - %(t0)s) FROM incidents WHERE since >= %(t0)s
                   ORDER BY id""", {"t0": kill.start}).fetchall()
    finally:
        workers.stop_all()
    report(args, sites, phases, {"rate-1": rate1, "rate-3": rate3}, lost, doubled, takeover, victim, moved,
           alarms, why, incidents)


def report(args: argparse.Namespace, sites: int, phases: list[Phase], rates: dict[str, float],
           lost: dict[str, int], doubled: dict[str, int], takeover: float, victim: str, moved: list[str],
           alarms: int, why: list[str], incidents: list[tuple[str, str, float, float | None]]) -> None:
    print(f"\nscale-out by site: demo estate x{args.copies} ({sites} sites), scenario {SCENARIO.name}, "
          f"kill phase at x{args.speed:g} real rate, {victim} (serving {', '.join(moved)}) SIGKILLed "
          f"{args.kill_at:g} s in\n")
    print(f"{'phase':<8} {'workers':>7} {'messages':>9} {'wall s':>7} {'msg/s':>8} {'lost':>5} {'doubled':>8}")
    for p in phases:
        count = {"rate-1": 1}.get(p.name, 3)
        rate = len(p.published) / p.wall_s if p.wall_s else 0.0
        print(f"{p.name:<8} {count:>7} {len(p.published):>9} {p.wall_s:>7.1f} {rate:>8.0f} {lost[p.name]:>5} "
              f"{doubled[p.name]:>8}")
    print(f"\nkill phase, simulated seconds from its start (the kill at {args.kill_at * args.speed:.0f}):")
    for device, fault, opened, recovered in incidents:
        end = f"recovered at {float(recovered):.0f}" if recovered is not None else "still open"
        print(f"  incident {device} {fault}: opened at {float(opened):.0f}, {end}")
    print(f"alarms lost: {alarms}")
    for line in why:
        print(f"  {line}")
    ratio = rates["rate-3"] / rates["rate-1"] if rates["rate-1"] else 0.0
    print(f"\nRESULT readings_lost={sum(lost.values())} count")
    print(f"RESULT readings_duplicated={sum(doubled.values())} count")
    print(f"RESULT alarms_lost={alarms} count")
    print(f"RESULT takeover_s={takeover:.1f} s")
    print(f"RESULT rate_ratio={ratio:.2f} ratio")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1, help="copies of the demo estate (each adds its 2 sites)")
    parser.add_argument("--messages", type=int, default=20_000, help="backlog of each rate round")
    parser.add_argument("--speed", type=float, default=20.0, help="kill phase: times the real rate")
    parser.add_argument("--minutes", type=float, default=25.0, help="kill phase: simulated minutes")
    parser.add_argument("--kill-at", type=float, default=20.0, help="kill phase: wall seconds before the kill")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fw-bench-scaleout-") as tmp:
        work = Path(tmp)
        pg = EmbeddedPostgres(work / "pg", free_port(), durable=False)
        broker = EmbeddedBroker(work / "broker", free_port())
        try:
            admin = pg.start()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            url = admin.rsplit("/", 1)[0] + "/bench"
            migrate(url, DbMode.AUTO)
            broker.start()
            run(args, url, broker.port, work)
        finally:
            broker.stop()
            pg.stop()


if __name__ == "__main__":
    main()
