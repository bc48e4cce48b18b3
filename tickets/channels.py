"""Outbound channels behind one small protocol: `send(message)` returns when delivered and raises when not.
In-app (the notice row is the delivery), webhook for SMS/WeChat gateways (HMAC-SHA256 signed, with an
idempotency key), MQTT push (any publish callable, so no client dependency here) and SMTP email.
Configuration is plain constructor arguments; the composition root maps settings onto them."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from ingest.contract import NOTICE_TOPIC_ROOT


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    outbox_id: int  # also the idempotency key: a receiver that sees it twice must drop the second
    notice_id: int
    channel: str
    address: str | None
    resident_id: str | None
    user_id: str | None
    lang: str
    kind: str
    title: str
    body: str
    critical: bool
    incident_id: int | None
    ticket_id: int | None
    created_at: datetime
    medium: str = "app"  # the resident's own channel (sms, wechat, email, mqtt, app): tells a gateway how to send
    silent: bool = False  # a push in quiet hours: shown without a sound (the app or gateway honours it)

    def as_json(self) -> bytes:
        return json.dumps(asdict(self), default=str, ensure_ascii=False, sort_keys=True).encode()


class Channel(Protocol):
    def send(self, message: OutboundMessage) -> None: ...


class DeliveryError(RuntimeError):
    """The channel did not take the message; the dispatcher retries with backoff."""


class InAppChannel:
    """In-app notices are stored rows already: delivery is marking them delivered (the dispatcher also sends a
    NOTIFY so that SSE streams push them live)."""

    def send(self, message: OutboundMessage) -> None:
        return None


class WebhookChannel:
    """POST the message as JSON to a gateway (SMS, WeChat). Headers: `X-Forewarn-Signature: sha256=<hex>` over
    `<timestamp>.<body>` with the shared secret, `X-Forewarn-Timestamp`, and `Idempotency-Key`."""

    def __init__(self, url: str, secret: str, *, timeout_s: float = 5.0, client: httpx.Client | None = None) -> None:
        if not secret:
            raise ValueError("a webhook needs a signing secret")
        self.url = url
        self._secret = secret.encode()
        self._client = client or httpx.Client(timeout=timeout_s)

    def signature(self, timestamp: str, body: bytes) -> str:
        return "sha256=" + hmac.new(self._secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()

    def send(self, message: OutboundMessage) -> None:
        body = message.as_json()
        timestamp = str(int(time.time()))
        try:
            response = self._client.post(self.url, content=body, headers={
                "Content-Type": "application/json", "X-Forewarn-Timestamp": timestamp,
                "X-Forewarn-Signature": self.signature(timestamp, body), "Idempotency-Key": str(message.outbox_id)})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook {self.url}: {exc!r}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"webhook {self.url} answered {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        self._client.close()


class MqttPushChannel:
    """Publish to `<prefix>/<resident or user id>` at QoS 1 through `publish(topic, payload, qos)`, e.g. a bound
    paho `Client.publish`. A return value with a non-zero `rc` counts as a failure."""

    def __init__(self, publish: Callable[..., Any], *, topic_prefix: str = NOTICE_TOPIC_ROOT) -> None:
        self._publish = publish
        self.topic_prefix = topic_prefix.rstrip("/")

    def send(self, message: OutboundMessage) -> None:
        recipient = message.resident_id or message.user_id
        result = self._publish(f"{self.topic_prefix}/{recipient}", message.as_json(), qos=1)
        rc = getattr(result, "rc", 0)
        if rc:
            raise DeliveryError(f"MQTT publish to {self.topic_prefix}/{recipient} failed with rc={rc}")


class SmtpEmailChannel:
    """Plain SMTP (optionally STARTTLS and login). One connection per message: notices are few and bursty."""

    def __init__(self, host: str, port: int, sender: str, *, username: str | None = None,
                 password: str | None = None, starttls: bool = False, timeout_s: float = 10.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self._username, self._password, self._starttls, self._timeout = username, password, starttls, timeout_s

    def send(self, message: OutboundMessage) -> None:
        if not message.address:
            raise DeliveryError(f"notice {message.notice_id}: the resident has no email address")
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.address, message.title
        mail["Message-ID"] = f"<forewarn-{message.outbox_id}@{self.host}>"
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls()
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc!r}") from exc


class MemoryChannel:
    """A fake for tests of code that only needs "something was sent": records messages; can fail N times."""

    def __init__(self, fail_times: int = 0) -> None:
        self.sent: list[OutboundMessage] = []
        self._fail = fail_times

    def send(self, message: OutboundMessage) -> None:
        if self._fail > 0:
            self._fail -= 1
            raise DeliveryError("memory channel told to fail")
        self.sent.append(message)
