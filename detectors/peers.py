"""A card reader that reads no card while the other readers of its site do: `reader_silent`.

A reader can pass its self-test and still read nothing (a dead antenna, a cut data line): the door reports itself
healthy while residents stand outside it. The other doors of the site show it: they live the same day, the same rush
and the same weekend, so a door's share of the site's reads at an hour of the day holds from one day to the next,
while the traffic of the hour changes. Each door learns, per slot of 24 hours × weekday/weekend (`learned.slot`), how
many of the other doors' reads fall between two of its own (`mean`, an EW mean of the gaps that ended in that slot).
For a healthy door whose reads and its peers' come as Poisson arrivals in that ratio, the count of peer reads before
its next one is geometric: P(n or more) = (m / (m + 1))^n. Once that chance is under `chance` (one in a million), the
reader is judged silent; its next read, granted or denied, ends it.

The share is the hour's, not the last hours': a garage that drivers use in the rush and hardly after it reads one
card in five of the site's at 08:00 and one in twenty-five at 10:00, and a share learnt through the rush would call
its first quiet gap a silence (`tests/detectors/test_peers.py`). So an hour is judged only once it and its two
neighbours have each learnt `min_slot_gaps` gaps — on a door's second day — and against the largest of their three
means (use ramps within the hour). A door at a quiet hour, or on its first day, or its first weekend, is not judged.

Only while the door itself keeps reporting: a gap of more than `gap_reset_s` between two of its messages (the door
unpowered, the network down) restarts the count, because an off device says nothing about its reader (that is the
presence rule's). A power cut of the other buildings stops their reads, which only makes this slower. Unlike the
learned alarms, the cause is named and plain — nobody can swipe in — so residents are warned.

Engineered, not tuned on a benchmark: values in `detectors.params.PeerParams`.

>>> from datetime import datetime, timedelta, timezone
>>> monday = datetime(2026, 3, 2, tzinfo=timezone(timedelta(hours=8)))
>>> lobby, gate, counts = PeerState(), PeerState(), {}
>>> def minute(day: int, k: int) -> datetime:
...     return monday + timedelta(days=day, hours=7, minutes=k)
>>> for day in range(2):  # 07:00-11:00: the lobby reads one card in every five of the site's
...     for k in range(240):
...         for j in range(4):
...             _ = observe(gate, counts, "s", "swipe", minute(day, k) + timedelta(seconds=j))
...         _ = observe(lobby, counts, "s", "swipe", minute(day, k) + timedelta(seconds=30))
>>> round(lobby.mean[9], 1)  # 09:00 on a weekday
4.0
>>> found = None
>>> for k in range(200):  # Wednesday 09:00: the lobby's reader stops reading; the gate reads on
...     at = minute(2, 120) + timedelta(seconds=15 * k)
...     if found is None and observe(lobby, counts, "s", None, at).active:
...         found = k
...     _ = observe(gate, counts, "s", "swipe", at + timedelta(seconds=1))
>>> found  # the gate's reads before the lobby is judged silent: (4/5)^62 < 1e-6
62
>>> observe(lobby, counts, "s", "swipe", minute(2, 180)).active
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from detectors.hysteresis import Observation, Policy
from detectors.learned import SLOTS, slot
from detectors.params import PARAMS

FAULT = "reader_silent"
NAME = "peer-readers"
READ = "swipe"  # a card read, granted or denied: the reader works
P = PARAMS.peers
LOG_CHANCE = math.log(P.chance)
POLICIES = {FAULT: Policy(raise_after_s=0.0, clear_after_s=0.0, cooldown_s=P.cooldown_s)}
INACTIVE = Observation(FAULT, False)
ONE_HOUR = timedelta(hours=1)


@dataclass(slots=True)
class PeerState:
    mean: list[float] = field(default_factory=lambda: [0.0] * SLOTS)  # other doors' reads between two of its own
    gaps: list[int] = field(default_factory=lambda: [0] * SLOTS)  # gaps learnt per slot
    mark: int | None = None  # the site's read count at this door's last read; None: count from its next message
    heard: float | None = None  # this door's last message (epoch seconds)
    silent: str = ""  # the evidence while the reader is judged silent


def observe(state: PeerState, counts: dict[str, int], site: str, event: str | None, ts: datetime,
            t: float | None = None) -> Observation:
    """Judge one message of a door at `site`. `counts` is the engine's running count of card reads per site, which
    every door's reads add to. `t` is `ts.timestamp()` when the caller has it already."""
    if t is None:
        t = ts.timestamp()
    total = counts.get(site, 0)
    if state.heard is not None and t - state.heard > P.gap_reset_s:
        state.mark = None  # the door was off: the reads it missed meanwhile say nothing about its reader
    state.heard = t
    if event == READ:
        counts[site] = total + 1
        if state.mark is not None and not state.silent:
            s = slot(ts)
            state.gaps[s] += 1
            state.mean[s] += max(P.alpha, 1.0 / state.gaps[s]) * (total - state.mark - state.mean[s])
        state.mark = total + 1
        if state.silent:
            state.silent = ""
        return INACTIVE
    if state.silent:
        return Observation(FAULT, True, summary=state.silent)
    if state.mark is None:  # counting from now: after the door was off, a restart, or a failed self-test
        state.mark = total
        return INACTIVE
    others = total - state.mark
    m = _share(state, ts)
    if m is None or others * math.log(m / (m + 1.0)) > LOG_CHANCE:
        return INACTIVE
    state.silent = (f"no card read while the site's other doors read {others}; at this hour this door usually"
                    f" reads one in {m + 1.0:.1f} of the site's cards")
    return Observation(FAULT, True, summary=state.silent, metric="site_reads_since", value=float(others),
                       baseline=m)


def _share(state: PeerState, ts: datetime) -> float | None:
    """The other doors' reads usual between two of this door's now: the largest mean of this hour's slot and its
    neighbours', None unless each has learnt `min_slot_gaps` gaps."""
    slots = (slot(ts - ONE_HOUR), slot(ts), slot(ts + ONE_HOUR))
    if min(state.gaps[s] for s in slots) < P.min_slot_gaps:
        return None
    m = max(state.mean[s] for s in slots)
    return m if m > 0.0 else None


def forget_counts(state: PeerState) -> None:
    """After a restore: the site's running count starts again, so this door's mark means nothing."""
    state.mark = None


def explained(state: PeerState) -> Observation:
    """Another alarm of the door explains its reads missing (its reader fails its self-test): count from its next."""
    state.mark, state.silent = None, ""
    return INACTIVE
