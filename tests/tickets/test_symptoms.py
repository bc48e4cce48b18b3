"""What a water complaint describes, against the faults that can explain it (tickets/symptoms.py)."""

from __future__ import annotations

import pytest

from simulators.residents import TEXTS
from tickets.symptoms import unexplaining_faults

WATER_FAULTS = ("pipe_burst", "slow_leak", "pump_failure", "tank_low", "supply_outage")


@pytest.mark.parametrize("fault", WATER_FAULTS)
def test_every_emulated_residents_complaint_is_explained_by_its_own_fault(fault: str) -> None:
    """The benchmark's residents describe their fault in their own words: none of them is kept out of it."""
    for texts in TEXTS[fault]:
        for text in texts:
            assert fault not in unexplaining_faults(text.format(place="1号楼", unit="1501", floor=15)), text


@pytest.mark.parametrize(("text", "kept_out_of"), [
    ("厨房水龙头漏水", {"supply_outage", "pump_failure", "tank_low"}),
    ("The bathroom tap is dripping all night", {"supply_outage", "pump_failure", "tank_low"}),
    ("家里没水了", {"slow_leak"}),
    ("No water pressure on floor 15", {"slow_leak"}),
    ("水管爆了，家里没水了", set()),
    ("水有股怪味", set()),
])
def test_a_leak_is_not_an_outage_and_an_outage_not_a_hidden_leak(text: str, kept_out_of: set[str]) -> None:
    assert kept_out_of <= unexplaining_faults(text) and not (unexplaining_faults(text) & {"pipe_burst"})
    assert bool(unexplaining_faults(text)) == bool(kept_out_of)
