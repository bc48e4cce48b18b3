"""Emulated residents: while a resident-visible fault persists, some of the people it affects complain.

A complaint comes a realistic delay after the moment residents notice (`FaultSpec.visible_at`): minutes for an
entrapment, hours for low pressure. Who complains is drawn from the residents of the units the device serves;
they write in their own language and use their usual channel. Complaints are planned up front (seeded, so the
same scenario gives the same complaints) and delivered through a `ComplaintSink` at their simulated time.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import httpx

from ingest.estate import Estate, NoticeChannel, Resident
from simulators.faults import FAULTS, FaultWindow

# fault → (zh-CN, en) templates. {place}: building or gate, {unit}: unit number, {floor}: the resident's floor.
TEXTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "entrapment": (
        ("{place}电梯困人了！我家人被关在电梯里，按了警铃没人应，快派人来！我是{unit}的。",
         "急！{place}的电梯停在两层中间，里面有人出不来，请马上处理！"),
        ("Someone is trapped in the lift in {place}! The car stopped between floors and nobody answers the "
         "alarm. I'm in {unit}.", "Urgent: my son is stuck in the {place} lift, please send someone now."),
    ),
    "door_fault": (
        ("{place}电梯门一直开开关关，关门特别慢，早上等了好久。", "{place}电梯门老是关不上，反复弹开，麻烦修一下。"),
        ("The lift door in {place} keeps reopening and takes ages to close.",),
    ),
    "bearing_wear": (
        ("{place}电梯运行的时候抖得厉害，还有咯咯的异响，坐着心里发慌。", "电梯最近噪音越来越大，{place}，是不是该保养了？"),
        ("The lift in {place} shakes and makes a grinding noise when it moves. Is it safe?",),
    ),
    "levelling_drift": (
        ("{place}电梯停靠不平，门口有个台阶，老人差点绊倒。",),
        ("The lift in {place} stops out of level with the floor; my mother nearly tripped.",),
    ),
    "motor_overheat": (
        ("{place}电梯又停了，机房那边好像有焦味。",),
        ("The lift in {place} has stopped again and there is a burning smell near the machine room.",),
    ),
    "out_of_service": (
        ("{place}电梯停运了也没有通知，我住{floor}楼，上下楼太不方便了。", "电梯怎么又坏了？{place}，{unit}，家里有老人。"),
        ("The lift in {place} is out of service and nobody told us. I live on floor {floor}.",),
    ),
    "reader_offline": (
        ("{place}门禁刷卡没反应，进不去门，在门口等了半天。", "门禁坏了吗？{place}刷卡、刷脸都不行。"),
        ("The card reader at {place} does not respond, I cannot get in.",),
    ),
    "pipe_burst": (
        ("{place}楼道里到处是水，好像水管爆了，赶紧关阀门！", "地下室在往外冒水，{place}，快来人看看！"),
        ("Water is pouring into the corridor of {place}, looks like a burst pipe!",),
    ),
    "slow_leak": (
        ("我家天花板渗水发霉了（{place}{unit}），楼上说他们没漏，麻烦查一下管道。", "这个月水费突然高了很多，{unit}，是不是哪里漏水？"),
        ("There is a damp patch spreading on my ceiling in {unit}, {place}. Could you check the pipes?",),
    ),
    "pump_failure": (
        ("{place}{floor}楼水压很小，洗澡水都出不来。", "高层水压太低了，热水器都打不着火，{unit}。"),
        ("Water pressure on floor {floor} of {place} has been very low for hours.",),
    ),
    "tank_low": (
        ("{place}水压越来越小，现在基本没水了。",),
        ("The water pressure in {place} kept dropping and now there is almost nothing.",),
    ),
    "supply_outage": (
        ("{place}停水了吗？没看到通知啊，家里一点水都没有。", "{unit}没水了，什么时候能恢复？"),
        ("No water at all in {unit}, {place}. Was there a notice?",),
    ),
}


@dataclass(frozen=True, slots=True)
class EmulatedComplaint:
    """One complaint an emulated resident makes, at simulated time `reported_at`."""

    resident_id: str
    unit_id: str
    device_id: str
    fault: str
    channel: str  # app | phone | wechat
    description: str
    lang: str  # zh-CN | en
    reported_at: datetime

    def api_body(self) -> dict[str, str]:
        """The JSON body of ``POST /api/v1/complaints``."""
        return {
            "resident_id": self.resident_id,
            "unit_id": self.unit_id,
            "channel": self.channel,
            "description": self.description,
            "lang": self.lang,
            "reported_at": self.reported_at.isoformat(),
        }


class ComplaintSink(Protocol):
    """Where emulated complaints go. `submit` raises `ComplaintDeliveryError` when the complaint was not taken."""

    def submit(self, complaint: EmulatedComplaint) -> None: ...


class ComplaintDeliveryError(RuntimeError):
    """The platform did not accept a complaint (network error or a non-2xx answer)."""


@dataclass(slots=True)
class MemoryComplaintSink:
    """Keeps complaints in a list: for tests and in-process benchmarks."""

    received: list[EmulatedComplaint] = field(default_factory=list)

    def submit(self, complaint: EmulatedComplaint) -> None:
        self.received.append(complaint)


class HttpComplaintSink:
    """Posts complaints to the platform API (``POST {api}/api/v1/complaints``) with a bearer token.

    Each complaint goes with an `Idempotency-Key` of its own. A post whose answer never came (the connection reset,
    a timeout) or that the server could not take just then (502/503/504) is sent again under the same key, up to
    `attempts` times: the platform files it once however many copies arrive, so a lost answer costs neither the
    complaint nor a duplicate. `retried` counts the second and later posts."""

    RETRY_STATUS = frozenset({502, 503, 504})

    def __init__(self, api: str, token: str, *, timeout_s: float = 5.0, attempts: int = 3,
                 backoff_s: float = 0.2) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        self.url = api.rstrip("/") + "/api/v1/complaints"
        self.attempts, self.backoff_s, self.retried = attempts, backoff_s, 0
        self._client = httpx.Client(timeout=timeout_s, headers={"Authorization": f"Bearer {token}"})

    def submit(self, complaint: EmulatedComplaint) -> None:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        for attempt in range(1, self.attempts + 1):
            if attempt > 1:
                self.retried += 1
                time.sleep(self.backoff_s * 2 ** (attempt - 2))
            try:
                response = self._client.post(self.url, json=complaint.api_body(), headers=headers)
            except httpx.TransportError as exc:
                failure = f"POST {self.url} failed: {exc}"
                continue
            except httpx.HTTPError as exc:
                raise ComplaintDeliveryError(f"POST {self.url} failed: {exc}") from None
            if response.is_success:
                return
            failure = f"POST {self.url} answered {response.status_code}: {response.text[:200]}"
            if response.status_code not in self.RETRY_STATUS:
                break
        raise ComplaintDeliveryError(failure + (f" (after {attempt} attempts)" if attempt > 1 else ""))

    def close(self) -> None:
        self._client.close()


def plan_complaints(
    windows: list[FaultWindow],
    estate: Estate,
    seed: int,
    *,
    delay_scale: float = 1.0,
    share_scale: float = 1.0,
) -> list[EmulatedComplaint]:
    """Every complaint the residents will make during these fault windows, sorted by time."""
    units = {u.id: u for u in estate.units}
    buildings = {b.id: b for b in estate.buildings}
    sites = {s.id: s for s in estate.sites}
    out: list[EmulatedComplaint] = []
    for window in windows:
        spec = FAULTS[window.fault]
        noticed = window.visible_at
        if noticed is None:
            continue
        rng = random.Random(f"{seed}/complaints/{window.device_id}/{window.fault}/{window.start.isoformat()}")
        device = estate.device(window.device_id)
        affected = estate.residents_served_by(window.device_id)
        if not affected:
            continue
        lo, hi = spec.complainants
        count = min(len(affected), max(1, round(rng.randint(lo, hi) * share_scale)))
        building = buildings.get(device.building_id or "")
        for resident in rng.sample(affected, count):
            lo_s, hi_s = spec.complaint_delay_s
            delay = math.exp(rng.uniform(math.log(lo_s), math.log(hi_s))) * delay_scale
            at = noticed + timedelta(seconds=delay)
            if at >= window.end:
                continue  # the fault was over before this resident got round to complaining
            unit = units[resident.unit_id]
            place = building.name if building else sites[device.site_id].name
            out.append(_complaint(rng, resident, unit.number, unit.floor, place, window, at))
    out.sort(key=lambda c: (c.reported_at, c.resident_id))
    return out


def _complaint(rng: random.Random, resident: Resident, unit_no: str, floor: int, place: str,
               window: FaultWindow, at: datetime) -> EmulatedComplaint:
    zh_texts, en_texts = TEXTS[window.fault]
    english = resident.language.value == "en"
    names = place.split(" ", 1)
    place_text = (names[1] if len(names) > 1 else place) if english else names[0]
    template = rng.choice(en_texts if english else zh_texts)
    text = template.format(place=place_text, unit=unit_no, floor=floor)
    return EmulatedComplaint(resident.id, resident.unit_id, window.device_id, window.fault,
                             _channel(rng, resident, window.fault), text, resident.language.value, at)


def _channel(rng: random.Random, resident: Resident, fault: str) -> str:
    """People phone in emergencies and when older; otherwise they use the channel they usually use."""
    if fault in ("entrapment", "pipe_burst") and rng.random() < 0.6:
        return "phone"
    if resident.age_band == "60+" and rng.random() < 0.7:
        return "phone"
    if resident.channel is NoticeChannel.WECHAT:
        return "wechat"
    return "app" if resident.channel in (NoticeChannel.APP, NoticeChannel.MQTT) else "phone"
