"""The monthly review's charts (tickets/review/report.py `charts`, on /manager/review and in the HTML export): channels
by name in the reader's language, and a chart with nothing to draw says why instead of showing a bare dash."""

from __future__ import annotations

from tickets.review import report
from tickets.review.compute import Review


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
