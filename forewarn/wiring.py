"""Wiring of the roles: which domain objects each role builds, from the settings, and which periodic jobs it runs.

Each `start_*` function takes a `RoleContext` (what the platform has brought up: settings, database, broker, clock)
and returns what it built — an `IngestRole`, a `SchedulerRole`, an `ApiRole` — with the one `stop()` that stops it.
The runtime (forewarn/runtime.py) holds them as typed fields; nothing here knows the runtime.

The ingest role owns the detector engine of the devices it receives (in-process state, ticked and checkpointed by
this process) and the consumer that applies its queued alarms to tickets; with `FOREWARN_INGEST_WORKER_ID` set it
serves only the sites it holds leases on (forewarn/workers.py). The scheduler role runs the estate-wide sweeps, in
one leader process at a time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import paho.mqtt.client as mqtt
import uvicorn
from paho.mqtt.enums import CallbackAPIVersion
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.deps import AppState
from api.guard import ApiLimits
from forewarn.configs import BrokerEndpoint, ingest_config
from forewarn.db import StorageMode
from forewarn.embedded import EmbeddedServerError, port_is_free, wait_for_port
from forewarn.pipeline import DetectionPipeline, PipelineHooks
from forewarn.retention import prune_dead_letters, prune_plain
from forewarn.review_wiring import review_jobs, survey_jobs
from forewarn.rollup import refresh_rollup
from forewarn.scheduler import Job, Scheduler
from forewarn.settings import Settings
from forewarn.stops import Stops
from forewarn.web_wiring import code_sender, web_config, web_prune_job
from forewarn.workers import SiteWorker
from ingest.estate_store import load_registry
from ingest.service import IngestService
from tickets.alarm_queue import AlarmConsumer
from tickets.channels import Channel, InAppChannel, MqttPushChannel, SmtpEmailChannel, WebhookChannel
from tickets.config import TicketConfig
from tickets.flows import settle_silence
from tickets.maintenance_plan import PLAN_S, run_due_plans
from tickets.maintenance_release import RELEASE_S, release_ended_windows
from tickets.outbox import OPTIONAL_CHANNELS, dispatch
from tickets.progress import progress_sweep
from tickets.review.compute import Targets
from tickets.submissions import forget_expired
from tickets.sweeps import sla_sweep

log = logging.getLogger(__name__)

DETECTOR_TICK_S = 2.0  # silence, minimum durations and clear conditions are checked this often
CHECKPOINT_S = 60.0  # detector state saved this often (and on shutdown)
LABELS_S = 5.0  # engineers' verdicts reach the detectors within this long
REGISTRY_S = 5.0  # an estate load reaches the detectors within this long (one one-row query when nothing changed)
OUTBOX_S = 1.0  # notices leave the outbox within about this long
SLA_SWEEP_S = 30.0
PROGRESS_S = 300.0  # periodic progress updates are due once per working day; five minutes late is nothing
# A building's silence outlasting its hold time (2 min by default) warns its residents within this long after.
SILENCE_S = 5.0
ROLLUP_S = 300.0  # plain PostgreSQL only: the hourly rollup's refresh
RETENTION_S = 3600.0  # expired dead letters and complaint keys deleted; on plain PostgreSQL also expired readings
API_START_S = 15.0  # the API must listen within this long, or start-up fails with a clear error


@dataclass(frozen=True, slots=True)
class RoleContext:
    """What every role is built from: the settings, the migrated database and its pool, the broker, the platform's
    clock, and the lifecycle's configuration (built from the settings by the composition root)."""

    settings: Settings
    pool: ConnectionPool
    database_url: str
    mode: StorageMode
    broker: BrokerEndpoint
    clock: Callable[[], datetime]
    tickets: TicketConfig

    def broker_reachable(self) -> bool:
        return wait_for_port(self.broker.port, 1.0, self.broker.host)


@dataclass(frozen=True, slots=True)
class IngestRole:
    """The MQTT consumer (one for every site, `service`; or a site `worker` with one per site it holds), the detectors
    it feeds, and the consumer of their queued alarms; `restored` devices resumed from their checkpoints at start."""

    service: IngestService | None
    worker: SiteWorker | None
    pipeline: DetectionPipeline
    alarms: AlarmConsumer
    restored: int
    stops: Stops

    @property
    def banner(self) -> str:
        if self.worker is not None:
            return (f"ingest     site worker {self.worker.worker_id}: sites {', '.join(sorted(self.worker.services))}"
                    f" ({len(self.pipeline.engine.devices())} devices)")
        return (f"ingest     {len(self.pipeline.engine.devices())} devices; detectors restored from checkpoint: "
                f"{self.restored}")

    def stop(self) -> None:
        self.stops.stop_all()


@dataclass(frozen=True, slots=True)
class SchedulerRole:
    """The leader-elected sweeps and the notice channels the outbox delivers on."""

    scheduler: Scheduler
    channels: Mapping[str, Channel]
    stops: Stops

    @property
    def banner(self) -> str:
        return (f"scheduler  {', '.join(j.name for j in self.scheduler.jobs)}; notice channels: "
                f"{', '.join(self.channels)} (leader via advisory lock)")

    def stop(self) -> None:
        self.stops.stop_all()


@dataclass(frozen=True, slots=True)
class ApiRole:
    """The HTTP server (uvicorn, on its own thread) and the state its routes read."""

    server: uvicorn.Server
    state: AppState
    url: str
    stops: Stops

    @property
    def banner(self) -> str:
        return f"api        {self.url}  (OpenAPI at /docs)"

    def stop(self) -> None:
        self.stops.stop_all()


def start_ingest(ctx: RoleContext, hooks: PipelineHooks = PipelineHooks()) -> IngestRole:
    """The alarm consumer, the detectors (restored from their checkpoints), then the MQTT consumer that feeds them —
    for every site, or, as a site worker, for the sites it holds."""
    worker_id = ctx.settings.ingest_worker_id
    with ctx.pool.connection() as conn:
        estate = load_registry(conn)
    stops = Stops()  # if a later step fails, the earlier ones are stopped before the error goes up
    try:
        alarms = AlarmConsumer(ctx.pool, now=ctx.clock, config=ctx.tickets, alarm_time=hooks.alarm_time)
        alarms.start()
        stops.push("alarm consumer", alarms.stop)
        # In lockstep (a benchmark waiting on `on_judged`) alarms are applied at once, on the detector's thread.
        on_queued = alarms.drain if hooks.on_judged is not None else alarms.wake
        pipeline = DetectionPipeline(ctx.pool, estate, now=ctx.clock, hooks=hooks, on_queued=on_queued,
                                     sites=set() if worker_id else None, offline_grace_s=ctx.settings.offline_grace_s,
                                     hears_through_ingest=True, tz=ctx.tickets.tz)
        pipeline.refresh_registry(force=True)
        restored = 0 if worker_id else pipeline.restore()
        stops.push("detector checkpoint", pipeline.checkpoint)
        local = Scheduler(None, [
            Job("detector-tick", DETECTOR_TICK_S, pipeline.tick),
            Job("detector-checkpoint", CHECKPOINT_S, pipeline.checkpoint),
            Job("detector-labels", LABELS_S, pipeline.apply_labels),
            Job("detector-registry", REGISTRY_S, pipeline.refresh_registry),
        ])
        local.start()
        stops.push("detector jobs", local.stop)
        service, worker = None, None
        if worker_id:
            worker = SiteWorker(worker_id, ctx.pool, ctx.database_url, ingest_config(ctx.settings, ctx.broker),
                                pipeline, now=ctx.clock)
            worker.start()
            stops.push("site worker", worker.stop)
        else:
            service = IngestService(
                ingest_config(ctx.settings, ctx.broker), ctx.database_url,
                on_readings=pipeline.on_readings, on_presence=pipeline.on_presence,
                on_listening=pipeline.on_listening, now=ctx.clock,
            )
            service.start()
            stops.push("ingest", service.stop)
    except BaseException:
        stops.stop_all()
        raise
    return IngestRole(service=service, worker=worker, pipeline=pipeline, alarms=alarms, restored=restored,
                      stops=stops)


def notice_channels(ctx: RoleContext, stops: Stops) -> dict[str, Channel]:
    """The delivery channels the settings configure. In-app and the MQTT push topic always work; the SMS/WeChat
    gateway webhook and e-mail only when configured — until then their notices are delivered in-app instead."""
    s = ctx.settings
    channels: dict[str, Channel] = {"in_app": InAppChannel()}
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"forewarn-notices-{os.getpid()}")
    if s.mqtt_username:
        publisher.username_pw_set(s.mqtt_username, s.mqtt_password)
    if ctx.broker.tls:
        publisher.tls_set(ca_certs=s.mqtt_ca_file)
    publisher.connect_async(ctx.broker.host, ctx.broker.port)
    publisher.loop_start()
    stops.push("notice publisher", lambda: (publisher.disconnect(), publisher.loop_stop()))
    channels["mqtt"] = MqttPushChannel(publisher.publish)
    if s.webhook_url:
        channels["webhook"] = WebhookChannel(s.webhook_url, s.secret_key)
    if s.smtp_host:
        channels["email"] = SmtpEmailChannel(s.smtp_host, s.smtp_port, s.smtp_sender)
    return channels


def scheduler_jobs(ctx: RoleContext, channels: Mapping[str, Channel]) -> list[Job]:
    """The leader's periodic jobs: the notice outbox, the SLA sweep, faults that outlasted a maintenance window,
    buildings silent past the hold time (tickets/silence.py), recurring maintenance plans that came due,
    dead-letter retention, and (plain PostgreSQL) rollup and retention."""
    s, clock, config = ctx.settings, ctx.clock, ctx.tickets
    unconfigured = sorted(OPTIONAL_CHANNELS - channels.keys())

    def outbox() -> None:
        with ctx.pool.connection() as conn:
            dispatch(conn, now=clock(), channels=channels, unconfigured=unconfigured)

    def sweep() -> None:
        with ctx.pool.connection() as conn:
            sla_sweep(conn, now=clock(), config=config)

    def progress() -> None:
        with ctx.pool.connection() as conn:
            progress_sweep(conn, now=clock(), config=config)

    def release() -> None:
        with ctx.pool.connection() as conn:
            release_ended_windows(conn, now=clock())

    def silence() -> None:
        with ctx.pool.connection() as conn:
            settle_silence(conn, now=clock(), config=config)

    def plans() -> None:
        with ctx.pool.connection() as conn:
            run_due_plans(conn, now=clock(), config=config)

    jobs = [Job("outbox", OUTBOX_S, outbox), Job("sla-sweep", SLA_SWEEP_S, sweep),
            Job("resident-progress", PROGRESS_S, progress),
            Job("maintenance-release", RELEASE_S, release), Job("silence-groups", SILENCE_S, silence),
            Job("maintenance-plans", PLAN_S, plans),
            web_prune_job(ctx.pool, clock)]
    jobs += review_jobs(ctx.pool, clock, s, config.tz)
    jobs += survey_jobs(ctx.pool, clock, s)
    jobs.append(Job("dead-letter-retention", RETENTION_S, lambda: prune_dead_letters(
        ctx.database_url, now=clock(), retention_days=s.dead_letter_retention_days)))

    def submission_keys() -> None:
        with ctx.pool.connection() as conn:
            forget_expired(conn, clock())

    jobs.append(Job("submission-keys", RETENTION_S, submission_keys))
    if not ctx.mode.timescale:
        url, mode = ctx.database_url, ctx.mode
        jobs.append(Job("rollup", ROLLUP_S, lambda: refresh_rollup(url, mode, now=clock())))
        jobs.append(Job("retention", RETENTION_S,
                        lambda: prune_plain(url, now=clock(), retention_days=s.retention_days)))
    return jobs


def start_scheduler(ctx: RoleContext, channels: Mapping[str, Channel] | None = None,
                    skip: frozenset[str] = frozenset()) -> SchedulerRole:
    """The sweeps, run while this process holds the leader lock. `channels` replaces the ones the settings
    configure (a test or a benchmark passes recording fakes); unset, they are built from the settings. `skip` names
    jobs the caller runs itself (a benchmark's lockstep outbox); a name no job has is a programming error."""
    stops = Stops()
    try:
        if channels is None:
            channels = notice_channels(ctx, stops)
        for name in sorted(OPTIONAL_CHANNELS - channels.keys()):  # said at start-up, not only at the first notice
            log.warning("notice channel %s is not configured (%s): its notices are delivered in-app instead", name,
                        {"webhook": "FOREWARN_WEBHOOK_URL", "email": "FOREWARN_SMTP_HOST"}[name])
        jobs = scheduler_jobs(ctx, channels)
        unknown = skip - {job.name for job in jobs}
        if unknown:
            raise ValueError(f"no scheduler job is called {', '.join(sorted(unknown))}")
        scheduler = Scheduler(ctx.database_url, [job for job in jobs if job.name not in skip])
        scheduler.start()
        stops.push("scheduler", scheduler.stop)
    except BaseException:
        stops.stop_all()
        raise
    return SchedulerRole(scheduler=scheduler, channels=channels, stops=stops)


def api_extras(ctx: RoleContext, ingest: IngestRole | None) -> dict[str, object]:
    extras: dict[str, object] = {"storage_mode": ctx.mode, "secret_key": ctx.settings.secret_key,
                                 "web": web_config(ctx.settings), "code_sender": code_sender(ctx.settings)}
    if ingest is not None and ingest.service is not None:  # a site worker's per-site consumers: not exported yet
        extras["metrics_registry"] = ingest.service.metrics_registry
    return extras


def api_limits(s: Settings) -> ApiLimits:
    """The API's back-pressure and request limits. Requests worked on at once: `api_workers`, never more than the pool
    has connections. Fewer worker threads than connections on purpose: each page is a few milliseconds of Python
    between short queries, so with eight threads they interleaved under the GIL and every page waited behind the
    others' slices; with four, pages finish nearly in arrival order (bench.web on 2 cores: page p95 315 -> 249 ms,
    with 1,000 streams open 363 -> 284 ms, docs/web.md)."""
    return ApiLimits(workers=min(s.api_workers, s.db_pool_size), wait_s=s.api_wait_ms / 1000,
                     max_waiting=s.api_max_waiting, max_body_bytes=s.api_max_body_bytes)


def start_api(ctx: RoleContext, ingest: IngestRole | None = None) -> ApiRole:
    """The API on its own thread; start-up fails with a clear error if its port is taken or it does not listen."""
    s = ctx.settings
    if not port_is_free(s.api_port, s.api_host):
        raise EmbeddedServerError(f"port {s.api_port} is in use; set FOREWARN_API_PORT to a free port")
    state = AppState(pool=ctx.pool, broker_check=ctx.broker_reachable, extras=api_extras(ctx, ingest),
                     clock=ctx.clock, tickets=ctx.tickets, targets=Targets.of(s), limits=api_limits(s))
    config = uvicorn.Config(create_app(state), host=s.api_host, port=s.api_port, log_level="warning",
                            lifespan="on", timeout_graceful_shutdown=2)  # open live streams must not hold up a stop
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    stops = Stops()

    def stop_api() -> None:
        server.should_exit = True
        thread.join(10)

    stops.push("API", stop_api)
    if not wait_for_port(s.api_port, API_START_S, s.api_host):
        stops.stop_all()
        raise EmbeddedServerError(f"the API did not start on {s.api_host}:{s.api_port}")
    return ApiRole(server=server, state=state, url=f"http://{s.api_host}:{s.api_port}", stops=stops)
