#!/usr/bin/env bash
# Builds everything and runs the whole test suite (unit, end-to-end, pusher-js interop).
#   ./scripts/test.sh              # RelWithDebInfo build in build/
#   ./scripts/test.sh --sanitize   # ASan + UBSan build in build-asan/
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
build="$root/build"
extra=()
if [ "${1:-}" = "--sanitize" ]; then
  build="$root/build-asan"
  extra=(-DPUSHCORE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
# ccache, when present (developer machines), makes rebuilds in several worktrees cheap.
if command -v ccache >/dev/null 2>&1; then extra+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$root" -B "$build" -DPUSHCORE_WERROR=ON "${extra[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build" && ctest --output-on-failure --timeout 300
