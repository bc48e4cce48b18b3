"""One typed settings object, built once at start-up (`load_settings`) and passed down; nothing reads it at import.

Sources, later ones winning: defaults, an optional config file (TOML or YAML, `--config` or `FOREWARN_CONFIG`),
environment variables with the `FOREWARN_` prefix (e.g. `FOREWARN_DATABASE_URL`).
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev-secret"})


class RunMode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class DbMode(StrEnum):
    AUTO = "auto"  # TimescaleDB when the extension can be created, plain PostgreSQL otherwise
    PLAIN = "plain"
    TIMESCALE = "timescale"  # refuse to start without TimescaleDB


class SettingsError(ValueError):
    """Settings that cannot be used; the message says which setting and how to fix it."""


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
    timezone: str = Field("Asia/Shanghai", description="time zone for working days, quiet hours and reports")
    ingest_batch_size: int = Field(2000, ge=1, le=100_000, description="readings per COPY batch")
    ingest_flush_ms: int = Field(10, ge=1, le=60_000, description="flush a partial batch after this long")
    ingest_max_past_s: int = Field(24 * 3600, ge=1, description="older readings are dead-lettered (clock skew)")
    ingest_max_future_s: int = Field(300, ge=1, description="readings further ahead are dead-lettered")
    retention_days: int = Field(400, ge=1, description="readings older than this are dropped")
    compress_after_days: int = Field(7, ge=1, description="TimescaleDB: chunks older than this go columnstore")
    webhook_url: str | None = Field(None, description="SMS/WeChat gateway webhook for notices")
    smtp_host: str | None = Field(None, description="SMTP server for e-mail notices")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port")
    smtp_sender: str = Field("forewarn@localhost", description="From: address of e-mail notices")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    # Scaling out by site (forewarn/workers.py, ingest/leases.py)
    ingest_worker_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="run ingest as site worker with this id (site leases, one MQTT session per site); unset = one "
                    "consumer for every site")

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.mode is RunMode.PRODUCTION and self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("secret_key is a placeholder; set FOREWARN_SECRET_KEY to a long random value")
        if self.mode is RunMode.PRODUCTION and self.database_url is None:
            raise ValueError("production needs FOREWARN_DATABASE_URL; the embedded database is for development")
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
    return data.get("forewarn", data)


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
