#!/usr/bin/env bash
# Builds pushcore (Release) and starts it. Arguments go to the server, e.g.
#   ./scripts/run.sh                       # embedded default: app-id/app-key/app-secret, 127.0.0.1:6001
#   ./scripts/run.sh --config my.json
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SETUP_SKIP_NPM=1 "$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DPUSHCORE_TESTS=OFF >/dev/null
cmake --build "$root/build-release" --target pushcore -j"$(nproc)"
exec "$root/build-release/server/pushcore" "$@"
