"""A large estate portfolio's resident registry, generated (seeded) for `bench.desk_search`: sites named as Chinese
estates are ("翠湖花园", "星河名邸"), each with numbered high-rise buildings ("3号楼 Building 3", as the demo estate
names them), units numbered by floor and position ("1201": floor 12, the first flat), and residents with Chinese
names (surnames by how common they are, given names of one or two characters), mobile numbers as registries hold
them (mostly bare, some "+86 …" or with dashes, a few missing) and some who have moved out (inactive).

The rows are written with COPY, a site at a time; `RegistryGrower.grow` tops the registry up to a number of residents,
so one database is measured at each size in turn. The characters of people's names and of places' names are kept
apart (and from "欧阳", which the benchmark's query that matches nobody uses), so that a part of a name typed at the
desk finds people, not a whole estate whose name happens to contain it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

# The 30 commonest surnames, weighted by their share of China's population (per cent, rounded), so that full-name
# duplicates ("王伟", "张伟") are as common as they are on a real estate.
SURNAMES = dict(zip("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹",
                    (7.1, 7.0, 6.7, 5.4, 4.5, 3.1, 2.2, 2.0, 2.0, 1.9, 1.4, 1.3, 1.2, 1.2, 1.1, 1.1, 1.0, 1.0, 1.0,
                     0.9, 0.9, 0.8, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5), strict=True))
GIVEN = "伟芳娜敏静强磊军洋勇艳杰娟涛明超英霞平刚桂兰玉萍红建国文辉鹏飞宇浩然欣怡婷雪梅琳晨佳颖晓峰斌亮宁凯波燕秀志俊琪"
TWO_CHAR_GIVEN = 0.7  # share of given names of two characters (the rest: one, "王磊")
EN_NAMES = ("Alice Brown", "David Smith", "Maria Garcia", "John Lee", "Emma Wilson", "Lucas Martin", "Sophie Chen")
EN_SHARE = 0.02  # foreign residents of a mainland estate
SITE_HEADS = ("翠湖", "金地", "碧水", "锦绣", "紫荆", "枫丹", "御景", "滨海", "星河", "绿洲", "香榭", "君悦", "天玺",
              "云顶", "铂悦", "观澜", "东方", "南山", "盛世", "龙湾", "蓝湾", "恒大", "溪岸", "棕榈", "海德")
SITE_TAILS = ("花园", "家园", "苑", "公馆", "名邸", "府", "山庄", "雅居", "新城", "庭")
BUILDINGS = (3, 16)  # buildings per site (a phase of a large estate has a dozen or more)
FLOORS = (6, 11, 18, 26, 33)  # walk-up, small high-rise, the 18- and 26-storey towers, 33 (the 100 m limit)
PER_FLOOR = (2, 3, 4)  # flats per floor and lift core
HOUSEHOLD = (1, 2, 2, 3, 3, 4)  # residents registered per occupied flat
VACANT = 0.07  # flats with nobody registered (unsold, empty)
MOVED_OUT = 0.04  # residents kept in the registry but inactive
NO_PHONE, PLUS_86, DASHED = 0.03, 0.08, 0.05  # how the registry holds phones: missing, "+86 …", "138-0000-1111"
LANGUAGE = {True: "en", False: "zh-CN"}

_COPY = {
    "sites": "COPY sites (id, name) FROM STDIN",
    "buildings": "COPY buildings (id, site_id, name, floors) FROM STDIN",
    "units": "COPY units (id, building_id, floor, number) FROM STDIN",
    "residents": "COPY residents (id, unit_id, name, language, phone, resident_group, active) FROM STDIN",
}
_COUNT = "SELECT count(*) FROM residents"


@dataclass
class Rows:
    """One batch of registry rows, table by table, in the columns of `_COPY`."""

    sites: list[tuple[object, ...]] = field(default_factory=list)
    buildings: list[tuple[object, ...]] = field(default_factory=list)
    units: list[tuple[object, ...]] = field(default_factory=list)
    residents: list[tuple[object, ...]] = field(default_factory=list)


class RegistryGrower:
    """Adds generated sites to a registry. Deterministic for a seed: the same sizes give the same rows."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names = [head + tail for tail in SITE_TAILS for head in SITE_HEADS]
        self.rng.shuffle(self.names)
        self.sites = 0
        self.residents = 0

    def grow(self, conn: psycopg.Connection, to: int, progress: Callable[[int], None] | None = None) -> int:
        """Top the registry up to `to` residents (the last building may be left part-filled); the residents added.
        `progress` is told of the registry's residents so far after each site."""
        start = (conn.execute(_COUNT).fetchone() or (0,))[0]
        if start > to:
            raise ValueError(f"the registry already has {start} residents, more than {to}: ask for a larger size")
        added = 0
        while added < to - start:
            rows = self.site(to - start - added)
            for table, statement in _COPY.items():
                with conn.cursor().copy(statement) as copy:
                    for row in getattr(rows, table):
                        copy.write_row(row)
            added += len(rows.residents)
            if progress:
                progress(start + added)
        for table in _COPY:  # as autovacuum would have by the time agents search
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        conn.commit()
        return added

    def site(self, budget: int) -> Rows:
        """A new site with at most `budget` residents."""
        if self.sites >= len(self.names):
            raise ValueError(f"only {len(self.names)} site names: add heads or tails to bench/desk_registry.py")
        rng, rows = self.rng, Rows()
        self.sites += 1
        site_id = f"e{self.sites:03d}"
        rows.sites.append((site_id, self.names[self.sites - 1]))
        for b in range(1, rng.randint(*BUILDINGS) + 1):
            building_id, floors, per_floor = f"{site_id}-b{b}", rng.choice(FLOORS), rng.choice(PER_FLOOR)
            rows.buildings.append((building_id, site_id, f"{b}号楼 Building {b}", floors))
            for floor in range(1, floors + 1):
                for k in range(1, per_floor + 1):
                    if len(rows.residents) >= budget:
                        return rows
                    number = f"{floor:02d}{k:02d}"
                    unit_id = f"{building_id}-{number}"
                    rows.units.append((unit_id, building_id, floor, number))
                    if rng.random() >= VACANT:
                        household = min(rng.choice(HOUSEHOLD), budget - len(rows.residents))
                        rows.residents += [self.resident(unit_id) for _ in range(household)]
        return rows

    def resident(self, unit_id: str) -> tuple[object, ...]:
        rng = self.rng
        self.residents += 1
        english = rng.random() < EN_SHARE
        if english:
            name = rng.choice(EN_NAMES)
        else:
            given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < TWO_CHAR_GIVEN else "")
            name = rng.choices(list(SURNAMES), weights=list(SURNAMES.values()))[0] + given
        return (f"r-{100000 + self.residents:06d}", unit_id, name, LANGUAGE[english], self.phone(),
                "tenant" if rng.random() < 0.3 else "owner", rng.random() >= MOVED_OUT)

    def phone(self) -> str | None:
        rng = self.rng
        mobile = f"1{rng.randint(3, 9)}{rng.randrange(10 ** 9):09d}"
        form = rng.random()
        if form < NO_PHONE:
            return None
        if form < NO_PHONE + PLUS_86:
            return f"+86 {mobile}"
        if form < NO_PHONE + PLUS_86 + DASHED:
            return f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
        return mobile
