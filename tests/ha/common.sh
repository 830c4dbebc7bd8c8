# Shared by the HA tests (sourced): the cluster's URLs and notaryd nodes that are the test
# shell's own children. The sourcing script defines `fail`, `src`, `build` and `work`.

# scripts/ha up, and the URLs notaryd and the test use.
ha_up() {
  "$src/scripts/ha" up || fail "scripts/ha up"
  NOTARY_DATABASE_URL=$("$src/scripts/ha" url app)
  NOTARY_OWNER_DATABASE_URL=$("$src/scripts/ha" url owner)
  export NOTARY_DATABASE_URL NOTARY_OWNER_DATABASE_URL
  super=$("$src/scripts/ha" url super)
}

# Alive: not gone, and not a zombie (a node that exited is seen as gone).
alive() {
  kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# start_node LOG NOTARYD-FLAGS...: a notaryd on free loopback ports, started in this shell (so
# `wait` reaps it); returns once it listens, with its pid in $started_pid and its ports in
# $smtp and $http.
start_node() {
  local log=$1
  shift
  "$build/notaryd/notaryd" --data-dir "$work/data" --smtp-listen 127.0.0.1:0 \
    --http-listen 127.0.0.1:0 --sender-checks off "$@" > "$log" 2>&1 &
  started_pid=$!
  local listening=""
  for _ in $(seq 1 300); do
    listening=$(grep -m1 '^event=listening ' "$log" || true)
    [ -n "$listening" ] && break
    alive "$started_pid" || fail "notaryd exited: $(tail -3 "$log")"
    sleep 0.1
  done
  [ -n "$listening" ] || fail "notaryd did not listen"
  smtp=$(sed -n 's/.* smtp=\([^ ]*\).*/\1/p' <<<"$listening")
  http=$(sed -n 's/.* http=\([^ ]*\).*/\1/p' <<<"$listening")
}
