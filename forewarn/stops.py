"""What was started, to be stopped in reverse order: the platform and each of its roles keep one `Stops`."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class Stops:
    """A stack of named stop functions. `stop_all()` runs them newest first; a failing one is logged and the rest
    still run, so that one stuck part never keeps the others (or the database) running."""

    def __init__(self) -> None:
        self._stack: list[tuple[str, Callable[[], object]]] = []

    def push(self, name: str, stop: Callable[[], object]) -> None:
        self._stack.append((name, stop))

    def stop_all(self) -> None:
        while self._stack:
            name, stop = self._stack.pop()
            try:
                stop()
            except Exception:  # noqa: BLE001 - shutting down: report and carry on
                log.exception("while stopping %s", name)

    def __len__(self) -> int:
        return len(self._stack)
