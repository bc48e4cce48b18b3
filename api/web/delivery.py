"""Sending a person their one-time code (a sign-up invitation or a sign-in code) through their channel.

`CodeSender.send(account, message)` returns where the code went ("webhook sms", "email …") or None when no
configured channel reaches this person; the caller then shows it to the operator (`forewarn estate invite` prints
it) or, on the login page in development, writes it to the log. `ChannelCodeSender` uses the same gateway webhook
(SMS/WeChat; the body is signed exactly as notices are, see `tickets.channels.WebhookChannel`) and SMTP server
that carry notices; the composition root builds it from the settings (`forewarn.web_wiring.code_sender`)."""

from __future__ import annotations

import json
import logging
import smtplib
import time
import uuid
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Protocol

import httpx
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
    title: str = "Forewarn"


class CodeSender(Protocol):
    def send(self, account: Account, message: CodeMessage) -> str | None: ...


class LogCodeSender:
    """Development: the code goes to the log (the operator reads it to the person)."""

    def send(self, account: Account, message: CodeMessage) -> str | None:
        log.warning("one-time %s code for %s (%s): %s%s", message.kind, account.user_id, account.name, message.code,
                    f"  {message.link}" if message.link else "")
        return "log"


class ChannelCodeSender:
    """Codes by the person's own channel: SMS/WeChat through the gateway webhook, e-mail through SMTP. Someone whose
    channel is the app (which they cannot open before they have an account) or MQTT gets an SMS through the gateway
    when they have a phone, else an e-mail. None when no configured channel reaches them: the caller shows the code."""

    def __init__(self, *, webhook_url: str | None = None, webhook_signature: object = None,
                 smtp_host: str | None = None, smtp_port: int = 25, smtp_sender: str = "forewarn@localhost",
                 timeout_s: float = 5.0) -> None:
        self.webhook_url, self._signature = webhook_url, webhook_signature
        self.smtp_host, self.smtp_port, self.smtp_sender = smtp_host, smtp_port, smtp_sender
        self._timeout = timeout_s

    def send(self, account: Account, message: CodeMessage) -> str | None:
        by_phone = bool(self.webhook_url and account.phone)
        by_mail = bool(self.smtp_host and account.email)
        if account.channel in ("sms", "wechat") and by_phone:
            self._post(account, message, account.channel)
            return f"{account.channel} {account.phone}"
        if account.channel == "email" and by_mail:
            self._mail(account, message)
            return f"email {account.email}"
        if account.channel in ("app", "mqtt") and by_phone:
            self._post(account, message, "sms")
            return f"sms {account.phone}"
        if account.channel in ("app", "mqtt") and by_mail:
            self._mail(account, message)
            return f"email {account.email}"
        return None

    def _post(self, account: Account, message: CodeMessage, medium: str) -> None:
        """The gateway gets `{"type": "one_time_code", "medium": "sms"|"wechat", "phone", "text", ...}`, signed as
        notices are (`X-Forewarn-Signature: sha256=HMAC(secret, "<timestamp>.<body>")`)."""
        assert self.webhook_url is not None and callable(self._signature)
        body = json.dumps({"type": "one_time_code", "medium": medium, "phone": account.phone,
                           "user_id": account.user_id, "lang": account.lang, **asdict(message)},
                          ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        response = httpx.post(self.webhook_url, content=body, timeout=self._timeout, headers={
            "Content-Type": "application/json", "X-Forewarn-Timestamp": timestamp,
            "X-Forewarn-Signature": self._signature(timestamp, body), "Idempotency-Key": f"code-{uuid.uuid4()}"})
        if response.status_code >= 300:
            raise OSError(f"the gateway {self.webhook_url} answered {response.status_code}: {response.text[:200]}")

    def _mail(self, account: Account, message: CodeMessage) -> None:
        assert self.smtp_host is not None and account.email is not None
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.smtp_sender, account.email, message.title
        mail.set_content(message.text)
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self._timeout) as smtp:
            smtp.send_message(mail)


def code_sender(request: Request) -> CodeSender:
    """The app's sender; with none configured, the log (development)."""
    sender = get_state(request).extras.get("code_sender")
    return sender if sender is not None else LogCodeSender()


SEND_ERRORS = (OSError, httpx.HTTPError, smtplib.SMTPException)  # what a failed send raises
