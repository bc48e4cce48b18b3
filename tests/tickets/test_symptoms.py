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


SUPPLY = {"supply_outage", "pump_failure", "tank_low", "pipe_burst", "slow_leak", "device_offline",
          "building_silent"}


@pytest.mark.parametrize(("text", "kept_out_of"), [
    ("厨房水龙头漏水", SUPPLY),  # a repair in the home: no fault of the supply explains it
    ("The bathroom tap is dripping all night", SUPPLY),
    ("马桶一直在漏水", SUPPLY),
    ("家里没水了", {"slow_leak"}),  # water missing: a hidden leak takes nobody's water
    ("No water pressure on floor 15", {"slow_leak"}),
    ("楼道里到处是水，好像水管爆了", set()),  # a burst may first show as the pressure it took: any water incident
    ("天花板渗水", set()),
    ("停水了，水龙头一点水都没有", {"slow_leak"}),  # the tap named, but for water that does not come
    ("水管爆了，家里没水了", set()),
    ("水有股怪味", set()),
])
def test_a_leak_at_a_fixture_of_the_home_is_no_fault_of_the_supply(text: str, kept_out_of: set[str]) -> None:
    assert unexplaining_faults(text) == kept_out_of
