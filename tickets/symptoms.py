"""Which detected faults can explain what a water complaint describes.

A complaint about water folds into an open water incident of the resident's building (`tickets.complaints.
matching_incident`); the fault point alone ("water") said nothing about whether the incident explains it, so "厨房水龙头
漏水" (a kitchen tap leaking, a repair inside the home) folded into the booster pump's supply outage, was closed when
the pump was fixed, and nobody looked at the tap. Two readings of what the resident describes decide it:

- a fixture of the home leaking (a tap, a toilet, a shower, a sink, a water heater) and no water missing: no fault of
  the supply explains it, neither an outage nor a burst or a hidden leak in the building's pipes;
- water missing (停水, 水压低) and nothing leaking: a hidden slow leak, which takes nobody's water away, does not.

A leak anywhere else (a corridor awash, the basement, a ceiling) may be a burst whose first alarm was the pressure it
took away, and folds into any water incident, as does a complaint that says both or neither.

>>> sorted(unexplaining_faults("厨房水龙头漏水"))
['building_silent', 'device_offline', 'pipe_burst', 'pump_failure', 'slow_leak', 'supply_outage', 'tank_low']
>>> sorted(unexplaining_faults("家里一点水都没有"))
['slow_leak']
>>> unexplaining_faults("楼道里到处是水，好像水管爆了")  # a burst: its first alarm may be the pressure it took
frozenset()
>>> unexplaining_faults("停水了，水龙头一点水都没有")  # water missing, at the tap
frozenset({'slow_leak'})
"""

from __future__ import annotations

from tickets.classify import normalise

# Water where it should not be: a leak, seepage, a burst.
_LEAK = ("漏", "滴水", "渗", "冒水", "爆管", "水管爆", "到处是水", "积水", "淹", "leak", "drip", "burst", "flood",
         "damp", "seep", "pouring")
# Water that does not come: none, too little, too weak.
_NO_WATER = ("停水", "没水", "没有水", "水都没有", "无水", "断水", "水压", "水小", "水很小", "出不来", "不出水",
             "no water", "pressure", "not a drop", "almost nothing", "weak")
# The fixtures of a home: a leak at one is a repair inside the home.
_FIXTURE = ("水龙头", "龙头", "马桶", "花洒", "水槽", "洗手盆", "洗菜盆", "面盆", "地漏", "热水器", "tap", "faucet",
            "toilet", "shower", "sink", "water heater")
# The faults of the supply: none makes a tap leak. A hidden slow leak takes nobody's water away.
_SUPPLY = frozenset({"supply_outage", "pump_failure", "tank_low", "pipe_burst", "slow_leak", "device_offline",
                     "building_silent"})
_LEAK_ONLY = frozenset({"slow_leak"})


def unexplaining_faults(description: str) -> frozenset[str]:
    """The faults whose incidents cannot explain a water complaint reading `description` (empty: none excluded)."""
    text = normalise(description)
    leak = any(word in text for word in _LEAK)
    no_water = any(word in text for word in _NO_WATER)
    if leak and not no_water:
        return _SUPPLY if any(word in text for word in _FIXTURE) else frozenset()
    if no_water and not leak:
        return _LEAK_ONLY
    return frozenset()
