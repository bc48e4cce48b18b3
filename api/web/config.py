"""What the web pages need from the composition root, as one typed value (`WebConfig`) that `forewarn.runtime`
builds from `Settings` and puts in `AppState.extras["web"]`. An app built without one (tests of the REST API) gets
development defaults with a per-process random secret: sessions still work, as they live in the database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from fastapi import Request

from api.deps import get_state


@dataclass(frozen=True, slots=True)
class WebConfig:
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # binds CSRF tokens to sessions
    secure_cookies: bool = False  # production: cookies only over HTTPS
    development: bool = True  # codes no channel can carry are written to the log (never in production)
    session_days: int = 14
    signup_code_hours: int = 72  # a sign-up invitation (link and code) is good for this long
    signin_code_minutes: int = 15  # a sign-in code asked for on the login page
    max_failures: int = 5  # failed sign-ins per account (a client address: 4 times as many) in one window ...
    failure_window_minutes: int = 15  # ... before the next attempt is refused with 429
    max_code_sends: int = 5  # sign-in codes sent to one account in that window (each an SMS or an e-mail); to one
    # client address, `accounts.CLIENT_SEND_FACTOR` times as many
    public_url: str = "http://127.0.0.1:8000"  # where the pages are reached: the start of invitation links


def web_config(request: Request) -> WebConfig:
    """The app's `WebConfig`, created once per app when the composition root gave none."""
    extras = get_state(request).extras
    config = extras.get("web")
    if not isinstance(config, WebConfig):
        config = WebConfig()
        extras["web"] = config
    return config
