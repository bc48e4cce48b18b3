"""API load and outage benchmark: `python -m bench.load [--clients 200] [--baseline-clients 10] [--seconds 40]
[--outage-s 20]`.

On loopback only, against a platform started as an operator starts it (`forewarn run`, embedded PostgreSQL and
broker in a temporary directory, the demo estate loaded with `forewarn estate load`):

1. floor: the `--clients` clients for `--seconds` against a server that does nothing (`noop_app`): what the
   clients and the machine cost by themselves;
2. baseline: `--baseline-clients` clients for `--seconds`;
3. load: `--clients` concurrent clients for `--seconds`;
4. outage: the same clients while the embedded PostgreSQL is stopped for `--outage-s` (`pg_ctl stop -m fast`), then
   started again, and 25 s more.

A client is a person using the app: it sends one request, waits 1–3 s (uniform, seeded), and sends the next.
Residents (80 % of clients) list their complaints and notices, open one complaint, and now and then (5 %) file a
complaint about their own unit; agents list tickets and open one, or file a complaint for a resident (5 %);
engineers list their work orders and incidents; managers read the review metrics and the ticket list.
Every request has a 10 s timeout: one that has no answer by then counts as hung. A server error is any 5xx
answer except 503 with `Retry-After` (the API's deliberate refusal), which is counted apart as `refused`.

Prints a table, then `RESULT` lines: p95_ms (load phase), server_errors and hung_requests (all phases),
db_down_max_response_ms (slowest answer to a request sent while the database was down), recovery_s (from the
database's return until the last failed answer; 0 if the first request after it succeeded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import psycopg

from api.auth import Role, create_user, ensure_resident_user, issue_token
from forewarn.embedded import EmbeddedPostgres, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "forewarn" / "data" / "demo-estate.yaml"
TIMEOUT_S = 10.0  # an answer later than this is a hung request
THINK_S = (1.0, 3.0)
WRITE_SHARE = 0.05


@dataclass
class Sample:
    phase: str
    sent: float
    elapsed: float
    status: int  # 0 = no answer within TIMEOUT_S (hung); -1 = connection error
    retry_after: bool


@dataclass
class Client:
    role: str
    token: str
    resident_id: str | None = None
    unit_id: str | None = None
    rng: random.Random = field(default_factory=random.Random)
    complaint_ids: list[int] = field(default_factory=list)


async def noop_app(scope: dict[str, object], receive: object, send: Callable[[dict[str, object]], Awaitable[None]]
                   ) -> None:
    """The floor: a server that answers `[]` at once, served by uvicorn in its own process like the platform's API.
    What the clients measure against it is the cost of the clients and the machine, not of Forewarn."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"[]"})


@contextmanager
def noop_server() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.load:noop_app", "--port", str(port),
                                "--log-level", "warning"], cwd=ROOT)
    try:
        if not wait_for_port(port, 60):
            raise RuntimeError("the no-op server did not start")
        yield port
    finally:
        process.terminate()
        process.wait(30)


class Platform:
    """`forewarn run` in a child process, on the embedded servers in `workdir`."""

    def __init__(self, workdir: Path, roles: list[str]) -> None:
        self.roles = roles
        self.db_port, self.api_port = free_port(), free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")} | {
            "FOREWARN_DATA_DIR": str(workdir), "FOREWARN_EMBEDDED_DB_PORT": str(self.db_port),
            "FOREWARN_EMBEDDED_MQTT_PORT": str(free_port()), "FOREWARN_API_PORT": str(self.api_port),
            "FOREWARN_LOG_LEVEL": "WARNING"}
        self.postgres = EmbeddedPostgres(workdir / "postgres", self.db_port)
        self.log = open(workdir / "platform.log", "wb")  # noqa: SIM115 - the child's output, closed in stop()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.db_port}/forewarn"

    def start(self) -> None:
        subprocess.run([sys.executable, "-m", "forewarn", "estate", "load", str(DEMO)], env=self.env, check=True,
                       capture_output=True, timeout=300, cwd=ROOT)
        role_args = [arg for role in self.roles for arg in ("--role", role)]
        self.process = subprocess.Popen([sys.executable, "-m", "forewarn", "run", *role_args], env=self.env, cwd=ROOT,
                                        stdout=self.log, stderr=self.log)
        if not wait_for_port(self.api_port, 180):
            self.stop()
            raise RuntimeError("the platform's API did not start; see platform.log")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.postgres.stop()  # in case the platform could not
        self.log.close()


def make_clients(url: str, count: int, seed: int) -> list[Client]:
    """80 % residents (one per unit, distinct), 10 % agents, 5 % engineers, 5 % managers, each with a token."""
    rng = random.Random(seed)
    residents_n = count * 8 // 10
    staff = [("agent", Role.AGENT, "customer_service")] * (count // 10) + \
            [("engineer", Role.ENGINEER, "engineering")] * (count // 20)
    staff += [("manager", Role.MANAGER, "management")] * (count - residents_n - len(staff))
    clients: list[Client] = []
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT DISTINCT ON (unit_id) id, unit_id FROM residents WHERE active "
                            "ORDER BY unit_id, id").fetchall()
        for resident_id, unit_id in rng.sample(rows, residents_n):
            token = issue_token(conn, ensure_resident_user(conn, resident_id), label="bench")
            clients.append(Client("resident", token, resident_id, unit_id, random.Random(rng.random())))
        departments = {r[0] for r in conn.execute("SELECT id FROM departments")}
        for i, (name, role, dept) in enumerate(staff):
            user_id = f"bench-{name}-{i}"
            create_user(conn, user_id=user_id, name=user_id, role=role,
                        department_id=dept if dept in departments else None)
            clients.append(Client(name, issue_token(conn, user_id, label="bench"), rng=random.Random(rng.random())))
    return clients


def _complaint(client: Client, resident_id: str, unit_id: str) -> dict[str, object]:
    body: dict[str, object] = {"unit_id": unit_id, "channel": "app", "description": "楼道灯不亮了，晚上看不见",
                               "reported_at": datetime.now(UTC).isoformat()}
    if client.role != "resident":
        body["resident_id"] = resident_id
    return body


def next_request(client: Client, residents: list[Client]) -> tuple[str, str, dict[str, object] | None]:
    """(method, path, JSON body) of the client's next action."""
    r = client.rng
    write = r.random() < WRITE_SHARE
    if client.role == "resident":
        assert client.resident_id and client.unit_id
        if write:
            return "POST", "/api/v1/complaints", _complaint(client, client.resident_id, client.unit_id)
        if client.complaint_ids and r.random() < 0.3:
            return "GET", f"/api/v1/complaints/{r.choice(client.complaint_ids)}", None
        return "GET", r.choice(["/api/v1/complaints", "/api/v1/notices"]), None
    if client.role == "agent":
        if write:
            other = r.choice(residents)
            assert other.resident_id and other.unit_id
            return "POST", "/api/v1/complaints", _complaint(client, other.resident_id, other.unit_id)
        return "GET", r.choice(["/api/v1/tickets?limit=50", "/api/v1/complaints?limit=50"]), None
    if client.role == "engineer":
        return "GET", r.choice(["/api/v1/work-orders?limit=50", "/api/v1/incidents?limit=50"]), None
    now = datetime.now(UTC)
    span = f"since={(now - timedelta(days=30)).isoformat()}&until={now.isoformat()}".replace("+", "%2B")
    return "GET", r.choice([f"/api/v1/metrics/review?{span}", "/api/v1/tickets?limit=50"]), None


async def run_client(http: aiohttp.ClientSession, client: Client, residents: list[Client], phase: list[str],
                     until: float, samples: list[Sample]) -> None:
    await asyncio.sleep(client.rng.uniform(0, THINK_S[1]))  # do not all start in the same instant
    while time.monotonic() < until:
        method, path, body = next_request(client, residents)
        sent, current = time.monotonic(), phase[0]
        status, retry = -1, False
        try:
            async with asyncio.timeout(TIMEOUT_S):
                async with http.request(method, path, json=body,
                                        headers={"Authorization": f"Bearer {client.token}"}) as answer:
                    payload = await answer.read()
                    status, retry = answer.status, "Retry-After" in answer.headers
            if status == 201 and client.role == "resident":
                client.complaint_ids.append(int(json.loads(payload)["complaint_id"]))
        except TimeoutError:
            status = 0
        except aiohttp.ClientError:
            status = -1
        samples.append(Sample(current, sent, time.monotonic() - sent, status, retry))
        await asyncio.sleep(client.rng.uniform(*THINK_S))


async def run_phase(base: str, clients: list[Client], seconds: float, samples: list[Sample], phase: list[str],
                    during: Awaitable[None] | None = None) -> None:
    """The clients share one aiohttp session (a connection each): with httpx the clients' own CPU (about 7 ms a
    request at 50 concurrent users, bench.web) was part of every figure."""
    residents = [c for c in clients if c.role == "resident"]
    connector = aiohttp.TCPConnector(limit=len(clients) + 10)
    async with aiohttp.ClientSession(base, connector=connector) as http:
        until = time.monotonic() + seconds
        tasks = [asyncio.create_task(run_client(http, c, residents, phase, until, samples)) for c in clients]
        if during is not None:
            await during
        await asyncio.gather(*tasks)


async def outage(platform: Platform, phase: list[str], down_s: float, marks: dict[str, float]) -> None:
    await asyncio.sleep(5)
    phase[0] = "db-down"  # from the moment it is told to stop until it accepts connections again
    await asyncio.to_thread(platform.postgres.stop)
    marks["down"] = time.monotonic()
    await asyncio.sleep(down_s)
    await asyncio.to_thread(platform.postgres.start)
    marks["up"] = time.monotonic()
    phase[0] = "db-back"


def is_server_error(s: Sample) -> bool:
    return s.status >= 500 and not (s.status == 503 and s.retry_after)


def summarise(name: str, samples: list[Sample]) -> dict[str, float]:
    answered = [s.elapsed * 1000 for s in samples if s.status > 0]
    ok = [s for s in samples if 200 <= s.status < 500]
    q = statistics.quantiles(answered, n=100) if len(answered) >= 2 else [float("nan")] * 99
    return {"requests": len(samples), "ok": len(ok), "refused": sum(s.status == 503 and s.retry_after
                                                                    for s in samples),
            "server_errors": sum(is_server_error(s) for s in samples), "hung": sum(s.status == 0 for s in samples),
            "conn_errors": sum(s.status == -1 for s in samples), "p50": q[49], "p95": q[94],
            "max": max(answered, default=float("nan"))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--baseline-clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--outage-s", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--role", action="append", default=[],
                        help="run only these platform roles (forewarn run --role); default: all")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fw-bench-load-") as tmp:
        platform = Platform(Path(tmp), args.role)
        print("starting the platform (forewarn estate load + forewarn run)…", flush=True)
        platform.start()
        try:
            report = measure(platform, args)
        finally:
            platform.stop()
    print_report(report, args)


@dataclass
class Report:
    phases: dict[str, dict[str, float]]
    all_samples: list[Sample]
    db_down_max_ms: float
    recovery_s: float


def measure(platform: Platform, args: argparse.Namespace) -> Report:
    base = f"http://127.0.0.1:{platform.api_port}"
    clients = make_clients(platform.url, args.clients, args.seed)
    baseline = make_clients(platform.url, args.baseline_clients, args.seed + 1)
    phases: dict[str, dict[str, float]] = {}
    everything: list[Sample] = []
    with noop_server() as port:
        samples_floor: list[Sample] = []
        print(f"floor: {len(clients)} clients against a no-op server for {args.seconds:g} s…", flush=True)
        asyncio.run(run_phase(f"http://127.0.0.1:{port}", clients, args.seconds, samples_floor, ["floor"]))
        phases[f"floor: no-op ({len(clients)})"] = summarise("floor", samples_floor)
    for name, who, extra in (("baseline", baseline, None), ("load", clients, None)):
        samples: list[Sample] = []
        print(f"{name}: {len(who)} clients for {args.seconds:g} s…", flush=True)
        asyncio.run(run_phase(base, who, args.seconds, samples, [name], extra))
        phases[f"{name} ({len(who)} clients)"] = summarise(name, samples)
        everything += samples
    samples = []
    phase: list[str] = ["db-up"]
    marks: dict[str, float] = {}
    print(f"outage: {len(clients)} clients, database stopped for {args.outage_s:g} s…", flush=True)

    async def with_outage() -> None:
        await run_phase(base, clients, 5 + args.outage_s + 25, samples, phase,
                        outage(platform, phase, args.outage_s, marks))

    asyncio.run(with_outage())
    everything += samples
    for name in ("db-down", "db-back"):
        phases[f"outage: {name}"] = summarise(name, [s for s in samples if s.phase == name])
    down = [s for s in samples if s.phase == "db-down"]
    db_down_max = max((s.elapsed for s in down), default=float("nan")) * 1000
    after = [s for s in samples if s.sent >= marks.get("up", float("inf"))]
    failed_after = [s.sent + s.elapsed for s in after if not 200 <= s.status < 500]
    recovery = max(failed_after, default=marks.get("up", 0.0)) - marks.get("up", 0.0)
    return Report(phases, everything, db_down_max, recovery)


def print_report(report: Report, args: argparse.Namespace) -> None:
    head = f"{'phase':<28}{'requests':>9}{'2xx-4xx':>9}{'503':>6}{'5xx':>6}{'hung':>6}{'p50 ms':>9}{'p95 ms':>9}" \
           f"{'max ms':>9}"
    print("\n" + head + "\n" + "-" * len(head))
    for name, row in report.phases.items():
        print(f"{name:<28}{row['requests']:>9.0f}{row['ok']:>9.0f}{row['refused']:>6.0f}{row['server_errors']:>6.0f}"
              f"{row['hung']:>6.0f}{row['p50']:>9.0f}{row['p95']:>9.0f}{row['max']:>9.0f}")
    print(f"\nthink time {THINK_S[0]:g}–{THINK_S[1]:g} s per client; writes {WRITE_SHARE:.0%} of resident and agent "
          f"actions; timeout {TIMEOUT_S:g} s; database stopped {args.outage_s:g} s")
    load = next(row for name, row in report.phases.items() if name.startswith("load"))
    print(f"RESULT p95_ms={load['p95']:.0f} ms")
    print(f"RESULT server_errors={sum(is_server_error(s) for s in report.all_samples)} count")
    print(f"RESULT hung_requests={sum(s.status == 0 for s in report.all_samples)} count")
    print(f"RESULT db_down_max_response_ms={report.db_down_max_ms:.0f} ms")
    print(f"RESULT recovery_s={report.recovery_s:.1f} s")


if __name__ == "__main__":
    main()
