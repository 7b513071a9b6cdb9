#!/usr/bin/env bash
# Installs what jingpin needs on a fresh Debian machine: system packages (when missing) and a
# virtualenv with the project and its dev tools. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# openssl: the CLI cross-checks SM2 signatures in tests/signing/gm (OpenSSL >= 3.0).
# faketime: long-term validation tests run `jingpin verify` years after signing.
# libnss3-tools: certutil, for the NSS database pdfsig trusts our root from.
DEBS=(libreoffice-writer-nogui python3-uno fonts-noto-cjk poppler-utils chromium softhsm2 openssl libnss3-tools faketime)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm (for axe-core below): Debian's package only where no Node.js with its own npm is installed
# (NodeSource's nodejs ships npm and conflicts with Debian's npm package).
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "安装系统软件包: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
# Reinstall only when pyproject.toml changed since the last install.
stamp=.venv/.jingpin-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi
# unoserver's server runs under Debian's python (it has `uno`): give that python unoserver in a
# folder of ours, put on its PYTHONPATH by the converter pool.
if [ ! -d .venv/uno-site/unoserver ]; then
  .venv/bin/pip install -q --no-deps --target .venv/uno-site unoserver
fi
# axe-core (accessibility checks run inside the page by the browser tests): npm installs it once
# into tools/axe from its lock file; the tests read tools/axe/node_modules/axe-core/axe.min.js and
# nothing is downloaded at run time.
if [ ! -f tools/axe/node_modules/axe-core/axe.min.js ]; then
  (cd tools/axe && npm ci --no-audit --no-fund --silent)
fi
