"""`python -m ingest`: run one IngestService from command-line arguments until SIGTERM or Ctrl-C.

The platform runs ingest through `forewarn run`; this entry point is for a bare ingest worker (and for the
resilience tests, which kill it with SIGKILL). It prints ``ready`` on stdout once it consumes.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from ingest.config import IngestConfig
from ingest.service import IngestError, IngestService


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="PostgreSQL conninfo or URL")
    parser.add_argument("--broker-host", default="127.0.0.1")
    parser.add_argument("--broker-port", type=int, default=1883)
    parser.add_argument("--client-id", default="forewarn-ingest", help="stable id: the broker keeps its session")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--site", default="+", help="one site id, or + for all")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--flush-ms", type=int, default=IngestConfig().flush_ms)
    parser.add_argument("--max-queue", type=int, default=20000, help="MQTT 5 receive maximum")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = IngestConfig(broker_host=args.broker_host, broker_port=args.broker_port, client_id=args.client_id,
                          username=args.username, password=args.password, site=args.site,
                          batch_size=args.batch_size, flush_ms=args.flush_ms, max_queue=args.max_queue)
    service = IngestService(config, args.database)
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
