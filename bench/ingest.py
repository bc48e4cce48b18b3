"""Ingest throughput, latency and memory against a real Mosquitto and PostgreSQL on this machine.

Run: `python -m bench.ingest` (about 2 minutes; `--messages`, `--profile`, `--no-fsync`). It starts its own
PostgreSQL (TimescaleDB when built; durable, fsync on unless `--no-fsync`) and Mosquitto on free ports, loads the
demo estate (57 devices) and measures, in one run, on the same broker with the same publisher:

1. bare: a paho QoS 1 subscriber (MQTT 5, persistent session) that only counts and JSON-decodes;
2. ingest: `IngestService` (decode, validate, COPY, commit, acknowledge) in its own process;
   both consumers send the same MQTT 5 Receive Maximum (ingest's `max_queue`);
3. latency: ingest live while `--paced-publishers` processes (3), each with its share of the devices, send at half
   the measured ingest rate with the simulators' lean MQTT client (paho's CPU per message would take the CPU the
   latency is measured on); publish → commit per reading, and where that time went.

1 and 2 alternate for `--rounds` rounds and the best of each is reported (other load on a shared machine then hits
both alike). For each, the subscriber's session is created first, N messages are published and acknowledged by
the broker, and then the consumer connects and drains them: the rate is N / (connect → last message counted or
committed), so the publisher's own speed does not cap either side and both see the same backlog. Peak memory is
the ingest process's peak resident set (VmHWM).

The load (publishers, the bare subscriber) is in `bench.ingest_load`, the ingest process and what it measures in
`bench.ingest_process`; this module runs the rounds and prints the table.
"""


from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import statistics
import tempfile
from pathlib import Path

import psycopg

from bench.ingest_load import PUBLISHERS, bare_round, bare_session, messages, publish_all, publish_paced
from bench.ingest_process import percentile, run_ingest
from forewarn.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from forewarn.migrate import migrate
from forewarn.settings import DbMode
from ingest.config import IngestConfig
from ingest.estate_file import load_estate_file
from ingest.estate_store import save_estate
from ingest.reading import DeviceKind

ROOT = Path(__file__).resolve().parent.parent
DEMO_ESTATE = ROOT / "forewarn" / "data" / "demo-estate.yaml"
LATENCY_SECONDS = 15.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=40_000, help="messages per throughput phase")
    parser.add_argument("--rounds", type=int, default=2, help="bare/ingest rounds; the best of each is reported")
    parser.add_argument("--latency-seconds", type=float, default=LATENCY_SECONDS)
    parser.add_argument("--paced-publishers", type=int, default=PUBLISHERS,
                        help="publisher processes of the latency phase, each with its share of the devices")
    parser.add_argument("--no-fsync", action="store_true", help="run PostgreSQL without fsync (as the tests do)")
    parser.add_argument("--profile", action="store_true", help="print where the ingest process spends its time")
    parser.add_argument("--batch-size", type=int, default=IngestConfig().batch_size)
    parser.add_argument("--flush-ms", type=int, default=IngestConfig().flush_ms)
    parser.add_argument("--max-queue", type=int, default=IngestConfig().max_queue,
                        help="MQTT 5 Receive Maximum, for ingest and the bare subscriber alike")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    mp.set_start_method("fork", force=True)

    with tempfile.TemporaryDirectory(prefix="fw-bench-ingest-") as tmp:
        work = Path(tmp)
        pg = EmbeddedPostgres(work / "pg", free_port(), durable=not args.no_fsync)
        broker = EmbeddedBroker(work / "broker", free_port())
        try:
            admin = pg.start()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            url = admin.rsplit("/", 1)[0] + "/bench"
            mode, _ = migrate(url, DbMode.AUTO)
            with psycopg.connect(url) as conn:
                save_estate(conn, load_estate_file(DEMO_ESTATE))
                devices = [(d, DeviceKind(k), s) for d, k, s in conn.execute(
                    "SELECT id, kind, site_id FROM devices WHERE active ORDER BY id")]
            broker.start()
            report(args, url, broker.port, devices, "TimescaleDB" if mode.timescale else "plain PostgreSQL")
        finally:
            broker.stop()
            pg.stop()


def ingest_round(port: int, url: str, config: IngestConfig, devices: list, n: int, first_seq: int, *,
                 profile: bool) -> tuple[float, float, int, str]:
    """The same for ingest: (committed readings/s, peak RSS MiB, batches, CPU notes and profile)."""
    process, result = run_ingest(config, url, 0, "prime")
    result.get(timeout=60)
    process.join(10)
    publish_all(port, messages(devices, n, first_seq))
    process, result = run_ingest(config, url, n, "throughput", profile=profile)
    result.get(timeout=60)
    committed, elapsed, _, peak_mib, batches, text = result.get(timeout=330)
    process.join(10)
    bare_session(port, config.client_id, remove=True)  # so that it queues nothing during the next bare round
    return committed / elapsed, peak_mib, batches, text


def report(args: argparse.Namespace, url: str, port: int, devices: list, storage: str) -> None:
    n = args.messages
    config = IngestConfig(broker_port=port, client_id="bench-ingest", batch_size=args.batch_size,
                          flush_ms=args.flush_ms, max_queue=args.max_queue)

    block = n // len(devices) + 1  # sequence numbers per device per phase: every phase publishes new readings
    bare_rates: list[float] = []
    ingest_rates: list[float] = []
    publish_rates: list[float] = []
    peak_mib, batches, profile, profiled = 0.0, 0, "", ""
    for round_ in range(args.rounds):  # alternate, best of each: other load on the machine hits both alike
        rate, bare_rate = bare_round(port, devices, n, 2 * round_ * block, config.receive_maximum)
        publish_rates.append(rate)
        bare_rates.append(bare_rate)
        ingest_rate, peak, count, text = ingest_round(port, url, config, devices, n, (2 * round_ + 1) * block,
                                                      profile=args.profile and round_ == 0)
        ingest_rates.append(ingest_rate)
        if ingest_rate >= max(ingest_rates):
            batches, profile = count, text
        if args.profile and round_ == 0:
            profiled = text  # the profiler slows its round: keep its report even when another round is best
        peak_mib = max(peak_mib, peak)
    bare_rate, ingest_rate, publish_rate = max(bare_rates), max(ingest_rates), max(publish_rates)
    first = 2 * args.rounds * block

    # 3. latency at half the ingest rate
    rate = ingest_rate / 2
    expected = mp.Value("l", 2**62)  # set to what the broker acknowledged once the publisher is done
    process, result = run_ingest(config, url, expected, "latency")
    result.get(timeout=60)
    done: mp.Queue = mp.Queue()
    # Devices are separate clients: the load is spread over processes, each with its own devices, so that one
    # Python publisher's own queueing (its thread and paho's network thread share a GIL) is not the latency's tail.
    shares = args.paced_publishers
    paced = [mp.Process(target=publish_paced, args=(port, devices[i::shares], rate / shares, args.latency_seconds,
                                                    first, done), daemon=True)
             for i in range(shares)]
    for process_ in paced:
        process_.start()
    sent = 0
    late_ms: list[float] = []
    acked_ms: list[float] = []
    for _ in paced:
        count, late, acked = done.get(timeout=args.latency_seconds + 120)
        sent, late_ms, acked_ms = sent + count, late_ms + late, acked_ms + acked
    expected.value = sent
    for process_ in paced:
        process_.join(10)
    lat_committed, _, latencies, lat_peak, _, lat_notes = result.get(timeout=120)
    process.join(10)

    with psycopg.connect(url) as conn:
        rows = (conn.execute("SELECT count(*) FROM readings").fetchone() or (0,))[0]
    ratio = ingest_rate / bare_rate
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    peak = max(peak_mib, lat_peak)
    lines = [
        f"storage: {storage} ({'fsync off' if args.no_fsync else 'durable: fsync on'}); broker: Mosquitto; "
        f"{len(devices)} devices; batch {config.batch_size} / {config.flush_ms} ms; receive maximum "
        f"{config.receive_maximum}",
        "",
        f"{'measure':<44}{'value':>16}",
        f"{'publisher (3 procs, QoS 1) msg/s':<44}{publish_rate:>16,.0f}",
        f"{'bare paho QoS 1 subscriber msg/s (best)':<44}{bare_rate:>16,.0f}",
        f"{'ingest committed readings/s (best)':<44}{ingest_rate:>16,.0f}",
        f"{'  each round, bare':<44}{' / '.join(f'{r:,.0f}' for r in bare_rates):>16}",
        f"{'  each round, ingest':<44}{' / '.join(f'{r:,.0f}' for r in ingest_rates):>16}",
        f"{'ratio ingest / bare':<44}{ratio:>16.2f}",
        f"{'batches (throughput phase)':<44}{batches:>16,}",
        f"{f'latency phase rate msg/s ({args.paced_publishers} publishers)':<44}{rate:>16,.0f}",
        f"{'latency phase acked by broker / committed':<44}{f'{sent:,} / {lat_committed:,}':>16}",
        f"{'publish -> commit p50 ms':<44}{p50:>16.1f}",
        f"{'publish -> commit p99 ms':<44}{p99:>16.1f}",
        f"{'publish -> commit max ms':<44}{max(latencies, default=float('nan')):>16.1f}",
        f"{'publisher behind schedule p99 / max ms':<44}"
        f"{f'{percentile(late_ms, 0.99):.1f} / {max(late_ms, default=float(0)):.1f}':>16}",
        f"{'publish -> broker PUBACK p50 / p99 ms':<44}"
        f"{f'{percentile(acked_ms, 0.5):.1f} / {percentile(acked_ms, 0.99):.1f}':>16}",
        f"{'ingest process peak RSS MiB':<44}{peak:>16.1f}",
        f"{'rows in readings (one per metric)':<44}{rows:>16,}",
    ]
    print("\n".join(lines))
    print("\ningest process, best throughput round: " + profile)
    if profiled and profiled != profile:
        print("ingest process, profiled round (round 1): " + profiled)
    print("ingest process, latency phase: " + lat_notes)
    if latencies:
        print(f"\nlatency mean {statistics.fmean(latencies):.1f} ms over {len(latencies):,} readings")
    print(f"RESULT ingest_ratio={ratio:.2f} ratio")
    print(f"RESULT ingest_rate={ingest_rate:.0f} readings/s")
    print(f"RESULT commit_latency_p99={p99:.1f} ms")
    print(f"RESULT peak_memory={peak:.1f} MiB")


if __name__ == "__main__":
    main()
