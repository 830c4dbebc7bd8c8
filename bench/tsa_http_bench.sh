#!/usr/bin/env bash
# Time-stamp replies per second over HTTP (POST /v1/tsa, keep-alive clients), for an ECDSA
# P-256 and an RSA-2048 TSA key, each next to `openssl speed` for the same key type measured
# in the same run on both cores (-multi 2).   bench/tsa_http_bench.sh [SECONDS]     BUILD_DIR=build THREADS=4
set -euo pipefail
source "$(dirname "$0")/lib.sh"
seconds=${1:-5}
threads=${THREADS:-4}
bench_start tsa-http-bench

# An RSA-2048 CA and TSA certificate (critical extendedKeyUsage timeStamping).
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Bench TSA CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=Bench TSA" -keyout "$work/tsa.key" \
  -out "$work/tsa.csr" 2>/dev/null
printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n' > "$work/ext"
openssl x509 -req -in "$work/tsa.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 30 -extfile "$work/ext" -out "$work/tsa.pem" 2>/dev/null

run() {  # run NAME [notaryd flags...]
  local name=$1; shift
  local http smtp
  http=$(port); smtp=$(port)
  "$build/server/notaryd" --database-url "$app" --owner-database-url "$owner" \
    --data-dir "$work/data-$name" --http-listen "127.0.0.1:$http" --smtp-listen "127.0.0.1:$smtp" \
    --seal false --log-level warn "$@" > "$work/notaryd-$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$http/healthz" >/dev/null && break; sleep 0.1; done
  read -r rate failures <<<"$("$build/bench/tsa_http_bench" "http://127.0.0.1:$http" "$threads" "$seconds")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$rate"
}

speed() {  # speed ALG MARKER -> sign/s
  openssl speed -seconds 3 -multi 2 "$1" 2>/dev/null | awk -v m="$2" 'index($0, m) { print $(NF-1); exit }'
}

ec=$(run ecdsa)
ec_raw=$(speed ecdsap256 "256 bits ecdsa")
rsa=$(run rsa --tsa-key "$work/tsa.key" --tsa-cert "$work/tsa.pem" --tsa-chain "$work/ca.pem")
rsa_raw=$(speed rsa2048 "rsa 2048 bits")
printf '%-14s %12s %16s %7s\n' key "replies/s" "openssl sign/s" ratio
python3 - "$ec" "$ec_raw" "$rsa" "$rsa_raw" <<'PY'
import sys
ec, ec_raw, rsa, rsa_raw = map(float, sys.argv[1:])
for name, a, b in (("ECDSA P-256", ec, ec_raw), ("RSA-2048", rsa, rsa_raw)):
    print(f"{name:<14} {a:12.0f} {b:16.0f} {a / b:7.2f}")
PY
echo "($threads keep-alive HTTP clients, ${seconds}s each, notaryd --http-threads 8)"
