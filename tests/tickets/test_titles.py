"""Ticket titles as the product writes them and as the staff pages read them back (tickets/titles.py)."""

from __future__ import annotations

import doctest

import tickets.titles
from tickets.titles import TitleParts, complaint_title, fault_title, title_parts


def test_the_modules_examples_hold():
    result = doctest.testmod(tickets.titles)
    assert result.attempted > 0 and result.failed == 0


def test_each_title_the_product_writes_reads_back_and_any_other_is_left_alone():
    assert title_parts(fault_title("elevator+water", "building_silent", "1号楼 Building 1")) == TitleParts(
        "building_silent", None, "1号楼 Building 1")
    long = "电梯门关不上，" * 20
    assert title_parts(complaint_title("facility", "elevator", long)) == TitleParts(None, "elevator", long[:60])
    assert title_parts(complaint_title("facility", "elevator", "line one\nline two")).rest == "line one\nline two"
    for written_by_staff in ("Replace the lobby door closer", "每 30 天定期保养 (every 30 days)",
                             "likely power cut / network loss in 1号楼", "Lift A @ 1号楼", ""):
        assert title_parts(written_by_staff) is None, written_by_staff
