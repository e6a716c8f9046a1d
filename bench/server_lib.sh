# Sourced by the bench's CTest scripts. Needs SERVER (pushcore binary) and HERE (bench/).
# Makes a scratch directory TMP, removed on exit together with the server started last (SPID).
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

# start_server LOGFILE [ENV=VALUE...]: starts pushcore on port 0; sets SPID and PORT.
start_server() {
    local log="$1"
    shift
    env WORKERS=2 "$@" "$SERVER" --config "${SERVER_CONFIG:-$HERE/server-config.json}" --port 0 2>"$log" &
    SPID=$!
    PORT=""
    for _ in $(seq 1 200); do
        PORT="$(head -n 1 "$log" | grep -o ' port=[0-9]*' | head -n 1 | cut -d= -f2 || true)"
        [ -n "$PORT" ] && break
        kill -0 "$SPID" 2>/dev/null || { echo "server exited:"; cat "$log"; exit 1; }
        sleep 0.05
    done
    [ -n "$PORT" ] || { echo "no 'msg=listening ... port=N' line from the server"; cat "$log"; exit 1; }
    echo "server pid $SPID on port $PORT"
}
