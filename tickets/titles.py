"""A ticket's title as the product writes it, read back into its parts for the pages, and put in words for staff.

Titles are stored as written (the API, the CLI, the exports and the staff's push messages carry them as they are):
a preventive ticket's is its device kind, fault and place ("elevator entrapment @ 1号楼 A梯"), a complaint's its
category, fault point and the first words of the description ("facility/elevator: 电梯门关不上"). The staff pages
show them in the reader's words: `title_parts` reads such a title back, and the page names the fault or the point
in its language (api/templates/staff/_words.html `title`). A title of another shape (a building gone silent, a
planned maintenance visit, one staff wrote) is shown as it is.

The staff's names of the faults detectors raise (`FAULT_NAMES`, both languages) live here because they leave the
pages too: an engineer's SMS or WeChat push (`tickets.staff_push`) words the title with them (`title_words`), as the
staff pages do (`staff/_words.html`).

>>> title_parts(fault_title("water", "supply_outage", "1号楼 高区加压泵"))
TitleParts(fault='supply_outage', point=None, rest='1号楼 高区加压泵')
>>> title_parts(complaint_title("community", "noise", "楼下装修噪音太吵"))
TitleParts(fault=None, point='noise', rest='楼下装修噪音太吵')
>>> title_parts(complaint_title("billing", None, "物业费为什么涨了"))
TitleParts(fault=None, point='billing', rest='物业费为什么涨了')
>>> title_parts("每 30 天定期保养 rs-b1-elev-a") is None
True
>>> title_words(fault_title("elevator", "entrapment", "1号楼 A梯"), "zh-CN")
'困人 @ 1号楼 A梯'
>>> title_words(complaint_title("facility", "elevator", "电梯门关不上"), "en")
'lift fault: 电梯门关不上'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tickets.review.definitions import point_name

_FAULT = re.compile(r"(?P<kind>[a-z_+]+) (?P<fault>[a-z_]+) @ (?P<rest>.+)", re.S)
_COMPLAINT = re.compile(r"(?P<category>[a-z_]+)/(?P<point>[a-z_]+): (?P<rest>.*)", re.S)
OTHER = "other"  # a complaint with no fault point: its category is its point

# Every fault a detector raises (detectors/rules, presence, absence, learned, peers; tickets/silence.py), as an
# engineer names it (zh, en). The resident's words for the same faults are gentler: tickets/notices.py.
FAULT_NAMES: dict[str, tuple[str, str]] = {
    "entrapment": ("困人", "Passengers trapped"), "out_of_service": ("电梯停运", "Lift out of service"),
    "door_fault": ("电梯门故障", "Lift door fault"), "motor_overheat": ("曳引机过热", "Motor overheating"),
    "bearing_wear": ("轴承磨损", "Bearing wear"), "levelling_drift": ("平层偏差", "Levelling drift"),
    "reader_offline": ("读卡器离线", "Card reader offline"),
    "reader_silent": ("读卡器不读卡", "Card reader reads no cards"),
    "lock_failure": ("门锁故障", "Door lock failure"), "held_open": ("门长时间未关", "Door held open"),
    "forced_open": ("门被强行打开", "Door forced open"), "battery_low": ("电池电量低", "Battery low"),
    "supply_outage": ("供水中断", "Water supply outage"), "pump_failure": ("加压水泵故障", "Booster pump failure"),
    "tank_low": ("水箱水位低", "Water tank low"), "pipe_burst": ("爆管", "Burst pipe"),
    "slow_leak": ("管道渗漏", "Slow leak"), "sensor_stuck": ("传感器读数卡滞", "Sensor stuck"),
    "sensor_spikes": ("传感器读数跳变", "Sensor spikes"), "sensor_dropout": ("传感器数据中断", "Sensor dropout"),
    "device_offline": ("设备离线", "Device offline"),
    "building_silent": ("楼栋设备同时失联", "Building's devices silent together"),
    "usual_activity_missing": ("常规使用消失", "Usual activity missing"),
    "unusual_behaviour": ("运行行为异常", "Unusual behaviour"),
}


@dataclass(frozen=True, slots=True)
class TitleParts:
    fault: str | None  # a preventive ticket's fault
    point: str | None  # a complaint's fault point, else its category (tickets.review.definitions.POINT_NAMES)
    rest: str  # the place, or the description's first words


def fault_title(kind: str, fault: str, place: str) -> str:
    """A preventive ticket's title: the device kind, its fault and where ("elevator entrapment @ 1号楼 A梯")."""
    return f"{kind} {fault} @ {place}"


def complaint_title(category: str, point: str | None, description: str) -> str:
    """A complaint ticket's title: its category, fault point and the description's first 60 characters."""
    return f"{category}/{point or OTHER}: {description[:60]}"


def title_parts(title: str) -> TitleParts | None:
    """The parts of a title the product wrote; None for a title of another shape."""
    if found := _FAULT.fullmatch(title):
        return TitleParts(found["fault"], None, found["rest"])
    if found := _COMPLAINT.fullmatch(title):
        point = found["point"] if found["point"] != OTHER else found["category"]
        return TitleParts(None, point, found["rest"])
    return None


def fault_name(fault: str, lang: str) -> str:
    """A fault as staff name it in `lang` (zh-CN, else English); a fault with no name is its code."""
    zh, en = FAULT_NAMES.get(fault, (fault, fault))
    return zh if lang == "zh-CN" else en


def title_words(title: str, lang: str) -> str:
    """The title in the reader's words: the fault or the complaint's point by name, then the place or the description;
    a title of another shape as it is."""
    parts = title_parts(title)
    if parts is None:
        return title
    if parts.fault is not None:
        return f"{fault_name(parts.fault, lang)} @ {parts.rest}"
    return f"{point_name(parts.point or OTHER, lang)}: {parts.rest}"
