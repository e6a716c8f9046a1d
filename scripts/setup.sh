#!/usr/bin/env bash
# Installs everything the build and the test suite need, only what is missing.
# Idempotent: safe to run on every build. Needs root (or sudo) for apt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_pkgs=(build-essential cmake pkg-config libboost1.81-dev libsimdjson-dev doctest-dev
          libssl-dev nodejs npm)
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

# npm packages for interop tests (pusher-js client, pusher server SDK).
if [ -z "${SETUP_SKIP_NPM:-}" ] && [ -f "$here/tests/interop/package.json" ] && { [ ! -d "$here/tests/interop/node_modules/pusher-js" ] || [ ! -d "$here/tests/interop/node_modules/pusher" ]; }; then
  echo "setup: npm install in tests/interop"
  (cd "$here/tests/interop" && npm ci --no-audit --no-fund --loglevel=error)
fi
