#!/usr/bin/env bash
# The notary core at scale (issue figures for sealing, proofs, bundles, search and audit):
# a private PostgreSQL, N generated receipts, the real sealer, and a notaryd on the same
# database for the HTTP figures.   bench/chain_bench.sh [N] [BATCH]    BUILD_DIR=build
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-1000000}
batch=${2:-100000}
bench_start chain-bench
"$build/cli/notaryctl" --database-url "$app" --owner-database-url "$owner" migrate >/dev/null
# The bench checkpoints after its load (chain_bench.cc says why); the owner may, here only.
psql -X -q "$("$here/scripts/pg" url super)" -c "GRANT pg_checkpoint TO notary_owner"
key=$("$build/cli/notaryctl" --database-url "$app" apikey create --tenant default --scope ingest,read | tail -1)
port=$(port)
smtp=$(port)
# The operator's document key, so that each bundle's certificate.pdf is signed (and its
# signature time-stamped) as a deployment's would be.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/doc.key" \
  -out "$work/doc.pem" -days 30 -subj "/CN=Bench Operator" >/dev/null 2>&1
chmod 600 "$work/doc.key"
# notaryd serves HTTP only; the bench's own Sealer seals, so each block can be timed, and the
# bench indexes for search, so that the indexing is timed alone.
"$build/notaryd/notaryd" --document-cert "$work/doc.pem" --document-key "$work/doc.key" --sender-checks false --database-url "$app" --owner-database-url "$owner" --data-dir "$work/data" \
  --http-listen "127.0.0.1:$port" --smtp-listen "127.0.0.1:$smtp" --rate-limit 1000000 \
  --seal false --index-interval-ms 0 --log-level warn > "$work/notaryd.log" 2>&1 &
pids+=($!)
# The audit step reports PostgreSQL's CPU from the postmaster's reaped children.
NOTARY_BENCH_POSTMASTER_PID=$(head -1 "$work/pg/data/postmaster.pid") \
"$build/bench/chain_bench" --owner-url "$owner" --app-url "$app" --n "$n" --batch "$batch" \
  --data-dir "$work/data" --http "http://127.0.0.1:$port" --key "$key"
