"""The keyword-only classifier as it was on main before the taxonomy (tickets/classify.py at d8ec72d), frozen
here as `bench.classify`'s baseline. It knows four categories; it is not used by the platform."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    SERVICE_ATTITUDE = "service_attitude"  # 服务态度
    FACILITY = "facility"  # 设施维护: elevator, water, lights, doors
    BILLING = "billing"  # 收费争议
    COMMUNITY = "community"  # 社区管理: parking, pets, noise


class Tier(StrEnum):
    MAJOR = "major"  # 重大: entrapment, burst pipe, water outage
    GENERAL = "general"  # 一般
    COMPLEX = "complex"  # 复杂: billing disputes and other long-running cases


@dataclass(frozen=True, slots=True)
class Classification:
    category: Category
    tier: Tier
    subcategory: str | None = None  # elevator, water, door, lights, parking, pets, noise, ...
    device_kind: str | None = None  # devices.kind the complaint is about, for folding into incidents
    matched: tuple[str, ...] = ()  # the keywords that decided it, for the ticket's timeline


# (subcategory, category, device kind, keywords). First matching rule with the most hits wins.
_TOPICS: tuple[tuple[str, Category, str | None, tuple[str, ...]], ...] = (
    ("elevator", Category.FACILITY, "elevator",
     ("电梯", "梯", "轿厢", "lift", "elevator")),
    ("water", Category.FACILITY, "water",
     ("水", "漏", "渗", "爆管", "水管", "水压", "停水", "water", "leak", "pipe", "pressure", "flood", "damp")),
    ("door", Category.FACILITY, "access_door",
     ("门禁", "刷卡", "刷脸", "单元门", "card reader", "access", "gate", "door won't", "intercom")),
    ("lights", Category.FACILITY, None, ("路灯", "灯", "照明", "light", "lamp")),
    ("billing", Category.BILLING, None,
     ("物业费", "收费", "账单", "缴费", "退费", "多收", "fee", "bill", "charge", "invoice", "refund")),
    ("parking", Category.COMMUNITY, None, ("停车", "车位", "parking", "car park")),
    ("pets", Category.COMMUNITY, None, ("宠物", "狗", "猫", "pet", "dog", "cat ")),
    ("noise", Category.COMMUNITY, None, ("噪音", "吵", "装修", "noise", "noisy", "loud", "renovation")),
    ("attitude", Category.SERVICE_ATTITUDE, None,
     ("态度", "不理", "推诿", "骂", "保安", "客服", "rude", "attitude", "ignored", "impolite", "unhelpful")),
)

# Words about people and money are specific; words about places ("gate", "水") are not: "the guard at the gate
# was rude" is about attitude, not the door.
_WEIGHT = {Category.SERVICE_ATTITUDE: 1.5, Category.BILLING: 1.5}

# Words that make a facility complaint a major incident (people at risk, or the whole building affected).
_MAJOR = ("困人", "被关", "出不来", "爆", "冒水", "到处是水", "停水", "没水", "一点水都没有", "焦味", "着火",
          "trapped", "stuck in", "burst", "pouring", "flood", "no water", "smoke", "burning", "fire")


def classify_text(text: str) -> Classification:
    """Category and tier from a complaint's words (zh-CN or en). Unknown text is a general facility matter
    left for staff to correct, rather than a guess at a department."""
    lowered = text.lower()
    best: tuple[float, int] | None = None
    for index, (_, category, _, words) in enumerate(_TOPICS):
        hits = sum(1 for w in words if w in lowered) * _WEIGHT.get(category, 1.0)
        if hits and (best is None or hits > best[0]):
            best = (hits, index)
    if best is None:
        return Classification(Category.FACILITY, Tier.GENERAL)
    subcategory, category, kind, words = _TOPICS[best[1]]
    matched = tuple(w for w in words if w in lowered)
    if category is Category.BILLING:
        tier = Tier.COMPLEX
    elif category is Category.FACILITY and any(w in lowered for w in _MAJOR):
        tier = Tier.MAJOR
        matched += tuple(w for w in _MAJOR if w in lowered)
    else:
        tier = Tier.GENERAL
    return Classification(category, tier, subcategory, kind, matched)
