#!/usr/bin/env bash
# Connect rate and HTTP publish rate with the PostgreSQL app manager beside the array manager
# (docs/APP_MANAGERS.md, bench/RESULTS.md).
#   bench/app_db.sh BUILD_DIR [N] [RUNS] [JSON_FILE]
# Starts its own PostgreSQL on loopback (throwaway data directory; the server runs as the
# `postgres` user when we are root) with N + 1 apps in Sockudo's table, then for each run, each
# with a fresh pushcore (WORKERS=1):
#   array-warm / pg-warm      connect -n N on one app (pg: cached after the first lookup)
#   array-Napps / pg-cold     connect -n N over N distinct apps (--apps N): the array config
#                             holds the N apps; pg starts with an empty cache, so every app is
#                             a database lookup (batched by the directory thread)
#   array-publish / pg-publish  fanout -n 100, signed /events as fast as answered (--max)
# Appends one JSON line per run to JSON_FILE (default app_db.jsonl); then prints the medians.
set -euo pipefail
build="${1:?usage: bench/app_db.sh BUILD_DIR [N] [RUNS] [JSON_FILE]}"
n="${2:-10000}"
runs="${3:-5}"
json="${4:-app_db.jsonl}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
server="${SERVER:-$build/server/pushcore}"
bench="$build/bench/pushcore-bench"
cfg="$here/server-config.json"
tmp="$(mktemp -d)"
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -n "${pgdata:-}" ]] && as_pg "$pgbin/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

as_pg() { if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- PostgreSQL
pgport="$(free_port)"
pgdata="$tmp/pg/data"
mkdir -p "$tmp/pg"
[[ "$(id -u)" -eq 0 ]] && chown postgres "$tmp/pg" && chmod 755 "$tmp"
as_pg "$pgbin/initdb" -D "$pgdata" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
  --no-sync -E UTF8 --locale=C >"$tmp/initdb.log"
as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$tmp/pg/server.log" -w \
  -o "-p $pgport -k $tmp/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" \
  start >/dev/null
psql_() { "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp/pg" -p "$pgport" -U postgres -At "$@"; }
psql_ -d postgres -c "CREATE ROLE bench LOGIN PASSWORD 'bench-pw'"
psql_ -d postgres -c "CREATE DATABASE sockudo OWNER bench"
pg_env=(APP_MANAGER_DRIVER=pgsql DATABASE_POSTGRES_HOST=127.0.0.1 DATABASE_POSTGRES_PORT="$pgport"
        DATABASE_POSTGRES_USERNAME=bench DATABASE_POSTGRES_PASSWORD=bench-pw
        DATABASE_POSTGRES_DATABASE=sockudo)

# start_node LOGFILE CONFIG [env...] -> prints "PID PORT"
start_node() {
  local log="$1" config="$2"
  shift 2
  env PORT=0 WORKERS=1 "$@" "$server" --config "$config" 2>"$log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do
    if grep -aq "msg=listening" "$log"; then
      echo "$pid $(grep -ao "msg=listening.* port=[0-9]*" "$log" | grep -o "port=[0-9]*" | head -1 | cut -d= -f2)"
      return
    fi
    sleep 0.1
  done
  echo "node did not start: $(cat "$log")" >&2
  exit 1
}
stop_node() { kill "$1"; wait "$1" 2>/dev/null || true; }

# The first pushcore start creates Sockudo's table; then the apps: app-key (the bench's
# default app, same policy as server-config.json) and app-key-0 .. app-key-(N-1).
read -r pid port < <(start_node "$tmp/create.log" "$cfg" "${pg_env[@]}")
stop_node "$pid"
policy='{"limits": {"max_presence_members_per_channel": 100, "max_event_batch_size": 10, "max_client_events_per_second": 0}, "features": {"enable_client_messages": true}}'
psql_ -d sockudo -c "INSERT INTO applications (id, key, secret, max_connections, enable_client_messages, enabled, max_client_events_per_second, policy) VALUES ('app-id', 'app-key', 'app-secret', 0, true, true, 0, '$policy')"
psql_ -d sockudo -c "INSERT INTO applications (id, key, secret, max_connections, enable_client_messages, enabled, max_client_events_per_second) SELECT 'app-id-' || g, 'app-key-' || g, 'app-secret-' || g, 0, true, true, 0 FROM generate_series(0, $((n - 1))) g"

# The array config with the same N + 1 apps.
python3 - "$cfg" "$n" >"$tmp/array-napps.json" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)  # the file's ${VAR:-default}s
cfg = json.loads(text)
apps = cfg["app_manager"]["array"]["apps"]
for g in range(int(sys.argv[2])):
    apps.append({"id": f"app-id-{g}", "key": f"app-key-{g}", "secret": f"app-secret-{g}",
                 "enabled": True, "policy": {"features": {"enable_client_messages": True}}})
cfg.pop("port"); cfg.pop("workers")  # PORT / WORKERS from the environment
print(json.dumps(cfg))
EOF

connect=(connect -n "$n" --concurrency 64 --json "$json" -q)
publish=(fanout -n 100 -c 1 --max --inflight 32 -d 5 --warmup 1 --json "$json" -q)
for r in $(seq 1 "$runs"); do
  read -r pid port < <(start_node "$tmp/a.log" "$cfg")
  "$bench" "${connect[@]}" --port "$port" --server-pid "$pid" --label array-warm
  "$bench" "${publish[@]}" --port "$port" --server-pid "$pid" --label array-publish
  stop_node "$pid"
  read -r pid port < <(start_node "$tmp/an.log" "$tmp/array-napps.json")
  "$bench" "${connect[@]}" --apps "$n" --port "$port" --server-pid "$pid" --label "array-${n}apps"
  stop_node "$pid"
  read -r pid port < <(start_node "$tmp/p.log" "$cfg" "${pg_env[@]}")
  "$bench" "${connect[@]}" --apps "$n" --port "$port" --server-pid "$pid" --label pg-cold
  stop_node "$pid"
  read -r pid port < <(start_node "$tmp/p.log" "$cfg" "${pg_env[@]}")
  "$bench" "${connect[@]}" --port "$port" --server-pid "$pid" --label pg-warm
  "$bench" "${publish[@]}" --port "$port" --server-pid "$pid" --label pg-publish
  stop_node "$pid"
done
"$bench" summarize "$json"
