#!/usr/bin/env bash
# Run the demo from a clean clone: installs what is missing, builds TimescaleDB from ../shared/timescaledb/ when
# its source is there (the demo runs on plain PostgreSQL otherwise), then `forewarn demo` on the embedded defaults.
# Extra arguments go to `forewarn demo`, e.g. scripts/demo.sh --duration 300
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
cd "$root"
bash "$root/scripts/build-timescaledb.sh" || echo "demo: TimescaleDB could not be built (above); using plain PostgreSQL" >&2
exec "$venv/bin/forewarn" demo "$@"
