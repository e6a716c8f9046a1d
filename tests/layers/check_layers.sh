#!/usr/bin/env bash
# Layer and include-cycle check (CTest `layers`; docs/ARCHITECTURE.md "Modules").
#   1. protocol/, auth/, channels/ include only themselves (plus standard / third-party headers):
#      order protocol, auth, channels < server < bench, tests. server/ includes no bench/ or tests/.
#   2. No #include cycle among server/ files, in the file-level graph where x.hpp and x.cpp are
#      one node "x" (an edge x -> y for every `#include "server/y.hpp"` in x.hpp or x.cpp).
#      ALLOWED_EDGES below lists the edges that are known to close a cycle today; the graph
#      without them must be acyclic, and every listed edge must still exist (no stale entries).
# Usage: check_layers.sh SOURCE_ROOT
set -euo pipefail
root="${1:?usage: $0 SOURCE_ROOT}"
cd "$root"
fail=0

# --- 1. layers ----------------------------------------------------------------------------------
declare -A allowed=(
  [protocol]="protocol"
  [auth]="auth"
  [channels]="channels"
  [server]="protocol auth channels server"
)
for layer in protocol auth channels server; do
  while IFS= read -r line; do
    file="${line%%:*}"
    inc="$(sed -E 's/.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"${line#*:}")"
    case "$inc" in
      */*) top="${inc%%/*}" ;;
      *) top="" ;;  # same-directory include: the layer itself
    esac
    [ -z "$top" ] && continue
    [ "$top" = ".." ] && { echo "layers: $file includes \"$inc\" (no ../ includes)"; fail=1; continue; }
    ok=0
    for a in ${allowed[$layer]}; do [ "$top" = "$a" ] && ok=1; done
    if [ "$ok" = 0 ] && [ -d "$top" ]; then
      echo "layers: $file ($layer) includes \"$inc\" ($top is not below $layer)"
      fail=1
    fi
  done < <(grep -HE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$layer"/*.hpp "$layer"/*.cpp 2>/dev/null || true)
done

# --- 2. cycles among server/ --------------------------------------------------------------------
# Edges that close the cycles that remain (each is a .cpp, or a header, reaching "up" to the
# object that owns it). Breaking them needs more than forward declarations: hub.cpp calls into
# workers and sessions it owns, the worker owns the accept stage, the listener and its sessions,
# and ws_session.hpp's inline fast paths use Worker. Format: "from to".
ALLOWED_EDGES=(
  "hub worker"           # hub.cpp: posts to workers (Hub owns the Worker set)
  "hub ws_session"       # hub.cpp: delivers to sessions
  "hub local_adapter"    # hub.cpp: constructs the adapter it owns
  "hub redis_adapter"    # hub.cpp: constructs the adapter it owns
  "worker ws_session"    # worker.cpp: owns its sessions
  "worker handshake"     # worker.cpp: owns the accept stage
  "worker listener"      # worker.cpp: owns its listener
)
edges="$(
  for f in server/*.hpp server/*.cpp; do
    from="$(basename "$f")"
    from="${from%.*}"
    sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"server\/([A-Za-z0-9_]+)\.hpp".*/\1/p' "$f" |
      while read -r to; do [ "$to" != "$from" ] && echo "$from $to"; done
  done | sort -u
)"
for e in "${ALLOWED_EDGES[@]}"; do
  if ! grep -qxF "$e" <<<"$edges"; then
    echo "cycles: allowlisted edge \"$e\" no longer exists; remove it from ALLOWED_EDGES"
    fail=1
  fi
done
graph="$(grep -vxF -f <(printf "%s\n" "${ALLOWED_EDGES[@]}") <<<"$edges" || true)"
if ! out="$(tsort <<<"$graph" 2>&1 >/dev/null)" || [ -n "$out" ]; then
  echo "cycles: #include cycle among server/ files (x.hpp + x.cpp = node x):"
  echo "$out"
  fail=1
fi

[ "$fail" = 0 ] && echo "layers: ok"
exit "$fail"
