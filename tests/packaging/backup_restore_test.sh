#!/usr/bin/env bash
# Backups with pgBackRest, as docs/operations.md describes them, on a real PostgreSQL 15 with
# the configuration files of docs/examples/pgbackrest/ (issue 24, "Production operation"):
#
#  1. WAL archiving and a full backup while notaryd takes mail (set A before the backup,
#     B after it, C after the point in time T).
#  2. The disk is lost: the data directory is wiped and restored from the repository to the
#     end of the archived WAL. A, B and C are all there and `notaryctl audit` is clean.
#  3. A restore to the point in time T: A and B are there, C is not, and the audit is clean,
#     because the log is whole up to there; but C had been acknowledged, sealed and published,
#     and `notaryctl monitor`, which kept the checkpoint it saw before, reports the rollback.
#
# Needs root (PostgreSQL and pgBackRest run as `postgres`) or to be run as postgres itself.
set -euo pipefail
src=${NOTARY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${NOTARY_BINARY_DIR:-$src/build}
ex=$src/docs/examples/pgbackrest
work=$(mktemp -d /tmp/notary-backup.XXXXXX)
export NOTARY_PG_DIR=$work/pg
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
  "$src/scripts/pg" stop || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/notaryd.log" ] && tail -20 "$work/notaryd.log" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# -- PostgreSQL with WAL archiving to a pgBackRest repository ----------------------------------
"$src/scripts/pg" start
pgdata=$NOTARY_PG_DIR/data
port=$(cat "$NOTARY_PG_DIR/port")
mkdir -p "$work/repo" "$work/log" "$work/lock"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work/repo" "$work/log" "$work/lock"
conf=$work/pgbackrest.conf
# The example, with this test's paths and passphrase; the rest as written.
sed -e "s|^repo1-path=.*|repo1-path=$work/repo|" \
    -e "s|^repo1-cipher-pass=.*|repo1-cipher-pass=$(openssl rand -hex 32)|" \
    -e "s|^pg1-path=.*|pg1-path=$pgdata|" "$ex/pgbackrest.conf" > "$conf"
printf 'log-path=%s\nlock-path=%s\n' "$work/log" "$work/lock" |
  sed -i "/^\[global\]/r /dev/stdin" "$conf"
printf 'pg1-port=%s\npg1-socket-path=%s\n' "$port" "$NOTARY_PG_DIR" >> "$conf"
chmod 0644 "$conf"
sed -e "s|pgbackrest --stanza|pgbackrest --config=$conf --stanza|" "$ex/postgresql-archive.conf" |
  as_pg tee -a "$pgdata/postgresql.conf" > /dev/null
"$src/scripts/pg" stop
"$src/scripts/pg" start
pgb() { as_pg pgbackrest --config="$conf" --stanza=notary "$@"; }
pgb stanza-create || fail "stanza-create"
pgb check || fail "pgbackrest check: WAL archiving does not work"

super="postgresql://postgres@127.0.0.1:$port/notary"
sql() { psql -X -At "$super" -c "$1"; }
export NOTARY_DATABASE_URL=$("$src/scripts/pg" url app)
export NOTARY_OWNER_DATABASE_URL=$("$src/scripts/pg" url owner)

# -- notaryd, and mail in three sets -----------------------------------------------------------
start_notaryd() {
  : > "$work/notaryd.log"
  "$build/notaryd/notaryd" --data-dir "$work/data" --smtp-listen 127.0.0.1:0 \
    --http-listen 127.0.0.1:0 > "$work/notaryd.log" 2>&1 &
  node_pid=$!
  local listening=""
  for _ in $(seq 1 300); do
    listening=$(grep -m1 '^event=listening ' "$work/notaryd.log" || true)
    [ -n "$listening" ] && break
    kill -0 "$node_pid" 2>/dev/null || fail "notaryd exited"
    sleep 0.1
  done
  [ -n "$listening" ] || fail "notaryd did not listen"
  smtp=$(sed -n 's/.* smtp=\([^ ]*\).*/\1/p' <<<"$listening")
  http=$(sed -n 's/.* http=\([^ ]*\).*/\1/p' <<<"$listening")
}
stop_notaryd() { kill "$node_pid"; wait "$node_pid" || true; node_pid=""; }

start_notaryd
key=$("$build/cli/notaryctl" apikey create --tenant default --scope ingest,read | tail -1)
send() {  # send SET: three messages, each sealed before it returns; ids appended to $work/SET
  for i in 1 2 3; do
    local out id code
    out=$(swaks --server "$smtp" --from a@example.com --to b@example.org \
      --header "Subject: set $1 message $i" 2>&1)
    id=$(sed -n 's/.*notarised id=\([0-9a-f-]*\).*/\1/p' <<<"$out")
    [ -n "$id" ] || fail "set $1: no receipt id: $out"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
      "http://$http/v1/messages/$id/evidence?wait=30")
    [ "$code" = 200 ] || fail "set $1: message $id not sealed ($code)"
    echo "$id" >> "$work/$1"
  done
}
present() {  # present SET: how many of the set's receipts the database holds
  local n=0 id
  while read -r id; do
    [ "$(sql "SELECT count(*) FROM receipts WHERE id = '$id'")" = 1 ] && n=$((n + 1))
  done < "$work/$1"
  echo "$n"
}
send A
pgb backup --type=full || fail "full backup"
send B
# The point in time, by the database's own clock, after B's commits and before C's.
target=$(sql "SELECT clock_timestamp()")
send C
# What an auditor saw: the log's checkpoint with C in it.
vkey=$(curl -sf "http://$http/v1/keys" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["note_verifier_key"])')
"$build/cli/notaryctl" monitor "http://$http" --state "$work/checkpoint" --log-key "$vkey" \
  > "$work/monitor1.out" || fail "monitor before the restore: $(cat "$work/monitor1.out")"
# The last segment reaches the repository (archive_timeout would, within its 60 s).
pgb check || fail "pgbackrest check after the mail"
stop_notaryd

# -- 2. The disk is lost: restore to the end of the archive ------------------------------------
wait_primary() {
  for _ in $(seq 1 600); do
    [ "$(sql "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && return 0
    sleep 0.1
  done
  fail "PostgreSQL did not finish recovery"
}
"$src/scripts/pg" stop
find "$pgdata" -mindepth 1 -delete
pgb restore || fail "restore to the end of the archive"
"$src/scripts/pg" start
wait_primary
for set in A B C; do
  [ "$(present $set)" = 3 ] || fail "after the restore to the end: set $set has $(present $set) of 3"
done
"$build/cli/notaryctl" audit --quiet > "$work/audit2.out" 2>&1 ||
  fail "audit after the restore to the end: $(cat "$work/audit2.out")"
echo "restored to the end of the archive: sets A, B, C present, audit clean"

# -- 3. Restore to the point in time T ---------------------------------------------------------
"$src/scripts/pg" stop
pgb restore --delta --type=time "--target=$target" --target-action=promote ||
  fail "restore to $target"
"$src/scripts/pg" start
wait_primary
[ "$(present A)" = 3 ] && [ "$(present B)" = 3 ] || fail "after the restore to T: A or B is missing"
[ "$(present C)" = 0 ] || fail "after the restore to T: set C is still there"
"$build/cli/notaryctl" audit --quiet > "$work/audit3.out" 2>&1 ||
  fail "audit after the restore to T: $(cat "$work/audit3.out")"
# The rollback shows: the log now ends before the checkpoint the auditor kept.
start_notaryd
set +e
"$build/cli/notaryctl" monitor "http://$http" --state "$work/checkpoint" --log-key "$vkey" \
  > "$work/monitor2.out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "monitor after the restore to T exited $rc: $(cat "$work/monitor2.out")"
grep -q "the log rolled back from size" "$work/monitor2.out" ||
  fail "monitor does not name the rollback: $(cat "$work/monitor2.out")"
echo "restored to $target: sets A, B present, C gone, audit clean, monitor reports the rollback"
echo "backup and restore: OK"
