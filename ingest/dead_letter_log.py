"""Rate-limited logging of dead letters: the first few of each interval one line each, the rest as one summary.

Every dead letter is kept in the `dead_letters` table (`forewarn ingest dead-letters` shows them); the log only has
to tell an operator that they happen and why. A misbehaving device can send thousands a second, and one line each
would drown the log (and cost more than storing them).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from ingest.decode import Rejection

# Enough lines to show the first examples of a new problem in full; past that, the summary counts them by reason.
DETAILED_PER_INTERVAL = 5


class DeadLetterLog:
    """Logs dead letters through `logger`: `DETAILED_PER_INTERVAL` lines per interval, then one summary line at
    the end of the interval (`flush`, called by the writer thread at least once a second, emits it when due)."""

    def __init__(self, logger: logging.Logger, *, interval_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if interval_s <= 0:
            raise ValueError("the dead-letter log interval must be positive")
        self._log = logger
        self._interval = interval_s
        self._clock = clock
        self._started = clock()
        self._detailed = 0
        self._suppressed: Counter[str] = Counter()
        self._suppressed_partial = 0  # of the suppressed, messages whose other values were stored

    def record(self, rejections: Sequence[Rejection], dropped: Sequence[Rejection] = ()) -> None:
        """Log messages rejected whole (`rejections`) and the dead letters of messages stored without their bad
        values (`dropped`)."""
        self.flush()
        for rejection, partial in [(r, False) for r in rejections] + [(r, True) for r in dropped]:
            if self._detailed < DETAILED_PER_INTERVAL:
                self._detailed += 1
                what = "values dropped from a stored message" if partial else "dead letter"
                self._log.info("%s from %s: %s (%s)", what, rejection.topic, rejection.reason, rejection.detail)
            else:
                self._suppressed[rejection.reason] += 1
                self._suppressed_partial += partial

    def flush(self, *, force: bool = False) -> None:
        """End the interval if it is over (or `force`): log the summary of what was not logged line by line."""
        now = self._clock()
        if not force and now - self._started < self._interval:
            return
        if self._suppressed:
            total = sum(self._suppressed.values())
            reasons = ", ".join(f"{reason}: {n}" for reason, n in self._suppressed.most_common())
            if self._suppressed_partial:
                reasons += f"; {self._suppressed_partial} of them messages stored without their bad values"
            self._log.warning("%d more dead letters in the last %.0f s (%s); all are in the dead_letters table "
                              "(forewarn ingest dead-letters)", total, now - self._started, reasons)
        self._started = now
        self._detailed = 0
        self._suppressed.clear()
        self._suppressed_partial = 0
