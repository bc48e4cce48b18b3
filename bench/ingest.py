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
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import multiprocessing as mp
import pstats
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from forewarn.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from forewarn.migrate import migrate
from forewarn.settings import DbMode
from ingest.config import IngestConfig
from ingest.contract import subscription, topic_for
from ingest.estate_file import load_estate_file
from ingest.estate_store import save_estate
from ingest.reading import Channel, DeviceKind, Reading
from ingest.service import IngestService
from simulators.publisher import Publisher

ROOT = Path(__file__).resolve().parent.parent
DEMO_ESTATE = ROOT / "forewarn" / "data" / "demo-estate.yaml"
HOST = "127.0.0.1"
PUBLISHERS = 3  # publisher processes; with the broker and consumer that keeps 2 cores busy
LATENCY_SECONDS = 15.0
# Realistic telemetry: 4–6 metrics per message (a row each in `readings`).
DATA = {
    DeviceKind.ELEVATOR: {"floor": 7, "direction": 1, "moving": True, "door_open": False, "vibration_rms": 0.21,
                          "motor_current_a": 42.5},
    DeviceKind.ACCESS_DOOR: {"door_open": False, "locked": True, "battery_pct": 81.0, "reader_ok": True},
    DeviceKind.WATER: {"pressure_kpa": 318.5, "flow_lpm": 14.2, "tank_level_pct": 71.0, "pump_on": True,
                       "pump_current_a": 8.4},
}
log = logging.getLogger("bench.ingest")


def messages(devices: list[tuple[str, DeviceKind, str]], count: int, first_seq: int) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC).isoformat()
    out = []
    for i in range(count):
        device, kind, site = devices[i % len(devices)]
        seq = first_seq + i // len(devices)
        body = {"v": 1, "ts": now, "seq": seq, "data": DATA[kind]}
        out.append((topic_for(site, kind, device, Channel.TELEMETRY), json.dumps(body).encode()))
    return out


# ---- publisher processes ------------------------------------------------------------------------------------------

def _publish_share(port: int, share: list[tuple[str, bytes]], done: mp.Queue) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(HOST, port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in share]
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    done.put(sum(1 for info in infos if info.is_published()))


def publish_all(port: int, batch: list[tuple[str, bytes]], processes: int = PUBLISHERS) -> tuple[float, int]:
    """Publish `batch` at QoS 1 from several processes; return (messages/s acknowledged by the broker, count)."""
    done: mp.Queue = mp.Queue()
    workers = [mp.Process(target=_publish_share, args=(port, batch[i::processes], done), daemon=True)
               for i in range(processes)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    acked = sum(done.get(timeout=300) for _ in workers)
    elapsed = time.perf_counter() - started
    for w in workers:
        w.join(10)
    return acked / elapsed, acked


def _paced(port: int, devices: list, rate: float, seconds: float, first_seq: int, done: mp.Queue) -> None:
    """Publish at `rate` messages/s, each stamped with the time it is sent (the latency's start).

    Also reports how late each message was against its schedule (a starved publisher sends in bursts) and how long
    the broker took to acknowledge it (stamp → PUBACK: queueing inside the publisher or the broker shows here).
    The load is the simulators' lean publisher (`simulators.publisher`): paho costs ~100 µs of CPU per QoS 1
    message, and on 2 cores the three paho publishers of earlier runs took the CPU that ingest's latency was being
    measured on (their own lateness, p99 85-178 ms, was a third of the latency tail)."""
    publisher = Publisher(HOST, port, client_id=f"bench-paced-{uuid.uuid4().hex[:8]}", window=60000)
    stamped: dict[int, float] = {}
    acked_ms: list[float] = []

    def on_ack(mid: int) -> None:
        at = stamped.pop(mid, None)
        if at is not None:
            acked_ms.append((time.time() - at) * 1000)

    publisher.on_ack = on_ack
    publisher.connect()
    sent = 0
    late_ms: list[float] = []
    started = time.perf_counter()
    total = int(rate * seconds)
    while sent < total:
        due = started + sent / rate
        delay = due - time.perf_counter()
        if delay > 0:
            publisher.wait(delay)  # reads acknowledgements while it waits
        late_ms.append((time.perf_counter() - due) * 1000)
        device, kind, site = devices[sent % len(devices)]
        now = datetime.now(UTC)
        body = {"v": 1, "ts": now.isoformat(), "seq": first_seq + sent // len(devices), "data": DATA[kind]}
        mid = publisher.publish(topic_for(site, kind, device, Channel.TELEMETRY), json.dumps(body).encode())
        stamped[mid] = now.timestamp()
        publisher.flush()
        sent += 1
    publisher.drain(60)
    publisher.close()
    done.put((publisher.acked, late_ms, acked_ms))


# ---- consumers ----------------------------------------------------------------------------------------------------

def _session_props(expiry: int, receive_maximum: int | None = None) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = expiry
    if receive_maximum is not None:
        props.ReceiveMaximum = receive_maximum
    return props


def bare_session(port: int, client_id: str, *, remove: bool = False) -> None:
    """Create (subscribe, disconnect) or remove the bare subscriber's persistent session."""
    ready = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, *_: ready.set() if remove else c.subscribe(subscription(), qos=1)
    client.on_subscribe = lambda *_: ready.set()
    client.connect(HOST, port, clean_start=remove, properties=_session_props(0 if remove else 3600))
    client.loop_start()
    ready.wait(10)
    client.disconnect()
    client.loop_stop()


def _bare(port: int, client_id: str, expected: int, receive_maximum: int, result: mp.Queue) -> None:
    count = 0
    finished = threading.Event()
    last = [0.0]

    def on_message(_c, _u, msg) -> None:
        nonlocal count
        json.loads(msg.payload)
        count += 1
        if count >= expected:
            last[0] = time.perf_counter()
            finished.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_message = on_message
    started = time.perf_counter()
    client.connect(HOST, port, clean_start=False, properties=_session_props(3600, receive_maximum))
    client.loop_start()
    finished.wait(300)
    client.disconnect()
    client.loop_stop()
    result.put((count, (last[0] or time.perf_counter()) - started))


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _TimedIngest(IngestService):
    """Records, for each reading of the latency phase, when it arrived and when its batch's write began and ended."""

    stages: list[tuple[float, float, float, float]]  # (publish stamp, arrival, write start, commit), wall-clock s

    def _process(self, messages, *, expire: bool = False) -> None:
        offset = time.time() - time.monotonic()  # `arrived` is monotonic
        begun = time.time()
        super()._process(messages, expire=expire)
        committed = time.time()
        self.stages.extend((m.result.ts.timestamp(), m.arrived + offset, begun, committed) for m in messages
                           if isinstance(m.result, Reading))


def _ingest(config: IngestConfig, url: str, expected, mode: str, result: mp.Queue, profile: bool) -> None:
    """Run IngestService until `expected.value` readings are committed (the parent may raise it meanwhile)."""
    committed = 0
    finished = threading.Event()
    latencies: list[float] = []

    def on_readings(batch) -> None:
        nonlocal committed
        committed += len(batch)
        if mode == "latency":
            now = datetime.now(UTC)
            latencies.extend((now - r.ts).total_seconds() * 1000 for r in batch)
        if committed >= expected.value:
            finished.set()

    profiler = cProfile.Profile() if profile else None
    stages: list[tuple[float, float, float, float]] = []
    service: IngestService
    profiled: _ProfiledIngest | None = None
    if profiler is not None:
        service = profiled = _ProfiledIngest(config, url, on_readings=on_readings)
        profiled.profiler = profiler
    elif mode == "latency":
        timed = _TimedIngest(config, url, on_readings=on_readings)
        timed.stages = stages
        service = timed
    else:
        service = IngestService(config, url, on_readings=on_readings)
    if mode == "prime":
        service.start()
        service.stop()
        result.put(("primed",))
        return
    started = time.perf_counter()
    service.start()
    result.put(("ready",))
    deadline = time.monotonic() + 300
    while committed < expected.value and time.monotonic() < deadline:
        finished.wait(0.2)
    elapsed = time.perf_counter() - started
    cpu = _thread_cpu()
    stats = service.stats
    sample = service.metrics_registry.get_sample_value
    batches = sample("forewarn_ingest_batch_seconds_count") or 1
    commit_ms = 1000 * (sample("forewarn_ingest_batch_seconds_sum") or 0) / batches
    service.stop()
    threads = ", ".join(f"{name} {sec:.1f}" for name, sec in cpu.items())
    text = f"mean batch write+commit {commit_ms:.0f} ms over {batches:.0f} batches; CPU s by thread: {threads}"
    if profiler is not None:
        for thread, prof in (("writer", profiler), ("paho network", profiled.network_profiler if profiled else None)):
            if prof is not None:
                buffer = io.StringIO()
                pstats.Stats(prof, stream=buffer).sort_stats("tottime").print_stats(15)
                text += f"\n{thread} thread profile, by own time:\n" + buffer.getvalue()
    if stages:
        text += "\n" + _stage_table(stages)
    result.put((committed, elapsed, latencies, _peak_rss_mib(), stats.batches, text))


def _stage_table(stages: list[tuple[float, float, float, float]]) -> str:
    """Where publish → commit time goes: p50 / p99 / max of each stage, ms."""
    parts = {
        "publish -> ingest's network thread": [(a - p) * 1000 for p, a, _, _ in stages],
        "queued until its batch's write began": [(b - a) * 1000 for _, a, b, _ in stages],
        "batch write + commit": [(c - b) * 1000 for _, _, b, c in stages],
        "publish -> commit": [(c - p) * 1000 for p, _, _, c in stages],
    }
    lines = ["latency by stage (ms)                       p50      p99      max"]
    for name, values in parts.items():
        lines.append(f"  {name:<38}{percentile(values, 0.5):>8.1f} {percentile(values, 0.99):>8.1f} "
                     f"{max(values):>8.1f}")
    start = min(p for p, _, _, _ in stages)
    worst: dict[int, list[float]] = {}
    for p, a, b, c in stages:  # per half second of publishing: the slowest reading and its stages
        slot = worst.setdefault(int((p - start) * 2), [0.0, 0.0, 0.0, 0.0])
        if (c - p) * 1000 > slot[0]:
            slot[:] = [(c - p) * 1000, (a - p) * 1000, (b - a) * 1000, (c - b) * 1000]
    lines.append("slowest reading per 0.5 s of publishing, ms (total = to network thread + queued + write):")
    lines.append("  " + "  ".join(f"{t / 2:g}s:{w[0]:.0f}={w[1]:.0f}+{w[2]:.0f}+{w[3]:.0f}"
                                  for t, w in sorted(worst.items()) if w[0] > 150))
    return "\n".join(lines)


class _ProfiledIngest(IngestService):
    """The writer thread (decode results batched, COPY, commit, acknowledge) and paho's network thread (MQTT
    parsing, decode) each under its own cProfile: a profiler only sees the thread that enabled it."""

    profiler: cProfile.Profile
    network_profiler: cProfile.Profile | None = None

    def _write_loop(self) -> None:
        self.profiler.enable()
        try:
            super()._write_loop()
        finally:
            self.profiler.disable()

    def _on_message(self, client, userdata, msg) -> None:
        if self.network_profiler is None:
            self.network_profiler = cProfile.Profile()
            self.network_profiler.enable()
        super()._on_message(client, userdata, msg)

    def _on_disconnect(self, *args) -> None:
        if self.network_profiler is not None:
            self.network_profiler.disable()
        super()._on_disconnect(*args)


def _thread_cpu() -> dict[str, float]:
    """User + system CPU seconds of each thread of this process (from /proc), by thread name."""
    ticks = 100.0  # USER_HZ on Linux
    names = {t.native_id: t.name for t in threading.enumerate()}
    cpu: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        name = names.get(int(task.name), "other (psycopg, interpreter)")
        if name.startswith("paho-mqtt-client"):
            name = "paho network"
        cpu[name] = cpu.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return cpu


def run_ingest(config: IngestConfig, url: str, expected, mode: str, profile: bool = False
               ) -> tuple[mp.Process, mp.Queue]:
    """Ingest in a child process; `expected` is an int or a shared `mp.Value` the parent can set later."""
    if isinstance(expected, int):
        expected = mp.Value("l", expected)
    result: mp.Queue = mp.Queue()
    process = mp.Process(target=_ingest, args=(config, url, expected, mode, result, profile), daemon=True)
    process.start()
    return process, result


# ---- the run ------------------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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


def bare_round(port: int, devices: list, n: int, first_seq: int, receive_maximum: int) -> tuple[float, float]:
    """Publish a backlog of `n` for the bare subscriber's session and drain it; (publish rate, drain rate)."""
    bare_id = "bench-bare"
    bare_session(port, bare_id)
    publish_rate, _ = publish_all(port, messages(devices, n, first_seq))
    result: mp.Queue = mp.Queue()
    bare = mp.Process(target=_bare, args=(port, bare_id, n, receive_maximum, result), daemon=True)
    bare.start()
    count, elapsed = result.get(timeout=330)
    bare.join(10)
    bare_session(port, bare_id, remove=True)  # so that it queues nothing during the ingest round
    return publish_rate, count / elapsed


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
    paced = [mp.Process(target=_paced, args=(port, devices[i::args.paced_publishers], rate / args.paced_publishers,
                                             args.latency_seconds, first, done), daemon=True)
             for i in range(args.paced_publishers)]
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
