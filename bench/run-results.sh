#!/usr/bin/env bash
# The measurements behind bench/RESULTS.md: pushcore vs Soketi at N = 1000 / 5000 / 15000
# subscribers (one channel by default, 100-byte payloads), fixed rate (50,000 deliveries/s) and
# max rate, plus private connect+subscribe; 3 runs per server, alternating, fresh servers each
# run.
#
#   bench/run-results.sh [OUTDIR] [N...]      (default OUTDIR results/, N 1000 5000 15000)
# Environment: RUNS (3), QUIET_WAIT (seconds to wait for an idle machine before each run, 300),
# BUILD (/work/build-bench), PUSHCORE (server spec for compare.sh, default "pushcore"),
# BENCH (pushcore-bench binary, default $BUILD/bench/pushcore-bench), CHANNELS (1),
# KINDS (which measurements, default "fixed max max8 private": fixed rate, max rate with 64 and
# with 8 publishes in flight, private connect+subscribe).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUTDIR="${1:-results}"
shift || true
NS=("$@")
[ "${#NS[@]}" -gt 0 ] || NS=(1000 5000 15000)
RUNS="${RUNS:-3}"
QW="${QUIET_WAIT:-300}"
BENCH="${BENCH:-${BUILD:-/work/build-bench}/bench/pushcore-bench}"
PUSHCORE="${PUSHCORE:-pushcore}"
C="${CHANNELS:-1}"
mkdir -p "$OUTDIR"
lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core)' > "$OUTDIR/lscpu.txt"

KEY=connections,server_cpu_us_per_delivery,deliveries_per_s,lat_p50_us,lat_p99_us,server_rss_per_conn_b,connect_subscribe_rate_per_s,server_cpu_us_per_conn,server_cpu_util,client_cpu_util,other_cpu_share,losses
for n in "${NS[@]}"; do
    for kind in ${KINDS:-fixed max max8 private}; do
        out="$OUTDIR/$kind-$n.jsonl"
        case "$kind" in
            fixed) args=(fanout -n "$n" -c "$C" --payload 100 --rate 50000 -d 5 --warmup 1) ;;
            max) args=(fanout -n "$n" -c "$C" --payload 100 --max --inflight 64 -d 5 --warmup 1) ;;
            max8) args=(fanout -n "$n" -c "$C" --payload 100 --max --inflight 8 -d 5 --warmup 1) ;;
            private) args=(connect -n "$n" --channel-type private) ;;
        esac
        "$HERE/compare.sh" --runs "$RUNS" --quiet-wait "$QW" --bench "$BENCH" --out "$out" \
            --label-a pushcore "$PUSHCORE" soketi -- "${args[@]}" \
            > "$OUTDIR/$kind-$n.log" 2>&1 || echo "compare failed for $kind $n (see $OUTDIR/$kind-$n.log)"
        "$BENCH" summarize --baseline pushcore --metrics "$KEY" "$out" | tee "$OUTDIR/$kind-$n.txt"
    done
done
