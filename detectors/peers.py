"""A card reader that reads no card while the other readers of its site do: `reader_silent`.

A reader can pass its self-test and still read nothing (a dead antenna, a cut data line): the door reports itself
healthy while residents stand outside it. Its own usual swipes by hour (`detectors.absence`) take days to learn. The
other doors of the site answer in hours: they see the same hour of the day, the same rush and the same weekend, so
a door's share of the site's swipes holds when the hour's traffic changes. Each door learns how many of the other
doors' swipes fall between two of its own (`mean`, an EW mean of the gaps it has seen). For a healthy door whose
swipes and its peers' come as Poisson arrivals in a fixed ratio, the count of peer swipes before its next one is
geometric: P(n or more) = (mean / (mean + 1))^n. Once that chance is under `chance` (one in a million), the reader
is judged silent; its next swipe, read or denied, ends it.

Only while the door itself keeps reporting: a gap of more than `gap_reset_s` between two of its messages (the door
unpowered, the network down) restarts the count, because an off device says nothing about its reader (that is the
presence rule's). A power cut of the other buildings stops their swipes, which only makes this slower. Unlike the
learned alarms, this is a named fault whose cause is plain — nobody can swipe in — so residents are warned.

Engineered, not tuned on a benchmark: the chance is the absence rule's order of magnitude (a false notice at a busy
gate about once in four years: about 740 gaps a day), `min_gaps` the smallest run whose mean is within a fifth of
the truth, and `alpha` a memory of about two busy hours. Values in `detectors.params.PeerParams`.

>>> lobby, gate, counts = PeerState(), PeerState(), {}
>>> for k in range(60):  # the lobby reads one card in every five of the site's
...     for j in range(4):
...         _ = observe(gate, counts, "s", "swipe", 60.0 * k + j)
...     _ = observe(lobby, counts, "s", "swipe", 60.0 * k + 30)
>>> round(lobby.mean, 1)
4.0
>>> found = None
>>> for k in range(200):  # the lobby's reader stops reading; the gate reads on, the lobby still reports
...     _ = observe(gate, counts, "s", "swipe", 3600.0 + 15.0 * k)
...     if found is None and observe(lobby, counts, "s", None, 3601.0 + 15.0 * k).active:
...         found = k + 1
>>> found  # the gate's swipes before the lobby is judged silent: (4/5)^62 < 1e-6
62
>>> observe(lobby, counts, "s", "swipe", 6601.0).active
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from detectors.hysteresis import Observation, Policy
from detectors.params import PARAMS

FAULT = "reader_silent"
NAME = "peer-readers"
READ = "swipe"  # a card read, granted or denied: the reader works
P = PARAMS.peers
LOG_CHANCE = math.log(P.chance)
POLICIES = {FAULT: Policy(raise_after_s=0.0, clear_after_s=0.0, cooldown_s=P.cooldown_s)}
INACTIVE = Observation(FAULT, False)


@dataclass(slots=True)
class PeerState:
    mean: float = 0.0  # the other doors' swipes between two of this door's, EW mean
    gaps: int = 0  # gaps learnt
    mark: int | None = None  # the site's swipe count at this door's last one; None: count not running
    heard: float | None = None  # this door's last message (epoch seconds)
    silent: str = ""  # the evidence while the reader is judged silent


def observe(state: PeerState, counts: dict[str, int], site: str, event: str | None, t: float) -> Observation:
    """Judge one message of a door at `site`. `counts` is the engine's running count of card reads per site, which
    every door's reads add to."""
    total = counts.get(site, 0)
    if state.heard is not None and t - state.heard > P.gap_reset_s:
        state.mark = None  # the door was off: the swipes it missed meanwhile say nothing about its reader
    state.heard = t
    if event == READ:
        counts[site] = total + 1
        if state.mark is not None and not state.silent:
            state.gaps += 1
            state.mean += max(P.alpha, 1.0 / state.gaps) * (total - state.mark - state.mean)
        state.mark = total + 1
        if state.silent:
            state.silent = ""
        return INACTIVE
    if state.silent:
        return Observation(FAULT, True, summary=state.silent)
    if state.mark is None or state.gaps < P.min_gaps or state.mean <= 0.0:
        return INACTIVE
    others = total - state.mark
    if others * math.log(state.mean / (state.mean + 1.0)) > LOG_CHANCE:
        return INACTIVE
    state.silent = (f"no card read while the site's other doors read {others}; this door usually reads one in"
                    f" {state.mean + 1.0:.1f} of the site's cards")
    return Observation(FAULT, True, summary=state.silent, metric="site_reads_since", value=float(others),
                       baseline=state.mean)


def forget_counts(state: PeerState) -> None:
    """After a restore: the site's running count starts again, so this door's mark means nothing."""
    state.mark = None


def explained(state: PeerState) -> Observation:
    """Another alarm of the door explains its reads missing (its reader fails its self-test): count from its next."""
    state.mark, state.silent = None, ""
    return INACTIVE
