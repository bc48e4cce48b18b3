"""Web benchmark: `python -m bench.web [--db URL] [--days 30] [--users 50] [--streams 1000] [--alarms 40]`.

Against the demo estate with `--days` of history (bench/web_history.py: readings by COPY through ingest.storage,
tickets and notices through the real lifecycle), one real API process (`forewarn run --role api --role scheduler`,
a subprocess on a loopback port, as an operator runs it) is measured from this process (aiohttp for the users):

1. page render at `--users` concurrent signed-in users (session cookies; a mix of resident and engineer pages),
   each also asking `/healthz` (the baseline: the same load, a route that does no work) — p50/p95;
2. `--streams` live streams (`/live/stream`, one per signed-in resident) held open on that one process, then the
   same page load again — p95, and how many streams were still open at the end;
3. alarm → notice visible on an open resident stream: with the streams open, `--alarms` alarms are handled
   (`tickets.flows.handle_alarm`, committed, as ingest does), the scheduler's outbox dispatcher delivers them and
   the LiveHub pushes them; the time until the first served resident's stream shows the notice — p50/p99.

Without --db it starts an embedded PostgreSQL in a temporary directory. Loopback only; every loop is bounded.
Prints a table, then `RESULT` lines."""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx
import psycopg

from bench.tickets import database, pct
from bench.web_history import HistoryStats, write_history
from bench.web_streams import StreamPool, alarm_to_notice
from forewarn.db import detect_mode
from forewarn.embedded import free_port, wait_for_port
from forewarn.rollup import refresh_rollup
from forewarn.settings import DbMode

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300.0
SECRET = "bench-web-secret-key-of-at-least-32-bytes"


@dataclass
class Accounts:
    residents: list[tuple[str, str]]  # (session id, resident id)
    engineers: list[str]  # session ids
    requests: dict[str, int] = field(default_factory=dict)  # resident id -> one of their request ids
    work_order: int = 0  # the newest engineering work order, for its page


def sign_in(url: str, streams: int, engineers: int = 5) -> Accounts:
    """Accounts and live sessions, as the sign-in page makes them: residents (one per stream, at least 50) and
    engineers."""
    from api.auth import Role, create_user, ensure_resident_user
    from api.web.sessions import start_session

    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        residents = [r[0] for r in conn.execute(
            "SELECT id FROM residents WHERE active ORDER BY id LIMIT %s", (max(streams, 50),))]
        out = Accounts([], [])
        for rid in residents:
            uid = ensure_resident_user(conn, rid)
            out.residents.append((start_session(conn, uid, now=now, days=1, client="bench"), rid))
        for i in range(engineers):
            uid = f"bench-web-eng-{i}"
            create_user(conn, user_id=uid, name=f"Bench engineer {i}", role=Role.ENGINEER,
                        department_id="engineering")
            out.engineers.append(start_session(conn, uid, now=now, days=1, client="bench"))
        row = conn.execute("SELECT max(id) FROM work_orders WHERE department_id = 'engineering'").fetchone()
        out.work_order = int(row[0]) if row and row[0] else 0
        out.requests = dict(conn.execute(
            "SELECT DISTINCT ON (resident_id) resident_id, id FROM complaints ORDER BY resident_id, id DESC"))
    return out


@contextmanager
def api_process(url: str, port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`forewarn run --role api --role scheduler` on a loopback port, stopped (SIGTERM, then kill) on exit."""
    env = os.environ | {"FOREWARN_DATABASE_URL": url, "FOREWARN_API_PORT": str(port),
                        "FOREWARN_API_HOST": "127.0.0.1", "FOREWARN_DATA_DIR": str(workdir),
                        "FOREWARN_MQTT_URL": f"mqtt://127.0.0.1:{free_port()}", "FOREWARN_SECRET_KEY": SECRET,
                        "FOREWARN_LOG_LEVEL": "WARNING"}
    log = (workdir / "api.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "forewarn", "run", "--role", "api", "--role", "scheduler"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_for_port(port, 120):
            raise RuntimeError(f"the API did not start: {(workdir / 'api.log').read_text()[-2000:]}")
        yield proc
        if proc.poll() is not None:
            print(f"the API process exited ({proc.returncode}):\n{(workdir / 'api.log').read_text()[-3000:]}")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def page_mix(accounts: Accounts, user: int) -> list[tuple[str, str]]:
    """(cookie, path) a user visits in turn: residents their pages, every fifth user an engineer's."""
    from api.web.sessions import SESSION_COOKIE

    if user % 5 == 4:
        sid = accounts.engineers[user % len(accounts.engineers)]
        return [(f"{SESSION_COOKIE}={sid}", p) for p in ENGINEER_PAGES]
    sid, rid = accounts.residents[user % len(accounts.residents)]
    paths = ["/resident", "/resident/notices", "/resident/requests", "/resident/report"]
    if rid in accounts.requests:
        paths.append(f"/resident/requests/{accounts.requests[rid]}")
    return [(f"{SESSION_COOKIE}={sid}", p) for p in paths]


# The engineers' pages (api/web/engineer.py, api/web/devices.py) where registered on the app; the bench keeps those
# that answer 200 (see `usable_pages`), and the frame's home page.
ENGINEER_CANDIDATES = ["/engineer/work-orders", "/engineer/work-orders/{work_order}", "/staff/devices/rs-b1-water-high",
                       "/"]
ENGINEER_PAGES: list[str] = []


async def usable_pages(client: httpx.AsyncClient, cookie: str, work_order: int) -> list[str]:
    found = []
    for path in (p.format(work_order=work_order) for p in ENGINEER_CANDIDATES):
        response = await client.get(path, headers={"Cookie": cookie})
        if response.status_code == 200:
            found.append(path)
    return found


async def load(base: str, accounts: Accounts, users: int, rounds: int) -> tuple[list[float], list[float], int]:
    """`users` concurrent users, each `rounds` times through their pages, `/healthz` after each page.
    Returns (page ms, healthz ms, errors).

    The users are served by aiohttp: with httpx this process spent 14.7 s of CPU in 15.2 s of a 50-user phase
    (about 7 ms a request), so it measured its own queue — the /healthz baseline was as slow as the pages."""
    pages: list[float] = []
    health: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=users + 10)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:

        async def user(n: int) -> None:
            nonlocal errors
            visits = page_mix(accounts, n)
            for i in range(rounds):
                cookie, path = visits[i % len(visits)]
                for target, headers, into in ((path, {"Cookie": cookie}, pages), ("/healthz", {}, health)):
                    start = time.perf_counter()
                    try:
                        async with client.get(target, headers=headers, allow_redirects=False) as response:
                            await response.read()
                            status = response.status
                    except (aiohttp.ClientError, TimeoutError):  # counted, never fatal: the table says how many
                        errors += 1
                        continue
                    into.append((time.perf_counter() - start) * 1000)
                    errors += status != 200

        await asyncio.gather(*(user(n) for n in range(users)))
    return pages, health, errors


def _row(label: str, values: list[float]) -> str:
    return f"{label:<52} {len(values):>6} {pct(values, .5):>9.1f} {pct(values, .95):>9.1f} {pct(values, .99):>9.1f}"


async def measure(base: str, url: str, accounts: Accounts, args: argparse.Namespace) -> dict[str, float]:
    from api.web.sessions import SESSION_COOKIE

    async with httpx.AsyncClient(base_url=base, timeout=30) as probe:
        ENGINEER_PAGES[:] = await usable_pages(probe, f"{SESSION_COOKIE}={accounts.engineers[0]}",
                                               accounts.work_order)
    serial, serial_health, _ = await load(base, accounts, 1, 4 * args.rounds)  # one user: a page's own cost
    pages, health, errors = await load(base, accounts, args.users, args.rounds)
    streams = StreamPool(base, [(f"{SESSION_COOKIE}={sid}", rid) for sid, rid in accounts.residents[:args.streams]])
    async with streams:
        opened = await streams.wait_open(timeout=120)
        pages_s, health_s, errors_s = await load(base, accounts, args.users, args.rounds)
        latencies = await alarm_to_notice(url, streams, args.alarms)
        still_open = streams.open_count()
    print(f"\nengineer pages in the mix: {', '.join(ENGINEER_PAGES) or 'none registered'}")
    print(f"{'measure (ms)':<52} {'n':>6} {'p50':>9} {'p95':>9} {'p99':>9}")
    print(_row("pages, 1 user", serial))
    print(_row("/healthz (baseline), 1 user", serial_health))
    print(_row(f"pages, {args.users} users", pages))
    print(_row(f"/healthz (baseline), {args.users} users", health))
    print(_row(f"pages, {args.users} users + {opened} open streams", pages_s))
    print(_row(f"/healthz (baseline) + {opened} open streams", health_s))
    print(_row("alarm -> notice on an open resident stream", latencies))
    print(f"errors (non-200): {errors} without streams, {errors_s} with; streams open at the end: {still_open}"
          f"/{args.streams}; notices seen: {len(latencies)}/{args.alarms}")
    return {"page_p95_ms": pct(pages, .95), "serial_page_p95_ms": pct(serial, .95),
            "healthz_p95_ms": pct(health, .95), "streams_open": still_open,
            "p95_with_streams_ms": pct(pages_s, .95), "healthz_p95_with_streams_ms": pct(health_s, .95),
            "notice_visible_p99_ms": pct(latencies, .99) if latencies else float("inf"),
            "notices_missed": args.alarms - len(latencies)}


def prepare(url: str, days: int) -> HistoryStats:
    end = datetime.now(UTC)
    stats = write_history(url, end=end, days=days)
    with psycopg.connect(url) as conn:
        mode = detect_mode(conn, DbMode.AUTO)
    refresh_rollup(url, mode, now=end, start=end - timedelta(days=days + 1))
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="PostgreSQL URL with the schema migrated and the demo estate loaded")
    parser.add_argument("--days", type=int, default=30, help="days of history to write first")
    parser.add_argument("--users", type=int, default=50, help="concurrent page users")
    parser.add_argument("--rounds", type=int, default=20, help="pages each user asks for, per load phase")
    parser.add_argument("--streams", type=int, default=1000, help="live streams held open")
    parser.add_argument("--alarms", type=int, default=40, help="alarms timed to an open stream")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.streams + 1024)), hard))
    with database(args.db) as url, tempfile.TemporaryDirectory(prefix="fw-bench-web-") as tmp:
        history = prepare(url, args.days)
        print(f"history: {args.days} days, {history.readings:,} readings ({history.reading_rows:,} rows) in "
              f"{history.readings_s:.0f} s; {history.tickets:,} tickets, {history.requests:,} requests, "
              f"{history.notices:,} notices in {history.lifecycle_s:.0f} s")
        accounts = sign_in(url, args.streams)
        port = free_port()
        with api_process(url, port, Path(tmp)):
            result = asyncio.run(measure(f"http://127.0.0.1:{port}", url, accounts, args))
    verdict = {True: "meets", False: "MISSES"}
    print(f"\ntargets: page p95 ≤ {TARGET_MS:.0f} ms {verdict[result['page_p95_ms'] <= TARGET_MS]}; with streams "
          f"{verdict[result['p95_with_streams_ms'] <= TARGET_MS]}; notice p99 ≤ 2000 ms "
          f"{verdict[result['notice_visible_p99_ms'] <= 2000]}")
    print(f"RESULT page_p95_ms={result['page_p95_ms']:.1f} ms")
    print(f"RESULT healthz_p95_ms={result['healthz_p95_ms']:.1f} ms")
    print(f"RESULT page_p95_one_user_ms={result['serial_page_p95_ms']:.1f} ms")
    print(f"RESULT streams_open={result['streams_open']:.0f} streams")
    print(f"RESULT p95_with_streams_ms={result['p95_with_streams_ms']:.1f} ms")
    print(f"RESULT healthz_p95_with_streams_ms={result['healthz_p95_with_streams_ms']:.1f} ms")
    print(f"RESULT notice_visible_p99_ms={result['notice_visible_p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
