"""Tickets benchmark: `python -m bench.tickets [--db URL] [--alarms N] [--units N]`.

1. Alarm → incident → preventive ticket → work order → notices written (one transaction), then → notices delivered
   by the outbox dispatcher (in-app stored, other channels into in-memory fakes), per alarm, p50/p99. The alarms
   are raised/cleared in turn on the demo estate's devices, so each fans out to the residents the device serves
   (a whole building, about 400 residents, for most). Not counted: the detector's own confirmation window.
2. Fan-out: one critical alarm on a device serving a synthetic 2,000-unit building (one resident per unit):
   handle_alarm + dispatch until every notice is delivered; target ≤ 2 s.

Without --db it starts an embedded PostgreSQL in a temporary directory, migrates it and loads the demo estate.
Prints a table, then `RESULT name=value unit` lines.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter

import psycopg

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.channels import InAppChannel, MemoryChannel
from tickets.flows import handle_alarm
from tickets.lifecycle import TicketEvent
from tickets.outbox import dispatch
from tickets.transitions import transition

DEMO = Path(__file__).resolve().parent.parent / "forewarn" / "data" / "demo-estate.yaml"


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """The given database, or a fresh embedded one with the demo estate."""
    if url:
        yield url
        return
    from forewarn.context import ensure_database
    from forewarn.embedded import EmbeddedPostgres, free_port
    from forewarn.migrate import migrate
    from ingest.estate_file import load_estate_file
    from ingest.estate_store import save_estate

    with tempfile.TemporaryDirectory(prefix="fw-bench-tickets-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "data", free_port(), durable=False)
        admin = server.start()
        try:
            bench_url = ensure_database(admin, "bench_tickets")
            migrate(bench_url)
            with psycopg.connect(bench_url) as conn:
                save_estate(conn, load_estate_file(DEMO))
            yield bench_url
        finally:
            server.stop()


def channels() -> dict[str, object]:
    return {"in_app": InAppChannel(), "webhook": MemoryChannel(), "mqtt": MemoryChannel(), "email": MemoryChannel()}


def alarm(device: str, fault: str, state: AlarmState, at: datetime) -> Alarm:
    return Alarm(device_id=device, fault=fault, state=state, severity=Severity.CRITICAL, since=at, ts=at,
                 detector="bench", evidence=Evidence("bench: pressure at zero", metric="pressure_kpa", value=0.0))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def pipeline(url: str, count: int) -> dict[str, list[float]]:
    """Per raised alarm: seconds to ticket + work order + notices written, and to notices delivered."""
    timings: dict[str, list[float]] = {"ticket": [], "delivered": [], "notices": []}
    with psycopg.connect(url) as conn:
        devices = [r[0] for r in conn.execute(
            "SELECT d.id FROM devices d WHERE EXISTS (SELECT 1 FROM device_units du WHERE du.device_id = d.id) "
            "ORDER BY d.id")]
        conn.commit()
        now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: outside quiet hours
        chans = channels()
        for i in range(count):
            device = devices[i % len(devices)]
            now += timedelta(seconds=30)
            start = perf_counter()
            result = handle_alarm(conn, alarm(device, "bench_fault", AlarmState.RAISED, now), now=now)
            conn.commit()
            if result.ticket_id is None:
                raise SystemExit(f"round {i}: the alarm on {device} opened no ticket ({result.action})")
            written = perf_counter()
            dispatch(conn, now=now, channels=chans)  # type: ignore[arg-type]
            delivered = perf_counter()
            timings["ticket"].append(written - start)
            timings["delivered"].append(delivered - start)
            timings["notices"].append(result.notices)
            handle_alarm(conn, alarm(device, "bench_fault", AlarmState.CLEARED, now), now=now)
            # Done with: the device's next fault is a new ticket that warns its residents again (a fault on a device
            # whose ticket is still open joins that ticket, and its residents, already warned, hear nothing new).
            transition(conn, result.ticket_id, TicketEvent.CANCEL, actor="bench", now=now, note="bench round over")
            conn.commit()
            dispatch(conn, now=now, channels=chans)  # type: ignore[arg-type]
    return timings


def make_tower(conn: psycopg.Connection, units: int, pumps: int = 1) -> list[str]:
    """A synthetic building with `units` units, one resident each, served by `pumps` booster pumps (one per
    repeat of the fan-out: a second fault of one device joins its open ticket and warns nobody again)."""
    conn.execute("INSERT INTO sites (id, name) VALUES ('bench', 'Bench tower site') ON CONFLICT DO NOTHING")
    conn.execute("INSERT INTO buildings (id, site_id, name, floors, grid) VALUES ('bench-t1', 'bench', 'Tower', "
                 "100, 'bench-G1') ON CONFLICT DO NOTHING")
    conn.execute("""INSERT INTO units (id, building_id, floor, number)
                    SELECT 'bench-t1-' || n, 'bench-t1', 1 + n / 20, n::text FROM generate_series(0, %s - 1) n
                    ON CONFLICT DO NOTHING""", (units,))
    conn.execute("""INSERT INTO residents (id, unit_id, name, language, channel, phone, email)
                    SELECT 'bench-r-' || n, 'bench-t1-' || n, 'Resident ' || n,
                           CASE WHEN n %% 5 = 0 THEN 'en' ELSE 'zh-CN' END,
                           (ARRAY['app', 'app', 'sms', 'wechat', 'mqtt', 'email'])[1 + n %% 6],
                           '138' || lpad(n::text, 8, '0'), 'r' || n || '@example.test'
                    FROM generate_series(0, %s - 1) n ON CONFLICT DO NOTHING""", (units,))
    devices = [f"bench-t1-pump-{i}" for i in range(pumps)]
    for device in devices:
        conn.execute("INSERT INTO devices (id, kind, site_id, building_id, location) VALUES (%s, 'water', "
                     "'bench', 'bench-t1', 'Tower booster pump') ON CONFLICT DO NOTHING", (device,))
        conn.execute("INSERT INTO device_units (device_id, unit_id) SELECT %s, id FROM units "
                     "WHERE building_id = 'bench-t1' ON CONFLICT DO NOTHING", (device,))
    conn.commit()
    return devices


def fanout(url: str, units: int, repeats: int = 3) -> list[tuple[float, float, int]]:
    """(seconds to write the notices, seconds until all delivered, notices) per repeat."""
    out = []
    with psycopg.connect(url) as conn:
        devices = make_tower(conn, units, repeats)
        now = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
        for device in devices:
            now += timedelta(minutes=10)
            start = perf_counter()
            result = handle_alarm(conn, alarm(device, "pump_failure", AlarmState.RAISED, now), now=now)
            conn.commit()
            written = perf_counter()
            delivered = dispatch(conn, now=now, channels=channels(), batch=1000)  # type: ignore[arg-type]
            done = perf_counter()
            assert delivered == result.notices == units, (delivered, result.notices)
            out.append((written - start, done - start, result.notices))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="PostgreSQL URL with the schema migrated and the demo estate loaded")
    parser.add_argument("--alarms", type=int, default=200, help="raised alarms in the pipeline run")
    parser.add_argument("--units", type=int, default=2000, help="units in the fan-out building")
    args = parser.parse_args()
    with database(args.db) as url:
        timings = pipeline(url, args.alarms)
        tower = fanout(url, args.units)
    ms = {k: [v * 1000 for v in timings[k]] for k in ("ticket", "delivered")}
    print(f"{'measure':<48} {'p50':>10} {'p99':>10} {'max':>10}")
    for name, label in (("ticket", "alarm → ticket + work order + notices written"),
                        ("delivered", "alarm → notices delivered")):
        print(f"{label:<48} {pct(ms[name], .5):>8.1f}ms {pct(ms[name], .99):>8.1f}ms {max(ms[name]):>8.1f}ms")
    print(f"{'notices per alarm (median)':<48} {statistics.median(timings['notices']):>10.0f}")
    for i, (written, done, n) in enumerate(tower):
        print(f"{f'fan-out {n} units, run {i + 1}: written / delivered':<48} {written:>9.3f}s {done:>9.3f}s")
    best = min(done for _, done, _ in tower)
    worst = max(done for _, done, _ in tower)
    print(f"RESULT alarm_to_ticket_p50={pct(ms['ticket'], .5):.1f} ms")
    print(f"RESULT alarm_to_ticket_p99={pct(ms['ticket'], .99):.1f} ms")
    print(f"RESULT alarm_to_notice_delivered_p50={pct(ms['delivered'], .5):.1f} ms")
    print(f"RESULT alarm_to_notice_delivered_p99={pct(ms['delivered'], .99):.1f} ms")
    print(f"RESULT notices_per_alarm_median={statistics.median(timings['notices']):.0f} notices")
    print(f"RESULT fanout_{args.units}_units_best={best:.3f} s")
    print(f"RESULT fanout_{args.units}_units_worst={worst:.3f} s")


if __name__ == "__main__":
    main()
