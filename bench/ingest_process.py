"""The ingest side of `bench.ingest`: `IngestService` in a child process until it has committed what was
published, with its rate, peak memory, CPU per thread, and optionally where its time went (cProfile per thread) or,
in the latency phase, where each reading's publish → commit time went (`_stage_table`).
"""

from __future__ import annotations

import cProfile
import io
import multiprocessing as mp
import pstats
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from ingest.config import IngestConfig
from ingest.reading import Reading
from ingest.service import IngestService


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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

