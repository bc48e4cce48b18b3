"""Simulator throughput: `python -m bench.simulators [--messages N] [--hours H]`.

Starts its own Mosquitto on a free loopback port (`forewarn.embedded.EmbeddedBroker`) and measures, in this one
process:

- *publish rate*: N pre-generated demo-estate messages published with QoS 1, every PUBACK awaited (target
  ≥ 20,000 msg/s);
- *generation rate*: the same messages produced by the pure generator, without MQTT (where the time goes);
- *demo day*: a simulated day (H hours) of the whole demo estate through `run_scenario` at full speed — generate,
  publish, wait for every acknowledgement (target < 60 s).

Prints a table, then ``RESULT publish_rate=… msg/s`` and ``RESULT demo_day_seconds=… s``. Figures depend on the
machine and on what else it runs; the table says how many cores there were and the load average.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from forewarn.embedded import EmbeddedBroker, free_port
from simulators.generator import Simulation
from simulators.publisher import Publisher
from simulators.runner import run_scenario
from simulators.scenario import load_scenario

QUIET_DAY = Path(__file__).resolve().parents[1] / "simulators" / "scenarios" / "quiet-day.yaml"
START = datetime(2026, 3, 2, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _demo(hours: float):
    scenario = load_scenario(QUIET_DAY)  # the whole demo estate, normal behaviour
    scenario.duration_s = hours * 3600.0
    return scenario


def measure_generation(messages: int) -> tuple[list[tuple[str, bytes, bool]], float]:
    """The first `messages` messages of the demo estate, and how long generating them took."""
    began = time.perf_counter()
    stream = Simulation(_demo(24), START).timed()
    batch = [(topic, payload, topic.endswith("/status")) for _, _, topic, payload in itertools.islice(stream,
                                                                                                         messages)]
    return batch, time.perf_counter() - began


def measure_publish(port: int, batch: list[tuple[str, bytes, bool]]) -> float:
    """Seconds to publish `batch` with QoS 1 and have every message acknowledged."""
    with Publisher("127.0.0.1", port, client_id="bench-publish") as publisher:
        began = time.perf_counter()
        for topic, payload, retain in batch:
            publisher.publish(topic, payload, qos=1, retain=retain)
        publisher.drain(timeout_s=120)
        return time.perf_counter() - began


def measure_day(port: int, hours: float) -> tuple[int, float]:
    """(messages, wall seconds) of `hours` simulated hours of the demo estate at full speed."""
    summary = run_scenario(_demo(hours), broker_host="127.0.0.1", broker_port=port, speed=float("inf"),
                           labels_path=None, start=START)
    return summary.messages, summary.wall_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="messages for the publish-rate test")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours of the demo estate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fw-bench-sim-") as workdir:
        broker = EmbeddedBroker(Path(workdir), free_port())
        broker.start()
        try:
            batch, generate_s = measure_generation(args.messages)
            publish_s = measure_publish(broker.port, batch)
            day_messages, day_s = measure_day(broker.port, args.hours)
        finally:
            broker.stop()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = [
        ("generate (no MQTT)", f"{len(batch):,} msgs", f"{generate_s:.2f} s", f"{len(batch) / generate_s:,.0f} msg/s"),
        ("publish QoS 1, all acked", f"{len(batch):,} msgs", f"{publish_s:.2f} s",
         f"{len(batch) / publish_s:,.0f} msg/s"),
        (f"demo estate, {args.hours:g} h simulated", f"{day_messages:,} msgs", f"{day_s:.1f} s",
         f"{day_messages / day_s:,.0f} msg/s"),
    ]
    print(f"broker: {broker.implementation} on loopback; {os.cpu_count()} cores, load average {load:.1f}")
    print(f"{'measure':<32} {'size':>14} {'wall':>10} {'rate':>16}")
    for name, size, wall, rate in rows:
        print(f"{name:<32} {size:>14} {wall:>10} {rate:>16}")
    print(f"RESULT publish_rate={len(batch) / publish_s:.0f} msg/s")
    day_seconds = day_s * 24.0 / args.hours
    print(f"RESULT demo_day_seconds={day_seconds:.1f} s" + ("" if args.hours == 24 else " (scaled to 24 h)"))


if __name__ == "__main__":
    main()
