"""Authentication for the embedded broker outside development mode: the files of `ingest.acl`, generated from the
estate registry into the broker's data dir at start-up, with the platform's account as the settings give it.

Device passwords are kept between starts (in `credentials.csv`, 0600, for provisioning devices); a device added to
the registry gets its account at the next start (or sooner: `forewarn mqtt acl --out DIR` and `kill -HUP` the
broker).
"""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg

from ingest import acl
from ingest.estate_store import load_registry

log = logging.getLogger(__name__)


class BrokerAuthError(RuntimeError):
    """The broker's accounts cannot be generated; the message says what to fix."""


def write_broker_auth(database_url: str, directory: Path, *, username: str, password: str) -> Path:
    """Write the password files and ACLs for the registry's devices and the platform account into `directory`."""
    with psycopg.connect(database_url) as conn:
        devices = load_registry(conn).devices
    existing = acl.read_credentials(directory / "credentials.csv")
    existing[username] = password  # the platform's account is the settings', not a generated one
    try:
        creds = acl.credentials(devices, existing, platform_user=username)
    except acl.AclError as exc:
        raise BrokerAuthError(f"cannot give every device a broker account: {exc}") from None
    # The embedded Mosquitto runs as this process's user (root: `user root`), so the files need no broker group.
    acl.write_files(directory, creds, broker_group=None)
    log.info("embedded broker: %d device accounts and the platform's (%s), credentials in %s",
             len(creds) - 1, username, directory / "credentials.csv")
    return directory
