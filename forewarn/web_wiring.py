"""Settings onto the web frame: `WebConfig` for the pages, and the sender of one-time codes (the same gateway
webhook or SMTP server that carries notices, when configured; the log otherwise)."""

from __future__ import annotations

from api.web.config import WebConfig
from forewarn.settings import RunMode, Settings


def public_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.api_host}:{settings.api_port}").rstrip("/")


def web_config(settings: Settings) -> WebConfig:
    return WebConfig(secret_key=settings.secret_key, secure_cookies=settings.mode is RunMode.PRODUCTION,
                     session_days=settings.session_days, signup_code_hours=settings.signup_code_hours,
                     max_failures=settings.login_max_failures, failure_window_minutes=settings.login_window_minutes,
                     public_url=public_url(settings))
