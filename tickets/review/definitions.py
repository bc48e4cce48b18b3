"""The one home of the review's metric definitions: each metric's key, zh-CN and English names, what its
numerator and denominator count, its unit, and whether higher is better. The queries in `queries.py` compute
exactly these; docs/review-metrics.md is written from the same list.

Counting rules: a complaint counts once per complaint row (a complaint folded into an incident still counts);
an incident counts once per incident (root incidents only); rates over tickets count each ticket once, by the
period its ticket was created in, cancelled tickets excluded; complaint and preventive tickets side by side; the SLA
rates count a ticket's clock once it is settled (met, or past its deadline), as of when the review is computed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    COUNT = "count"
    PERCENT = "percent"  # 0-100
    SECONDS = "seconds"
    SCORE = "score"  # 1-5


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    zh: str
    en: str
    unit: Unit
    numerator: str
    denominator: str
    higher_is_better: bool = True

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh-CN" else self.en


_M = Metric
U = Unit
METRICS: dict[str, Metric] = {m.key: m for m in (
    _M("tickets", "工单量", "tickets", U.COUNT, "tickets created in the period, cancelled excluded", "-"),
    # fewer is better: an improvement action that moves complaints is meant to bring them down (handbook 001)
    _M("complaints", "投诉量", "complaints", U.COUNT, "complaint rows reported in the period (folded ones too)", "-",
       higher_is_better=False),
    _M("response_24h", "24小时响应率", "responded within 24 h", U.PERCENT,
       "tickets responded to (acknowledged) within 24 h of creation", "tickets"),
    # A clock counts once settled: met, or its deadline passed unmet as the review is computed; a clock still
    # running towards a later deadline is pending, in neither numerator nor denominator (queries.settled).
    _M("respond_sla", "响应时限达成率", "response SLA met", U.PERCENT,
       "tickets whose response clock's milestone was met by its deadline",
       "tickets whose response clock is settled (met, or its deadline passed): a clock not yet due and not met is "
       "left out"),
    _M("resolve_sla", "处理时限达成率", "resolution SLA met", U.PERCENT,
       "tickets whose resolution clock's milestone was met by its deadline",
       "tickets whose resolution clock is settled (met, or its deadline passed): a clock not yet due and not met is "
       "left out"),
    _M("resolution_rate", "解决率", "resolution rate", U.PERCENT,
       "tickets resolved (state resolved or closed, or resolved then reopened and resolved again)", "tickets"),
    _M("closed_loop_rate", "闭环率", "closed-loop rate", U.PERCENT, "tickets closed", "tickets"),
    _M("return_visit_48h", "48小时回访率", "return visits within 48 h", U.PERCENT,
       "resolved tickets with a return visit within 48 h of resolution", "resolved tickets"),
    _M("satisfaction_rate", "满意率", "satisfaction rate", U.PERCENT,
       "tickets whose latest return visit is rated 4 or 5 of 5 overall", "the period's tickets with a return visit"),
    _M("satisfaction_mean", "满意度均分", "mean satisfaction", U.SCORE,
       "sum of the latest return visits' overall ratings", "the period's tickets with a return visit"),
    _M("reopen_30d", "30天重开率", "reopened within 30 days", U.PERCENT,
       "resolved tickets reopened within 30 days of resolution", "resolved tickets", higher_is_better=False),
    _M("transfer_share", "转派占比", "transferred", U.PERCENT, "tickets transferred at least once", "tickets",
       higher_is_better=False),
    _M("transfer_twice_share", "多次转派占比", "transferred twice or more", U.PERCENT,
       "tickets transferred two or more times (handbook 000: 83 % of complaints were)", "tickets",
       higher_is_better=False),
    _M("escalation_share", "升级占比", "escalated", U.PERCENT,
       "tickets with an SLA breach escalation (to supervisor or manager)", "tickets", higher_is_better=False),
    _M("major_share", "重大事件占比", "major", U.PERCENT, "tickets of the major tier", "tickets",
       higher_is_better=False),
    _M("repeat_complaints", "重复投诉率", "repeat complaints", U.PERCENT,
       "complaints from a unit that complained about the same point (subcategory, else category) in the 30 days "
       "before", "complaints", higher_is_better=False),
    _M("repeat_interval", "重复投诉平均间隔", "mean repeat interval", U.SECONDS,
       "time since that unit's previous complaint on the same point, summed", "repeat complaints"),
    _M("first_response_p50", "首次响应时长中位数", "time to first response, median", U.SECONDS,
       "created → acknowledged", "tickets responded to", higher_is_better=False),
    _M("first_response_p90", "首次响应时长P90", "time to first response, p90", U.SECONDS,
       "created → acknowledged", "tickets responded to", higher_is_better=False),
    _M("on_site_p50", "到场时长中位数", "time on site, median", U.SECONDS,
       "created → first arrive event", "tickets with an arrival", higher_is_better=False),
    _M("on_site_p90", "到场时长P90", "time on site, p90", U.SECONDS,
       "created → first arrive event", "tickets with an arrival", higher_is_better=False),
    _M("resolution_p50", "处理时长中位数", "time to resolution, median", U.SECONDS,
       "created → resolved", "tickets resolved", higher_is_better=False),
    _M("resolution_p90", "处理时长P90", "time to resolution, p90", U.SECONDS,
       "created → resolved", "tickets resolved", higher_is_better=False),
    _M("proactive_reach", "主动告知住户数", "residents told proactively", U.COUNT,
       "distinct residents sent a notice about an incident detected in the period", "-"),
)}

# The point of a complaint (high-frequency points): its subcategory, else its category, with display names.
POINT_NAMES: dict[str, tuple[str, str]] = {
    # categories (a complaint's point when it has no fault point)
    "facility": ("设施维护", "facilities"), "service_attitude": ("服务质量", "service quality"),
    "billing": ("收费", "billing"), "community": ("社区管理", "community"),
    "house_quality": ("房屋质量", "house quality"), "environment": ("环境卫生", "environment"),
    "neighbour": ("邻里关系", "neighbours"), "parcel": ("快递服务", "parcel service"),
    # fault points (tickets/data/taxonomy.yaml)
    "elevator": ("电梯故障", "lift fault"), "water": ("供水问题", "water supply"), "drainage": ("排水堵塞", "drainage"),
    "door": ("门禁故障", "access door"), "lights": ("照明", "lighting"), "power": ("供电", "power supply"),
    "fire_safety": ("消防安全", "fire safety"), "public_facilities": ("公共设施", "public facilities"),
    "attitude": ("服务态度", "service attitude"), "responsiveness": ("响应拖延", "slow response"),
    "fees": ("收费争议", "fees"), "parking": ("停车", "parking"), "pets": ("宠物", "pets"), "noise": ("噪音", "noise"),
    "security": ("治安", "security"), "rules": ("违规行为", "rule breaking"), "seepage": ("渗漏", "seepage"),
    "cracks": ("开裂", "cracks"), "sound_insulation": ("隔音", "sound insulation"),
    "warranty": ("保修", "warranty"), "cleaning": ("清洁", "cleaning"), "greenery": ("绿化", "greenery"),
    "pests": ("虫害", "pests"), "dispute": ("邻里纠纷", "neighbour dispute"), "parcels": ("快递", "parcels"),
}


def point_name(point: str, lang: str) -> str:
    zh, en = POINT_NAMES.get(point, (point, point))
    return zh if lang == "zh-CN" else en


# The channels a complaint comes in by (tickets.complaints.Channel), as a review names them.
CHANNEL_NAMES: dict[str, tuple[str, str]] = {
    "app": ("App", "app"), "phone": ("电话", "phone"), "wechat": ("微信", "WeChat"), "counter": ("前台", "counter"),
    "grid_visit": ("网格走访", "grid visit"), "committee_referral": ("业委会转办", "owners' committee"),
    "complaint_box": ("意见箱", "complaint box"), "email": ("电子邮件", "e-mail"), "hotline": ("热线", "hotline"),
}


def channel_name(channel: str, lang: str) -> str:
    zh, en = CHANNEL_NAMES.get(channel, (channel, channel))
    return zh if lang == "zh-CN" else en
