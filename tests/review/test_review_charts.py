"""The monthly review's charts (tickets/review/report.py `charts`, on /manager/review and in the HTML export): channels
by name in the reader's language, and a chart with nothing to draw says why instead of showing a bare dash."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from tickets.review import report
from tickets.review.compute import Figure, Point, Review


def test_the_channel_chart_names_each_channel_in_the_readers_language():
    review = Review("2026-10", "portfolio", {}, volume={"channel": {"phone": 3, "wechat": 2, "app": 1}})
    zh, en = report.charts(review, "zh-CN"), report.charts(review, "en")
    assert all(f">{name}</text>" in zh for name in ("电话", "微信", "App"))
    assert ">phone</text>" in en and ">WeChat</text>" in en and ">wechat</text>" not in en
    assert zh.index(">电话<") < zh.index(">微信<") < zh.index(">App<")  # most complaints first


def test_a_month_without_complaints_says_so_on_each_chart():
    quiet = Review("2026-10", "portfolio", {})
    assert report.charts(quiet, "zh-CN").count("本期没有投诉") == 2
    assert report.charts(quiet, "en").count("no complaints in this period") == 2


def test_the_points_chart_names_each_building_where_it_has_a_name():
    """A walk-through found `响应拖延 · rs-b1 50 %` on the monthly review: the page gives the buildings' names."""
    review = Review("2026-12", "portfolio", {}, points=[Point("responsiveness", "rs-b1", 1, 50.0),
                                                        Point("water", "rs-b9", 1, 50.0)],
                    names={"rs-b1": "1号楼 Building 1"})
    zh = report.charts(review, "zh-CN")
    assert ">响应拖延 · 1号楼 Building 1</text>" in zh and "rs-b1" not in zh
    assert ">供水问题 · rs-b9</text>" in zh  # a building with no name there keeps its id rather than vanish
    assert ">slow response · 1号楼 Building 1</text>" in report.charts(review, "en")  # and the HTML export


def test_a_cause_on_a_building_names_the_building():
    review = Review("2026-12", "portfolio", {}, causes=[
        {"id": 1, "ticket_id": None, "point": "elevator", "building_id": "rs-b1", "what": "电梯门故障", "where": "",
         "when": "", "who": "", "why": "", "how": "", "whys": ["门机皮带磨损"]}], names={"rs-b1": "1号楼 Building 1"})
    assert report.cause_rows(review, "en")[0][1] == "lift fault · 1号楼 Building 1"
    assert "<td>电梯故障 · 1号楼 Building 1</td>" in report.actions_html(review, "zh-CN")


def test_the_html_and_pdf_exports_put_the_source_and_the_mark_in_words_and_name_the_slice():
    """The CSV keeps the codes (complaint, green) for other tools; the HTML that people read says 投诉 and 达标."""
    figures = {"complaint": {"complaints": Figure("complaints", 4.0)},
               "preventive": {"resolution_rate": Figure("resolution_rate", 50.0, target=90.0)}}
    review = Review("2026-12", "building=rs-b1, point=elevator", figures, names={"rs-b1": "1号楼 Building 1"})
    assert [(r[0], r[4]) for r in report.rows(review, "zh-CN")] == [("complaint", ""), ("preventive", "red")]
    assert "complaint," in report.to_csv(review, "zh-CN")
    html = report.to_html(review, "zh-CN")
    assert "<td class=\"\">投诉</td>" in html and "<td class=\"red\">预防性工单</td>" in html
    assert "<td class=\"red\">未达标</td>" in html and "— 1号楼 Building 1 · 电梯故障</h1>" in html
    assert report.slice_words(Review("2026-12", "portfolio", {}), "en") == "portfolio"


def test_a_breachs_times_are_the_reviews_wall_clock_in_html_and_pdf_rows_and_iso_in_json():
    review = Review("2026-11", "portfolio", {}, tz=ZoneInfo("Asia/Shanghai"), breaches=[
        {"ticket": 7, "source": "complaint", "tier": "major", "clock": "respond", "milestone": "respond",
         "due": "2026-11-03T06:12:00+00:00", "met_at": "2026-11-03T16:30:45+00:00"}])
    assert report.breach_rows(review, "en")[0][4:] == ["2026-11-03 14:12", "2026-11-04 00:30"]
    assert "<td>2026-11-03 14:12</td><td>2026-11-04 00:30</td>" in report.to_html(review, "en")
    assert json.loads(report.to_json(review))["breaches"][0]["due"] == "2026-11-03T06:12:00+00:00"
    assert "tz" not in review.as_dict()
