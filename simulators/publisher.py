"""A lean MQTT 3.1.1 publisher for the simulators: QoS 0/1, retain, pipelined, with every PUBACK awaited.

Why not paho: paho-mqtt 2.x spends about 40-100 µs of Python per QoS 1 message (a message object, a condition
variable, one ``send`` per packet plus a wake-up byte, three ``recv`` calls and two objects per PUBACK, and a scan
of every in-flight message on each acknowledgement). Measured on the 2-core CI box that caps one process at
8,000-10,000 msg/s, and the simulator must publish 20,000. A simulated fleet only ever publishes, so this module
speaks the few packets it needs — CONNECT, PUBLISH, PUBACK, PINGREQ, DISCONNECT — batches outgoing packets into
one ``send`` and parses acknowledgements in bulk. Ingest, which subscribes and must survive reconnects, keeps paho.

It does not reconnect: a simulator run that loses its broker fails loudly (`PublisherError`) and is rerun.
"""

from __future__ import annotations

import select
import socket
import ssl
import struct
import time
from collections.abc import Callable
from urllib.parse import urlsplit

CONNECT, CONNACK, PUBLISH, PUBACK, PINGREQ, PINGRESP, DISCONNECT = 0x10, 0x20, 0x30, 0x40, 0xC0, 0xD0, 0xE0
CONNACK_ERRORS = {
    1: "the broker does not speak MQTT 3.1.1",
    2: "the client id was rejected",
    3: "the broker is unavailable",
    4: "bad user name or password",
    5: "not authorised",
}
# Outgoing bytes are written once this many are buffered: large enough that one send carries a few hundred
# messages, small enough that a paced (real-time) run does not hold a message back noticeably.
WRITE_BATCH_BYTES = 64 * 1024
# Unacknowledged QoS 1 messages allowed at once. MQTT packet ids are 16-bit, so at most 65,535 can be in flight;
# 20,000 keeps the broker's per-client queue moderate while never stalling the pipe on a local broker.
DEFAULT_WINDOW = 20_000


class PublisherError(RuntimeError):
    """The broker refused us, could not be reached, or went away during the run."""


def parse_broker_url(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) from ``mqtt://host:port`` or ``mqtts://host:port``; raises `ValueError` with a fix."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"broker URL {url!r} must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"broker URL {url!r} has no host; use e.g. mqtt://127.0.0.1:1883")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError(f"broker URL {url!r} has an invalid port") from None
    return parts.hostname, port, tls


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _str16(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


class Publisher:
    """One MQTT connection that publishes fast. Not thread-safe: one thread publishes, and it also reads acks."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        keepalive_s: int = 60,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        if not 0 < window < 65536:
            raise ValueError("window must be 1..65535 (MQTT packet ids are 16-bit)")
        self.host, self.port, self.client_id = host, port, client_id
        self.username, self.password, self.tls = username, password, tls
        self.keepalive_s, self.window = keepalive_s, window
        self._sock: socket.socket | None = None
        self._out = bytearray()
        self._in = bytearray()
        self._inflight: set[int] = set()
        self._next_id = 1
        self._last_sent = 0.0
        self._topics: dict[str, bytes] = {}
        self.published = 0
        self.acked = 0
        self.on_ack: Callable[[int], None] | None = None  # called with the packet id of each PUBACK, if set

    # -- connection -----------------------------------------------------------------------------------------

    def connect(self, timeout_s: float = 10.0) -> None:
        """Open the connection and wait for CONNACK; a clean session, so nothing is left over from earlier runs."""
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout_s)
        except OSError as exc:
            raise PublisherError(f"cannot reach the MQTT broker at {self.host}:{self.port}: {exc}") from None
        if self.tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        flags = 0x02  # clean session
        payload = _str16(self.client_id)
        if self.username is not None:
            flags |= 0x80
            payload += _str16(self.username)
            if self.password is not None:
                flags |= 0x40
                payload += _str16(self.password)
        body = _str16("MQTT") + bytes([4, flags]) + struct.pack("!H", self.keepalive_s) + payload
        try:
            sock.sendall(bytes([CONNECT]) + _remaining_length(len(body)) + body)
            answer = b""
            while len(answer) < 4:
                chunk = sock.recv(4 - len(answer))
                if not chunk:
                    break
                answer += chunk
        except OSError as exc:
            sock.close()
            raise PublisherError(f"MQTT handshake with {self.host}:{self.port} failed: {exc}") from None
        if len(answer) < 4 or answer[0] != CONNACK:
            sock.close()
            raise PublisherError(f"{self.host}:{self.port} did not answer like an MQTT broker")
        if answer[3] != 0:
            sock.close()
            reason = CONNACK_ERRORS.get(answer[3], f"code {answer[3]}")
            raise PublisherError(f"the MQTT broker at {self.host}:{self.port} refused the connection: {reason}")
        sock.setblocking(False)
        self._sock = sock
        self._last_sent = time.monotonic()

    def close(self) -> None:
        """Send DISCONNECT (so the broker does not fire a will) and close. Call `drain` first to keep QoS 1."""
        if self._sock is None:
            return
        try:
            self._out += bytes([DISCONNECT, 0])
            self._write(block=True, timeout_s=5.0)
        except PublisherError:
            pass
        finally:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Publisher:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- publishing -----------------------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> int:
        """Queue one message; it is on the wire within `WRITE_BATCH_BYTES` or at the next `flush`/`wait`.
        Returns its packet id (0 at QoS 0), which `on_ack` is later called with."""
        if self._sock is None:
            raise PublisherError("not connected to the MQTT broker")
        if qos not in (0, 1):
            raise ValueError("the simulators publish with QoS 0 or 1")
        encoded = self._topics.get(topic)
        if encoded is None:
            encoded = self._topics[topic] = _str16(topic)
        while qos and len(self._inflight) >= self.window:  # make room before starting the packet
            self._pump(timeout_s=1.0)
        out = self._out
        # Appending the pieces to one bytearray, rather than concatenating bytes, is a third of the per-message cost.
        out.append(PUBLISH | (qos << 1) | (1 if retain else 0))
        size = len(encoded) + len(payload) + (2 if qos else 0)
        if size < 128:
            out.append(size)
        elif size < 16384:
            out.append((size & 0x7F) | 0x80)
            out.append(size >> 7)
        else:
            out += _remaining_length(size)
        out += encoded
        if qos:
            inflight = self._inflight
            mid = self._next_id
            while mid in inflight:
                mid = mid % 65535 + 1
            self._next_id = mid % 65535 + 1
            inflight.add(mid)
            out.append(mid >> 8)
            out.append(mid & 0xFF)
        else:
            mid = 0
        out += payload
        self.published += 1
        if len(out) >= WRITE_BATCH_BYTES:
            self._pump(timeout_s=0.0)
        return mid

    def flush(self) -> None:
        """Put everything queued on the wire and read whatever acknowledgements have arrived."""
        self._pump(timeout_s=0.0, block_write=True)

    def wait(self, seconds: float) -> None:
        """Sleep for `seconds` while sending, reading acknowledgements and keeping the connection alive."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._pump(timeout_s=min(left, 1.0), block_write=True)

    def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until the broker has acknowledged every QoS 1 message; `PublisherError` if it does not in time."""
        deadline = time.monotonic() + timeout_s
        while self._inflight or self._out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PublisherError(f"{len(self._inflight)} message(s) not acknowledged after {timeout_s:g} s")
            self._pump(timeout_s=min(left, 0.5), block_write=True)

    @property
    def unacknowledged(self) -> int:
        return len(self._inflight)

    # -- the socket -----------------------------------------------------------------------------------------

    def _pump(self, timeout_s: float, block_write: bool = False) -> None:
        """Write what is queued, read what has arrived, and ping when the connection has been quiet."""
        sock = self._require()
        now = time.monotonic()
        if not self._out and now - self._last_sent > self.keepalive_s / 2:
            self._out += bytes([PINGREQ, 0])
        writing = [sock] if self._out else []
        try:
            readable, writable, _ = select.select([sock], writing, [], timeout_s)
        except (OSError, ValueError) as exc:
            raise PublisherError(f"lost the MQTT broker: {exc}") from None
        if writable:
            self._write(block=block_write, timeout_s=10.0)
        if readable:
            self._read()

    def _write(self, *, block: bool, timeout_s: float) -> None:
        sock = self._require()
        deadline = time.monotonic() + timeout_s
        while self._out:
            try:
                sent = sock.send(self._out)
            except (BlockingIOError, ssl.SSLWantWriteError):
                if not block:
                    return
                if time.monotonic() > deadline:
                    raise PublisherError("the MQTT broker stopped reading (send timed out)") from None
                # Keep reading acknowledgements while waiting, so neither side blocks on a full buffer.
                readable, _, _ = select.select([sock], [sock], [], 0.5)
                if readable:
                    self._read()
                continue
            except OSError as exc:
                raise PublisherError(f"lost the MQTT broker: {exc}") from None
            del self._out[:sent]
            self._last_sent = time.monotonic()

    def _read(self) -> None:
        sock = self._require()
        try:
            chunk = sock.recv(1 << 16)
        except (BlockingIOError, ssl.SSLWantReadError):
            return
        except OSError as exc:
            raise PublisherError(f"lost the MQTT broker: {exc}") from None
        if not chunk:
            raise PublisherError("the MQTT broker closed the connection")
        buf = self._in
        buf += chunk
        pos, end, inflight = 0, len(buf), self._inflight
        while end - pos >= 2:
            kind = buf[pos] & 0xF0
            length, shift, i = 0, 0, pos + 1
            while i < end:
                byte = buf[i]
                length |= (byte & 0x7F) << shift
                shift += 7
                i += 1
                if not byte & 0x80:
                    break
            else:
                break  # the length itself is not complete yet
            if end - i < length:
                break
            if kind == PUBACK and length >= 2:
                mid = (buf[i] << 8) | buf[i + 1]
                if mid in inflight:
                    inflight.discard(mid)
                    self.acked += 1
                    if self.on_ack is not None:
                        self.on_ack(mid)
            elif kind not in (PINGRESP,):
                raise PublisherError(f"unexpected MQTT packet 0x{buf[pos]:02x} from the broker")
            pos = i + length
        del buf[:pos]

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise PublisherError("not connected to the MQTT broker")
        return self._sock
