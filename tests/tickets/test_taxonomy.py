"""The two-level complaint taxonomy: the handbooks' phrases in simplified and traditional Chinese and English,
and a taxonomy file that cannot be used is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickets.classify import Category, Tier, classify_text
from tickets.complaints import intake_complaint
from tickets.taxonomy import TaxonomyError, default_taxonomy, load_taxonomy

from .conftest import NOW

# Issue #16's done-when lines: the handbooks' phrases (001, 003, 004) and their English equivalents.
HANDBOOK_PHRASES = [
    ("樓道保潔不到位", Category.ENVIRONMENT, Tier.GENERAL, "cleaning"),
    ("The stairwell cleaning is not done properly", Category.ENVIRONMENT, Tier.GENERAL, "cleaning"),
    ("電梯困人", Category.FACILITY, Tier.MAJOR, "elevator"),
    ("Someone is trapped in the lift", Category.FACILITY, Tier.MAJOR, "elevator"),
    ("水管爆漏", Category.FACILITY, Tier.MAJOR, "water"),
    ("A water pipe has burst and is leaking", Category.FACILITY, Tier.MAJOR, "water"),
    ("物業收費爭議", Category.BILLING, Tier.COMPLEX, "fees"),
    ("A dispute over the property management fee", Category.BILLING, Tier.COMPLEX, "fees"),
    ("樓下商鋪噪音擾民", Category.COMMUNITY, Tier.GENERAL, "noise"),
    ("The shop downstairs makes so much noise it disturbs residents", Category.COMMUNITY, Tier.GENERAL, "noise"),
    ("渗漏", Category.HOUSE_QUALITY, Tier.COMPLEX, "seepage"),
    ("滲漏", Category.HOUSE_QUALITY, Tier.COMPLEX, "seepage"),
    ("Seepage through the outer wall", Category.HOUSE_QUALITY, Tier.COMPLEX, "seepage"),
    ("开裂", Category.HOUSE_QUALITY, Tier.COMPLEX, "cracks"),
    ("開裂", Category.HOUSE_QUALITY, Tier.COMPLEX, "cracks"),
    ("The living room wall has cracked", Category.HOUSE_QUALITY, Tier.COMPLEX, "cracks"),
    ("隔音效果差", Category.HOUSE_QUALITY, Tier.COMPLEX, "sound_insulation"),
    ("The sound insulation between flats is terrible", Category.HOUSE_QUALITY, Tier.COMPLEX, "sound_insulation"),
    ("快遞櫃裡的包裹丟了", Category.PARCEL, Tier.GENERAL, "parcels"),
    ("My parcel went missing from the locker", Category.PARCEL, Tier.GENERAL, "parcels"),
    ("和隔壁邻居因为占用过道闹矛盾，希望物业调解", Category.NEIGHBOUR, Tier.COMPLEX, "dispute"),
    ("Please mediate between us and our next door neighbour", Category.NEIGHBOUR, Tier.COMPLEX, "dispute"),
    ("小区草坪很久没人修剪了", Category.ENVIRONMENT, Tier.GENERAL, "greenery"),
    ("保安態度很差，還罵人", Category.SERVICE_ATTITUDE, Tier.GENERAL, "attitude"),
]


@pytest.mark.parametrize("text, category, tier, point", HANDBOOK_PHRASES)
def test_handbook_phrases_classify_as_the_handbooks_say(text, category, tier, point):
    found = classify_text(text)
    assert (found.category, found.tier, found.subcategory) == (category, tier, point), found.matched


def test_each_fault_point_carries_its_department():
    assert classify_text("樓道保潔不到位").department == "cleaning"
    assert classify_text("開裂").department == "management"
    assert classify_text("電梯困人").department == "engineering"
    departments = {p.department for p in default_taxonomy().fault_points}
    assert departments <= {"engineering", "customer_service", "security", "finance", "management", "cleaning"}


def test_an_operator_taxonomy_file_replaces_the_default(tmp_path: Path):
    path = tmp_path / "taxonomy.yaml"
    categories = {c.value: f"    department: management\n    fault_points:\n      only_{c.value}:\n"
                           f"        keywords: [zzz{c.value}]\n" for c in Category}
    body = "categories:\n" + "".join(f"  {name}:\n{text}" for name, text in categories.items())
    path.write_text(body.replace("keywords: [zzzparcel]", "strong: [门铃]"), encoding="utf-8")
    found = classify_text("門鈴壞了", load_taxonomy(path))
    assert (found.category, found.subcategory, found.department) == (Category.PARCEL, "only_parcel", "management")


@pytest.mark.parametrize("body, message", [
    ("categories: [a, b]", "needs a 'categories' mapping"),
    ("categories:\n  weather:\n    department: x\n    fault_points: {}\n", "categories.weather: unknown category"),
    ("categories:\n  facility:\n    department: engineering\n    fault_points:\n      lift: {tier: urgent, "
     "keywords: [lift]}\n", "fault_points.lift: tier 'urgent'"),
    ("categories:\n  facility:\n    department: engineering\n    fault_points:\n      lift: {tier: major}\n",
     "fault_points.lift: no keywords"),
    ("categories:\n  facility:\n    department: engineering\n    fault_points:\n      lift: {keywords: [lift]}\n",
     "categories missing"),
    ("categories: {facility: [unclosed", "not valid YAML"),
])
def test_a_bad_taxonomy_file_is_a_clear_error_naming_the_entry(tmp_path: Path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(TaxonomyError, match=str(path)) as caught:
        load_taxonomy(path)
    assert message in str(caught.value)


def test_a_missing_taxonomy_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(TaxonomyError, match="cannot read the taxonomy file"):
        load_taxonomy(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize("text, category, department", [
    ("樓道保潔不到位", "environment", "cleaning"),
    # A complex-tier complaint goes to the complaint-handling group (tickets.routing.group_department, 003 投诉处理组).
    ("The developer will not fix the cracks in our living room wall", "house_quality", "complaint_handling"),
    ("快递柜里的包裹被人拿走了", "parcel", "customer_service"),
])
def test_an_intake_complaint_goes_to_its_fault_points_department(conn, staff, text, category, department):
    resident_id, unit_id = conn.execute("SELECT id, unit_id FROM residents ORDER BY id LIMIT 1").fetchone()
    made = intake_complaint(conn, resident_id=resident_id, unit_id=unit_id, channel="app", description=text,
                            lang="zh-CN", reported_at=NOW, now=NOW)
    row = conn.execute("SELECT category, subcategory, department_id FROM tickets WHERE id = %s",
                       (made.ticket_id,)).fetchone()
    assert (row[0], row[2]) == (category, department)
