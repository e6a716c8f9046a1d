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
#   REDIS_TOPOLOGY=single|cluster|both           the two nodes' Redis: one redis-server (default),
#                                                a 3-primary Redis Cluster (driver redis-cluster,
#                                                label cluster2rc-...), or both in each run
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
topology="${REDIS_TOPOLOGY:-single}"

# two_nodes LABEL [env...]: nodes A and B on the Redis given by env, the bench across both.
two_nodes() {
  local label="$1"
  shift
  read -r apid aport < <(start_node "$tmp/a.log" "$@" "${node_env[@]}")
  read -r bpid bport < <(start_node "$tmp/b.log" "$@" "${node_env[@]}")
  for _ in $(seq 1 50); do
    grep -q redis_connected "$tmp/a.log" && grep -q redis_connected "$tmp/b.log" && break
    sleep 0.1
  done
  "$bench" "${common[@]}" --port "$aport" --port2 "$bport" --server-pid "$apid" --label "$label" -q
  kill "$apid" "$bpid"
  wait "$apid" "$bpid" 2>/dev/null || true
}
common=(fanout -n "$n" -c 1 "${load[@]}" -d 5 --warmup 1 --json "$json" "${bench_args[@]}")
for r in $(seq 1 "$runs"); do
  if [[ -z "${SKIP_SINGLE:-}" ]]; then
    read -r pid port < <(start_node "$tmp/single.log" "${node_env[@]}")
    "$bench" "${common[@]}" --port "$port" --server-pid "$pid" --label "single-n$n$suffix" -q
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  fi

  if [[ "$topology" != cluster ]]; then
    rport="$(free_port)"
    redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
    rpid=$!
    pids+=("$rpid")
    for _ in $(seq 1 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
    url="redis://127.0.0.1:$rport/0"
    two_nodes "cluster2-n$n$suffix" ADAPTER_DRIVER=redis REDIS_URL="$url"
    kill "$rpid"
    wait "$rpid" 2>/dev/null || true
  fi
  if [[ "$topology" != single ]]; then
    cpids=()
    seeds=()
    for i in 1 2 3; do
      cport="$(free_port)"
      while [[ " ${seeds[*]} " == *":$cport "* ]]; do cport="$(free_port)"; done  # ports repeat
      bport="$(free_port)"  # the cluster bus port (default port + 10000 may not exist)
      mkdir -p "$tmp/rc$r-$cport"
      (cd "$tmp/rc$r-$cport" && exec redis-server --port "$cport" --bind 127.0.0.1 --save "" \
        --appendonly no --cluster-enabled yes --cluster-config-file nodes.conf \
        --cluster-port "$bport" \
        --cluster-node-timeout 2000 >redis.log 2>&1) &
      cpids+=($!)
      pids+=($!)
      seeds+=("127.0.0.1:$cport")
      for _ in $(seq 1 50); do redis-cli -p "$cport" ping >/dev/null 2>&1 && break; sleep 0.1; done
    done
    if ! redis-cli --cluster create "${seeds[@]}" --cluster-yes >"$tmp/create.log" 2>&1; then
      echo "redis-cli --cluster create failed: $(cat "$tmp/create.log")" >&2
      exit 1
    fi
    for _ in $(seq 1 100); do
      redis-cli -p "${seeds[0]#*:}" cluster info | grep -q cluster_state:ok && break
      sleep 0.1
    done
    two_nodes "cluster2rc-n$n$suffix" ADAPTER_DRIVER=redis-cluster \
      REDIS_CLUSTER_NODES="$(IFS=,; echo "${seeds[*]}")"
    kill "${cpids[@]}"
    wait "${cpids[@]}" 2>/dev/null || true
  fi
done
