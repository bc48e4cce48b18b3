"""The anticipation bench's plays side by side (`python -m bench.anticipation --jobs N`).

Every play — one scenario under one variant — already has its own database, broker, platform and API port
(`bench.anticipation.run_variant`), and its figures are read back from its own database, counted in simulated time.
So the plays need not wait for each other: each runs in its own process (its own interpreter, so four platforms do
not share one GIL), on the same embedded PostgreSQL server. A play spends most of its wall time waiting on its
lockstep round trips (publish → broker → ingest → database → detectors → outbox), and the others use the cores
meanwhile. The ports are handed out here, all different, so two plays never pick the same one.
"""

from __future__ import annotations

import multiprocessing
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import ExitStack
from pathlib import Path

from simulators.scenario import Scenario
from tickets.anticipation import AnticipationReport

Outcome = tuple[AnticipationReport, dict]


def distinct_ports(n: int) -> list[int]:
    """`n` free loopback ports, all different: every socket stays bound until all are chosen."""
    with ExitStack() as stack:
        ports = []
        for _ in range(n):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _start_worker(verbose: bool) -> None:
    from bench.anticipation import configure_logging

    configure_logging(verbose)


def _play(admin_url: str, workdir: Path, scenario: Scenario, variant: str, ports: tuple[int, int]) -> Outcome:
    from bench.anticipation import run_variant

    return run_variant(admin_url, workdir, scenario, variant, ports=ports)


def run_plays(admin_url: str, workdir: Path, plays: Sequence[Scenario], variants: Sequence[str], *, jobs: int,
              verbose: bool, done: Callable[[Scenario, str, Outcome], None]) -> dict[str, list[Outcome]]:
    """Every scenario under every variant, `jobs` at a time; per variant, the outcomes in the order of `plays`
    whatever order they finished in. `done` is told of each as it finishes (progress)."""
    todo = [(i, scenario, variant) for i, scenario in enumerate(plays) for variant in variants]
    found: dict[tuple[int, str], Outcome] = {}
    if jobs <= 1:
        from bench.anticipation import run_variant

        for i, scenario, variant in todo:
            found[i, variant] = run_variant(admin_url, workdir, scenario, variant)
            done(scenario, variant, found[i, variant])
    else:
        ports = distinct_ports(2 * len(todo))
        # Forked: the platform's modules are imported already (a fresh interpreter takes 3-6 s to import them, four
        # at once on two cores). Only from a process running one thread (the bench's own main has no other, and no
        # open connection): a fork copies no other thread, so whatever one held would stay held in the child.
        context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context, initializer=_start_worker,
                                 initargs=(verbose,)) as pool:
            running: dict[Future[Outcome], tuple[int, Scenario, str]] = {
                pool.submit(_play, admin_url, workdir, scenario, variant, (ports[2 * k], ports[2 * k + 1])):
                (i, scenario, variant) for k, (i, scenario, variant) in enumerate(todo)}
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    i, scenario, variant = running.pop(future)
                    found[i, variant] = future.result()  # a failed play fails the run, as it did one by one
                    done(scenario, variant, found[i, variant])
    return {variant: [found[i, variant] for i in range(len(plays))] for variant in variants}
