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
    ("天花板渗水", SUPPLY - {"slow_leak"}),  # the fabric: at most a hidden leak in the pipes it hides
    ("停水了，水龙头一点水都没有", {"slow_leak"}),  # the tap named, but for water that does not come
    ("水管爆了，家里没水了", set()),
    ("水有股怪味", set()),
])
def test_a_leak_at_a_fixture_of_the_home_is_no_fault_of_the_supply(text: str, kept_out_of: set[str]) -> None:
    assert unexplaining_faults(text) == kept_out_of


# What the building's fabric lets through: only a hidden leak in the pipes it hides is a fault of the supply.
FABRIC = SUPPLY - {"slow_leak"}


@pytest.mark.parametrize("text", [
    "卫生间天花板渗水，楼上可能漏水。",  # the walk-through's phone call, folded into the booster's outage
    "天花板漏水", "楼上漏水", "墙面渗水", "墙面渗漏", "墙体渗水", "屋顶漏水", "顶棚滴水", "卧室墙角发霉，摸上去潮湿",
    "樓上漏水，浴室天花板一直在滴",  # traditional characters
    "Ceiling leak in the bathroom", "Water coming through the ceiling", "Leak from upstairs, the flat above",
    "Water is leaking through the bathroom ceiling of the flat upstairs", "The bedroom wall is damp and mouldy",
    "The roof leaks when it rains",
])
def test_water_through_the_fabric_or_from_upstairs_is_no_outage_pump_or_burst(text: str) -> None:
    """A leak through a ceiling, a wall or a roof, or from the flat above, with no water missing: a neighbour's pipes
    or fixtures, the roof, the walls. No outage, pump, tank or burst explains it; a hidden leak may."""
    assert unexplaining_faults(text) == FABRIC


@pytest.mark.parametrize(("text", "kept_out_of"), [
    ("楼上停水了", {"slow_leak"}),  # upstairs, but water missing: the outage explains it
    ("No water upstairs since this morning", {"slow_leak"}),
    ("no water", {"slow_leak"}),
    ("楼上邻居家也没水了", {"slow_leak"}),
    ("楼上马桶漏水，渗到我家天花板", SUPPLY),  # a fixture upstairs: a repair, not even a hidden leak
    ("天花板在哗哗往下流水，好像水管爆了", set()),  # a burst named: it may first show as the pressure it took
    ("Water is pouring through the ceiling", set()),
    ("天花板漏水，家里也停水了", set()),  # both: any water incident
])
def test_upstairs_and_the_ceiling_keep_what_a_supply_fault_can_explain(text: str, kept_out_of: set[str]) -> None:
    assert unexplaining_faults(text) == kept_out_of
