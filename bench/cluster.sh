#!/usr/bin/env bash
# Fan-out through a 2-node Redis cluster vs one node (docs/CLUSTER.md, bench/RESULTS.md).
#   bench/cluster.sh BUILD_DIR [N] [RUNS] [JSON_FILE]
# For each run: one node alone (the publisher and all N subscribers on it), then two nodes on a
# fresh redis-server (publisher on node A, subscribers alternating A/B with --port2). Each
# server is started fresh, WORKERS=1. Appends one JSON line per run to JSON_FILE
# (default cluster.jsonl); the human summary goes to stdout.
# Optional environment:
#   NODE_ENV="CONNECTION_RECOVERY_ENABLED=true"  extra variables for every server (space-separated)
#   BENCH_ARGS="--protocol 2"                    extra pushcore-bench arguments
#   LOAD="--rate 20000"                          the load (default: --max --inflight 32)
#   SKIP_SINGLE=1                                cluster runs only
#   LABEL=rec                                    appended to the run labels
#   SERVER=/path/to/pushcore                     another server binary (default BUILD_DIR's)
set -euo pipefail
build="${1:?usage: bench/cluster.sh BUILD_DIR [N] [RUNS]}"
n="${2:-2000}"
runs="${3:-3}"
json="${4:-cluster.jsonl}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
server="${SERVER:-$build/server/pushcore}"
bench="$build/bench/pushcore-bench"
cfg="$here/server-config.json"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_node LOGFILE [env...] -> prints "PID PORT"
start_node() {
  local log="$1"
  shift
  env PORT=0 WORKERS=1 "$@" "$server" --config "$cfg" 2>"$log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do
    if grep -q 'msg=listening' "$log"; then
      echo "$pid $(grep -o 'msg=listening.* port=[0-9]*' "$log" | grep -o 'port=[0-9]*' | head -1 | cut -d= -f2)"
      return
    fi
    sleep 0.1
  done
  echo "node did not start: $(cat "$log")" >&2
  exit 1
}

read -r -a node_env <<<"${NODE_ENV:-}"
read -r -a bench_args <<<"${BENCH_ARGS:-}"
read -r -a load <<<"${LOAD:---max --inflight 32}"
suffix="${LABEL:+-$LABEL}"
common=(fanout -n "$n" -c 1 "${load[@]}" -d 5 --warmup 1 --json "$json" "${bench_args[@]}")
for r in $(seq 1 "$runs"); do
  if [[ -z "${SKIP_SINGLE:-}" ]]; then
    read -r pid port < <(start_node "$tmp/single.log" "${node_env[@]}")
    "$bench" "${common[@]}" --port "$port" --server-pid "$pid" --label "single-n$n$suffix" -q
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  fi

  rport="$(free_port)"
  redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
  rpid=$!
  pids+=("$rpid")
  for _ in $(seq 1 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
  url="redis://127.0.0.1:$rport/0"
  read -r apid aport < <(start_node "$tmp/a.log" ADAPTER_DRIVER=redis REDIS_URL="$url" "${node_env[@]}")
  read -r bpid bport < <(start_node "$tmp/b.log" ADAPTER_DRIVER=redis REDIS_URL="$url" "${node_env[@]}")
  sleep 0.5  # both nodes connected and synced (they log redis_connected)
  "$bench" "${common[@]}" --port "$aport" --port2 "$bport" --server-pid "$apid" \
    --label "cluster2-n$n$suffix" -q
  kill "$apid" "$bpid" "$rpid"
  wait "$apid" "$bpid" "$rpid" 2>/dev/null || true
done
