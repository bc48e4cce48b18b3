"""What every CLI command shares: the settings, and a database URL (starting the embedded server if needed)."""

from __future__ import annotations

import logging

import psycopg

from forewarn.configs import ticket_config
from forewarn.db import check_connection, redact
from forewarn.embedded import EmbeddedPostgres
from forewarn.settings import Settings
from tickets.config import TicketConfig

log = logging.getLogger(__name__)
EMBEDDED_DB_NAME = "forewarn"


class CliContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedded: EmbeddedPostgres | None = None
        self._url: str | None = None

    def database_url(self) -> str:
        """The configured database, or the embedded one (started now, stopped by `close`)."""
        if self._url:
            return self._url
        if self.settings.database_url:
            check_connection(self.settings.database_url)
            self._url = self.settings.database_url
            return self._url
        self._embedded = EmbeddedPostgres(self.settings.data_dir / "postgres", self.settings.embedded_db_port)
        self._started_here = not self._embedded_running()
        admin = self._embedded.start()
        self._url = ensure_database(admin, EMBEDDED_DB_NAME)
        return self._url

    def _embedded_running(self) -> bool:
        assert self._embedded is not None
        return (self._embedded.data_dir / "postmaster.pid").exists()

    def ticket_config(self) -> TicketConfig:
        """The lifecycle's configuration from the settings (for `forewarn tickets sweep` and the like)."""
        return ticket_config(self.settings)

    def redacted_url(self) -> str:
        return redact(self._url or self.settings.database_url or "")

    def close(self) -> None:
        if self._embedded is not None and getattr(self, "_started_here", False):
            self._embedded.stop()


def ensure_database(admin_url: str, name: str) -> str:
    """Create database `name` on the server of `admin_url` if missing; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo("", **info)
