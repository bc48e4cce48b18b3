"""Configuration of the ingest service: a small frozen value that the composition root maps from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.contract import MAX_FUTURE_SECONDS, MAX_PAST_SECONDS

# MQTT 5 "Receive Maximum" is a 16-bit field: the most unacknowledged messages the broker may have in flight to us.
MAX_RECEIVE_MAXIMUM = 65535


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """How ingest connects to the broker and batches its writes.

    `max_queue` bounds memory: it is sent to the broker as MQTT 5 Receive Maximum, so the broker never has more
    than that many unacknowledged messages in flight to us; since a message is acknowledged only after its batch
    is committed, a slow or absent database stops the flow at the broker, which holds the rest.
    """

    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    client_id: str = "forewarn-ingest"  # stable: the broker keeps the persistent session under this id
    username: str | None = None
    password: str | None = None
    tls: bool = False  # mqtts://: verify the broker's certificate against `tls_ca_file` (or the system's CAs)
    tls_ca_file: str | None = None
    site: str = "+"  # subscribe to one site, or all of them
    batch_size: int = 2000  # most messages per database transaction
    # How long a partial batch waits for more after its oldest message arrived; what queued up during a slow commit
    # goes at once. bench/ingest (docs/ingest.md): 50 ms made it the largest part of the publish → commit latency at
    # half the sustained rate; 0 (pure group commit: write whatever is queued as soon as the last commit is done)
    # made batches of ~20 messages while draining a backlog and cut the ingest / bare ratio to 0.5; 10 ms keeps
    # batches of 60+ and the ratio, at a fifth of the median latency of 50 ms.
    flush_ms: int = 10
    max_queue: int = 20000
    max_past_s: float = MAX_PAST_SECONDS
    max_future_s: float = MAX_FUTURE_SECONDS
    heartbeat_timeout_s: float = 300.0  # a device silent this long is marked offline
    keepalive_s: int = 30
    connect_timeout_s: float = 10.0  # start() gives up after this long
    session_expiry_s: int = 7 * 24 * 3600  # how long the broker keeps our session (and queued messages) offline
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    registry_refresh_s: float = 30.0  # re-read the device registry this often (new devices are accepted)
    dead_letter_payload_bytes: int = 1024  # payload bytes kept per dead letter
    # Dead letters are logged one line each up to a few per interval, then as one summary line per interval: a
    # flood of 5,000 bad messages must not become 5,000 log lines (the table keeps every one of them).
    dead_letter_log_interval_s: float = 60.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.flush_ms < 0:
            raise ValueError("batch_size must be positive and flush_ms not negative")
        if not 1 <= self.max_queue <= MAX_RECEIVE_MAXIMUM:
            raise ValueError(f"max_queue must be between 1 and {MAX_RECEIVE_MAXIMUM} (MQTT 5 Receive Maximum)")
        if self.heartbeat_timeout_s <= 0:
            raise ValueError("heartbeat_timeout_s must be positive")

    @property
    def receive_maximum(self) -> int:
        return self.max_queue
