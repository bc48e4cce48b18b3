"""Wide tables on the desk and manager pages scroll inside their own box: on a 390 px phone (is_mobile, as the
walk-through saw it) no page is wider than the screen, in both languages and with data, and each table wider than
the screen sits in a box that scrolls sideways far enough to reach its last column; short state labels (已派单)
stay on one line; on a 1280 px desktop the monthly review with an improvement action fits, and the desk queue
uses the width it has."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Page, ViewportSize

from api.auth import Role
from tests.review.conftest import write_month
from tickets.complaints import intake_complaint
from tickets.review import actions as act
from tickets.review.compute import Slice
from tickets.survey_waves import create_wave

from .conftest import SCREENSHOTS, TestUser, WebPlatform, make_user

PAGES = ("/desk", "/desk/intake", "/manager?site=riverside", "/manager/review?month=2026-10",
         "/manager/review/quarter?quarter=2026Q4", "/manager/scorecards?month=2026-10", "/manager/actions",
         "/manager/surveys")
# Pages whose data makes at least one table wider than a phone: the check below must not pass vacuously.
WIDE_ON_A_PHONE = ("/desk", "/manager/review?month=2026-10", "/manager/scorecards?month=2026-10",
                   "/manager/actions", "/manager/surveys")
LANGS = ("zh-CN", "en")
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
# Each table of the page's <main>: its own width (a table shown as a block scrolls itself: its scrollWidth), and
# the box that scrolls it (the table or its nearest ancestor with overflow-x auto/scroll), scrolled to its end to
# see whether the table's last column can be reached; lines counts the line boxes of the short labels.
MEASURE = """() => {
  const main = document.querySelector('main');
  const lines = el => { const r = document.createRange(); r.selectNodeContents(el);
    return new Set([...r.getClientRects()].filter(b => b.width > 0).map(b => Math.round(b.top))).size; };
  const tables = [...main.querySelectorAll('table')].map(t => {
    let box = t;
    while (box !== main && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) box = box.parentElement;
    const scroller = box === main ? null : box;
    const width = Math.max(t.scrollWidth, t.getBoundingClientRect().width);
    const row = t.rows[0];
    const last = row ? row.cells[row.cells.length - 1] : null;
    let lastRight = null, scrollerRight = null;
    if (scroller && last) {
      scroller.scrollLeft = scroller.scrollWidth;
      lastRight = last.getBoundingClientRect().right;
      scrollerRight = scroller.getBoundingClientRect().right;
      scroller.scrollLeft = 0;
    }
    return {id: t.id || t.className || t.tagName, width,
            scroller: scroller && {tag: scroller.tagName, cls: scroller.className,
                                   scrollWidth: scroller.scrollWidth, clientWidth: scroller.clientWidth},
            lastRight, scrollerRight};
  });
  const labels = [...main.querySelectorAll('table td.state, table .badge, table time.countdown, #queue th')]
    .map(el => ({text: el.textContent.trim(), lines: lines(el)}));
  return {scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
          mainWidth: main.getBoundingClientRect().width, tables, labels};
}"""


def _seed(db_url: str) -> None:
    """What the walk-through had: a few open tickets (one with a long unbroken id in its text), October's 200
    tickets for the reviews, a root cause and an improvement action, and a survey wave."""
    now = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        residents = conn.execute(
            "SELECT r.id, r.unit_id FROM residents r WHERE r.active ORDER BY r.id LIMIT 4").fetchall()
        texts = ("卫生间天花板漏水", "电梯 rs-b1-elevator-2-controller-E0123456789 反复报警停梯", "楼道灯不亮",
                 "Water is leaking through the bathroom ceiling of the flat upstairs")
        for (resident, unit), text in zip(residents, texts, strict=True):
            made = intake_complaint(conn, resident_id=resident, unit_id=unit, channel="app", description=text,
                                    lang="zh-CN", reported_at=now, now=now)
            conn.commit()
            if text == texts[0]:  # overdue: the queue shows it red, "overdue by …"
                conn.execute("UPDATE tickets SET respond_due = %s WHERE id = %s",
                             (now - timedelta(days=3), made.ticket_id))
                conn.commit()
        write_month(conn)
        conn.commit()
        act.add_cause(conn, by="mgr", now=datetime(2026, 10, 20, tzinfo=UTC), point="elevator", building_id="rs-b1",
                      whys=["门机皮带老化", "保养合同没有覆盖皮带"], what="电梯门反复卡住")
        act.add_action(conn, by="mgr", now=datetime(2026, 9, 20, tzinfo=UTC), title="更换门机皮带并修订保养合同",
                       department_id="engineering", owner="王工", deadline=date(2026, 11, 30), metric="complaints",
                       starts_on=date(2026, 10, 1), where=Slice(building="rs-b1", point="elevator"))
        create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=11, by="mgr",
                    now=now - timedelta(hours=1))
        conn.commit()


@pytest.fixture(scope="module")
def manager(web: WebPlatform) -> TestUser:
    _seed(web.db_url)
    return make_user(web, Role.MANAGER)


@pytest.fixture
def open_page(signed_in_page: Callable[..., Page]) -> Callable[[TestUser, str, ViewportSize], Page]:
    def opened(user: TestUser, lang: str, viewport: ViewportSize) -> Page:
        return signed_in_page(user, lang=lang, width=viewport["width"], height=viewport["height"],
                              mobile=viewport["width"] < 720)

    return opened


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"wide-{name}.png"), full_page=True)


def _slug(path: str) -> str:
    return path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "home"


def _check(page: Page, path: str, problems: list[str]) -> dict[str, Any]:
    """The page fits the screen; every table wider than the page's main column scrolls inside its own box far
    enough to show its last column; short labels stay on one line. Adds what is wrong to `problems`; returns the
    measure."""
    answer = page.goto(path)
    assert answer is not None and answer.status == 200, path
    m: dict[str, Any] = page.evaluate(MEASURE)
    print(f"{path} {page.viewport_size}: page {m['scrollWidth']} px on a {m['clientWidth']} px screen")
    if m["scrollWidth"] > m["clientWidth"] + 1:
        problems.append(f"{path} is {m['scrollWidth']} px wide on a {m['clientWidth']} px screen")
    for t in m["tables"]:
        if t["width"] <= m["mainWidth"]:
            continue
        box = t["scroller"]
        if box is None:
            problems.append(f"{path}: table {t['id']} ({t['width']:.0f} px) has no box that scrolls it")
        elif box["scrollWidth"] <= box["clientWidth"]:
            problems.append(f"{path}: table {t['id']}'s box does not scroll: {box}")
        elif t["lastRight"] > t["scrollerRight"] + 1:
            problems.append(f"{path}: table {t['id']}'s last column is out of reach: {t}")
    problems.extend(f"{path}: {label['text']!r} wraps onto {label['lines']} lines"
                    for label in m["labels"] if label["lines"] != 1)
    return m


@pytest.mark.parametrize("lang", LANGS)
def test_no_page_is_wider_than_a_phone_and_wide_tables_scroll_in_their_box(web, manager, open_page, lang):
    agent = make_user(web, Role.AGENT)
    pages = {"manager": open_page(manager, lang, PHONE), "desk": open_page(agent, lang, PHONE)}
    problems: list[str] = []
    for path in PAGES:
        page = pages["desk" if path.startswith("/desk") else "manager"]
        m = _check(page, path, problems)
        if path in WIDE_ON_A_PHONE and not any(t["width"] > m["mainWidth"] for t in m["tables"]):
            problems.append(f"{path}: no table is wider than the phone, so nothing here was checked: {m['tables']}")
        _shot(page, f"{_slug(path)}-{lang}-390")
    assert pages["desk"].goto("/desk") is not None
    assert pages["desk"].locator("#queue td.state").count() >= 4  # the seeded open tickets are on the queue
    assert not problems, "\n".join(problems)


def test_the_monthly_review_fits_a_desktop_and_the_queue_uses_its_width(web, manager, open_page):
    problems: list[str] = []
    page = open_page(manager, "en", DESKTOP)
    _check(page, "/manager/review?month=2026-10", problems)
    assert page.locator("#review-actions #actions tr").count() >= 2  # the improvement action is on the page
    _shot(page, "manager-review-en-1280")
    desk = open_page(make_user(web, Role.AGENT), "zh-CN", DESKTOP)
    m = _check(desk, "/desk", problems)
    queue = desk.locator("#queue").bounding_box()
    assert queue is not None
    if queue["width"] < 0.85 * m["clientWidth"]:
        problems.append(f"the desk queue is {queue['width']:.0f} px wide on a {m['clientWidth']} px screen")
    _shot(desk, "desk-zh-CN-1280")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_of_the_navigation_is_in_sight_on_a_phone(web, manager, open_page, lang):
    """The walk-through found 我的请求 and 通知设置 (resident) and 公告 (desk) past the right edge of a 390 px phone:
    the navigation wraps instead, so each of its links lies within the screen."""
    users = {"resident": make_user(web, Role.RESIDENT, resident_id="r-00001"), "desk": make_user(web, Role.AGENT),
             "manager": manager}
    for role, user in users.items():
        page = open_page(user, lang, PHONE)
        page.goto("/")
        links = page.locator("nav.main a")
        assert links.count() >= 3, role
        for i in range(links.count()):
            box = links.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], \
                (role, links.nth(i).inner_text(), box)
