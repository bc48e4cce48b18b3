"""The survey questionnaire (handbook 001 §2.1): the four dimensions of tickets/surveys.py, each asked as concrete
items scored 1–5 ("ask about the cleaning of the stairwell, not 'are you satisfied'"), an overall score 1–10, the
0–10 "would you recommend" question behind NPS, and an open comment. Versioned: a wave records the version it
was asked with, so a later change of wording never re-labels old answers."""

from __future__ import annotations

from dataclasses import dataclass

from tickets.surveys import DIMENSIONS

VERSION = "2026.1"


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    dimension: str
    zh: str
    en: str


# 001 §2.1 "维度设计": each dimension's customer touch points become its items.
ITEMS: tuple[Item, ...] = (
    Item("cleaning", "basic_services", "保洁（楼道卫生、垃圾清运）", "Cleaning (stairwells, refuse)"),
    Item("security", "basic_services", "安保（门岗值守、巡逻）", "Security (gate, patrols)"),
    Item("customer_service", "basic_services", "客服（咨询回复、投诉处理）",
         "Customer service (enquiries, complaints)"),
    Item("elevators", "facility_maintenance", "电梯", "Lifts"),
    Item("utilities", "facility_maintenance", "水电", "Water and power"),
    Item("common_facilities", "facility_maintenance", "公共区域设施（路灯、健身器材）",
         "Common facilities (lights, fitness equipment)"),
    Item("information", "communication", "信息公示（物业费、社区通知）", "Information (fees, notices)"),
    Item("responsiveness", "communication", "反馈及时性", "Timely replies"),
    Item("activities", "value_added", "社区活动", "Community activities"),
    Item("convenience", "value_added", "便民服务（快递代收、家政推荐）",
         "Convenience services (parcels, housekeeping)"),
)
ITEM_KEYS = tuple(item.key for item in ITEMS)
DIMENSION_LABELS = {
    "basic_services": ("基础服务", "Basic services"),
    "facility_maintenance": ("设施维护", "Facility maintenance"),
    "communication": ("沟通响应", "Communication and response"),
    "value_added": ("增值服务", "Value-added services"),
}
OVERALL = ("您对小区物业服务的总体满意度打多少分？（1-10分）",
           "Overall, how satisfied are you with the property service? (1–10)")
RECOMMEND = ("您有多大可能向亲友推荐我们的物业服务？（0-10分）",
             "How likely are you to recommend our service to a friend? (0–10)")
assert set(DIMENSION_LABELS) == set(DIMENSIONS) == {item.dimension for item in ITEMS}


def items_of(dimension: str) -> tuple[str, ...]:
    return tuple(item.key for item in ITEMS if item.dimension == dimension)
