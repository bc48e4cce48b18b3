"""Prometheus metrics of one ingest service, in its own registry (served at /metrics by the API)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Batch commit times span ~1 ms (a handful of rows) to seconds (a slow disk): a wide log scale.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class IngestMetrics:
    """The counters an operator watches: received, stored, duplicates, dead letters and partly kept messages by
    reason, latency, queue."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.received = Counter("forewarn_ingest_messages_received", "MQTT messages received", registry=r)
        self.stored = Counter("forewarn_ingest_readings_stored", "readings newly committed to the database",
                              registry=r)
        self.duplicates = Counter("forewarn_ingest_duplicates",
                                  "readings received again (redelivery) and not stored twice", registry=r)
        self.dead_letters = Counter("forewarn_ingest_dead_letters",
                                    "messages rejected whole to the dead-letter table (nothing of them stored)",
                                    ["reason"], registry=r)
        self.partially_kept = Counter("forewarn_ingest_partially_kept",
                                      "messages stored without their bad values (the first one's reason); the "
                                      "dropped values are a dead letter", ["reason"], registry=r)
        self.presence = Counter("forewarn_ingest_presence_changes", "devices going offline or coming back",
                                ["state", "reason"], registry=r)
        self.batch_seconds = Histogram("forewarn_ingest_batch_seconds", "time to write and commit one batch",
                                       buckets=_LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("forewarn_ingest_batch_messages", "messages per committed batch",
                                    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000), registry=r)
        self.queue_depth = Gauge("forewarn_ingest_queue_depth",
                                 "messages received and not yet committed (at most the receive maximum)", registry=r)
        self.db_retries = Counter("forewarn_ingest_db_retries", "batch writes retried while the database was down",
                                  registry=r)
        self.connected = Gauge("forewarn_ingest_broker_connected", "1 while connected to the broker", registry=r)
        self.callback_errors = Counter("forewarn_ingest_callback_errors",
                                       "exceptions raised by on_readings/on_presence (logged, ingest goes on)",
                                       registry=r)
