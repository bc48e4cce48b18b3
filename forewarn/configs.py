"""The composition root's one mapping from `Settings` to each package's own configuration: `ticket_config` (the
lifecycle: SLA tiers, quiet hours, time zone, fold/reopen/return-visit windows) and `ingest_config` (the MQTT
consumer). Domain packages take these plain values and never see the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from forewarn.settings import Settings
from ingest.config import IngestConfig
from tickets.classify import Tier
from tickets.config import TicketConfig
from tickets.learned import LearnedClassifier
from tickets.sla import Limit, parse_limit
from tickets.taxonomy import default_taxonomy, load_taxonomy


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    host: str
    port: int
    tls: bool = False


def sla_limits(settings: Settings) -> dict[tuple[Tier, str], Limit]:
    """The SLA limits the operator set for every site (`sla_<tier>_<limit>`, validated when the settings were
    loaded); the limits left unset are each site's SLA profile's."""
    return {(tier, limit): parse_limit(value) for tier in Tier for limit in ("respond", "resolve")
            if (value := getattr(settings, f"sla_{tier}_{limit}")) is not None}


def ticket_config(settings: Settings) -> TicketConfig:
    taxonomy = load_taxonomy(settings.taxonomy_file) if settings.taxonomy_file else None
    return TicketConfig(
        tz=ZoneInfo(settings.timezone),
        fold_window=timedelta(hours=settings.fold_window_hours),
        reopen_window=timedelta(days=settings.reopen_window_days),
        quiet_start=settings.quiet_hours_start,
        quiet_end=settings.quiet_hours_end,
        work_start=settings.work_hours_start,
        work_end=settings.work_hours_end,
        return_visit_within=timedelta(hours=settings.return_visit_hours),
        mediation_within=timedelta(days=settings.mediation_review_days),
        silence_window=timedelta(seconds=settings.silence_group_window_s),
        silence_devices=settings.silence_group_devices,
        silence_share=settings.silence_group_share,
        silence_hold=timedelta(seconds=settings.silence_hold_s),
        group_risk_households=settings.group_risk_households,
        group_risk_window=timedelta(hours=settings.group_risk_window_hours),
        sensitive_respond=timedelta(minutes=settings.sensitive_respond_minutes),
        progress_every=timedelta(hours=settings.progress_update_hours),
        warranty=timedelta(days=settings.warranty_days),
        join_window=timedelta(hours=settings.join_window_hours),
        sla_limits=sla_limits(settings),
        taxonomy=taxonomy,
        # Seeded with the taxonomy's words; the platform's start rebuilds it from the recorded corrections.
        learned=LearnedClassifier(taxonomy or default_taxonomy()),
    )


def ingest_config(settings: Settings, broker: BrokerEndpoint) -> IngestConfig:
    return IngestConfig(
        broker_host=broker.host,
        broker_port=broker.port,
        username=settings.mqtt_username,
        password=settings.mqtt_password,
        tls=broker.tls,
        tls_ca_file=settings.mqtt_ca_file,
        batch_size=settings.ingest_batch_size,
        flush_ms=settings.ingest_flush_ms,
        max_past_s=settings.ingest_max_past_s,
        max_future_s=settings.ingest_max_future_s,
    )
