"""The service desk's reply scripts (handbooks 001 and 003: promise the time limit when taking a request; listen,
empathise, apologise and commit to a next step when a resident is upset; tell them of progress; tell them the
result; and ask the return-visit question), in the project's own words, filled from one ticket in the resident's
language. The desk copies them into a call, a message or a chat; nothing is sent from here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tickets.sla import DEFAULT_TZ

LANGS = ("zh-CN", "en")
KEYS = ("acknowledge", "apologise", "progress", "result", "return_visit")

CATEGORY_NAMES: dict[str, dict[str, str]] = {
    "zh-CN": {"service_attitude": "服务态度", "facility": "设施维修", "billing": "收费", "community": "社区管理",
              "house_quality": "房屋质量", "environment": "社区环境", "neighbour": "邻里纠纷", "parcel": "快递服务"},
    "en": {"service_attitude": "service attitude", "facility": "facility repair", "billing": "billing",
           "community": "community management", "house_quality": "house quality", "environment": "environment",
           "neighbour": "neighbour dispute", "parcel": "parcel service"},
}
TITLES: dict[str, dict[str, str]] = {
    "zh-CN": {"acknowledge": "受理：承诺时限", "apologise": "安抚：倾听、理解、致歉、承诺", "progress": "进度告知",
              "result": "结果告知", "return_visit": "回访"},
    "en": {"acknowledge": "Taking it: promise the time limit", "apologise": "Calming: listen, empathise, apologise, "
           "commit", "progress": "Progress", "result": "Result", "return_visit": "Return visit"},
}
_TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "acknowledge": "{greeting}您好，您反映的{category}问题我们已经受理，工单号 #{id}。我们会在 {respond_by} 前"
                       "与您联系并安排处理，在 {resolve_by} 前处理完毕。如有变化，我们会第一时间告诉您。",
        "apologise": "{greeting}您好，您说的情况我都记下了。遇到这样的事情确实让人着急，给您带来不便，我们非常抱歉。"
                     "这件事（工单号 #{id}）由我负责跟进，我们会在 {resolve_by} 前给您处理结果。",
        "progress": "{greeting}您好，关于您反映的{category}问题（工单号 #{id}），我们正在处理中，预计在 {resolve_by} 前"
                    "完成。处理过程中有任何变化，我们会及时告诉您。",
        "result": "{greeting}您好，您反映的{category}问题（工单号 #{id}）已经处理完毕。请您确认一下是否已经解决；"
                  "如果还有问题，请随时联系我们。",
        "return_visit": "{greeting}您好，我是物业客服中心。您之前反映的{category}问题（工单号 #{id}）已经处理完毕，"
                        "想回访一下：问题是否已经解决？您对我们的响应速度、服务态度和处理结果是否满意？"
                        "还有什么需要我们改进的地方吗？",
    },
    "en": {
        "acknowledge": "{greeting}, we have taken your {category} request, number #{id}. We will contact you and "
                       "arrange the work by {respond_by}, and have it done by {resolve_by}. If anything changes, "
                       "we will tell you straight away.",
        "apologise": "{greeting}, I have noted everything you told me. I understand how frustrating this is, and we "
                     "are sorry for the trouble it has caused you. I will follow this up myself (request #{id}), "
                     "and you will have the result by {resolve_by}.",
        "progress": "{greeting}, about your {category} request (#{id}): we are working on it and expect to finish "
                    "by {resolve_by}. If anything changes along the way, we will let you know.",
        "result": "{greeting}, your {category} request (#{id}) has been dealt with. Could you check that the problem "
                  "is solved? If anything is still wrong, please contact us at any time.",
        "return_visit": "{greeting}, this is the estate's service desk calling back about your {category} request "
                        "(#{id}), which has been dealt with. Is the problem solved? Are you satisfied with how "
                        "quickly we responded, with our attitude and with the result? Is there anything we should "
                        "do better?",
    },
}


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    key: str
    title: str
    text: str


def _when(at: datetime | None, lang: str, tz: ZoneInfo) -> str:
    if at is None:
        return "尽快" if lang == "zh-CN" else "as soon as we can"
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def fill_templates(*, ticket_id: int, category: str, respond_due: datetime | None, resolve_due: datetime | None,
                   resident_name: str | None, lang: str, tz: ZoneInfo = DEFAULT_TZ) -> list[ReplyTemplate]:
    """The five scripts for one ticket in `lang` ("zh-CN" or "en"; anything else is a ValueError), the deadlines
    in the estate's time zone."""
    if lang not in LANGS:
        raise ValueError(f"reply templates exist in {', '.join(LANGS)}, not {lang!r}")
    if lang == "zh-CN":
        greeting = f"{resident_name}" if resident_name else "业主"
    else:
        greeting = f"Hello {resident_name}" if resident_name else "Hello"
    values = {"greeting": greeting, "id": ticket_id, "category": CATEGORY_NAMES[lang].get(category, category),
              "respond_by": _when(respond_due, lang, tz), "resolve_by": _when(resolve_due, lang, tz)}
    return [ReplyTemplate(key, TITLES[lang][key], _TEXTS[lang][key].format(**values)) for key in KEYS]
