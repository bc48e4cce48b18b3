"""One typed settings object, built once at start-up (`load_settings`) and passed down; nothing reads it at import.

Sources, later ones winning: defaults, an optional config file (TOML or YAML, `--config` or `FOREWARN_CONFIG`),
environment variables with the `FOREWARN_` prefix (e.g. `FOREWARN_DATABASE_URL`).
"""

from __future__ import annotations

import tomllib
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickets.classify import Tier
from tickets.sla import parse_limit
from tickets.taxonomy import load_taxonomy

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev-secret"})
# The secret signs webhook payloads (HMAC-SHA256): anything shorter than the hash's own 32 bytes weakens it, and a
# short one can be guessed. `python -c "import secrets; print(secrets.token_urlsafe(32))"` makes a good one.
MIN_SECRET_BYTES = 32


class RunMode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class DbMode(StrEnum):
    AUTO = "auto"  # TimescaleDB when the extension can be created, plain PostgreSQL otherwise
    PLAIN = "plain"
    TIMESCALE = "timescale"  # refuse to start without TimescaleDB


class SettingsError(ValueError):
    """Settings that cannot be used; the message says which setting and how to fix it."""


# The two limits of each SLA tier, and the words a config file's [sla.<tier>] table may use for them (DESIGN.md's:
# major = on site / written plan, complex = progress / resolve).
SLA_LIMITS = ("respond", "resolve")
SLA_KEYS = {"respond": "respond", "on_site": "respond", "progress": "respond", "resolve": "resolve",
            "plan": "resolve"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOREWARN_", extra="forbid", frozen=True)

    mode: RunMode = Field(RunMode.DEVELOPMENT, description="development or production")
    data_dir: Path = Field(Path(".forewarn"), description="where the embedded database and broker keep their data")
    database_url: str | None = Field(None, description="PostgreSQL URL; unset = start the embedded server")
    db_mode: DbMode = Field(DbMode.AUTO, description="auto, plain or timescale")
    db_pool_size: int = Field(8, ge=1, le=200, description="connections in the pool")
    embedded_db_port: int = Field(54329, ge=1, le=65535, description="port of the embedded PostgreSQL")
    mqtt_url: str | None = Field(None, description="mqtt://host:port of the broker; unset = embedded broker")
    mqtt_username: str | None = Field(None, description="MQTT user for the platform's own clients")
    mqtt_password: str | None = Field(None, description="MQTT password for the platform's own clients")
    mqtt_ca_file: str | None = Field(None, description="CA bundle to verify an mqtts:// broker; unset = system CAs")
    embedded_mqtt_port: int = Field(18830, ge=1, le=65535, description="port of the embedded broker")
    api_host: str = Field("127.0.0.1", description="address the API listens on")
    api_port: int = Field(8000, ge=1, le=65535, description="port the API listens on")
    secret_key: str = Field("change-me", description="signs webhook payloads; must be set in production")
    timezone: str = Field("Asia/Shanghai",
                          description="time zone of working days (SLA clocks), quiet hours, notice and alarm times")
    ingest_batch_size: int = Field(2000, ge=1, le=100_000, description="readings per COPY batch")
    ingest_flush_ms: int = Field(10, ge=1, le=60_000, description="flush a partial batch after this long")
    ingest_max_past_s: int = Field(24 * 3600, ge=1, description="older readings are dead-lettered (clock skew)")
    ingest_max_future_s: int = Field(300, ge=1, description="readings further ahead are dead-lettered")
    offline_grace_s: float = Field(120.0, ge=0, le=3600, description="a device back within this long of its "
                                   "last will was a glitch (router restart, power blip): no offline alarm")
    retention_days: int = Field(400, ge=1, description="readings older than this are dropped")
    compress_after_days: int = Field(7, ge=1, description="TimescaleDB: chunks older than this go columnstore")
    webhook_url: str | None = Field(None, description="SMS/WeChat gateway webhook for notices")
    smtp_host: str | None = Field(None, description="SMTP server for e-mail notices")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port")
    smtp_sender: str = Field("forewarn@localhost", description="From: address of e-mail notices")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    # runtime-config: the ticket lifecycle (tickets.config.TicketConfig, built by forewarn.configs). SLA limits are
    # written "15 min", "24 h" or "3 working days"; in a config file also as a table per tier, e.g. [sla.major].
    quiet_hours_start: time = Field(time(22, 0), description="from this local time, non-critical notices go in-app and "
                                    "as a silent push at once, SMS/WeChat/e-mail wait (equal start and end: none)")
    quiet_hours_end: time = Field(time(7, 0), description="until this local time; critical notices always go at once")
    work_hours_start: time = Field(time(8, 30), description="working hours begin (local time, on working days); "
                                   "outside them urgent tickets go to the on-call roster")
    work_hours_end: time = Field(time(17, 30), description="working hours end (local time)")
    fold_window_hours: float = Field(6.0, gt=0, le=24 * 30, description="a complaint folds into an open incident "
                                     "of its building detected up to this long after it")
    reopen_window_days: float = Field(7.0, gt=0, le=365, description="the same device fault within this long "
                                      "after its ticket reopens that ticket")
    silence_group_devices: int = Field(3, ge=2, le=1000, description="this many devices of one building falling "
                                       "silent together are one event (likely power cut or network loss)")
    silence_group_share: float = Field(0.5, gt=0, le=1, description="or this share of the building's monitored "
                                       "devices, if fewer (never fewer than 2 devices)")
    silence_group_window_s: float = Field(90.0, gt=0, le=3600, description="silences that began within this many "
                                          "seconds of each other count as together")
    silence_hold_s: float = Field(120.0, ge=0, le=3600, description="a building's silence warns its residents only "
                                  "after lasting this long; a shorter blip leaves a ticket for engineering only")
    group_risk_households: int = Field(5, ge=2, le=1000, description="this many households complaining about one "
                                       "fault point in one building, none folded into an incident, raise one "
                                       "group-risk flag (major ticket, manager told once)")
    group_risk_window_hours: float = Field(24.0, gt=0, le=24 * 30, description="within this many hours of each "
                                           "other")
    sensitive_respond_minutes: float = Field(30.0, gt=0, le=24 * 60, description="a complaint threatening the "
                                             "media, a lawyer or collective action is answered within this long "
                                             "(never later than its tier's clock)")
    progress_update_hours: float = Field(24.0, gt=0, le=24 * 30, description="while a major ticket a resident "
                                         "raised stays open, they get a progress update once per this many "
                                         "working hours")
    warranty_days: float = Field(90.0, ge=0, le=3650, description="a repair is under warranty this long after "
                                 "it is resolved: the same fault point in the same unit within it links to it "
                                 "(0: no warranty)")
    join_window_hours: float = Field(72.0, ge=0, le=24 * 30, description="a complaint from a household about a "
                                     "fault point it has an open complaint ticket on, opened within this long, "
                                     "joins that ticket (0: never)")
    return_visit_hours: float = Field(48.0, gt=0, le=24 * 60, description="a return visit later than this after "
                                      "resolution is late (reminders at half of it)")
    mediation_review_days: float = Field(14.0, gt=0, le=365, description="an external mediation still open this "
                                         "long after its start is chased: its owner reminded at half and 80 %, "
                                         "the supervisor told at this limit, the site manager at 1.5 times it")
    sla_major_respond: str | None = Field(None, description="major tier: staff on site within, on every site; "
                                            "unset = the site's SLA profile")
    sla_major_resolve: str | None = Field(None, description="major tier: written plan within, on every site; "
                                            "unset = the site's SLA profile")
    sla_general_respond: str | None = Field(None, description="general tier: respond within, on every site; "
                                              "unset = the site's SLA profile")
    sla_general_resolve: str | None = Field(None, description="general tier: resolve within, on every site; "
                                              "unset = the site's SLA profile")
    sla_complex_respond: str | None = Field(None, description="complex tier: progress within, on every site; "
                                              "unset = the site's SLA profile")
    sla_complex_resolve: str | None = Field(None, description="complex tier: resolve within, on every site; "
                                              "unset = the site's SLA profile")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Asia/Shanghai") from None
        return value

    @field_validator(*(f"sla_{tier}_{limit}" for tier in Tier for limit in SLA_LIMITS))
    @classmethod
    def _sla_limit(cls, value: str | None) -> str | None:
        if value is not None:
            parse_limit(value)  # raises ValueError saying what is accepted
        return value
    # -- hardening of the broker and ingest (issue #21) --
    dead_letter_retention_days: int = Field(30, ge=1, description="dead letters older than this are deleted")
    embedded_mqtt_platform_port: int = Field(18831, ge=1, le=65535,
                                             description="production: the embedded broker's listener for the platform")
    # -- web pages and accounts (api/web) --
    public_url: str | None = Field(None, description="address residents open the pages at, for invitation links; "
                                            "unset = http://API_HOST:API_PORT")
    session_days: int = Field(14, ge=1, le=365, description="a web sign-in lasts this long")
    signup_code_hours: int = Field(72, ge=1, le=24 * 60, description="a sign-up invitation (link and code) expires "
                                                                       "after this long")
    login_max_failures: int = Field(5, ge=1, le=1000, description="failed sign-ins per account before a wait "
                                                                   "(per client address: 4 times as many)")
    login_window_minutes: int = Field(15, ge=1, le=24 * 60, description="the window those failures are counted in")
    login_max_code_sends: int = Field(5, ge=1, le=1000, description="sign-in codes sent to one account in that window "
                                                                     "(per client address: 20 times as many)")
    # API hardening (harden-api): token lifetime, back-pressure and request limits.
    api_token_days: int = Field(90, ge=1, le=3650, description="API tokens expire this many days after issue")
    api_workers: int = Field(4, ge=1, le=200,
                             description="API requests and pages worked on at once, at most DB_POOL_SIZE; the "
                                         "others wait (API_WAIT_MS)")
    api_wait_ms: int = Field(500, ge=10, le=30_000,
                             description="an API request waits this long for a worker or a connection, then 503")
    api_max_waiting: int = Field(128, ge=1, le=10_000,
                                 description="API requests waiting for a worker; more are answered 503 at once")
    api_max_body_bytes: int = Field(65_536, ge=1024, le=16_777_216,
                                    description="larger request bodies are refused (413) before they are read")
    gc_full_seconds: float = Field(60.0, ge=0, le=3600,
                                   description="`forewarn run`: a full garbage collection this often, instead of "
                                               "Python's automatic ones (0 = Python's own)")
    # Scaling out by site (forewarn/workers.py, ingest/leases.py)
    ingest_worker_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="run ingest as site worker with this id (site leases, one MQTT session per site); unset = one "
                    "consumer for every site")
    # -- service desk: complaint taxonomy (issue #16) --
    taxonomy_file: Path | None = Field(None, description="YAML complaint taxonomy replacing "
                                       "tickets/data/taxonomy.yaml (same shape); unset = the packaged one")

    @field_validator("taxonomy_file")
    @classmethod
    def _taxonomy(cls, value: Path | None) -> Path | None:
        if value is not None:
            load_taxonomy(value)  # TaxonomyError (a ValueError) names the file and the entry at fault
        return value
    # -- the monthly review and the staff's daily digest (tickets/review) --
    review_digest_at: str = Field("08:30", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                                  description="local time (HH:MM, the configured time zone) the staff's daily digest "
                                              "is sent at (a cron trigger; if the platform was down then, it is "
                                              "sent once when it starts)")
    review_satisfaction_target: float = Field(90.0, ge=0, le=100,
                                              description="satisfaction-rate target in percent (ratings 4-5 of 5)")
    review_closed_loop_target: float = Field(95.0, ge=0, le=100, description="closed-loop-rate target in percent")
    # -- survey waves (tickets/survey_special.py) --
    special_wave_households: int = Field(50, ge=1, le=1_000_000,
                                         description="an incident that affected more than this many households "
                                                     "opens a special survey wave of them once it is resolved")

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @model_validator(mode="after")
    def _working_day_has_hours(self) -> Settings:
        if self.work_hours_end <= self.work_hours_start:
            raise ValueError(f"work_hours_end ({self.work_hours_end}) must be later than work_hours_start "
                             f"({self.work_hours_start})")
        return self

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.mode is not RunMode.PRODUCTION:
            return self
        if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("secret_key is a placeholder; set FOREWARN_SECRET_KEY to a long random value")
        if len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"secret_key is {len(self.secret_key.encode())} bytes; production needs at least "
                             f"{MIN_SECRET_BYTES} (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        if self.database_url is None:
            raise ValueError("production needs FOREWARN_DATABASE_URL; the embedded database is for development")
        if not (self.mqtt_username and self.mqtt_password):
            raise ValueError("production does not run with an anonymous broker: set FOREWARN_MQTT_USERNAME and "
                             "FOREWARN_MQTT_PASSWORD to the platform's account (your broker's: forewarn mqtt acl "
                             "generates it; the embedded broker requires them and takes them as given)")
        return self


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"config file {path} is not valid {path.suffix.lstrip('.').upper()}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path} must be a table of setting = value")
    values = data.get("forewarn", data)
    if not isinstance(values, dict):
        raise SettingsError(f"config file {path}: [forewarn] must be a table of setting = value")
    return _flatten_sla(values, f"config file {path}")


def _flatten_sla(values: dict[str, Any], source: str) -> dict[str, Any]:
    """A `sla` table of tiers (`[sla.major] on_site = "10 min"`) as the flat settings (`sla_major_respond`)."""
    table = values.pop("sla", None)
    if table is None:
        return values
    tiers = ", ".join(Tier)
    if not isinstance(table, dict):
        raise SettingsError(f"{source}: sla must be a table of tiers ({tiers})")
    for tier, limits in table.items():
        if tier not in set(Tier):
            raise SettingsError(f"{source}: [sla.{tier}] is not a tier; the tiers are {tiers}")
        if not isinstance(limits, dict):
            raise SettingsError(f"{source}: [sla.{tier}] must be a table such as respond = \"15 min\"")
        for key, value in limits.items():
            if key not in SLA_KEYS:
                raise SettingsError(f"{source}: [sla.{tier}] {key}: unknown limit; use {', '.join(SLA_KEYS)}")
            values[f"sla_{tier}_{SLA_KEYS[key]}"] = value
    return values


def load_settings(config_file: Path | None = None, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings once. Raises `SettingsError` with a readable message for any bad value."""
    import os

    env = dict(os.environ if environ is None else environ)
    if config_file is None and env.get("FOREWARN_CONFIG"):
        config_file = Path(env["FOREWARN_CONFIG"])
    file_values = _read_config_file(config_file) if config_file else {}
    # Environment beats the file: drop file keys that the environment sets.
    for key in list(file_values):
        if f"FOREWARN_{key.upper()}" in env:
            del file_values[key]
    try:
        return _settings_from(env, {**file_values, **overrides})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None


def _settings_from(env: dict[str, str], values: dict[str, Any]) -> Settings:
    fields = Settings.model_fields
    for key, raw in env.items():
        if key.startswith("FOREWARN_") and key != "FOREWARN_CONFIG":
            name = key[len("FOREWARN_"):].lower()
            if name in fields and name not in values:
                values[name] = raw
            elif name.startswith("sla_") and name not in fields:  # a typo here would silently keep the default
                names = ", ".join(f"FOREWARN_SLA_{t.upper()}_{limit.upper()}" for t in Tier for limit in SLA_LIMITS)
                raise SettingsError(f"{key} is not a setting; the SLA settings are {names}")
    # model_validate, not Settings(...): the environment was read above, from `env`, exactly once.
    return Settings.model_validate(values)


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting — the README's table comes from this."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "(unset)" if default is None else (default.value if isinstance(default, StrEnum) else str(default))
        rows.append((f"FOREWARN_{name.upper()}", shown, field.description or ""))
    return rows
