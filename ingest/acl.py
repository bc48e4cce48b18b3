"""Broker security from the estate registry: Mosquitto password files (one password per device, one for the
platform), ACLs that confine each device to its own topics, ``forewarn/v1/{site}/{kind}/{device}/#``, and a listener
configuration that binds MQTT client ids to accounts.

Client ids are bound to accounts with two listeners (`per_listener_settings true`), because a stock Mosquitto 2 has
no per-account client-id rule: `use_username_as_clientid` forces every client's id to its user name (right for a
device, whose id is its account), but the platform's several clients (`forewarn-ingest`, `forewarn-ingest-<worker>`,
`forewarn-notices-<pid>`) need ids of their own, and `clientid_prefixes` is broker-wide. So devices connect to the
device listener, where their id is always their device id; the platform connects to its own listener, whose password
file holds the platform's account only, so every id there — all of `forewarn-*` — belongs to the platform. Device ids
starting with `forewarn-` are refused: that prefix is the platform's.

Hashes use Mosquitto's own ``$7$`` format (PBKDF2-HMAC-SHA512, as `mosquitto_passwd` writes), so no Mosquitto tool is
needed to generate them. Plain passwords are kept in a credentials file (mode 0600) for provisioning devices; running
the generator again keeps every existing password and only adds new devices. The hashed password files are 0640 and
group-owned by the broker's group (`mosquitto`), which a stock Mosquitto keeps after dropping root.
"""

from __future__ import annotations

import base64
import csv
import grp
import hashlib
import io
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest.contract import NOTICE_TOPIC_ROOT, TOPIC_ROOT, topic_for
from ingest.estate import Device
from ingest.reading import Channel

# Mosquitto 2.0 writes 101 iterations; more costs ~1 ms per connection and makes a leaked file harder to crack.
PBKDF2_ITERATIONS = 1000
_SALT_BYTES = 12  # what mosquitto_passwd uses
# Names that would break the password file (':'), the ACL (whitespace) or topic confinement (wildcards, '/').
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Client ids starting with this belong to the platform (ingest workers, the notice publisher): no device may use it.
PLATFORM_PREFIX = "forewarn-"
PLATFORM_USER = "forewarn-platform"  # the one broker account of all the platform's clients
BROKER_GROUP = "mosquitto"  # the group a Debian/Ubuntu/Docker Mosquitto runs as


class AclError(ValueError):
    """The registry holds a name that cannot be made safe for the broker; the message says which."""


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    password: str
    prefix: str  # the topics this account may publish under (devices) or read (ingest)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """A Mosquitto ``$7$`` password hash (PBKDF2-HMAC-SHA512)."""
    salt = salt if salt is not None else os.urandom(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def device_prefix(device: Device) -> str:
    """The topic filter a device may publish to: its own telemetry, events and status (and last will)."""
    return topic_for(device.site_id, device.kind, device.id, Channel.TELEMETRY).rsplit("/", 1)[0] + "/#"


def credentials(devices: Iterable[Device], existing: dict[str, str], *, platform_user: str = PLATFORM_USER
                ) -> list[Credential]:
    """The platform's account first, then one per device, reusing `existing` passwords (username → password)."""
    result = [Credential(platform_user, existing.get(platform_user) or secrets.token_urlsafe(24), f"{TOPIC_ROOT}/#")]
    for device in sorted(devices, key=lambda d: d.id):
        for name in (device.id, device.site_id):
            if not _SAFE_NAME.match(name):
                raise AclError(f"device {device.id!r}: {name!r} cannot be a broker user or topic level "
                               "(use letters, digits, '.', '_' and '-')")
        if device.id.startswith(PLATFORM_PREFIX) or device.id == platform_user:
            raise AclError(f"device id {device.id!r}: ids starting with {PLATFORM_PREFIX!r} are reserved to the "
                           "platform's MQTT clients; rename the device in the estate file")
        result.append(Credential(device.id, existing.get(device.id) or secrets.token_urlsafe(18),
                                 device_prefix(device)))
    return result


def password_file(creds: Iterable[Credential]) -> str:
    return "".join(f"{c.username}:{hash_password(c.password)}\n" for c in creds)


def acl_file(creds: Iterable[Credential]) -> str:
    """Each device writes under its own prefix only; the platform's account (on its own listener) reads every
    device topic and writes residents' notice pushes. Anything else is denied."""
    lines = ["# Generated by `forewarn mqtt acl` from the estate registry; edits are overwritten.", ""]
    for c in creds:
        if c.prefix == f"{TOPIC_ROOT}/#":
            lines += [f"user {c.username}", f"topic read {c.prefix}", f"topic write {NOTICE_TOPIC_ROOT}/#", ""]
        else:
            lines += [f"user {c.username}", f"topic write {c.prefix}", ""]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Listeners:
    """Where the broker listens: devices (any interface by default) and the platform (loopback by default)."""

    device_port: int = 1883
    device_host: str | None = None  # None = every interface
    platform_port: int = 1884
    platform_host: str | None = "127.0.0.1"


def broker_config(directory: Path, listeners: Listeners = Listeners()) -> str:
    """The Mosquitto listener configuration that binds client ids to accounts (see the module's docstring)."""
    d = directory.resolve()

    def listen(port: int, host: str | None) -> str:
        return f"listener {port}" + (f" {host}" if host else "")

    return (
        "# Generated by `forewarn mqtt acl`. per_listener_settings must come before any listener.\n"
        "per_listener_settings true\n\n"
        "# Devices: each client's id is forced to its user name (its device id): nobody can take another's session.\n"
        f"{listen(listeners.device_port, listeners.device_host)}\n"
        "allow_anonymous false\nuse_username_as_clientid true\n"
        f"password_file {d / 'passwd'}\nacl_file {d / 'acl'}\n\n"
        "# The platform: its account only, so every client id here (forewarn-*) is the platform's.\n"
        f"{listen(listeners.platform_port, listeners.platform_host)}\n"
        "allow_anonymous false\n"
        f"password_file {d / 'passwd-platform'}\nacl_file {d / 'acl-platform'}\n"
    )


def read_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        return {row["username"]: row["password"] for row in csv.DictReader(handle)}


def write_files(directory: Path, creds: list[Credential], *, listeners: Listeners = Listeners(),
                broker_group: str | None = BROKER_GROUP) -> list[Path]:
    """Write the password files and ACLs (devices', the platform's), credentials.csv (0600) and mosquitto-auth.conf
    into `directory`; return their paths. `creds[0]` is the platform's account (as `credentials` returns them)."""
    directory.mkdir(parents=True, exist_ok=True)
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["username", "password", "topics"])
    writer.writerows([c.username, c.password, c.prefix] for c in creds)
    platform, devices = creds[:1], creds[1:]
    gid = _group_id(broker_group)
    files = {  # name: (text, mode, shared with the broker's group)
        "passwd": (password_file(devices), 0o640, True),
        "passwd-platform": (password_file(platform), 0o640, True),
        "acl": (acl_file(devices), 0o644, False),
        "acl-platform": (acl_file(platform), 0o644, False),
        "credentials.csv": (table.getvalue(), 0o600, False),
        "mosquitto-auth.conf": (broker_config(directory, listeners), 0o644, False),
    }
    paths = []
    for name, (text, mode, shared) in files.items():
        path = directory / name
        if shared and gid is None:
            mode = 0o600  # no broker group here: readable by the owner only (a broker running as that user)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        if shared and gid is not None:
            os.chown(path, -1, gid)
        path.chmod(mode)
        paths.append(path)
    return paths


def _group_id(name: str | None) -> int | None:
    """The broker's group, if it exists here and we may hand files to it (root, or a member of it)."""
    if not name:
        return None
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        return None
    return gid if os.geteuid() == 0 or gid in os.getgroups() else None
