#!/usr/bin/env bash
# Installs everything the build and the test suite need, only what is missing.
# Idempotent: safe to run on every build. Needs root (or sudo) for apt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_pkgs=(build-essential cmake pkg-config libboost1.81-dev libsimdjson-dev doctest-dev
          libssl-dev openssl nodejs npm)
# TOML config files (Sockudo's default format): toml++.
apt_pkgs+=(libtomlplusplus-dev)
# Redis adapter (docs/CLUSTER.md): hiredis to build, redis-server for the cluster tests.
apt_pkgs+=(libhiredis-dev redis-server)
# Database app managers (docs/APP_MANAGERS.md): libpq and MariaDB Connector/C to build,
# PostgreSQL and MariaDB servers for the interop suites (started by the tests, no service).
apt_pkgs+=(libpq-dev postgresql libmariadb-dev mariadb-server mariadb-client)
# Headless Chromium for the browser tests (Debian's package; Playwright's download cannot work).
[ -z "${SETUP_SKIP_NPM:-}" ] && apt_pkgs+=(chromium)
# clang + libFuzzer runtime, only for scripts/fuzz.sh (SETUP_FUZZ=1).
[ -n "${SETUP_FUZZ:-}" ] && apt_pkgs+=(clang libclang-rt-14-dev)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere (e.g. nvm); only ask apt when the command is absent.
if command -v node >/dev/null 2>&1; then missing=("${missing[@]/nodejs}"); fi
if command -v npm >/dev/null 2>&1; then missing=("${missing[@]/npm}"); fi
pkgs=()
for p in "${missing[@]}"; do [ -n "$p" ] && pkgs+=("$p"); done
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "setup: installing ${pkgs[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi

# npm packages for the Node test suites and the example (real pusher-js, pusher SDK, express,
# playwright-core). `npm ci` installs exactly the committed lockfile.
if [ -z "${SETUP_SKIP_NPM:-}" ]; then
  for dir in tests/interop tests/webhooks tests/browser examples/auth-server; do
    [ -f "$here/$dir/package-lock.json" ] || continue
    stamp="$here/$dir/node_modules/.package-lock.json"
    if [ ! -f "$stamp" ] || [ "$here/$dir/package-lock.json" -nt "$stamp" ]; then
      echo "setup: npm ci in $dir"
      (cd "$here/$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
fi
