#!/usr/bin/env bash
# Builds everything and runs the whole test suite (unit, end-to-end, pusher-js interop).
#   ./scripts/test.sh              # RelWithDebInfo build in build/
#   ./scripts/test.sh --sanitize   # ASan + UBSan build in build-asan/
#   ./scripts/test.sh --tsan       # ThreadSanitizer: server + e2e tests with 2 workers, build-tsan/
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
if [ "${1:-}" = "--tsan" ]; then
  # TSan pass (kept short): only the server and the e2e tests are built, and every e2e server
  # runs 2 workers so cross-worker paths (fan-out, presence, per-IP/app limits) really race.
  # Any report fails the run: reports go to build-tsan/tsan-logs/ and are checked at the end.
  build="$root/build-tsan"
  launcher=()
  if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S "$root" -B "$build" -DPUSHCORE_WERROR=ON -DPUSHCORE_TSAN=ON -DPUSHCORE_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
  cmake --build "$build" -j"$(nproc)" --target pushcore e2e_tests
  rm -rf "$build/tsan-logs" && mkdir -p "$build/tsan-logs"
  export TSAN_OPTIONS="log_path=$build/tsan-logs/tsan second_deadlock_stack=1"
  export PUSHCORE_TEST_WORKERS=2
  status=0
  (cd "$build" && ctest --output-on-failure --timeout 600 -R '^e2e_tests$') || status=$?
  if compgen -G "$build/tsan-logs/tsan*" >/dev/null; then
    cat "$build"/tsan-logs/tsan* >&2
    echo "test.sh --tsan: ThreadSanitizer reports above" >&2
    exit 1
  fi
  exit "$status"
fi
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
