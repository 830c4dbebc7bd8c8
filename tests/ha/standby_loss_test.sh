#!/usr/bin/env bash
# notaryd when every standby is lost (issue 25), on the local Patroni cluster of scripts/ha with
# the example's synchronous_mode_strict: the primary then commits nothing it could not also put
# on a standby, so commits wait. notaryd must not hold the sender without an answer:
#
#  1. A message is acknowledged (250) while the cluster is whole.
#  2. The synchronous standby's host dies (scripts/ha kill-node: Patroni agent and postmaster,
#     SIGKILL): Patroni makes the other standby synchronous, and a message is acknowledged.
#  3. The other standby's host dies too. A message sent now gets 451 once --commit-answer-timeout-s (here 5 s) has passed, well
#     before the sender's own timeout; nothing answers 250.
#  4. The standbys come back (scripts/ha up): the commit that waited completes (notaryd logs
#     commit_confirmed_late: the sender told to retry will store a duplicate, never lose it),
#     new mail is acknowledged again, and the audit is clean.
#
# Needs root (PostgreSQL and Patroni run as `postgres`).
set -euo pipefail
src=${NOTARY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${NOTARY_BINARY_DIR:-$src/build}
work=$(mktemp -d /tmp/notary-ha-standby.XXXXXX)
export NOTARY_HA_DIR=$work/ha
node_pid=""
cleanup() {
  set +e
  # notaryd's shutdown waits for the commit in flight, which waits for a standby: bring the
  # standbys back first when a check failed before that, and never wait on notaryd for long.
  "$src/scripts/ha" up >/dev/null 2>&1
  node_pid=${node_pid:-${started_pid:-}}
  if [ -n "$node_pid" ]; then
    kill "$node_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
  fi
  "$src/scripts/ha" down
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$work/notaryd.log" ] && tail -20 "$work/notaryd.log" >&2
  "$src/scripts/ha" status >&2 || true
  exit 1
}

# shellcheck source=tests/ha/common.sh
. "$(dirname "$0")/common.sh"
ha_up
start_node "$work/notaryd.log" --commit-answer-timeout-s 5
node_pid=$started_pid
send() {  # send SUBJECT: swaks's transcript
  swaks --server "$smtp" --from a@example.com --to b@example.org --header "Subject: $1" \
    --timeout 60 2>&1 || true
}

send whole | grep -q '^<-  250 2.0.0 Ok: notarised' || fail "no 250 with the cluster whole"

sync=$("$src/scripts/ha" sync-standby) || fail "no synchronous standby"
"$src/scripts/ha" kill-node "$sync"
one_lost=$(date +%s.%N)
send one-lost | grep -q '^<-  250 2.0.0 Ok: notarised' || fail "no 250 with one standby left"
one_lost=$(awk -v a="$(date +%s.%N)" -v b="$one_lost" 'BEGIN { print a - b }')
for standby in $("$src/scripts/ha" standbys); do
  [ "$standby" = "$sync" ] || "$src/scripts/ha" kill-node "$standby"
done
start=$(date +%s.%N)
out=$(send alone)
# The database still answers reads: the node stays ready (another node would wait likewise).
ready=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$http/readyz")
[ "$ready" = 200 ] || fail "/readyz said $ready while only commits waited"
elapsed=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { print a - b }')
grep -q '^<\*\* *451 ' <<<"$out" || fail "without a standby: not a 451: $out"
grep -q '250 2.0.0 Ok: notarised' <<<"$out" && fail "without a standby: a 250: $out"

"$src/scripts/ha" up || fail "scripts/ha up with the standbys back"
# The commit that waited completes once a synchronous standby has it.
for _ in $(seq 1 600); do
  grep -q 'event=commit_confirmed_late' "$work/notaryd.log" && break
  sleep 0.1
done
grep -q 'event=commit_confirmed_late' "$work/notaryd.log" ||
  fail "the commit that waited never completed"
send back | grep -q '^<-  250 2.0.0 Ok: notarised' || fail "no 250 once the standbys are back"
stored=$(psql -X -At "$super" -c "SELECT count(*) FROM receipts")
[ "$stored" = 4 ] || fail "$stored receipts stored, expected 4 (whole, one-lost, alone, back)"
key=$("$build/cli/notaryctl" apikey create --tenant default --scope read | tail -1)
id=$(psql -X -At "$super" -c \
  "SELECT id FROM receipts ORDER BY received_at_us DESC LIMIT 1")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
  "http://$http/v1/messages/$id/evidence?wait=60")
[ "$code" = 200 ] || fail "the last message was not sealed ($code)"
"$build/cli/notaryctl" audit --quiet > "$work/audit.out" 2>&1 ||
  fail "audit: $(cat "$work/audit.out")"
printf 'synchronous standby lost: 250 %.1f s after; no standby: 451 after %.1f s (--commit-answer-timeout-s 5); with the standbys back the waiting commit completed (the sender retries: a duplicate, nothing lost), new mail acknowledged, audit clean\n' "$one_lost" "$elapsed"
