"""The web frame in a real browser against the real platform: sign-in pages render in both languages at phone and
desktop widths, the language switch works, a page needing a session sends a visitor to the login page and back."""

from __future__ import annotations

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
