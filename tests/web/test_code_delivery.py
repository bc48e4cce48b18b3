"""One-time codes go by the resident's channel: SMS/WeChat through the gateway webhook (signed as notices are),
e-mail through SMTP; app users get an SMS when they have a phone; nobody reachable -> None (the operator hands the
code over). A local HTTP server and aiosmtpd stand in for the gateway and the mail server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from api.auth import Role
from api.web.accounts import Account
from api.web.delivery import ChannelCodeSender, CodeMessage
from tests.tickets.test_outbox import smtp  # noqa: F401 - the SMTP fixture (aiosmtpd on loopback)
from tickets.channels import WebhookChannel

SECRET = "gateway-secret"
MESSAGE = CodeMessage("signin", "123456", None, "您的登录验证码是 123456")


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[dict]]]:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            stamp = self.headers["X-Forewarn-Timestamp"]
            expected = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(expected, self.headers["X-Forewarn-Signature"])
            received.append(json.loads(body) | {"signed": ok})
            self.send_response(200 if ok else 401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms", received
    server.shutdown()
    server.server_close()


def person(channel: str, phone: str | None = "13800000000", email: str | None = "a@example.com") -> Account:
    return Account("u-r-1", "李静", Role.RESIDENT, None, phone, email, channel, "zh-CN")


def test_codes_follow_the_residents_channel(gateway, smtp):  # noqa: F811
    url, received = gateway
    controller, inbox = smtp
    sender = ChannelCodeSender(webhook_url=url, webhook_signature=WebhookChannel(url, SECRET).signature,
                               smtp_host="127.0.0.1", smtp_port=controller.port, smtp_sender="noreply@forewarn.test")
    assert sender.send(person("wechat"), MESSAGE) == "wechat 13800000000"
    assert sender.send(person("app"), MESSAGE) == "sms 13800000000"  # cannot open the app without an account
    assert sender.send(person("email"), MESSAGE) == "email a@example.com"
    assert sender.send(person("app", phone=None), MESSAGE) == "email a@example.com"
    assert [(r["medium"], r["phone"], r["code"], r["signed"]) for r in received] == [
        ("wechat", "13800000000", "123456", True), ("sms", "13800000000", "123456", True)]
    assert received[0]["text"] == MESSAGE.text and received[0]["type"] == "one_time_code"
    assert [to for to, _ in inbox.messages] == [["a@example.com"], ["a@example.com"]]
    assert "123456" in inbox.messages[0][1].get_content()


def test_nobody_reachable_means_the_operator_hands_the_code_over():
    assert ChannelCodeSender().send(person("sms"), MESSAGE) is None
    assert ChannelCodeSender(smtp_host="127.0.0.1").send(person("sms", email=None), MESSAGE) is None
