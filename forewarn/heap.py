"""The long-running process's garbage collector: start-up frozen, full collections on a clock.

CPython's cyclic collector stops every thread while it runs, and a *full* collection walks every tracked object
that is not frozen. In `forewarn run` two kinds of objects make those walks long:

- what start-up builds (modules, the app and its routes, compiled templates: ~200,000 objects), which lives as long
  as the process — `settle` collects once and freezes it (`gc.freeze`), so that no collection walks it again;
- what the open live streams hold (each an ASGI task, its response, a queue, the transport: on the order of a
  hundred objects), which lives for minutes. With 1,000 streams open, bench.web timed full collections of
  90–375 ms, triggered every few seconds by the promotions of ordinary requests (objects that happen to be in
  flight when a young collection runs), and pages waiting behind them answered 503.

So automatic full collections are turned off (the oldest generation's threshold is set out of reach) and a
daemon thread runs one every `full_every_s` seconds. Young collections (generations 0 and 1) keep Python's
thresholds: they find almost all cyclic garbage, which dies young. What reaches the oldest generation and then
becomes garbage — a closed stream's cycles — waits at most `full_every_s` to be freed, so memory stays bounded.
`full_every_s=0` keeps Python's own policy (automatic full collections) after the freeze.

Only the long-running process does this, not the app factory: objects frozen are never collected, which is right
for start-up's and wrong for the throwaway platforms the tests build.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger(__name__)

# gen2's threshold counts young (gen1) collections between full ones; at this many it is never reached in practice.
OUT_OF_REACH = 1_000_000_000


class HeapKeeper:
    """The full collections on a clock: `stop()` ends the thread and gives Python its own policy back."""

    def __init__(self, full_every_s: float) -> None:
        self.full_every_s = full_every_s
        self.collections = 0
        self.last_ms = 0.0
        self._stop = threading.Event()
        self._saved = gc.get_threshold()
        gc.set_threshold(self._saved[0], self._saved[1], OUT_OF_REACH)
        self._thread = threading.Thread(target=self._run, name="forewarn-gc", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.full_every_s):
            start = time.perf_counter()
            found = gc.collect()
            self.last_ms = (time.perf_counter() - start) * 1000
            self.collections += 1
            log.debug("full collection: %d unreachable objects in %.1f ms", found, self.last_ms)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        gc.set_threshold(*self._saved)


def settle(full_every_s: float) -> HeapKeeper | None:
    """Collect and freeze what start-up built; then, unless `full_every_s` is 0, full collections on a clock."""
    if full_every_s < 0:
        raise ValueError(f"full_every_s must be >= 0, not {full_every_s}")
    gc.collect()
    gc.freeze()
    return HeapKeeper(full_every_s) if full_every_s else None
