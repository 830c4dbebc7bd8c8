#!/usr/bin/env bash
# notaryd across a PostgreSQL failover (issue 25), on the local Patroni cluster of scripts/ha
# (etcd, three PostgreSQL 15 nodes, synchronous replication):
#
#  1. A sender (Python's smtplib) sends one message after another through notaryd, logging for
#     each the reply it got: 250 with the receipt id, or a 4xx.
#  2. Once 20 messages are acknowledged, the primary's host dies: `scripts/ha kill-primary
#     --host` kills its Patroni agent and its postmaster with SIGKILL. Patroni promotes the
#     synchronous standby; notaryd, never restarted, reconnects through its multi-host URL.
#  3. Once 20 more are acknowledged, the sender stops. Every message that got a 250 is in the
#     database of the new primary; every other attempt got a 4xx (nothing else: no 5xx, no
#     dropped connection); the audit of the whole chain is clean.
#  A second notaryd node shares the database and the keys, takes no mail and seals when it
#  holds the sealer's lock: afterwards exactly one session holds that lock on the new primary,
#  and the chain the two nodes sealed is one.
#
# It prints the time from the kill to the first 250 (docs/high-availability.md); nothing here
# asserts a duration. Needs root (PostgreSQL and Patroni run as `postgres`).
set -euo pipefail
src=${NOTARY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${NOTARY_BINARY_DIR:-$src/build}
work=$(mktemp -d /tmp/notary-ha.XXXXXX)
export NOTARY_HA_DIR=$work/ha
node_pid="" node_b_pid="" sender_pid="" poller_pid=""
cleanup() {
  set +e
  touch "$work/stop"
  [ -n "$sender_pid" ] && wait "$sender_pid"
  [ -n "$poller_pid" ] && wait "$poller_pid"
  for pid in $node_pid $node_b_pid ${started_pid:-}; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  "$src/scripts/ha" down
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$work/notaryd.log" ] && tail -20 "$work/notaryd.log" >&2
  [ -f "$work/sent.log" ] && tail -20 "$work/sent.log" >&2
  "$src/scripts/ha" status >&2 || true
  exit 1
}

# shellcheck source=tests/ha/common.sh
. "$(dirname "$0")/common.sh"
ha_up
start_node "$work/notaryd-b.log" --node-name node-b
node_b_pid=$started_pid
start_node "$work/notaryd.log" --node-name node-a  # takes the mail: its ports are kept
node_pid=$started_pid

# The sender logs one line per attempt with the time it began: the test finds the first 250
# after the kill there.
/usr/bin/python3 "$(dirname "$0")/smtp_sender.py" "${smtp%:*}" "${smtp##*:}" "$work/sent.log" "$work/stop" &
sender_pid=$!

acked() { if [ -f "$work/sent.log" ]; then grep -c ' ok ' "$work/sent.log" || true; else echo 0; fi; }
wait_acked() {  # wait_acked N: until the sender has N acknowledgements (or fail)
  for _ in $(seq 1 1200); do
    [ "$(acked)" -ge "$1" ] && return 0
    alive "$node_pid" || fail "notaryd exited"
    sleep 0.1
  done
  fail "only $(acked) of $1 messages acknowledged"
}
wait_acked 20
old=$("$src/scripts/ha" kill-primary --host)
# After the kill returned: an attempt begun before it may still commit on the old primary.
killed_at=$(date +%s.%N)
before=$(acked)
# /readyz of the node taking mail, polled while no primary is reachable and after.
( set +e
  while [ ! -f "$work/stop" ]; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 "http://$http/readyz" >> "$work/readyz.log"
    sleep 0.1
  done ) &
poller_pid=$!
wait_acked $((before + 20))
touch "$work/stop"
wait "$sender_pid" "$poller_pid"
sender_pid="" poller_pid=""
grep -qx 503 "$work/readyz.log" || fail "/readyz never said 503 while there was no primary"
[ "$(tail -1 "$work/readyz.log")" = 200 ] || fail "/readyz is not 200 after the failover"
alive "$node_pid" || fail "notaryd did not survive the failover"
alive "$node_b_pid" || fail "the second notaryd did not survive the failover"
new=$("$src/scripts/ha" leader) || fail "no leader after the failover"
[ "$new" != "$old" ] || fail "the leader is still $old: no failover happened"

# Every attempt got a 250 or a 4xx.
if grep -q ' bad ' "$work/sent.log"; then
  fail "attempts answered neither 250 nor 4xx: $(grep ' bad ' "$work/sent.log" | head -3)"
fi
# Every acknowledged message is in the new primary's database.
ids=$(awk '$2 == "ok" {print "'\''" $4 "'\''"}' "$work/sent.log" | paste -sd,)
total=$(acked)
present=$(psql -X -At "$super" -c "SELECT count(*) FROM receipts WHERE id IN ($ids)")
[ "$present" = "$total" ] || fail "$total messages acknowledged, $present in the database"
# The chain is whole: wait until the last acknowledged message is sealed, then audit.
key=$("$build/cli/notaryctl" apikey create --tenant default --scope read | tail -1)
last=$(awk '$2 == "ok" {id = $4} END {print id}' "$work/sent.log")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
  "http://$http/v1/messages/$last/evidence?wait=60")
[ "$code" = 200 ] || fail "the last acknowledged message was not sealed ($code)"
"$build/cli/notaryctl" audit --quiet > "$work/audit.out" 2>&1 ||
  fail "audit after the failover: $(cat "$work/audit.out")"
# The sealer's lock (pg_advisory_lock of 0x6e6f7461727902): one holder on the new primary.
holders=$(psql -X -At "$super" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
  AND classid = 7237492 AND objid = 1634892034 AND objsubid = 1 AND granted")
[ "$holders" = 1 ] || fail "$holders sessions hold the sealer's lock on the new primary"
sealed_by=$(psql -X -At "$super" -c "SELECT string_agg(node || ' ' || n, ', ' ORDER BY node)
  FROM (SELECT node, count(*) AS n FROM blocks GROUP BY node) b")

first=$(awk -v t="$killed_at" '$2 == "ok" && $3 > t {print $3; exit}' "$work/sent.log")
told=$(grep -c ' temp ' "$work/sent.log" || true)
printf 'failover %s -> %s: %d acknowledged and all present, %d told to retry (4xx), first 250 %.1f s after the kill; notaryd not restarted, audit clean; blocks sealed by %s\n' \
  "$old" "$new" "$total" "$told" "$(awk -v a="$first" -v b="$killed_at" 'BEGIN { print a - b }')" "$sealed_by"
