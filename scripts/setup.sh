#!/usr/bin/env bash
# Prepare a fresh Debian machine for Forewarn: system packages, the virtual environment, the project itself.
# Idempotent and quiet when everything is already there. Sourced by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${VENV:-$root/.venv}

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
for tool in cmake gcc make openssl; do command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool"); done
# Browser tests (tests/web) drive the system chromium through Playwright (never `playwright install`); the CJK
# fonts make Chinese pages render in their screenshots.
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] && ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1 \
  || need_apt+=(fonts-noto-cjk)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_apt[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Forewarn needs Python 3.11 or newer; $python is $("$python" --version 2>&1). Set PYTHON=python3.11." >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating the virtual environment in $venv"
  "$python" -m venv "$venv"
fi
stamp="$venv/.forewarn-installed"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  echo "setup: installing Forewarn and its dependencies into $venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -e "$root[dev]"
  touch "$stamp"
fi
