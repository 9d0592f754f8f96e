#!/usr/bin/env bash
# Set up everything pylondiag needs on a fresh Debian machine: system packages (when missing),
# uv, and the project's virtual environment from uv.lock. Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)
command -v chromium  >/dev/null 2>&1 || need_apt+=(chromium)
command -v npm       >/dev/null 2>&1 || need_apt+=(npm)
dpkg -s fonts-dejavu-core  >/dev/null 2>&1 || need_apt+=(fonts-dejavu-core)
dpkg -s libpango-1.0-0     >/dev/null 2>&1 || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
# the MQTT tests start their own broker on 127.0.0.1 (Debian puts it in /usr/sbin)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
if [ "${PYLONDIAG_WITH_POSTGRES:-0}" = 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need_apt+=(postgresql)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv" >&2
  python3 -m pip install -q --disable-pip-version-check "uv==0.13.8"
fi
export UV_PYTHON_DOWNLOADS=never
uv sync --frozen --all-extras --compile-bytecode --python python3 -q   # every extra + the dev group: what the tests use;
# Bytecode compiled at install — the libraries (--compile-bytecode) and pylondiag's own source (editable
# install, so uv leaves it alone): `pylondiag diagnose` never pays for compiling, even where
# PYTHONDONTWRITEBYTECODE stops Python from caching what it compiles.
.venv/bin/python -m compileall -q -j 0 src >/dev/null

# axe-core (accessibility checks the browser tests inject into every page), pinned in package-lock.json
if command -v npm >/dev/null 2>&1; then
  npm ci --no-audit --no-fund --silent >/dev/null
else
  echo "setup: npm not found; the browser tests' accessibility checks need it (apt-get install npm)" >&2
fi
