"""The long-running process's collector policy (forewarn/heap.py): start-up frozen, automatic full collections off,
one full collection on a clock — and cyclic garbage that reached the oldest generation is still freed."""

from __future__ import annotations

import gc
import subprocess
import sys
import time
import weakref

import pytest

from forewarn.heap import OUT_OF_REACH, HeapKeeper, settle


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_garbage_in_the_oldest_generation_is_freed_by_the_clock_not_left_to_grow():
    keeper = HeapKeeper(0.2)
    try:
        assert gc.get_threshold()[2] == OUT_OF_REACH  # no automatic full collection while it runs
        node = Node()
        gone = weakref.ref(node)
        gc.collect(1)  # the survivors of a gen-1 collection move to the oldest generation
        del node
        gc.collect(1)  # a young collection does not look there
        assert gone() is not None
        deadline = time.monotonic() + 5
        while gone() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone() is None, "the clocked full collection did not free the cycle"
        while keeper.collections == 0 and time.monotonic() < deadline:  # it counts once gc.collect() returns
            time.sleep(0.01)
        assert keeper.collections >= 1
    finally:
        keeper.stop()
    assert gc.get_threshold()[2] != OUT_OF_REACH  # Python's own policy is back


def test_a_negative_interval_is_refused():
    with pytest.raises(ValueError, match="full_every_s"):
        settle(-1)


SETTLE = ("import gc; from forewarn.settings import load_settings; from forewarn.heap import settle; "
          "k = settle(load_settings().gc_full_seconds); "
          "print(gc.get_freeze_count() > 0, gc.get_threshold()[2], k.full_every_s if k else 0)")


@pytest.mark.parametrize(("value", "threshold", "interval"), [("60", OUT_OF_REACH, 60.0), ("0", 10, 0)])
def test_gc_full_seconds_sets_the_clock_or_keeps_pythons_policy(value, threshold, interval):
    """What `forewarn run` does after start-up (forewarn/cli_run.py `_start`), in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", SETTLE], env={"FOREWARN_GC_FULL_SECONDS": value, "PATH": ""},
                         capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert out == ["True", str(threshold), str(interval)]
