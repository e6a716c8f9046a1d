#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang + ASan + UBSan, build dir build-fuzz/) and runs
# each one for a short time on its committed seed corpus. Any crash, leak, sanitizer report or
# timeout fails the script (libFuzzer exits non-zero and writes the input to build-fuzz/).
#   ./scripts/fuzz.sh                 # 20 s per target
#   ./scripts/fuzz.sh --seconds 300   # longer
#   ./scripts/fuzz.sh --runs 10000000 # a fixed number of executions per target instead
#   ./scripts/fuzz.sh --only ws_frame # one target
# New inputs that libFuzzer finds go to build-fuzz/corpus/<target>/ (the committed seeds under
# tests/fuzz/corpus/<target>/ are read, never written).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=20
runs=""
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--runs N] [--only TARGET]" >&2; exit 2 ;;
  esac
done
SETUP_FUZZ=1 SETUP_SKIP_NPM="${SETUP_SKIP_NPM-1}" "$root/scripts/setup.sh"
build="$root/build-fuzz"
extra=()
if command -v ccache >/dev/null 2>&1; then extra+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CXX=clang++-14 cmake -S "$root" -B "$build" -DPUSHCORE_FUZZ=ON -DPUSHCORE_TESTS=OFF \
  -DPUSHCORE_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "${extra[@]}" >/dev/null
targets=(ws_frame client_message signature config http_api http_head cluster_envelope app_row)
[ -n "$only" ] && targets=("$only")
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  limit=(-max_total_time="$seconds")
  [ -n "$runs" ] && limit=(-runs="$runs")
  echo "fuzz: $t (${runs:+$runs runs}${runs:-$seconds s})"
  # -max_len: frames and bodies up to 70 KiB reach the 64 KiB caps; -timeout catches hangs.
  (cd "$build/artifacts/$t" && "$build/tests/fuzz/fuzz_$t" "${limit[@]}" -max_len=72000 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "$build/corpus/$t" "$root/tests/fuzz/corpus/$t")
done
echo "fuzz: all targets passed"
