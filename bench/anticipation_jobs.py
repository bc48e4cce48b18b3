"""The anticipation bench's plays side by side (`python -m bench.anticipation --jobs N`).

Every play — one scenario under one variant — already has its own database, broker, platform and API port
(`bench.anticipation.run_variant`), and its figures are read back from its own database, counted in simulated time.
So the plays need not wait for each other: each runs in its own process (its own interpreter, so four platforms do
not share one GIL), on the same embedded PostgreSQL server. A play spends most of its wall time waiting on its
lockstep round trips (publish → broker → ingest → database → detectors → outbox), and the others use the cores
meanwhile. Each play picks its broker and API ports when it starts: ports picked for every play up front were
taken, sixteen minutes into a full run, by the ephemeral ports of other connections in the meantime. Two plays
picking the same free port at once, or another process taking it between the pick and the bind, is retried with
new ports (`PORT_ATTEMPTS`).

How many at once (`default_jobs`): one more than the cores. A play is busy most of the time (its player, the
platform's threads and its share of PostgreSQL), but every round trip leaves a gap that one extra play fills; more
only share the same cores and lose time to switching between them. Measured on 2 cores, four acute seeds (sixteen
plays, `--seeds 4 --degradation-seeds 0 --silence-hours 0`): 2 at once 267 s (16 % idle), 3 at once 235 s (5 %
idle), 4 at once 266 s (4 % idle, but 15 % more CPU time for the same plays).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from simulators.scenario import Scenario
from tickets.anticipation import AnticipationReport

Outcome = tuple[AnticipationReport, dict]
Job = tuple[Callable[..., Any], tuple]  # a module-level function (it is pickled by name) and its arguments
PORT_ATTEMPTS = 5
log = logging.getLogger(__name__)


def default_jobs() -> int:
    """One play more than the cores this process may run on (see the module's note)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores + 1


def _start_worker(verbose: bool) -> None:
    from bench.anticipation import configure_logging

    configure_logging(verbose)


def _play(admin_url: str, workdir: Path, scenario: Scenario, variant: str) -> Outcome:
    from bench.anticipation import run_variant
    from forewarn.embedded import EmbeddedServerError

    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            return run_variant(admin_url, workdir, scenario, variant)  # it picks free ports as it starts
        except EmbeddedServerError as error:
            if "in use" not in str(error) or attempt == PORT_ATTEMPTS:
                raise
            log.warning("%s %s: %s; starting again on other ports", scenario.name, variant, error)
    raise AssertionError("unreachable")


def run_plays(admin_url: str, workdir: Path, plays: Sequence[Scenario], variants: Sequence[str], *, jobs: int,
              verbose: bool, done: Callable[[Scenario, str, Outcome], None],
              extra: Sequence[Job] = ()) -> tuple[dict[str, list[Outcome]], list[Any]]:
    """Every scenario under every variant, `jobs` at a time; per variant, the outcomes in the order of `plays`
    whatever order they finished in. `done` is told of each as it finishes (progress). `extra` are other runs of the
    same kind (a module-level function and its arguments, e.g. `bench.silence.run`), started first so that none is
    left to run alone at the end; their results come second, in their order."""
    todo = [(i, scenario, variant) for i, scenario in enumerate(plays) for variant in variants]
    found: dict[tuple[int, str], Outcome] = {}
    if jobs <= 1:
        from bench.anticipation import run_variant

        for i, scenario, variant in todo:
            found[i, variant] = run_variant(admin_url, workdir, scenario, variant)
            done(scenario, variant, found[i, variant])
        others = [function(*args) for function, args in extra]
    else:
        # Forked: the platform's modules are imported already (a fresh interpreter takes 3-6 s to import them, four
        # at once on two cores). Only from a process running one thread (the bench's own main has no other, and no
        # open connection): a fork copies no other thread, so whatever one held would stay held in the child.
        context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo) + len(extra)), mp_context=context,
                                 initializer=_start_worker, initargs=(verbose,)) as pool:
            side = [pool.submit(function, *args) for function, args in extra]
            running: dict[Future[Outcome], tuple[int, Scenario, str]] = {
                pool.submit(_play, admin_url, workdir, scenario, variant): (i, scenario, variant)
                for i, scenario, variant in todo}
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    i, scenario, variant = running.pop(future)
                    found[i, variant] = future.result()  # a failed play fails the run, as it did one by one
                    done(scenario, variant, found[i, variant])
            others = [future.result() for future in side]
    return {variant: [found[i, variant] for i in range(len(plays))] for variant in variants}, others
