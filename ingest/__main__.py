"""`python -m ingest`: run one IngestService from command-line arguments until SIGTERM or Ctrl-C.

The platform runs ingest through `forewarn run`; this entry point is for a bare ingest worker (and for the
resilience tests, which kill it with SIGKILL). It prints ``ready`` on stdout once it consumes.

Secrets never come on the command line, where `ps` shows them to every user of the machine: the broker password
comes from `FOREWARN_MQTT_PASSWORD` or `--password-file` (`-` reads one line from stdin), and the database URL may
come from `FOREWARN_DATABASE_URL` instead of `--database`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from ingest.config import IngestConfig
from ingest.service import IngestError, IngestService


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    # allow_abbrev off: `--password x` must not be taken as an abbreviation of `--password-file x`.
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--database", help="PostgreSQL conninfo or URL (default: $FOREWARN_DATABASE_URL)")
    parser.add_argument("--broker-host", default="127.0.0.1")
    parser.add_argument("--broker-port", type=int, default=1883)
    parser.add_argument("--client-id", default="forewarn-ingest", help="stable id: the broker keeps its session")
    parser.add_argument("--username")
    parser.add_argument("--password-file", type=Path,
                        help="file holding the broker password ('-' = stdin); default: $FOREWARN_MQTT_PASSWORD")
    parser.add_argument("--password", help=argparse.SUPPRESS)  # refused in main(), with the reason
    parser.add_argument("--site", default="+", help="one site id, or + for all")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--flush-ms", type=int, default=IngestConfig().flush_ms)
    parser.add_argument("--max-queue", type=int, default=20000, help="MQTT 5 receive maximum")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


class _UsageError(ValueError):
    """A secret given where it would leak, or missing: the message says where to put it."""


def _password(args: argparse.Namespace, environ: dict[str, str]) -> str | None:
    if args.password is not None:
        raise _UsageError("--password is refused: the command line is visible to every user (ps); put the password "
                          "in FOREWARN_MQTT_PASSWORD or in a file given with --password-file (- for stdin)")
    if args.password_file is None:
        return environ.get("FOREWARN_MQTT_PASSWORD")
    try:
        text = sys.stdin.readline() if str(args.password_file) == "-" else args.password_file.read_text()
    except OSError as exc:
        raise _UsageError(f"cannot read the password file {args.password_file}: {exc.strerror}") from None
    return text.strip("\r\n")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    environ = dict(os.environ)
    try:
        password = _password(args, environ)
        database = args.database or environ.get("FOREWARN_DATABASE_URL")
        if not database:
            raise _UsageError("no database: give --database or set FOREWARN_DATABASE_URL")
    except _UsageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    config = IngestConfig(broker_host=args.broker_host, broker_port=args.broker_port, client_id=args.client_id,
                          username=args.username, password=password, site=args.site,
                          batch_size=args.batch_size, flush_ms=args.flush_ms, max_queue=args.max_queue)
    service = IngestService(config, database)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        service.start()
    except IngestError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    stop.wait()
    service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
