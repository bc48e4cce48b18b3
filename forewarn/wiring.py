"""Wiring of the roles: which domain objects each role builds, from the settings, and which periodic jobs it runs.

The ingest role owns the detector engine of the devices it receives (in-process state, ticked and checkpointed by
this process); the scheduler role runs the estate-wide sweeps, in one leader process at a time.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt

from forewarn.pipeline import DetectionPipeline
from forewarn.retention import prune_plain
from forewarn.rollup import refresh_rollup
from forewarn.scheduler import Job, Scheduler
from ingest.config import IngestConfig
from ingest.estate_store import load_registry
from ingest.service import IngestService
from tickets.alarm_queue import AlarmConsumer
from tickets.channels import Channel, InAppChannel, MqttPushChannel, SmtpEmailChannel, WebhookChannel
from tickets.outbox import dispatch
from tickets.sweeps import sla_sweep

if TYPE_CHECKING:
    from forewarn.runtime import Platform

log = logging.getLogger(__name__)

DETECTOR_TICK_S = 2.0  # silence, minimum durations and clear conditions are checked this often
CHECKPOINT_S = 60.0  # detector state saved this often (and on shutdown)
LABELS_S = 5.0  # engineers' verdicts reach the detectors within this long
REGISTRY_S = 5.0  # an estate load reaches the detectors within this long (one one-row query when nothing changed)
OUTBOX_S = 1.0  # notices leave the outbox within about this long
SLA_SWEEP_S = 30.0
ROLLUP_S = 300.0  # plain PostgreSQL only: the hourly rollup's refresh
RETENTION_S = 3600.0  # plain PostgreSQL only: expired readings deleted


def ingest_config(platform: Platform) -> IngestConfig:
    s = platform.settings
    return IngestConfig(
        broker_host=platform.broker_host,
        broker_port=platform.broker_port,
        username=s.mqtt_username,
        password=s.mqtt_password,
        tls=platform.broker_tls,
        tls_ca_file=s.mqtt_ca_file,
        batch_size=s.ingest_batch_size,
        flush_ms=s.ingest_flush_ms,
        max_past_s=s.ingest_max_past_s,
        max_future_s=s.ingest_max_future_s,
    )


def start_ingest(platform: Platform) -> None:
    """Detectors first (restored from their checkpoints), then the MQTT consumer that feeds them."""
    with platform.pool.connection() as conn:
        estate = load_registry(conn)
    consumer = AlarmConsumer(platform.pool, now=platform.now)
    consumer.start()
    platform.on_stop("alarm consumer", consumer.stop)
    pipeline = DetectionPipeline(platform.pool, estate, now=platform.now, on_queued=consumer.wake)
    pipeline.refresh_registry(force=True)
    restored = pipeline.restore()
    platform.pipeline = pipeline
    platform.on_stop("detector checkpoint", pipeline.checkpoint)

    local = Scheduler(None, [
        Job("detector-tick", DETECTOR_TICK_S, pipeline.tick),
        Job("detector-checkpoint", CHECKPOINT_S, pipeline.checkpoint),
        Job("detector-labels", LABELS_S, pipeline.apply_labels),
        Job("detector-registry", REGISTRY_S, pipeline.refresh_registry),
    ])
    local.start()
    platform.on_stop("detector jobs", local.stop)

    service = IngestService(
        ingest_config(platform), platform.database_url,
        on_readings=pipeline.on_readings, on_presence=pipeline.on_presence, now=platform.now,
    )
    service.start()
    platform.ingest = service
    platform.on_stop("ingest", service.stop)
    platform.started.append(
        f"ingest     {len(estate.devices)} devices; detectors restored from checkpoint: {restored}"
    )


def notice_channels(platform: Platform) -> dict[str, Channel]:
    """The delivery channels the settings configure. In-app and the MQTT push topic always work; the SMS/WeChat
    gateway webhook and e-mail only when configured — until then their notices wait in the outbox, visible."""
    s = platform.settings
    channels: dict[str, Channel] = {"in_app": InAppChannel()}
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"forewarn-notices-{os.getpid()}")
    if s.mqtt_username:
        publisher.username_pw_set(s.mqtt_username, s.mqtt_password)
    if platform.broker_tls:
        publisher.tls_set(ca_certs=s.mqtt_ca_file)
    publisher.connect_async(platform.broker_host, platform.broker_port)
    publisher.loop_start()
    platform.on_stop("notice publisher", lambda: (publisher.disconnect(), publisher.loop_stop()))
    channels["mqtt"] = MqttPushChannel(publisher.publish)
    if s.webhook_url:
        channels["webhook"] = WebhookChannel(s.webhook_url, s.secret_key)
    if s.smtp_host:
        channels["email"] = SmtpEmailChannel(s.smtp_host, s.smtp_port, s.smtp_sender)
    return channels


def start_scheduler(platform: Platform) -> None:
    s = platform.settings
    channels = notice_channels(platform)

    def outbox() -> None:
        with platform.pool.connection() as conn:
            dispatch(conn, now=platform.now(), channels=channels)

    def sweep() -> None:
        with platform.pool.connection() as conn:
            sla_sweep(conn, now=platform.now())

    jobs = [Job("outbox", OUTBOX_S, outbox), Job("sla-sweep", SLA_SWEEP_S, sweep)]
    if not platform.mode.timescale:
        url, mode = platform.database_url, platform.mode
        jobs.append(Job("rollup", ROLLUP_S, lambda: refresh_rollup(url, mode, now=platform.now())))
        jobs.append(Job("retention", RETENTION_S,
                        lambda: prune_plain(url, now=platform.now(), retention_days=s.retention_days)))
    scheduler = Scheduler(platform.database_url, jobs)
    scheduler.start()
    platform.on_stop("scheduler", scheduler.stop)
    platform.started.append(f"scheduler  {', '.join(j.name for j in jobs)}; notice channels: "
                            f"{', '.join(channels)} (leader via advisory lock)")
