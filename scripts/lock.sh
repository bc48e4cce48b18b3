#!/usr/bin/env bash
# Pin every dependency of pyproject.toml (with the dev extra) in requirements.lock, which scripts/setup.sh installs.
# Run it after changing dependencies in pyproject.toml and commit both files. Versions already in the lock are kept
# when they still fit; `bash scripts/lock.sh --upgrade` (or `--upgrade-package NAME`) moves them to the newest.
# pip-compile runs in a throwaway virtual environment, so the result does not depend on what .venv holds.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
tools=$(mktemp -d "${TMPDIR:-/tmp}/forewarn-lock.XXXXXX")
trap 'rm -rf "$tools"' EXIT

"$python" -m venv "$tools"
"$tools/bin/python" -m pip install -q "pip-tools>=7.4,<8"
cd "$root"
CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh" "$tools/bin/pip-compile" --quiet --strip-extras --extra dev \
  --no-emit-index-url --no-emit-find-links --output-file requirements.lock "$@" pyproject.toml
# The dev extra names forewarn[test], which pip-compile pins as `forewarn @ file:///<this checkout>`: a path that
# exists only on the machine that ran the lock. setup.sh installs the project itself afterwards, so drop that pin.
sed -i '/^forewarn @ file:/{N;/\n    # via forewarn (pyproject.toml)$/d}' requirements.lock
! grep -q '^forewarn @' requirements.lock || { echo "lock: a pin of forewarn itself is left in requirements.lock" >&2; exit 1; }
echo "lock: requirements.lock pins $(grep -c '==' requirements.lock) packages; commit it with pyproject.toml"
