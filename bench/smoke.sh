#!/usr/bin/env bash
# bench_smoke (CTest): start pushcore on port 0, run every bench scenario for about a second
# with small N, and check that deliveries arrived with no losses, duplicates or errors
# (pushcore-bench --check). No timing assertions. Also exercises --procs, --json and summarize.
#
#   smoke.sh PUSHCORE_BINARY PUSHCORE_BENCH_BINARY
set -euo pipefail

SERVER="$1"
BENCH="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
TMP="$(mktemp -d)"
SPID=""
cleanup() {
    if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
        kill "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

WORKERS=2 "$SERVER" --config "$HERE/server-config.json" --port 0 2>"$TMP/server.log" &
SPID=$!
PORT=""
for _ in $(seq 1 200); do
    PORT="$(head -n 1 "$TMP/server.log" | grep -o ' port=[0-9]*' | head -n 1 | cut -d= -f2 || true)"
    [ -n "$PORT" ] && break
    kill -0 "$SPID" 2>/dev/null || { echo "server exited:"; cat "$TMP/server.log"; exit 1; }
    sleep 0.05
done
[ -n "$PORT" ] || { echo "no 'msg=listening ... port=N' line from the server"; cat "$TMP/server.log"; exit 1; }
echo "server pid $SPID on port $PORT"

COMMON=(--port "$PORT" --server-pid "$SPID" --check --quiet --json "$TMP/runs.jsonl" --warmup 0.2)
FAILED=0
run() {
    local t0 t1
    t0=$(date +%s%N)
    if "$BENCH" "$@" "${COMMON[@]}" >"$TMP/out.txt" 2>&1; then
        t1=$(date +%s%N)
        printf 'ok    %-70s %d ms\n' "$*" $(((t1 - t0) / 1000000))
    else
        echo "FAIL  $*"
        cat "$TMP/out.txt"
        FAILED=1
    fi
}

run fanout -n 60 -c 3 --rate 6000 -d 1
run fanout -n 60 -c 2 --channel-type private --max --inflight 4 -d 1
run fanout -n 40 -c 4 --channel-type presence --procs 2 --src-addrs 2 --rate 4000 --batch 2 -d 1
run connect -n 300 --channel-type private
run connect -n 100 --phased
run churn -n 50 -c 2 --churners 20 --rate 5000 -d 1
run presence -n 40 -c 2 --watchers 2 -d 1
run client-events -n 20 -c 2 --event-rate 500 -d 1
run slow -n 40 -c 1 --rate 4000 --slow-share 0.25 -d 0.5

if ! "$BENCH" summarize "$TMP/runs.jsonl" >"$TMP/summary.txt" 2>&1; then
    echo "FAIL  summarize"; cat "$TMP/summary.txt"; FAILED=1
fi
for s in fanout connect churn presence client-events slow; do
    grep -q "== $s " "$TMP/summary.txt" || { echo "FAIL  summary lacks $s"; FAILED=1; }
done
kill -0 "$SPID" 2>/dev/null || { echo "FAIL  the server died"; FAILED=1; }
[ "$FAILED" = 0 ] && echo "bench smoke: all scenarios passed"
exit "$FAILED"
