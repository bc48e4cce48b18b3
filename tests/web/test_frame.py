"""The web frame in a real browser against the real platform: sign-in pages render in both languages at phone and
desktop widths, the language switch works, a page needing a session sends a visitor to the login page and back."""

from __future__ import annotations

import psycopg

from api.auth import Role

from .conftest import make_user, screenshot


def test_the_login_page_in_chinese_and_english_at_phone_and_desktop_width(anonymous_page):
    page = anonymous_page(lang="zh-CN")
    page.goto("/login")
    assert page.locator("h1").inner_text() == "登录"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    screenshot(page, "login-zh-CN")
    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text() == "Sign in"
    screenshot(page, "login-en")
    page.goto("/login")  # the choice is remembered
    assert page.locator("h1").inner_text() == "Sign in"


def test_a_visitor_is_sent_to_sign_in_and_comes_back(anonymous_page, web):
    user = make_user(web, Role.ENGINEER)
    page = anonymous_page(lang="en")
    page.goto("/?lang=en")
    assert page.url.startswith(f"{web.url}/login")
    page.locator("#identifier").fill(user.user_id)
    page.locator("#password").fill(user.password)
    page.get_by_role("button", name="Sign in with password").click()
    assert page.url == f"{web.url}/"
    assert "Hello," in page.locator("h1").inner_text()


def test_signed_in_page_helper_gives_a_live_session(signed_in_page, web):
    resident = make_user(web, Role.RESIDENT)
    page = signed_in_page(resident, lang="zh-CN")
    page.goto("/")
    assert page.locator(".who").inner_text()
    page.get_by_role("button", name="退出").click()
    assert page.url.startswith(f"{web.url}/login")
    page.goto("/")
    assert page.url.startswith(f"{web.url}/login")


def test_a_resident_signs_in_with_a_one_time_code_sent_to_their_phone(anonymous_page, web, code_outbox):
    resident = make_user(web, Role.RESIDENT)
    with psycopg.connect(web.db_url) as conn:
        phone = conn.execute("SELECT phone FROM residents WHERE id = %s", (resident.resident_id,)).fetchone()[0]
    page = anonymous_page(lang="zh-CN")
    page.goto("/login")
    page.locator("#identifier-code").fill(phone)
    page.get_by_role("button", name="发送一次性验证码").click()
    page.locator("#code").fill(code_outbox.last_code(resident.user_id))
    page.get_by_role("button", name="登录").click()
    assert page.url == f"{web.url}/"
    assert page.locator(".who").inner_text() == code_outbox.sent[-1][0].name


def test_staff_invite_a_unit_and_see_the_codes_to_hand_over(signed_in_page, web):
    agent = make_user(web, Role.AGENT)
    page = signed_in_page(agent, lang="en")
    page.goto("/staff/accounts?unit=rs-b1-0104")
    page.get_by_role("button", name="Invite this unit's residents").click()
    codes = page.locator("#handover td.code").all_inner_texts()
    assert codes and all(len(c) == 6 and c.isdigit() for c in codes)
    screenshot(page, "staff-accounts-invited-en")
