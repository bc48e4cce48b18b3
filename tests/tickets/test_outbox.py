"""The outbox dispatcher against real local servers: a webhook gateway that fails and recovers (nothing lost,
nothing sent twice, every request signed), SMTP through aiosmtpd, in-app delivery, and quiet hours."""

from __future__ import annotations

import email.policy
import hashlib
import hmac
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from aiosmtpd.controller import Controller

from detectors.alarm import Severity
from tickets.channels import InAppChannel, MemoryChannel, MqttPushChannel, SmtpEmailChannel, WebhookChannel
from tickets.flows import handle_alarm
from tickets.outbox import dispatch

from .conftest import NOW, SHANGHAI, make_alarm

BASEMENT = "rs-b1-leak-basement"  # serves floors 1–2 of building 1: a small, known set of residents
SECRET = "test-secret"


class Gateway:
    """A local HTTP server standing in for an SMS/WeChat gateway: answers 503 to the first `fail_first`
    requests, then 200; records every request it accepted."""

    def __init__(self, fail_first: int) -> None:
        self.fail_left = fail_first
        self.accepted: list[dict] = []
        self.rejected = 0
        self.bad_signatures = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Forewarn-Timestamp"]
                expected = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body,
                                                hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers["X-Forewarn-Signature"]):
                    gateway.bad_signatures += 1
                if gateway.fail_left > 0:
                    gateway.fail_left -= 1
                    gateway.rejected += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                gateway.accepted.append(json.loads(body) | {"key": self.headers["Idempotency-Key"]})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _set_channel(conn: psycopg.Connection, device: str, channel: str) -> int:
    count = conn.execute(
        """UPDATE residents SET channel = %s, email = id || '@example.test', phone = '138' || right(id, 5)
           WHERE unit_id IN (SELECT unit_id FROM device_units WHERE device_id = %s)""", (channel, device)).rowcount
    conn.commit()
    return count


def _statuses(conn: psycopg.Connection) -> Counter:
    """Of the residents' notices (the engineer's work-order push is an in-app staff notice of its own)."""
    return Counter(dict(conn.execute(
        """SELECT o.status, count(*) FROM outbox o JOIN notices n ON n.id = o.notice_id
           WHERE n.resident_id IS NOT NULL GROUP BY o.status""").fetchall()))


def test_webhook_that_fails_then_recovers_loses_nothing_and_sends_nothing_twice(conn, staff):
    residents = _set_channel(conn, BASEMENT, "sms")
    assert residents > 5
    handle_alarm(conn, make_alarm(BASEMENT, "pipe_burst"), now=NOW)
    conn.commit()
    with Gateway(fail_first=residents + 3) as gateway:
        channels = {"webhook": WebhookChannel(gateway.url, SECRET, timeout_s=5)}
        now, rounds = NOW, 0
        while _statuses(conn).get("pending") and rounds < 20:
            dispatch(conn, now=now, channels=channels)
            now += timedelta(minutes=5)
            rounds += 1
    keys = [m["key"] for m in gateway.accepted]
    assert _statuses(conn) == Counter({"delivered": residents})
    assert len(keys) == len(set(keys)) == residents  # each notice exactly once
    assert gateway.rejected == residents + 3 and gateway.bad_signatures == 0
    retried = conn.execute("SELECT min(attempts), max(attempts), count(last_error) FROM outbox "
                           "WHERE channel = 'webhook'").fetchone()
    assert retried[0] >= 2 and retried[2] == residents
    assert {m["medium"] for m in gateway.accepted} == {"sms"}
    assert {m["address"] for m in gateway.accepted} == {r[0] for r in conn.execute(
        "SELECT r.phone FROM residents r JOIN device_units du ON du.unit_id = r.unit_id WHERE du.device_id = %s",
        (BASEMENT,))}


def test_a_row_is_not_retried_before_its_backoff(conn, staff):
    _set_channel(conn, BASEMENT, "wechat")
    handle_alarm(conn, make_alarm(BASEMENT, "pipe_burst"), now=NOW)
    conn.commit()
    with Gateway(fail_first=10_000) as gateway:
        channels = {"webhook": WebhookChannel(gateway.url, SECRET)}
        dispatch(conn, now=NOW, channels=channels)
        first = gateway.rejected
        dispatch(conn, now=NOW + timedelta(seconds=10), channels=channels)
        assert gateway.rejected == first  # 30 s backoff not yet over
        dispatch(conn, now=NOW + timedelta(seconds=31), channels=channels)
        assert gateway.rejected == 2 * first


class _Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, _Inbox]]:
    inbox = _Inbox()
    with socket.socket() as probe:  # a free loopback port (aiosmtpd's readiness check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_email_notices_go_through_smtp(conn, staff, smtp):
    controller, inbox = smtp
    residents = _set_channel(conn, BASEMENT, "email")
    handle_alarm(conn, make_alarm(BASEMENT, "pipe_burst"), now=NOW)
    conn.commit()
    sent = dispatch(conn, now=NOW, channels={"email": SmtpEmailChannel("127.0.0.1", controller.port,
                                                                       "noreply@forewarn.test")})
    assert sent == residents == len(inbox.messages)
    assert {to[0] for to, _ in inbox.messages} == {r[0] for r in conn.execute(
        "SELECT r.email FROM residents r JOIN device_units du ON du.unit_id = r.unit_id WHERE du.device_id = %s",
        (BASEMENT,))}
    assert all("地下泵房" in m["Subject"] or "basement" in m["Subject"] for _, m in inbox.messages)


def test_smtp_down_is_retried_not_lost(conn, staff):
    residents = _set_channel(conn, BASEMENT, "email")
    handle_alarm(conn, make_alarm(BASEMENT, "pipe_burst"), now=NOW)
    conn.commit()
    assert dispatch(conn, now=NOW, channels={"email": SmtpEmailChannel("127.0.0.1", 9, "x@y.test", timeout_s=1)}) == 0
    assert _statuses(conn) == Counter({"pending": residents})


def _delivered(conn: psycopg.Connection, device: str) -> dict[str, datetime | None]:
    """resident → when their notice about `device`'s incident was delivered (None: not yet)."""
    return dict(conn.execute(
        "SELECT n.resident_id, n.delivered_at FROM notices n JOIN incidents i ON i.id = n.incident_id "
        "WHERE i.device_id = %s AND n.kind = 'warning'", (device,)).fetchall())


def test_quiet_hours_push_goes_at_once_but_silent(conn, staff):
    _set_channel(conn, BASEMENT, "mqtt")
    night = datetime(2026, 11, 24, 23, 30, tzinfo=SHANGHAI)
    handle_alarm(conn, make_alarm(BASEMENT, "slow_leak", severity=Severity.WARNING, at=night), now=night)
    conn.commit()
    published: list[tuple[str, bytes, int]] = []
    channels = {"mqtt": MqttPushChannel(lambda topic, payload, qos: published.append((topic, payload, qos))),
                "in_app": InAppChannel()}
    assert set(_delivered(conn, BASEMENT).values()) == {None}  # written is not delivered
    sent = dispatch(conn, now=night, channels=channels)
    assert sent == len(published) + 1 and published  # + the engineer's work-order push, in-app at once
    topics = {t for t, _, _ in published}
    assert topics == {f"forewarn/notices/{r[0]}" for r in conn.execute(
        "SELECT r.id FROM residents r JOIN device_units du ON du.unit_id = r.unit_id WHERE du.device_id = %s",
        (BASEMENT,))}
    assert all(json.loads(payload)["silent"] for _, payload, _ in published)  # a non-critical push at night
    assert set(_delivered(conn, BASEMENT).values()) == {night}
    # A burst at night is critical: it goes out at once, and not silent.
    published.clear()
    handle_alarm(conn, make_alarm(BASEMENT, "pipe_burst", at=night), now=night)
    conn.commit()
    # + the engineer's push: the leak's work order escalated to the burst (tickets/escalation.py), in-app at once
    assert dispatch(conn, now=night, channels=channels) == len(topics) + 1
    assert not any(json.loads(payload)["silent"] for _, payload, _ in published)


def test_quiet_hours_hold_sms_until_morning_with_an_in_app_copy_meanwhile(conn, staff):
    residents = _set_channel(conn, BASEMENT, "sms")
    night = datetime(2026, 11, 24, 23, 30, tzinfo=SHANGHAI)
    handle_alarm(conn, make_alarm(BASEMENT, "slow_leak", severity=Severity.WARNING, at=night), now=night)
    conn.commit()
    gateway = MemoryChannel()  # stands in for the SMS gateway (leaves the machine)
    channels = {"webhook": gateway, "in_app": InAppChannel()}
    # At night: visible in-app at once (delivered), nobody's phone rings (+ 1: the engineer's work-order push).
    assert dispatch(conn, now=night, channels=channels) == residents + 1
    assert gateway.sent == [] and set(_delivered(conn, BASEMENT).values()) == {night}
    assert dispatch(conn, now=night + timedelta(hours=3), channels=channels) == 0
    # At 07:00 the text messages go; the notice's delivery time stays when the resident could first see it.
    morning = datetime(2026, 11, 25, 7, 0, tzinfo=SHANGHAI)
    assert dispatch(conn, now=morning, channels=channels) == residents == len(gateway.sent)
    assert {m.channel for m in gateway.sent} == {"webhook"} and not any(m.silent for m in gateway.sent)
    assert set(_delivered(conn, BASEMENT).values()) == {night}
    assert _statuses(conn) == Counter({"delivered": 2 * residents})


def test_a_notice_whose_gateway_fails_is_not_delivered(conn, staff):
    _set_channel(conn, BASEMENT, "wechat")
    handle_alarm(conn, make_alarm(BASEMENT, "pipe_burst"), now=NOW)
    conn.commit()
    assert dispatch(conn, now=NOW, channels={"webhook": MemoryChannel(fail_times=10_000)}) == 0
    assert set(_delivered(conn, BASEMENT).values()) == {None}
    later = NOW + timedelta(minutes=5)
    assert dispatch(conn, now=later, channels={"webhook": MemoryChannel()}) > 0
    assert set(_delivered(conn, BASEMENT).values()) == {later}


def test_mqtt_push_reaches_a_subscriber_on_a_real_broker(conn, staff, mosquitto):
    import paho.mqtt.client as mqtt

    residents = _set_channel(conn, BASEMENT, "mqtt")
    handle_alarm(conn, make_alarm(BASEMENT, "pipe_burst"), now=NOW)
    conn.commit()
    received: list[mqtt.MQTTMessage] = []
    subscribed, complete = threading.Event(), threading.Event()

    def on_message(client, userdata, message):
        received.append(message)
        if len(received) >= residents:
            complete.set()

    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fw-test-listener")
    listener.on_connect = lambda c, *a: c.subscribe("forewarn/notices/#", qos=1)
    listener.on_subscribe = lambda *a: subscribed.set()
    listener.on_message = on_message
    listener.connect("127.0.0.1", mosquitto.port)
    listener.loop_start()
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fw-test-push")
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    try:
        assert subscribed.wait(10)
        sent = dispatch(conn, now=NOW, channels={"mqtt": MqttPushChannel(publisher.publish)})
        assert sent == residents
        assert complete.wait(10), f"only {len(received)} of {residents} arrived"
    finally:
        for client in (listener, publisher):
            client.loop_stop()
            client.disconnect()
    payloads = [json.loads(m.payload) for m in received]
    assert sorted(p["resident_id"] for p in payloads) == sorted(m.topic.rsplit("/", 1)[1] for m in received)
    assert len({p["outbox_id"] for p in payloads}) == residents
    assert all(p["kind"] == "warning" and p["critical"] for p in payloads)


@pytest.mark.parametrize("medium, channel", [("sms", "webhook"), ("email", "email")])
def test_a_notice_for_an_unconfigured_channel_falls_back_to_in_app(conn, staff, medium, channel):
    residents = _set_channel(conn, BASEMENT, medium)
    handle_alarm(conn, make_alarm(BASEMENT, "pipe_burst"), now=NOW)
    conn.commit()
    channels = {"in_app": InAppChannel(), "mqtt": MqttPushChannel(lambda *a, **k: None)}  # nothing else configured
    # + 1: the engineer's work-order push, in-app (their own channel is not set)
    assert dispatch(conn, now=NOW, channels=channels, unconfigured=[channel]) == residents + 1
    rows = conn.execute("SELECT o.channel, o.status, o.last_error FROM outbox o JOIN notices n ON n.id = o.notice_id "
                        "WHERE n.resident_id IS NOT NULL").fetchall()
    assert {(c, s) for c, s, _ in rows} == {("in_app", "delivered")}
    assert all(e == f"channel {channel} is not configured; delivered in-app instead" for _, _, e in rows)
