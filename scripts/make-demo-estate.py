"""Write forewarn/data/demo-estate.yaml: 2 sites, 6 buildings, 600 units with residents, 57 devices.

Deterministic (seeded), so that the committed file can be regenerated and reviewed: python scripts/make-demo-estate.py
"""

import random
from datetime import date, timedelta
from pathlib import Path

import yaml

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平"]
EN_NAMES = ["Alice Brown", "David Smith", "Maria Garcia", "John Lee", "Emma Wilson", "Lucas Martin", "Sophie Chen"]
AGE_BANDS = ["18-29", "30-44", "45-59", "60+"]
CHANNELS = ["app"] * 6 + ["sms"] * 2 + ["wechat"] * 2 + ["email", "mqtt"]
SITES = [("riverside", "滨江花园 Riverside Gardens", "rs"), ("lakeview", "湖景苑 Lakeview Court", "lv")]
FLOORS, PER_FLOOR, SPLIT = 25, 4, 12  # floors 1..12 low zone, 13..25 high zone (booster pump)
# The survey's household attributes (docs/surveys.md): the unit type by its place on the floor (corner flats are the
# larger ones), and a move-in date and needs-help flag drawn from a generator of their own, so that every value the
# main generator draws (names, channels, groups, age bands, phones) stays what it was before they were added.
UNIT_TYPES = {1: "3室2厅", 2: "2室1厅", 3: "2室1厅", 4: "3室2厅"}
MOVED_IN_FROM, MOVED_IN_DAYS = date(2008, 1, 1), (date(2026, 10, 31) - date(2008, 1, 1)).days


def resident(rng: random.Random, n: int) -> dict:
    english = rng.random() < 0.12
    channel = rng.choice(CHANNELS)
    entry = {
        "id": f"r-{n:05d}",
        "name": rng.choice(EN_NAMES) if english else rng.choice(SURNAMES) + rng.choice(GIVEN),
        "language": "en" if english else "zh-CN",
        "channel": channel,
        "group": "tenant" if rng.random() < 0.3 else "owner",
        "age_band": rng.choice(AGE_BANDS),
        "phone": f"1{rng.randint(3, 9)}{rng.randint(0, 999999999):09d}",
    }
    if channel == "email":
        entry["email"] = f"resident{n:05d}@example.com"
    return entry


def household(attrs: random.Random, residents: list[dict]) -> None:
    """A household's move-in date (one for all its residents) and who needs help (mostly the over-60s)."""
    moved_in = MOVED_IN_FROM + timedelta(days=attrs.randrange(MOVED_IN_DAYS))
    for entry in residents:
        entry["moved_in"] = moved_in.isoformat()
        entry["needs_help"] = attrs.random() < (0.25 if entry["age_band"] == "60+" else 0.02)


def main() -> None:
    rng = random.Random(20261124)
    attrs = random.Random(20261202)
    n = 0
    sites = []
    for site_id, name, prefix in SITES:
        buildings, devices = [], []
        for b in range(1, 4):
            bid = f"{prefix}-b{b}"
            units = []
            for floor in range(1, FLOORS + 1):
                for k in range(1, PER_FLOOR + 1):
                    residents = []
                    for _ in range(rng.choice([1, 2, 2, 3])):
                        n += 1
                        residents.append(resident(rng, n))
                    household(attrs, residents)
                    number = f"{floor:02d}{k:02d}"
                    units.append({"id": f"{bid}-{number}", "floor": floor, "number": number, "type": UNIT_TYPES[k],
                                  "residents": residents})
            buildings.append({"id": bid, "name": f"{b}号楼 Building {b}", "floors": FLOORS, "grid": f"{prefix}-G{b}",
                              "units": units})
            for car in "ab":
                devices.append({"id": f"{bid}-elev-{car}", "kind": "elevator", "building": bid,
                                "location": f"{b}号楼 {car.upper()}梯 / Building {b} lift {car.upper()}",
                                "serves": {"building": bid}})
            for door, where in (("lobby", "大堂 lobby"), ("garage", "地库 garage"), ("east", "东侧门 east door"),
                                ("west", "西侧门 west door")):
                devices.append({"id": f"{bid}-door-{door}", "kind": "access_door", "building": bid,
                                "location": f"{b}号楼 {where}", "serves": {"building": bid}})
            devices.append({"id": f"{bid}-water-low", "kind": "water", "building": bid,
                            "location": f"{b}号楼 低区供水 low-zone supply", "serves": {"building": bid, "floors": [1, SPLIT]}})
            devices.append({"id": f"{bid}-water-high", "kind": "water", "building": bid,
                            "location": f"{b}号楼 高区加压泵 high-zone booster",
                            "serves": {"building": bid, "floors": [SPLIT + 1, FLOORS]}})
        for gate, zh in (("north", "北"), ("south", "南"), ("east", "东")):
            devices.append({"id": f"{prefix}-gate-{gate}", "kind": "access_door", "location": f"小区{zh}门 {gate} gate",
                            "serves": "site"})
        devices.append({"id": f"{prefix}-water-main", "kind": "water", "location": "总进水 main inlet", "serves": "site"})
        sites.append({"id": site_id, "name": name, "timezone": "Asia/Shanghai", "buildings": buildings,
                      "devices": devices})
    # One basement leak sensor on the riverside site, serving the garage-level units it would flood.
    sites[0]["devices"].append({"id": "rs-b1-leak-basement", "kind": "water", "building": "rs-b1",
                                "location": "1号楼 地下泵房 basement pump room",
                                "serves": {"building": "rs-b1", "floors": [1, 2]}})
    doc = {"version": 1, "sites": sites}
    out = Path(__file__).resolve().parent.parent / "forewarn" / "data" / "demo-estate.yaml"
    header = "# The demo estate. Generated by scripts/make-demo-estate.py (seeded); edit that script, not this file.\n"
    out.write_text(header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8")


if __name__ == "__main__":
    main()
