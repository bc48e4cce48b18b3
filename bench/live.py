"""Live streams benchmark: `python -m bench.live [--db URL] [--streams N] [--rounds N] [--users N]`.

One API process (uvicorn in a child process, as `forewarn run --role api` serves it) holds N open `/live/stream`
page streams, one per signed-in resident of the demo estate. Measured:

1. fan-out: a new in-app notice for every one of those residents (one INSERT … SELECT and the NOTIFY the outbox
   sends), from the NOTIFY's commit to its arrival on each open stream; p50/p99/max over all deliveries and rounds;
2. the LISTEN connections the API process holds (pg_stat_activity): one, whatever N;
3. page render under load: `GET /` as a signed-in resident by `--users` concurrent clients for a few seconds,
   p50/p95: with no stream open (the baseline, same run), with the N streams open, and with them closed again
   (with the machine's load average at each step: on a shared machine the baseline drifts).

Without --db it starts an embedded PostgreSQL in a temporary directory, migrates it and loads the demo estate.
Client and server are two processes on one machine: the figures include the client's own work.
Prints a table, then `RESULT name=value unit` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import psycopg

from bench.tickets import database
from forewarn.embedded import free_port, wait_for_port

RENDER_SECONDS = 5.0
OPEN_TIMEOUT_S = 60.0
ARRIVAL_TIMEOUT_S = 10.0


def serve(url: str, port: int) -> None:
    """The API process: the app with its lifespan (the LiveHub), as the runtime runs it."""
    import uvicorn
    from psycopg_pool import ConnectionPool

    from api.app import create_app
    from api.deps import AppState

    pool = ConnectionPool(url, min_size=2, max_size=8, open=True)
    uvicorn.run(create_app(AppState(pool=pool)), host="127.0.0.1", port=port, log_level="warning",
                lifespan="on", timeout_graceful_shutdown=2)


def sessions(url: str, count: int) -> list[tuple[str, str]]:
    """(resident id, session id) for `count` residents of the demo estate, each signed in."""
    from api.auth import ensure_resident_user
    from api.web.sessions import start_session

    with psycopg.connect(url) as conn:
        residents = [r[0] for r in conn.execute("SELECT id FROM residents WHERE active ORDER BY id LIMIT %s",
                                                (count,))]
        if len(residents) < count:
            raise SystemExit(f"the estate has {len(residents)} residents; ask for at most that many streams")
        now = datetime.now(UTC)
        return [(rid, start_session(conn, ensure_resident_user(conn, rid), now=now, days=1)) for rid in residents]


@dataclass
class Streams:
    arrivals: dict[int, list[float]] = field(default_factory=dict)  # notice round -> arrival times
    opened: int = 0


async def hold_stream(client: httpx.AsyncClient, session: str, streams: Streams, ready: asyncio.Event,
                      total: int) -> None:
    async with client.stream("GET", "/live/stream", params={"max_seconds": 3600},
                             cookies={"fw_session": session}) as response:
        response.raise_for_status()
        streams.opened += 1
        if streams.opened == total:
            ready.set()
        async for line in response.aiter_lines():
            if line.startswith("data: ") and '"kind": "bench"' in line:
                marker = int(line.split('"title": "round ')[1].split('"')[0])
                streams.arrivals.setdefault(marker, []).append(time.perf_counter())


def notify_round(url: str, residents: list[str], marker: int) -> float:
    """A notice for every resident, committed, then the outbox's NOTIFY; returns when the NOTIFY was committed."""
    with psycopg.connect(url) as conn:
        conn.execute("""INSERT INTO notices (resident_id, unit_id, kind, lang, title, body, dedupe_key, created_at)
                        SELECT id, unit_id, 'bench', 'zh-CN', %(title)s, 'bench', %(title)s, now()
                        FROM residents WHERE id = ANY(%(ids)s)""", {"title": f"round {marker}", "ids": residents})
        conn.commit()
        conn.execute("SELECT pg_notify('forewarn_notices', %s)", (str(len(residents)),))
        conn.commit()
        return time.perf_counter()


async def render_load(base: str, session: str, users: int, seconds: float) -> list[float]:
    """`users` clients requesting the signed-in home page back to back for `seconds`; the latencies."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def user() -> None:
        async with httpx.AsyncClient(base_url=base, cookies={"fw_session": session}, timeout=30) as client:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                answer = await client.get("/")
                answer.raise_for_status()
                latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(user() for _ in range(users)))
    return latencies


def listeners(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND application_name = 'forewarn-live-listen'").fetchone()
    return int(row[0]) if row else 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(url: str, base: str, streams_n: int, rounds: int, users: int) -> dict[str, float]:
    signed = await asyncio.to_thread(sessions, url, streams_n + 1)
    page_session = signed[-1][1]
    signed = signed[:streams_n]
    load_before = os.getloadavg()[0]
    idle = await render_load(base, page_session, users, RENDER_SECONDS)
    streams, ready = Streams(), asyncio.Event()
    limits = httpx.Limits(max_connections=streams_n + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(30, read=None)) as client:
        tasks = [asyncio.create_task(hold_stream(client, s, streams, ready, streams_n)) for _, s in signed]
        await asyncio.wait_for(ready.wait(), OPEN_TIMEOUT_S)
        listening = await asyncio.to_thread(listeners, url)
        latencies: list[float] = []
        residents = [rid for rid, _ in signed]
        for marker in range(rounds):
            sent = await asyncio.to_thread(notify_round, url, residents, marker)
            deadline = time.perf_counter() + ARRIVAL_TIMEOUT_S
            while len(streams.arrivals.get(marker, [])) < streams_n and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
            got = streams.arrivals.get(marker, [])
            latencies += [at - sent for at in got] + [ARRIVAL_TIMEOUT_S] * (streams_n - len(got))
        load_with = os.getloadavg()[0]
        loaded = await render_load(base, page_session, users, RENDER_SECONDS)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(1.0)  # the server notices the closed streams
    load_after = os.getloadavg()[0]
    after = await render_load(base, page_session, users, RENDER_SECONDS)
    return {"load_before": load_before, "load_with": load_with, "load_after": load_after,
            "render_after_p50_ms": pct(after, 0.5), "render_after_p95_ms": pct(after, 0.95),
            "streams": streams_n, "listen_connections": listening, "rounds": rounds,
            "deliveries": len(latencies), "missed": sum(1 for x in latencies if x >= ARRIVAL_TIMEOUT_S),
            "fanout_p50_ms": statistics.median(latencies) * 1000, "fanout_p99_ms": pct(latencies, 0.99),
            "fanout_max_ms": max(latencies) * 1000, "render_idle_p50_ms": pct(idle, 0.5),
            "render_idle_p95_ms": pct(idle, 0.95), "render_streams_p50_ms": pct(loaded, 0.5),
            "render_streams_p95_ms": pct(loaded, 0.95), "render_requests": len(idle) + len(loaded)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="a migrated database with the demo estate (default: an embedded one)")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--users", type=int, default=50, help="concurrent page requesters")
    args = parser.parse_args()
    with database(args.db) as url:
        port = free_port()
        server = multiprocessing.get_context("spawn").Process(target=serve, args=(url, port), daemon=True)
        server.start()
        try:
            if not wait_for_port(port, 30):
                raise SystemExit("the API process did not start")
            out = asyncio.run(run(url, f"http://127.0.0.1:{port}", args.streams, args.rounds, args.users))
        finally:
            server.terminate()
            server.join(10)
    print(f"\nLive streams: {out['streams']} open /live/stream page streams on one API process, "
          f"{out['rounds']} rounds of one notice per streaming resident\n")
    print(f"{'measure':<50}{'value':>18}")
    rows = [("LISTEN connections held by the API process", f"{out['listen_connections']:.0f}"),
            ("deliveries (missed)", f"{out['deliveries']:.0f} ({out['missed']:.0f})"),
            ("NOTIFY -> open stream, p50 ms", f"{out['fanout_p50_ms']:.0f}"),
            ("NOTIFY -> open stream, p99 ms", f"{out['fanout_p99_ms']:.0f}"),
            ("NOTIFY -> open stream, max ms", f"{out['fanout_max_ms']:.0f}"),
            (f"GET / p50 ms, {args.users} users, no stream (baseline)", f"{out['render_idle_p50_ms']:.0f}"),
            (f"GET / p95 ms, {args.users} users, no stream (baseline)", f"{out['render_idle_p95_ms']:.0f}"),
            (f"GET / p50 ms, {args.users} users, streams open", f"{out['render_streams_p50_ms']:.0f}"),
            (f"GET / p95 ms, {args.users} users, streams open", f"{out['render_streams_p95_ms']:.0f}"),
            (f"GET / p50 ms, {args.users} users, streams closed again", f"{out['render_after_p50_ms']:.0f}"),
            (f"GET / p95 ms, {args.users} users, streams closed again", f"{out['render_after_p95_ms']:.0f}"),
            ("machine load average: before / with / after", f"{out['load_before']:.1f} / {out['load_with']:.1f} / "
                                                           f"{out['load_after']:.1f}")]
    for name, value in rows:
        print(f"{name:<50}{value:>18}")
    print()
    print(f"RESULT live_streams_open={out['streams']:.0f} streams")
    print(f"RESULT live_listen_connections={out['listen_connections']:.0f} connections")
    print(f"RESULT live_fanout_p99={out['fanout_p99_ms']:.0f} ms")
    print(f"RESULT live_missed={out['missed']:.0f} deliveries")
    print(f"RESULT page_render_p95_baseline={out['render_idle_p95_ms']:.0f} ms")
    print(f"RESULT page_render_p95_with_streams={out['render_streams_p95_ms']:.0f} ms")


if __name__ == "__main__":
    main()
