"""Settings onto the web frame: `WebConfig` for the pages, and the sender of one-time codes (the same gateway
webhook or SMTP server that carries notices, when configured; the log otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from psycopg_pool import ConnectionPool

from api.web.config import WebConfig
from api.web.delivery import ChannelCodeSender
from api.web.sessions import prune_expired
from forewarn.scheduler import Job
from forewarn.settings import RunMode, Settings
from tickets.channels import WebhookChannel


def public_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.api_host}:{settings.api_port}").rstrip("/")


def web_config(settings: Settings) -> WebConfig:
    production = settings.mode is RunMode.PRODUCTION
    return WebConfig(secret_key=settings.secret_key, secure_cookies=production, development=not production,
                     session_days=settings.session_days, signup_code_hours=settings.signup_code_hours,
                     max_failures=settings.login_max_failures, failure_window_minutes=settings.login_window_minutes,
                     max_code_sends=settings.login_max_code_sends,
                     public_url=public_url(settings))


def code_sender(settings: Settings) -> ChannelCodeSender:
    """One-time codes go by the channels notices use: the gateway webhook and SMTP, when configured."""
    signature = WebhookChannel(settings.webhook_url, settings.secret_key).signature if settings.webhook_url else None
    return ChannelCodeSender(webhook_url=settings.webhook_url, webhook_signature=signature,
                             smtp_host=settings.smtp_host, smtp_port=settings.smtp_port,
                             smtp_sender=settings.smtp_sender)


WEB_PRUNE_S = 3600  # expired sessions and codes are harmless (every check reads the expiry); hourly keeps tables small


def web_prune_job(pool: ConnectionPool, clock: Callable[[], datetime]) -> Job:
    """The scheduler job that deletes expired sessions, used codes and old throttle windows."""

    def prune() -> None:
        with pool.connection() as conn:
            prune_expired(conn, now=clock())

    return Job("web-prune", WEB_PRUNE_S, prune)
