#!/usr/bin/env bash
# Run the same pushcore-bench scenario against two servers in alternation (A B A B ...), each
# run against a freshly started server, and print medians (min-max) and B/A ratios.
#
#   bench/compare.sh [options] SERVER_A SERVER_B -- SCENARIO [pushcore-bench options]
#
# SERVER is one of:
#   pushcore[:BINARY]   our server, started with bench/server-config.json (WORKERS env, default 1)
#                       default BINARY: $BUILD/server/pushcore
#   soketi              Soketi via /work/shared/tools/soketi/soketi-start.sh (SOKETI_TOOLS env)
#   floor[:BINARY]      the measurement floor (bench/floor_server.cpp, default
#                       $BUILD/bench/pushcore-floor): epoll, one send() per frame, not a server
#   pid:PID:PORT        an already running server (never restarted; RSS numbers then carry over)
#
# Options:
#   --runs N            runs per server (3)
#   --out FILE          JSON lines, appended (bench-results.jsonl)
#   --bench BINARY      pushcore-bench ($BUILD/bench/pushcore-bench)
#   --label-a / --label-b NAME   labels in the output (default: pushcore, soketi, or pid-PID)
#   --server-cpus LIST  taskset CPU list for the server (0); "" = no pinning
#   --bench-cpus LIST   taskset CPU list for the bench (1); "" = no pinning
#   --port-a / --port-b PORT     ports for started servers (6201 / 6301)
#   --args-a / --args-b "OPTS"   extra pushcore-bench options for side A / B only (e.g.
#                       --args-b "--protocol 2" to compare the two protocols on one server)
#   --quiet-wait S      before each run, wait up to S seconds for the machine to be idle
#                       (other processes below 0.15 CPU over 1 s) (60; 0 = don't wait)
# Environment: BUILD (build directory, default /work/build-bench), WORKERS (pushcore workers).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
BUILD="${BUILD:-/work/build-bench}"
SOKETI_TOOLS="${SOKETI_TOOLS:-/work/shared/tools/soketi}"
RUNS=3
OUT="bench-results.jsonl"
BENCH="$BUILD/bench/pushcore-bench"
LABEL_A=""
LABEL_B=""
SERVER_CPUS="0"
BENCH_CPUS="1"
PORT_A=6201
PORT_B=6301
QUIET_WAIT=60
ARGS_A=""
ARGS_B=""

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

POS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --bench) BENCH="$2"; shift 2 ;;
        --label-a) LABEL_A="$2"; shift 2 ;;
        --label-b) LABEL_B="$2"; shift 2 ;;
        --server-cpus) SERVER_CPUS="$2"; shift 2 ;;
        --bench-cpus) BENCH_CPUS="$2"; shift 2 ;;
        --port-a) PORT_A="$2"; shift 2 ;;
        --port-b) PORT_B="$2"; shift 2 ;;
        --quiet-wait) QUIET_WAIT="$2"; shift 2 ;;
        --args-a) ARGS_A="$2"; shift 2 ;;
        --args-b) ARGS_B="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        --) shift; break ;;
        *) POS+=("$1"); shift ;;
    esac
done
[ "${#POS[@]}" -eq 2 ] || { echo "compare.sh: need SERVER_A SERVER_B (see --help)" >&2; exit 2; }
[ $# -ge 1 ] || { echo "compare.sh: need -- SCENARIO [options]" >&2; exit 2; }
[ -x "$BENCH" ] || { echo "compare.sh: $BENCH is not executable (--bench)" >&2; exit 2; }
SPEC_A="${POS[0]}"
SPEC_B="${POS[1]}"
BENCH_ARGS=("$@")

default_label() {
    case "$1" in
        pushcore*) echo pushcore ;;
        soketi) echo soketi ;;
        floor*) echo floor ;;
        pid:*) echo "pid-$(echo "$1" | cut -d: -f2)" ;;
        *) echo "compare.sh: unknown server '$1'" >&2; exit 2 ;;
    esac
}
[ -n "$LABEL_A" ] || LABEL_A="$(default_label "$SPEC_A")"
[ -n "$LABEL_B" ] || LABEL_B="$(default_label "$SPEC_B")"
[ "$LABEL_A" != "$LABEL_B" ] || LABEL_B="${LABEL_B}-b"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Machine busy time (all CPUs, clock ticks) from /proc/stat.
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
wait_quiet() {
    [ "$QUIET_WAIT" -gt 0 ] || return 0
    local hz start b0 b1 load
    hz=$(getconf CLK_TCK)
    start=$SECONDS
    while :; do
        b0=$(busy_ticks); sleep 1; b1=$(busy_ticks)
        load=$(( (b1 - b0) * 100 / hz ))    # percent of one CPU
        [ "$load" -lt 15 ] && return 0
        if [ $((SECONDS - start)) -ge "$QUIET_WAIT" ]; then
            echo "compare.sh: machine still busy (${load}% of a CPU used by others); running anyway" >&2
            return 0
        fi
    done
}

SPID=""
STARTED_KIND=""
STARTED_PORT=""
start_server() {  # spec port -> sets SPID, SPORT
    local spec="$1" port="$2"
    case "$spec" in
        pushcore|pushcore:*|floor|floor:*)
            # A local binary: ours (with the bench config) or the measurement floor.
            local kind="${spec%%:*}" bin args
            if [ "$kind" = pushcore ]; then
                bin="$BUILD/server/pushcore"; args=(--config "$HERE/server-config.json" --port "$port")
            else
                bin="$BUILD/bench/pushcore-floor"; args=(--port "$port")
            fi
            [ "$spec" = "$kind" ] || bin="${spec#*:}"
            if port_open "$port"; then echo "compare.sh: port $port busy" >&2; exit 1; fi
            local pin=()
            [ -z "$SERVER_CPUS" ] || pin=(taskset -c "$SERVER_CPUS")
            WORKERS="${WORKERS:-1}" "${pin[@]}" "$bin" "${args[@]}" 2>"/tmp/compare-$kind-$port.log" &
            SPID=$!
            for _ in $(seq 1 100); do port_open "$port" && break; sleep 0.05; done
            STARTED_KIND=pushcore; SPORT="$port" ;;
        soketi)
            SPID="$("$SOKETI_TOOLS/soketi-start.sh" "$port")"
            [ -z "$SERVER_CPUS" ] || taskset -apc "$SERVER_CPUS" "$SPID" >/dev/null
            STARTED_KIND=soketi; SPORT="$port" ;;
        pid:*)
            SPID="$(echo "$spec" | cut -d: -f2)"; SPORT="$(echo "$spec" | cut -d: -f3)"
            STARTED_KIND=none ;;
    esac
    STARTED_PORT="$SPORT"
    port_open "$SPORT" || { echo "compare.sh: server on port $SPORT did not come up" >&2; stop_server; exit 1; }
}
stop_server() {
    case "$STARTED_KIND" in
        pushcore) kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true ;;
        soketi) "$SOKETI_TOOLS/soketi-stop.sh" "$STARTED_PORT" >/dev/null || true ;;
    esac
    STARTED_KIND=""
}
trap stop_server EXIT

BPIN=()
[ -z "$BENCH_CPUS" ] || BPIN=(taskset -c "$BENCH_CPUS")
echo "compare.sh: ${BENCH_ARGS[*]} -- $LABEL_A ($SPEC_A) vs $LABEL_B ($SPEC_B), $RUNS runs each -> $OUT" >&2
for run in $(seq 1 "$RUNS"); do
    for side in A B; do
        if [ "$side" = A ]; then spec="$SPEC_A"; label="$LABEL_A"; port="$PORT_A"; extra="$ARGS_A"
        else spec="$SPEC_B"; label="$LABEL_B"; port="$PORT_B"; extra="$ARGS_B"; fi
        read -r -a extra_args <<< "$extra"
        wait_quiet
        start_server "$spec" "$port"
        echo "compare.sh: run $run/$RUNS $label (pid $SPID, port $SPORT)" >&2
        "${BPIN[@]}" "$BENCH" "${BENCH_ARGS[@]}" "${extra_args[@]}" --port "$SPORT" --server-pid "$SPID" \
            --label "$label" --json "$OUT" --quiet || echo "compare.sh: bench exited $?" >&2
        stop_server
    done
done
"$BENCH" summarize --baseline "$LABEL_A" "$OUT"
