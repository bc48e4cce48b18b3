"""The ingest service: MQTT messages in, validated, stored in batches, acknowledged only once committed.

Two threads. paho's network thread only queues each message (topic, payload, packet id). The writer thread decodes
a batch, writes it in one transaction (`ingest.storage`), then acknowledges its QoS 1 messages (paho's manual
acknowledgement) and hands the new readings to `on_readings`. A message is therefore acknowledged to the broker only
after it is durably stored or dead-lettered: a crash at any point means redelivery, and the storage key makes
redelivery harmless. The broker never has more than `receive_maximum` unacknowledged messages in flight to us, so
memory stays bounded and a slow or absent database stops the flow at the broker, which holds the rest.
"""

from __future__ import annotations

import logging
import queue
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.client import PUBACK
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest import storage
from ingest.client import BufferedClient
from ingest.config import IngestConfig
from ingest.contract import subscription
from ingest.dead_letter_log import DeadLetterLog
from ingest.decode import Decoded, PartialReading, PresenceChange, decode
from ingest.metrics import IngestMetrics
from ingest.presence import PresenceTracker
from ingest.reading import DeviceKind, Reading
from ingest.writer import BatchWriter

log = logging.getLogger(__name__)

# CONNACK reason codes after which retrying cannot help: the operator must fix the configuration.
_FATAL_CONNACK = {0x84: "unsupported protocol", 0x85: "client id not valid", 0x86: "bad user name or password",
                  0x87: "not authorized", 0x8A: "banned", 0x8C: "bad authentication method"}
_PUBACK = struct.Struct("!BBH")  # fixed header (type, remaining length 2), packet id
# The writer wakes at least this often to check heartbeats and the registry, even with no traffic.
_IDLE_WAKE_S = 1.0

class IngestError(RuntimeError):
    """Ingest cannot run: the message says what is wrong (broker unreachable, credentials refused, database)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Message(NamedTuple):
    """One received message, decoded on arrival (a tuple: this is the hot path)."""

    topic: str
    payload: bytes
    result: Decoded
    mid: int
    qos: int
    generation: int  # the connection it arrived on: an ack is only valid on that connection
    arrived: float  # time.monotonic() on arrival: a batch is due flush_ms after its oldest message arrived


@dataclass(frozen=True, slots=True)
class IngestStats:
    """A snapshot of the counters (the same numbers as the Prometheus metrics)."""

    received: int
    stored: int
    duplicates: int
    dead_lettered: int  # messages rejected whole: nothing of them stored
    batches: int
    queue_depth: int
    db_retries: int
    connected: bool
    # messages stored without the values that broke the contract (each also left a dead letter naming them);
    # counted apart from `dead_lettered`, which counts messages that stored nothing
    partially_kept: int = 0


_STOP = object()


class IngestService:
    """Consume the v1 topics of `config.site`, store readings in the database at `conninfo`, and report them.

    `on_readings(batch)` is called from the writer thread after each commit, in order, with the readings that were
    new (duplicates from redelivery are left out); `on_presence(change)` when a device goes offline (status, last
    will, heartbeat timeout) or comes back; `on_listening(site, since)` when its subscription is in place (since
    then it hears the site: None for every site) or the connection is lost (`since` None). Silence before `since`
    is ingest's own, not the devices': the heartbeat timeout counts from it too. Exceptions in callbacks are logged
    and never stop ingest.
    """

    def __init__(
        self,
        config: IngestConfig,
        conninfo: str,
        *,
        on_readings: Callable[[list[Reading]], None] | None = None,
        on_presence: Callable[[PresenceChange], None] | None = None,
        on_listening: Callable[[str | None, datetime | None], None] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self._on_readings = on_readings
        self._on_presence = on_presence
        self._on_listening = on_listening
        self._heard_from: datetime | None = None  # subscribed since; None while not connected
        self._now = now
        self.metrics = IngestMetrics()
        self.metrics_registry = self.metrics.registry
        self._queue: queue.SimpleQueue[_Message | object] = queue.SimpleQueue()
        self._ack_lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._connected_event = threading.Event()
        self._fatal: str | None = None
        self._stopping = threading.Event()
        self._writer: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self._store = BatchWriter(conninfo, payload_limit=config.dead_letter_payload_bytes, metrics=self.metrics,
                                  stopping=self._stopping, now=now)
        self._registry: dict[str, tuple[DeviceKind, str]] = {}
        self._registry_version = -1
        self._known: dict[str, DeviceKind] = {}
        self._sites: dict[str, str] = {}
        self._dead_log = DeadLetterLog(log, interval_s=config.dead_letter_log_interval_s)
        self._presence = PresenceTracker(config.heartbeat_timeout_s)
        self._counts = {"received": 0, "stored": 0, "duplicates": 0, "dead": 0, "batches": 0, "partial": 0}
        self._forming: list[_Message] = []  # taken off the queue by the writer, not yet committed
        self.metrics.queue_depth.set_function(self._queue_depth)

    # ---- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the database, connect to the broker and start consuming; raises `IngestError` if either fails."""
        try:
            self._store.open()
        except psycopg.Error as exc:
            raise IngestError(f"ingest cannot open the database ({str(exc).strip()}); is it running and migrated "
                              "(forewarn db migrate)?") from None
        try:
            self._refresh_registry(initial=True)
        except IngestError:
            self._store.close()
            raise
        self._writer = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
        self._writer.start()
        self._client = self._make_client()
        c = self.config
        try:
            self._client.connect_async(c.broker_host, c.broker_port, keepalive=c.keepalive_s, clean_start=False,
                                       properties=self._connect_properties())
            self._client.loop_start()
        except (OSError, ValueError) as exc:
            self._abort()
            raise IngestError(f"cannot reach the MQTT broker at {c.broker_host}:{c.broker_port}: {exc}") from None
        if not self._connected_event.wait(c.connect_timeout_s):
            self._abort()
            raise IngestError(f"the MQTT broker at {c.broker_host}:{c.broker_port} did not accept a connection "
                              f"within {c.connect_timeout_s:g} s; is it running, and is FOREWARN_MQTT_URL right?")
        if self._fatal is not None:
            self._abort()
            raise IngestError(self._fatal)
        log.info("ingest connected to %s:%s as %s", c.broker_host, c.broker_port, c.client_id)

    def stop(self, timeout: float = 30.0) -> None:
        """Commit and acknowledge what was received, then disconnect (the session keeps the rest for next time)."""
        if self._writer is not None:
            self._stopping.set()
            self._queue.put(_STOP)
            self._writer.join(timeout)
            self._writer = None
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
        self._store.close()

    def _abort(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
        self._stopping.set()
        self._queue.put(_STOP)
        if self._writer is not None:
            self._writer.join(10)
            self._writer = None
        self._store.close()

    @property
    def stats(self) -> IngestStats:
        n = self._counts
        return IngestStats(n["received"], n["stored"], n["duplicates"], n["dead"], n["batches"], self._queue_depth(),
                           self._store.retries, self._connected, n["partial"])

    @property
    def failed(self) -> str | None:
        """Why ingest gave up on the broker (refused credentials after start), or None."""
        return self._fatal

    # ---- MQTT (network thread) -------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        c = self.config
        client = BufferedClient(CallbackAPIVersion.VERSION2, client_id=c.client_id,
                                protocol=MQTTProtocolVersion.MQTTv5, manual_ack=True)
        if c.username:
            client.username_pw_set(c.username, c.password)
        if c.tls:
            client.tls_set(ca_certs=c.tls_ca_file)
        client.reconnect_delay_set(c.reconnect_min_s, c.reconnect_max_s)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_connect_fail = self._on_connect_fail
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
        props.SessionExpiryInterval = self.config.session_expiry_s
        props.ReceiveMaximum = self.config.receive_maximum
        return props

    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: mqtt.ConnectFlags, reason_code: ReasonCode,
                    _properties: Properties | None) -> None:
        if reason_code.is_failure:
            why = _FATAL_CONNACK.get(reason_code.value)
            if why is not None:
                self._fatal = (f"the MQTT broker at {self.config.broker_host}:{self.config.broker_port} refused "
                               f"ingest ({why}); check FOREWARN_MQTT_USERNAME / FOREWARN_MQTT_PASSWORD and the ACL")
                log.error("%s; not retrying", self._fatal)
                client.disconnect()
                self._connected_event.set()
            else:
                log.warning("broker refused the connection for now: %s", reason_code)
            return
        with self._ack_lock:
            self._generation += 1
            self._connected = True
        self.metrics.connected.set(1)
        # Subscribing on every connect restores the subscription whatever the broker kept; retain handling 1 sends
        # retained status messages only when the subscription is new, not again on every reconnect.
        options = SubscribeOptions(qos=1, retainHandling=1)
        client.subscribe(subscription(self.config.site), options=options)
        log.info("connected to the broker (session present: %s)", flags.session_present)

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, _mid: int, reason_codes: list[ReasonCode],
                      _properties: Properties | None) -> None:
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            self._fatal = (f"the MQTT broker refused ingest's subscription to {subscription(self.config.site)} "
                           f"({refused[0]}); check the ACL of user {self.config.username!r}")
            log.error(self._fatal)
        else:
            self._listening(self._now())
        self._connected_event.set()  # start() returns once messages can flow

    def _listening(self, since: datetime | None) -> None:
        self._heard_from = since
        if self._on_listening is not None:
            try:
                self._on_listening(None if self.config.site == "+" else self.config.site, since)
            except Exception:  # noqa: BLE001 - a callback never stops ingest
                log.exception("on_listening failed")

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: mqtt.DisconnectFlags,
                       reason_code: ReasonCode, _properties: Properties | None) -> None:
        with self._ack_lock:
            self._connected = False
        self.metrics.connected.set(0)
        self._listening(None)
        if not self._stopping.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        log.warning("cannot reach the MQTT broker at %s:%s; retrying", self.config.broker_host,
                    self.config.broker_port)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # Decoding here, not in the writer, overlaps it with the writer's wait on the database (the GIL is free then).
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = msg._topic.decode("utf-8", "replace")  # noqa: SLF001 - recorded as a dead letter, not raised
        c = self.config
        payload = bytes(msg.payload)  # typed bytes | bytearray; a received payload is bytes, returned as it is
        result = decode(topic, payload, now=self._now(), known_devices=self._known, known_sites=self._sites,
                        max_past_s=c.max_past_s, max_future_s=c.max_future_s)
        self._queue.put(_Message(topic, payload, result, msg.mid, msg.qos, self._generation, time.monotonic()))

    # ---- writer thread ---------------------------------------------------------------------------------------

    def _write_loop(self) -> None:
        c = self.config
        next_housekeeping = time.monotonic()
        registry_due = time.monotonic() + c.registry_refresh_s
        stop = False
        while not stop:
            batch: list[_Message] = []
            self._forming = batch
            try:
                first = self._queue.get(timeout=_IDLE_WAKE_S)
            except queue.Empty:
                first = None
            if first is _STOP:
                stop = True
            elif isinstance(first, _Message):
                batch.append(first)
                # Counted from the oldest message's arrival: what queued up during the last commit goes at once.
                # With flush_ms 0 (group commit) the batch is what is queued now; what arrives while it commits
                # forms the next one, so batches grow with the load and a quiet stream is not held back.
                deadline = first.arrived + c.flush_ms / 1000
                while len(batch) < c.batch_size:
                    remaining = deadline - time.monotonic()
                    try:
                        item = self._queue.get_nowait() if remaining <= 0 else self._queue.get(timeout=remaining)
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)  # type: ignore[arg-type]
            if stop:  # drain what already arrived: it is committed and acknowledged before we disconnect
                batch.extend(self._drain())
            now = time.monotonic()
            expire = False
            if now >= next_housekeeping:
                next_housekeeping = now + min(_IDLE_WAKE_S, c.heartbeat_timeout_s / 4)
                if now >= registry_due or self._registry_changed():
                    registry_due = now + c.registry_refresh_s
                    self._refresh_registry()
                expire = True
                self._dead_log.flush()
            if batch or expire:
                try:
                    self._process(batch, expire=expire)
                except Exception:  # noqa: BLE001 - a bug here must not end the stream; unacknowledged, so not lost
                    log.exception("ingest could not process a batch of %d messages; the broker keeps them "
                                  "unacknowledged and redelivers them on the next connection", len(batch))
            self._forming = []
        self._dead_log.flush(force=True)

    def _drain(self) -> list[_Message]:
        items: list[_Message] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return items
            if isinstance(item, _Message):  # not _STOP
                items.append(item)

    def _queue_depth(self) -> int:
        """Messages received and not yet committed: never more than the receive maximum (plus QoS 0 status)."""
        return self._queue.qsize() + len(self._forming)

    def _process(self, messages: list[_Message], *, expire: bool = False) -> None:
        at = self._now()
        batch = storage.Batch()
        changes: list[PresenceChange] = []
        sources: dict[int, _Message] = {}
        partial: list[PartialReading] = []
        for m in messages:
            result = m.result
            if isinstance(result, PartialReading):  # stored as a reading, its dropped values as a dead letter
                partial.append(result)
                batch.rejections.append((result.dropped, at))
                result = result.reading
            if isinstance(result, Reading):
                batch.readings.append(result)
                sources[id(result)] = m
                change = self._presence.heard(result.device_id, result.ts, at)
            elif isinstance(result, PresenceChange):
                change = self._presence.status(result, at)
            else:
                batch.rejections.append((result, at))
                change = None
            if change is not None:
                changes.append(change)
        if expire and self._heard_from is not None:  # after the batch is heard: a device in hand is not silent
            changes.extend(self._presence.expire(at, self._heard_from))
        if not messages and not changes:
            return
        batch.presence = self._presence.take_rows()
        started = time.perf_counter()
        new = self._store.write(batch, sources)
        if new is None:  # stopping while the database is down: nothing acknowledged, the broker keeps it all
            return
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(messages))
        self._acknowledge(messages)
        self._count(messages, batch, new, changes, partial)
        self._notify(new, changes)

    def _acknowledge(self, messages: list[_Message]) -> None:
        # Only on the connection a message came in on: after a reconnect the broker redelivers it (stored once), and
        # an ack of an old packet id on the new connection could acknowledge a different message.
        with self._ack_lock:
            if not self._connected or self._client is None:
                return
            generation = self._generation
            # Subscribed at QoS 1, so the broker sends nothing above it; QoS 0 needs no acknowledgement.
            mids = [m.mid for m in messages if m.qos == 1 and m.generation == generation]
            if mids:
                # One write for the batch's PUBACKs: paho's ack() queues each as its own packet, waking the network
                # thread and costing it a send() (and a GIL hand-over) per message. A PUBACK without reason code
                # is 4 bytes (MQTT 5 §3.4.2.1: success), exactly what ack() would queue, back to back.
                data = b"".join(_PUBACK.pack(PUBACK, 2, mid) for mid in mids)
                self._client._packet_queue(PUBACK, data, 0, 1)  # noqa: SLF001 - see above

    def _count(self, messages: list[_Message], batch: storage.Batch, new: list[Reading],
               changes: list[PresenceChange], partial: list[PartialReading]) -> None:
        dropped = {id(p.dropped) for p in partial}
        rejected = [rejection for rejection, _ in batch.rejections if id(rejection) not in dropped]
        n = self._counts
        n["received"] += len(messages)
        n["stored"] += len(new)
        n["duplicates"] += len(batch.readings) - len(new)
        n["dead"] += len(rejected)
        n["partial"] += len(partial)
        n["batches"] += 1
        m = self.metrics
        m.received.inc(len(messages))
        m.stored.inc(len(new))
        m.duplicates.inc(len(batch.readings) - len(new))
        for rejection in rejected:
            m.dead_letters.labels(rejection.reason).inc()
        for p in partial:
            m.partially_kept.labels(p.dropped.reason).inc()
        self._dead_log.record(rejected, [p.dropped for p in partial])
        for change in changes:
            m.presence.labels("online" if change.online else "offline", change.reason).inc()

    def _notify(self, new: list[Reading], changes: list[PresenceChange]) -> None:
        if self._on_presence is not None:
            for change in changes:
                try:
                    self._on_presence(change)
                except Exception:  # noqa: BLE001 - a consumer's bug must not stop ingest
                    self.metrics.callback_errors.inc()
                    log.exception("on_presence failed for %s", change.device_id)
        if self._on_readings is not None and new:
            try:
                self._on_readings(new)
            except Exception:  # noqa: BLE001 - a consumer's bug must not stop ingest
                self.metrics.callback_errors.inc()
                log.exception("on_readings failed for a batch of %d readings", len(new))

    def _registry_changed(self) -> bool:
        """Whether an estate load changed the registry since we read it (checked every second or so)."""
        try:
            return self._store.registry_version() != self._registry_version
        except psycopg.Error:
            return False  # the database is away: the write path waits it out and says so

    def _refresh_registry(self, *, initial: bool = False) -> None:
        """Re-read the active devices (new devices are accepted without a restart)."""
        try:
            version = self._store.registry_version()
            registry, rows = self._store.registry(with_presence=initial)
        except psycopg.Error as exc:
            if initial:
                raise IngestError(f"ingest cannot read the device registry ({str(exc).strip()}); "
                                  "is the database migrated (forewarn db migrate)?") from None
            log.warning("could not refresh the device registry (%s); keeping the last one", str(exc).strip())
            return
        if self.config.site != "+":  # one site's consumer: another site's devices are another consumer's to watch
            registry = {device: entry for device, entry in registry.items() if entry[1] == self.config.site}
            rows = None if rows is None else [r for r in rows if r.device_id in registry]
        self._registry = registry
        self._registry_version = version
        self._known = {device: kind for device, (kind, _) in registry.items()}
        self._sites = {device: site for device, (_, site) in registry.items()}
        if rows is not None:
            self._presence.load(rows, registry)
        else:
            self._presence.set_registry(registry)
