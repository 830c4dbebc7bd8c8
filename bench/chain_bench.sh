#!/usr/bin/env bash
# The notary core at scale (issue figures for sealing, proofs, bundles, search and audit):
# a private PostgreSQL, N generated receipts, the real sealer, and a notaryd on the same
# database for the HTTP figures.   bench/chain_bench.sh [N] [BATCH]    BUILD_DIR=build
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build}
n=${1:-1000000}
batch=${2:-100000}
work=$(mktemp -d /tmp/chain-bench.XXXXXX)
chmod 755 "$work"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  NOTARY_PG_DIR=$work/pg "$here/scripts/pg" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export NOTARY_PG_DIR=$work/pg
"$here/scripts/pg" start >/dev/null
app=$("$here/scripts/pg" url app)
owner=$("$here/scripts/pg" url owner)
"$build/cli/notaryctl" --database-url "$app" --owner-database-url "$owner" migrate >/dev/null
key=$("$build/cli/notaryctl" --database-url "$app" apikey create --tenant default --scope ingest,read | tail -1)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
smtp=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
# notaryd serves HTTP only; the bench's own Sealer seals, so each block can be timed.
"$build/server/notaryd" --database-url "$app" --owner-database-url "$owner" --data-dir "$work/data" \
  --http-listen "127.0.0.1:$port" --smtp-listen "127.0.0.1:$smtp" --rate-limit 1000000 \
  --seal false --log-level warn > "$work/notaryd.log" 2>&1 &
pid=$!
"$build/bench/chain_bench" --owner-url "$owner" --app-url "$app" --n "$n" --batch "$batch" \
  --data-dir "$work/data" --http "http://127.0.0.1:$port" --key "$key"
