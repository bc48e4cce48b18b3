#!/usr/bin/env bash
# Run the whole test suite from a clean clone: installs what is missing, runs ruff and mypy, builds TimescaleDB from
# ../shared/timescaledb/ when its source is there, then runs the suite on plain PostgreSQL and on TimescaleDB.
# With TEST_DATABASE_URL set, runs the suite once against that server instead (its mode is detected).
# Extra arguments go to pytest, e.g. scripts/test.sh -k tickets -x
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
cd "$root"
py="$venv/bin/python"

# Static checks first (under a minute together): lint, then types (strict on ingest/, detectors/, tickets/; see
# [tool.mypy] in pyproject.toml). Either failing fails the run before the suite starts.
echo "== ruff"
"$venv/bin/ruff" check .
echo "== mypy"
"$venv/bin/mypy"

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== tests against TEST_DATABASE_URL"
  exec "$py" -m pytest "$@"
fi

ts_ok=1
bash "$root/scripts/build-timescaledb.sh" || ts_ok=0
if ! "$py" -c 'from forewarn.embedded import timescaledb_installed as t; raise SystemExit(not t())'; then ts_ok=0; fi

echo "== tests on plain PostgreSQL"
FOREWARN_TEST_DB_MODE=plain "$py" -m pytest "$@"
if [ "$ts_ok" = 1 ]; then
  echo "== tests on TimescaleDB"
  FOREWARN_TEST_DB_MODE=timescale "$py" -m pytest "$@"
else
  echo "== TimescaleDB is not available here (see above); the TimescaleDB run was not made." >&2
  if [ "${CI:-}" = "true" ] && [ -f "$root/../shared/timescaledb/timescaledb-2.29.2.tar.gz" ]; then
    echo "CI has the TimescaleDB source, so its run is required: failing." >&2
    exit 1
  fi
fi
