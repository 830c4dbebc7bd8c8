#!/usr/bin/env bash
# A tenant's key rotation (docs/retention.md, "Rotation"): MESSAGES distinct messages of SIZE
# bytes sent to notaryd over SMTP (smtp-source, 20 sessions), then `notaryctl tenant
# rotate-key`, `rewrap-keys` and `destroy-key` timed, next to the database's own floor for the
# same rows measured in the same run: one UPDATE per table that rewrites every row's kek_id and
# wrapped_key in place (what any re-wrap must write), without reading them out, unwrapping or
# wrapping.
#   bench/key_rotation.sh [MESSAGES] [SIZE]      (defaults 10000 10240)    BUILD_DIR=build
set -euo pipefail
source "$(dirname "$0")/lib.sh"
messages=${1:-10000}
size=${2:-10240}
export PATH="/usr/sbin:$PATH"
[ -x "$build/cli/notaryctl" ] || { echo "key_rotation: build notaryd and notaryctl first" >&2; exit 1; }
bench_start key-rotation
su=$("$here/scripts/pg" url super)
smtp=$(port); http=$(port)
"$build/notaryd/notaryd" --sender-checks false --database-url "$app" --owner-database-url "$owner" \
  --data-dir "$work/notaryd" --http-listen "127.0.0.1:$http" --smtp-listen "127.0.0.1:$smtp" \
  --log-level warn > "$work/notaryd.log" 2>&1 &
pids+=($!)
wait_port "$smtp"
smtp-source -s 20 -l "$size" -m "$messages" -f bench@example.com -t sink@example.net \
  "127.0.0.1:$smtp"
echo "stored: $(psql -X -At "$su" -c "SELECT count(*) FROM sealed_blobs") sealed blobs," \
  "$(psql -X -At "$su" -c "SELECT count(*) FROM receipt_fields") sealed field documents"
old=$(psql -X -At "$su" -c "SELECT DISTINCT kek_id FROM sealed_blobs")

ctl() {
  "$build/cli/notaryctl" --database-url "$app" --owner-database-url "$owner" \
    --data-dir "$work/notaryd" tenant "$@" --tenant default
}
timed() {  # timed LABEL COMMAND...: runs it, prints its output and wall time
  local t0 t1
  t0=$(date +%s.%N)
  "${@:2}" > "$work/out.txt"
  t1=$(date +%s.%N)
  sed 's/^/  /' "$work/out.txt"
  python3 -c "import sys; print(f'{sys.argv[1]}: {$t1 - $t0:.2f} s')" "$1"
}
timed "rotate-key" ctl rotate-key
timed "rewrap-keys (every row: read, unwrap, wrap, update)" ctl rewrap-keys
timed "destroy-key" ctl destroy-key --kek-id "$old"
# The floor: the same rows rewritten in place by PostgreSQL alone, one statement per table.
timed "floor: the same rows' kek_id and wrapped_key rewritten by one UPDATE per table" \
  psql -X -q "$owner" -v ON_ERROR_STOP=1 -c "BEGIN; SET LOCAL notary.rewrap = 'on';
  UPDATE sealed_blobs SET kek_id = kek_id, wrapped_key = wrapped_key;
  UPDATE receipt_fields SET kek_id = kek_id, wrapped_key = wrapped_key; COMMIT"

# What the guard against retired pairs (migration 0021's BEFORE INSERT trigger on
# receipt_fields, one row per message) costs a stored row: the same trigger function on a
# scratch table shaped like receipt_fields (synthetic rows need no receipt there), and
# 100,000 rows inserted in one statement with it and 100,000 others without, alternated twice.
psql -X -q "$owner" -v ON_ERROR_STOP=1 -c "CREATE TABLE bench_guard (receipt_id uuid PRIMARY KEY,
  kek_id text NOT NULL, wrapped_key bytea NOT NULL, data bytea NOT NULL)"
insert_rows() {  # insert_rows FIRST: 100,000 rows numbered from FIRST; prints the seconds
  psql -X -q -At "$owner" -v ON_ERROR_STOP=1 -c "\\timing on" -c "INSERT INTO bench_guard
    SELECT md5('guard-' || i)::uuid, 'file/9/0000000000000000', decode(repeat('00', 92), 'hex'),
           decode(repeat('00', 128), 'hex')
    FROM generate_series($1, $1 + 99999) i" | awk '/^Time:/ {printf "%.3f\n", $2 / 1000}'
}
guard() {  # guard on|off
  if [ "$1" = on ]; then
    psql -X -q "$owner" -c "CREATE TRIGGER bench_not_retired BEFORE INSERT ON bench_guard
      FOR EACH ROW EXECUTE FUNCTION notary_refuse_retired_kek()"
  else
    psql -X -q "$owner" -c "DROP TRIGGER bench_not_retired ON bench_guard"
  fi
}
for round in 1 2; do
  guard on
  with=$(insert_rows $((round * 1000000)))
  guard off
  without=$(insert_rows $((round * 1000000 + 500000)))
  python3 -c "w, o = $with, $without; print(f'insert guard, round $round: 100,000 rows {w:.2f} s with it, {o:.2f} s without: {(w - o) * 1e6 / 100000:.1f} us per row')"
done
