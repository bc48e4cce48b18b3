"""Which detected faults can explain what a water complaint describes.

A complaint about water folds into an open water incident of the resident's building (`tickets.complaints.
matching_incident`); the fault point alone ("water") said nothing about whether the incident explains it, so "厨房水龙头
漏水" (a kitchen tap leaking, a repair inside the home) folded into the booster pump's supply outage, was closed when
the pump was fixed, and nobody looked at the tap. What the resident describes is either water that does not come
(停水, 水压低: an outage, a pump, a tank, a power cut) or water that comes where it should not (漏水, 渗水, 爆管: a
burst, a leak). A complaint that says only the one folds only into an incident whose fault can cause it; one that says
both, or neither, into any, as before.

>>> sorted(unexplaining_faults("厨房水龙头漏水"))
['building_silent', 'device_offline', 'pump_failure', 'supply_outage', 'tank_low']
>>> sorted(unexplaining_faults("家里一点水都没有"))
['slow_leak']
>>> unexplaining_faults("水管爆了，家里没水了")  # both: any water incident may explain it
frozenset()
"""

from __future__ import annotations

from tickets.classify import normalise

# Water where it should not be: a leak, seepage, a burst.
_LEAK = ("漏", "滴水", "渗", "冒水", "爆管", "水管爆", "到处是水", "积水", "淹", "leak", "drip", "burst", "flood",
         "damp", "seep", "pouring")
# Water that does not come: none, too little, too weak.
_NO_WATER = ("停水", "没水", "没有水", "水都没有", "无水", "断水", "水压", "水小", "水很小", "出不来", "不出水",
             "no water", "pressure", "not a drop", "almost nothing", "weak")
# The detected faults that cause only the one: water that stops (an outage, a pump, a tank, its monitoring silent
# in a power cut) or a hidden leak that takes nobody's water away. A burst does both; a fault not named here (a sensor
# fault, an unusual-behaviour alarm) may be either, and folds as before.
_NO_WATER_ONLY = frozenset({"supply_outage", "pump_failure", "tank_low", "device_offline", "building_silent"})
_LEAK_ONLY = frozenset({"slow_leak"})


def unexplaining_faults(description: str) -> frozenset[str]:
    """The faults whose incidents cannot explain a water complaint reading `description` (empty: none excluded)."""
    text = normalise(description)
    leak = any(word in text for word in _LEAK)
    no_water = any(word in text for word in _NO_WATER)
    if leak == no_water:
        return frozenset()
    return _NO_WATER_ONLY if leak else _LEAK_ONLY
