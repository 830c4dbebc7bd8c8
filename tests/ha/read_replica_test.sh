#!/usr/bin/env bash
# notaryd with a read replica (issue 25: --read-database-url), on the local Patroni cluster of
# scripts/ha. The read routes go to a standby only once it shows everything the primary had
# acknowledged when the read began; otherwise the primary answers. Checked here:
#
#  1. Reads go to a standby: notaryd holds connections on a standby, its
#     http_reads_total{from="replica"} counts them, and bundles read there verify.
#  2. A standby that lags (recovery_min_apply_delay 3s on every standby) is never read stale:
#     a message erased on the primary and read at once is "erased" in GET /v1/messages/{id},
#     and its bundle lacks the message, both from a node that waits for the replica
#     (--read-max-wait-ms 10000, answered by the replica) and from one that does not wait
#     (--read-max-wait-ms 0, answered by the primary); a message just sealed has its bundle at
#     once from the node that does not wait.
#  3. The standby the reads used dies: reads go on (another standby, or the primary).
#  4. A failover (scripts/ha kill-primary --host): the standby that follows the new primary has
#     replayed as far, but its last restartpoint is still on the old timeline, where a standby
#     may hold commits the new primary never had: reads go to the primary (the waiting node
#     waits its 10 s, then reads there) until a CHECKPOINT on each standby makes a restartpoint
#     on the new timeline, and then to the standby again.
#  5. The audit is clean.
#
# Needs root (PostgreSQL and Patroni run as `postgres`).
set -euo pipefail
src=${NOTARY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${NOTARY_BINARY_DIR:-$src/build}
work=$(mktemp -d /tmp/notary-ha-read.XXXXXX)
export NOTARY_HA_DIR=$work/ha
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  "$src/scripts/ha" down
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/notaryd-*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -15 "$f" >&2; }; done
  "$src/scripts/ha" status >&2 || true
  exit 1
}

# shellcheck source=tests/ha/common.sh
. "$(dirname "$0")/common.sh"
ha_up
read_url=$("$src/scripts/ha" url app --read)
start_node "$work/notaryd-wait.log" --read-database-url "$read_url" --read-max-wait-ms 10000 \
  --batch-interval-ms 200
pids+=("$started_pid")
smtp_wait=$smtp http_wait=$http
start_node "$work/notaryd-nowait.log" --read-database-url "$read_url" --read-max-wait-ms 0 \
  --batch-interval-ms 200
pids+=("$started_pid")
http_nowait=$http

ctl() { "$build/cli/notaryctl" --data-dir "$work/data" "$@"; }
key=$(ctl apikey create --tenant default --scope ingest,read,admin | tail -1)
fp=$(ctl keys list | awk -F'\t' 'NR > 1 && $5 == "-" {print $3}')
ctl tsa-ca > "$work/tsa-ca.pem"
api() { curl -s -H "Authorization: Bearer $key" "$@"; }
reads() {  # reads FROM HTTP: http_reads_total{from=FROM} of the node at HTTP
  curl -s "http://$1/metrics" | awk -v l="http_reads_total{from=\"$2\"}" '$1 == l {print $2}'
}
send() {  # send SMTP SUBJECT: the receipt id of a message with a marker of its own, or nothing
  { swaks --server "$1" --from a@example.com --to b@example.org --header "Subject: $2" \
    --body "read replica test $2" --timeout 30 2>&1 || true; } |
    sed -n 's/.*notarised id=\([0-9a-f-]*\).*/\1/p'
}
bundle() {  # bundle HTTP ID OUT [WAIT]: the HTTP status of the evidence download
  api -o "$3" -w '%{http_code}' "http://$1/v1/messages/$2/evidence?wait=${4:-30}"
}
verify() { "$build/cli/notary-verify" "$@" --fingerprint "$fp" --tsa-ca "$work/tsa-ca.pem"; }

# 1. Reads on a standby.
id1=$(send "$smtp_wait" first)
[ -n "$id1" ] || fail "no receipt for the first message"
[ "$(bundle "$http_wait" "$id1" "$work/b1.zip")" = 200 ] || fail "no bundle of the first message"
verify "$work/b1.zip" > "$work/v1.out" || fail "the first bundle: $(cat "$work/v1.out")"
before=$(reads "$http_wait" replica)
[ "$(api -o /dev/null -w '%{http_code}' "http://$http_wait/v1/messages?to=b@example.org")" = 200 ] ||
  fail "search"
[ "$(reads "$http_wait" replica)" -gt "$before" ] || fail "the search was not read on the replica"
on_standby=""
for node in $("$src/scripts/ha" standbys); do
  n=$(psql -X -At "$("$src/scripts/ha" node-url "$node" super)" -c \
    "SELECT count(*) FROM pg_stat_activity WHERE usename = 'notary_app'")
  [ "$n" -gt 0 ] && on_standby="$on_standby $node"
done
[ -n "$on_standby" ] || fail "notaryd holds no connection on any standby"

# 2. Every standby lags by 3 s.
"$src/scripts/ha" apply-delay 3s || fail "apply-delay 3s"
id2=$(send "$smtp_wait" second)
[ -n "$id2" ] || fail "no receipt for the second message"
primary_before=$(reads "$http_nowait" primary)
# Sealed in a block a lagging standby does not show yet: the node that does not wait reads the
# primary, and has the bundle as soon as the block is committed there.
[ "$(bundle "$http_nowait" "$id2" "$work/b2.zip")" = 200 ] || fail "no bundle from the primary"
verify "$work/b2.zip" > "$work/v2.out" || fail "the second bundle: $(cat "$work/v2.out")"
[ "$(reads "$http_nowait" primary)" -gt "$primary_before" ] ||
  fail "the node that does not wait read the lagging replica"
[ "$(api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"reason": "read replica test"}' "http://$http_wait/v1/messages/$id2/erase")" = 200 ] ||
  fail "erase"
for node in "$http_nowait" "$http_wait"; do
  status=$(api "http://$node/v1/messages/$id2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" = erased ] || fail "$node read a stale view right after the erasure: $status"
done
replica_before=$(reads "$http_wait" replica)
[ "$(bundle "$http_wait" "$id2" "$work/b2e.zip")" = 200 ] || fail "no bundle of the erased message"
[ "$(reads "$http_wait" replica)" -gt "$replica_before" ] ||
  fail "the waiting node did not read the replica"
unzip -l "$work/b2e.zip" | grep -q 'message\.eml' && fail "the erased message's bundle holds message.eml"
verify "$work/b2e.zip" > "$work/v2e.out" || fail "the erased message's bundle: $(cat "$work/v2e.out")"
"$src/scripts/ha" apply-delay 0 || fail "apply-delay 0"

# 3. The standby (or standbys) holding notaryd's read connections die.
for node in $on_standby; do "$src/scripts/ha" kill-node "$node"; done
"$src/scripts/ha" up || fail "scripts/ha up after the standby died"
id3=$(send "$smtp_wait" third)
[ -n "$id3" ] || fail "no receipt for the third message"
for node in "$http_wait" "$http_nowait"; do
  [ "$(bundle "$node" "$id3" "$work/b3.zip")" = 200 ] || fail "$node: no bundle after the standby died"
  verify "$work/b3.zip" > "$work/v3.out" || fail "the third bundle: $(cat "$work/v3.out")"
done

# 4. A failover.
super_of() { "$src/scripts/ha" node-url "$1" super; }
old=$("$src/scripts/ha" kill-primary --host)
id4=""
for _ in $(seq 1 60); do
  id4=$(send "$smtp_wait" fourth)
  [ -n "$id4" ] && break
  sleep 1
done
[ -n "$id4" ] || fail "no 250 within a minute of the failover"
leader=$("$src/scripts/ha" leader) || fail "no leader after the failover"
[ "$leader" != "$old" ] || fail "no failover happened"
"$src/scripts/ha" up || fail "scripts/ha up after the failover"  # the old primary, rewound
replica_before=$(reads "$http_wait" replica) primary_before=$(reads "$http_wait" primary)
[ "$(api -o /dev/null -w '%{http_code}' "http://$http_wait/v1/messages/$id4")" = 200 ] ||
  fail "no message after the failover"
[ "$(reads "$http_wait" replica)" = "$replica_before" ] ||
  fail "a standby whose last restartpoint is on the old timeline was read"
[ "$(reads "$http_wait" primary)" -gt "$primary_before" ] || fail "the primary did not answer"
timeline=$(psql -X -q -At "$(super_of "$leader")" -c "CHECKPOINT" -c \
  "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_flush_lsn()), 1, 8))::bit(32)::integer")
for _ in $(seq 1 150); do
  behind=0
  for node in $("$src/scripts/ha" standbys); do
    t=$(psql -X -q -At "$(super_of "$node")" -c "CHECKPOINT" -c \
      "SELECT timeline_id FROM pg_control_checkpoint()" 2>/dev/null || echo x)
    [ "$t" = "$timeline" ] || behind=1
  done
  [ $behind = 0 ] && break
  sleep 0.2
done
[ $behind = 0 ] || fail "the standbys made no restartpoint on timeline $timeline"
replica_before=$(reads "$http_wait" replica)
[ "$(api -o /dev/null -w '%{http_code}' "http://$http_wait/v1/messages/$id4")" = 200 ] ||
  fail "no message after the restartpoints"
[ "$(reads "$http_wait" replica)" -gt "$replica_before" ] ||
  fail "the standby on the new timeline was not read"

# 5.
ctl audit --quiet > "$work/audit.out" 2>&1 || fail "audit: $(cat "$work/audit.out")"
for p in "${pids[@]}"; do alive "$p" || fail "a notaryd node exited"; done
echo "read replica: reads on standby$on_standby; never stale while every standby lagged 3 s (waiting node: $(reads "$http_wait" replica) reads on the replica, $(reads "$http_wait" primary) on the primary; node that does not wait: $(reads "$http_nowait" replica) and $(reads "$http_nowait" primary)); reads went on after the standby died; after a failover, read again once on the new timeline ($timeline); audit clean"
