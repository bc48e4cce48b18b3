"""Classification of complaint texts (zh-CN and en) and of alarms."""

from __future__ import annotations

import pytest

from detectors.alarm import Severity
from simulators.faults import FAULTS
from simulators.residents import TEXTS
from tickets.classify import Category, Tier, classify_alarm, classify_text


@pytest.mark.parametrize("text, category, tier, kind", [
    ("1号楼电梯困人了！我家人被关在电梯里，快派人来！", Category.FACILITY, Tier.MAJOR, "elevator"),
    ("Someone is trapped in the lift in Building 1!", Category.FACILITY, Tier.MAJOR, "elevator"),
    ("楼道里到处是水，好像水管爆了，赶紧关阀门！", Category.FACILITY, Tier.MAJOR, "water"),
    ("我家天花板渗水发霉了，麻烦查一下管道。", Category.FACILITY, Tier.GENERAL, "water"),
    ("门禁刷卡没反应，进不去门", Category.FACILITY, Tier.GENERAL, "access_door"),
    ("The card reader at the north gate does not respond", Category.FACILITY, Tier.GENERAL, "access_door"),
    ("这个月物业费多收了，账单不对", Category.BILLING, Tier.COMPLEX, None),
    ("I was charged twice on my service fee invoice", Category.BILLING, Tier.COMPLEX, None),
    ("楼上装修噪音太吵了", Category.COMMUNITY, Tier.GENERAL, None),
    ("Someone keeps parking in my parking space", Category.COMMUNITY, Tier.GENERAL, None),
    ("客服态度很差，打电话没人理", Category.SERVICE_ATTITUDE, Tier.GENERAL, None),
    ("The guard at the gate was rude to my mother", Category.SERVICE_ATTITUDE, Tier.GENERAL, None),
])
def test_complaint_texts_are_classified(text, category, tier, kind):
    found = classify_text(text)
    assert (found.category, found.tier, found.device_kind) == (category, tier, kind)
    assert found.matched  # the decision is explainable


def test_unrecognised_text_is_left_general_for_staff_to_correct():
    found = classify_text("你好")
    assert (found.category, found.tier, found.device_kind, found.matched) == (Category.FACILITY, Tier.GENERAL,
                                                                            None, ())


@pytest.mark.parametrize("fault", sorted(TEXTS))
def test_every_emulated_residents_complaint_names_the_right_device_kind(fault):
    """What the simulators' residents write must fold into incidents of the device kind that is at fault."""
    kinds = {k.value if hasattr(k, "value") else str(k) for k in FAULTS[fault].kinds}
    zh, en = TEXTS[fault]
    for template in zh + en:
        text = template.format(place="1号楼", unit="1501", floor=15)
        assert classify_text(text).device_kind in kinds, text


def test_alarms_map_to_facility_with_major_for_people_at_risk():
    assert classify_alarm("elevator", "entrapment", Severity.WARNING).tier is Tier.MAJOR
    assert classify_alarm("water", "slow_leak", Severity.WARNING).tier is Tier.GENERAL
    assert classify_alarm("water", "slow_leak", Severity.CRITICAL).tier is Tier.MAJOR
    found = classify_alarm("access_door", "held_open", "info")
    assert (found.category, found.subcategory, found.device_kind) == (Category.FACILITY, "door", "access_door")
