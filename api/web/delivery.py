"""Sending a person their one-time code (a sign-up invitation or a sign-in code) through their channel.

`CodeSender.send(account, message)` returns a short description of where it went ("sms +86…", "log"). The
composition root puts one in `AppState.extras["code_sender"]`; without one (development) codes are written to the
log, which is what "printed in dev logs" means on the login page."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from fastapi import Request

from api.deps import get_state
from api.web.accounts import Account

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CodeMessage:
    kind: str  # "signup" or "signin"
    code: str
    link: str | None  # the sign-up link, for invitations
    text: str  # the whole message, in the person's language


class CodeSender(Protocol):
    def send(self, account: Account, message: CodeMessage) -> str: ...


class LogCodeSender:
    """Development: the code goes to the log (the operator reads it to the person)."""

    def send(self, account: Account, message: CodeMessage) -> str:
        log.warning("one-time %s code for %s (%s): %s%s", message.kind, account.user_id, account.name, message.code,
                    f"  {message.link}" if message.link else "")
        return "log"


def code_sender(request: Request) -> CodeSender:
    sender = get_state(request).extras.get("code_sender")
    return sender if sender is not None else LogCodeSender()
