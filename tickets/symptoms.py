"""Which detected faults can explain what a water complaint describes.

A complaint about water folds into an open water incident of the resident's building (`tickets.complaints.
matching_incident`); the fault point alone ("water") said nothing about whether the incident explains it, so "厨房水龙头
漏水" (a kitchen tap leaking, a repair inside the home) folded into the booster pump's supply outage, was closed when
the pump was fixed, and nobody looked at the tap; so did "卫生间天花板渗水，楼上可能漏水" (water seeping through the
bathroom ceiling from the flat above). Three readings of what the resident describes decide it:

- a fixture of the home leaking (a tap, a toilet, a shower, a sink, a water heater) and no water missing: no fault of
  the supply explains it, neither an outage nor a burst or a hidden leak in the building's pipes;
- water coming through the building's fabric (a ceiling, a wall, a roof, a floor slab) or from the flat above or
  next door, no water missing and no burst described: a leak of a neighbour's pipes or fixtures, of the roof or the
  walls, or a hidden leak in the pipes the walls and ceilings hide. Only the last is a fault of the supply (a slow
  leak: the damp ceiling its residents report); an outage, a weak pump, a low tank or a silent meter explains none
  of it, and neither does a burst, which shows as water pouring, not seeping;
- water missing (停水, 水压低) and nothing leaking: a hidden slow leak, which takes nobody's water away, does not.

A leak anywhere else (a corridor awash, the basement), or through a ceiling pouring as from a burst pipe, may be a
burst whose first alarm was the pressure it took away, and folds into any water incident, as does a complaint that
says both or neither.

>>> sorted(unexplaining_faults("厨房水龙头漏水"))
['building_silent', 'device_offline', 'pipe_burst', 'pump_failure', 'slow_leak', 'supply_outage', 'tank_low']
>>> sorted(unexplaining_faults("卫生间天花板渗水，楼上可能漏水。"))  # the fabric: a hidden leak at most
['building_silent', 'device_offline', 'pipe_burst', 'pump_failure', 'supply_outage', 'tank_low']
>>> sorted(unexplaining_faults("家里一点水都没有"))
['slow_leak']
>>> unexplaining_faults("楼道里到处是水，好像水管爆了")  # a burst: its first alarm may be the pressure it took
frozenset()
>>> unexplaining_faults("停水了，水龙头一点水都没有")  # water missing, at the tap
frozenset({'slow_leak'})
>>> unexplaining_faults("楼上停水了")  # upstairs, but for water that does not come
frozenset({'slow_leak'})
"""

from __future__ import annotations

from tickets.classify import normalise

# Water where it should not be: a leak, seepage, a burst, the damp and the stains it leaves.
_LEAK = ("漏", "滴水", "渗", "冒水", "爆管", "水管爆", "到处是水", "积水", "淹", "潮湿", "湿了", "返潮", "水渍", "水印",
         "霉", "leak", "drip", "burst", "flood", "damp", "seep", "pouring", "wet", "water stain", "mould", "mold",
         "coming through", "comes through", "came through", "getting through")
# Water that does not come: none, too little, too weak.
_NO_WATER = ("停水", "没水", "没有水", "水都没有", "无水", "断水", "水压", "水小", "水很小", "出不来", "不出水",
             "no water", "pressure", "not a drop", "almost nothing", "weak")
# The fixtures of a home: a leak at one is a repair inside the home.
_FIXTURE = ("水龙头", "龙头", "马桶", "花洒", "水槽", "洗手盆", "洗菜盆", "面盆", "地漏", "热水器", "tap", "faucet",
            "toilet", "shower", "sink", "water heater")
# The building's fabric, and the homes above and next door: water coming through them is a leak of a neighbour's
# pipes or fixtures, of the roof or the walls, or of the pipes they hide.
_FABRIC = ("天花", "吊顶", "顶棚", "天棚", "屋顶", "房顶", "楼顶", "顶楼", "墙", "楼板", "楼上", "上层", "邻居", "隔壁",
           "ceiling", "wall", "roof", "upstairs", "above", "neighbour", "neighbor", "through the floor")
# A burst, named or by the water it pours: through a ceiling too it may be the building's pipe.
_BURST = ("爆", "冒水", "喷水", "涌", "哗哗", "burst", "pouring", "gushing", "spraying")
# The faults of the supply: none makes a tap leak. A hidden slow leak takes nobody's water away.
_SUPPLY = frozenset({"supply_outage", "pump_failure", "tank_low", "pipe_burst", "slow_leak", "device_offline",
                     "building_silent"})
_LEAK_ONLY = frozenset({"slow_leak"})
# A hidden leak in the pipes the ceilings and walls hide is the one fault that can seep through them.
_NOT_HIDDEN = _SUPPLY - _LEAK_ONLY


def unexplaining_faults(description: str) -> frozenset[str]:
    """The faults whose incidents cannot explain a water complaint reading `description` (empty: none excluded)."""
    text = normalise(description)
    leak = any(word in text for word in _LEAK)
    no_water = any(word in text for word in _NO_WATER)
    if leak and not no_water:
        if any(word in text for word in _FIXTURE):
            return _SUPPLY
        if any(word in text for word in _FABRIC) and not any(word in text for word in _BURST):
            return _NOT_HIDDEN
        return frozenset()
    if no_water and not leak:
        return _LEAK_ONLY
    return frozenset()
