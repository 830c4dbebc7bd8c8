#!/usr/bin/env bash
# Time-stamp replies per second over HTTP (POST /v1/tsa, keep-alive clients), for an ECDSA
# P-256 and an RSA-2048 TSA key, each next to `openssl speed` for the same key type measured
# in the same run.   bench/tsa_http_bench.sh [SECONDS]     BUILD_DIR=build THREADS=4
#
# Two comparisons. Wall clock: replies/s against `openssl speed -elapsed -multi 2` (both
# cores, wall-clock divisor); the clients share those two cores with the server, so this one
# charges their CPU to the server. Per CPU-second: replies per CPU-second notaryd used
# (user+sys, /proc) against `openssl speed` (one process; it divides by CPU time unless
# given -elapsed). The client's own CPU use is printed as well.
# notaryd runs with --public-tsa: this measures the TSA, not API-key checks and the per-key
# rate limit that POST /v1/tsa otherwise goes through.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
seconds=${1:-5}
threads=${THREADS:-4}
bench_start tsa-http-bench
tck=$(getconf CLK_TCK)

# An RSA-2048 CA and TSA certificate (critical extendedKeyUsage timeStamping).
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Bench TSA CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=Bench TSA" -keyout "$work/tsa.key" \
  -out "$work/tsa.csr" 2>/dev/null
printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n' > "$work/ext"
openssl x509 -req -in "$work/tsa.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 30 -extfile "$work/ext" -out "$work/tsa.pem" 2>/dev/null

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run() {  # [MODE=floor] run NAME [notaryd flags...] -> "replies/s client_cpu_s elapsed_s server_cpu_ticks"
  local name=$1; shift
  local http smtp
  http=$(port); smtp=$(port)
  "$build/notaryd/notaryd" --sender-checks false --database-url "$app" --owner-database-url "$owner" \
    --data-dir "$work/data-$name" --http-listen "127.0.0.1:$http" --smtp-listen "127.0.0.1:$smtp" \
    --seal false --public-tsa --log-level warn "$@" > "$work/notaryd-$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$http/healthz" >/dev/null && break; sleep 0.1; done
  local t0 rate failures ccpu elapsed t1
  t0=$(cpu_ticks "$pid")
  read -r rate failures ccpu elapsed <<<"$("$build/bench/tsa_http_bench" "http://127.0.0.1:$http" "$threads" "$seconds" ${MODE:-})"
  t1=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$rate $ccpu $elapsed $(( t1 - t0 ))"
}

speed() {  # speed ALG MARKER [FLAGS...] -> sign/s
  local alg=$1 marker=$2; shift 2
  openssl speed -seconds 3 "$@" "$alg" 2>/dev/null | awk -v m="$marker" 'index($0, m) { print $(NF-1); exit }'
}

ec_wall_raw=$(speed ecdsap256 "256 bits ecdsa" -elapsed -multi 2)
ec_cpu_raw=$(speed ecdsap256 "256 bits ecdsa")
ec=$(run ecdsa)
rsa_wall_raw=$(speed rsa2048 "rsa 2048 bits" -elapsed -multi 2)
rsa_cpu_raw=$(speed rsa2048 "rsa 2048 bits")
rsa=$(run rsa --tsa-key "$work/tsa.key" --tsa-cert "$work/tsa.pem" --tsa-chain "$work/ca.pem")
floor=$(MODE=floor run floor)
python3 - "$tck" "$ec" "$ec_wall_raw" "$ec_cpu_raw" "$rsa" "$rsa_wall_raw" "$rsa_cpu_raw" "$floor" <<'PY'
import sys
tck = float(sys.argv[1])
print(f"{'':12} | {'replies/s':>9} {'openssl -elapsed':>16} {'ratio':>5} | {'server':>6} {'client':>6} | "
      f"{'replies per':>11} {'openssl per':>11} {'ratio':>5}")
print(f"{'key':12} | {'wall':>9} {'-multi 2 sign/s':>16} {'':>5} | {'cores':>6} {'cores':>6} | "
      f"{'server CPU-s':>11} {'CPU-s':>11} {'':>5}")
for name, run, wall_raw, cpu_raw in (("ECDSA P-256", *sys.argv[2:5]), ("RSA-2048", *sys.argv[5:8])):
    rate, ccpu, elapsed, sticks = map(float, run.split())
    wall_raw, cpu_raw = float(wall_raw), float(cpu_raw)
    scpu = sticks / tck
    per_cpu = rate * elapsed / scpu
    print(f"{name:12} | {rate:9.0f} {wall_raw:16.0f} {rate / wall_raw:5.2f} | {scpu / elapsed:6.2f} "
          f"{ccpu / elapsed:6.2f} | {per_cpu:11.0f} {cpu_raw:11.0f} {per_cpu / cpu_raw:5.2f}")
rate, ccpu, elapsed, sticks = map(float, sys.argv[8].split())
scpu = sticks / tck
print(f"HTTP floor (same POSTs as application/octet-stream, answered 400 without a token): "
      f"{rate:.0f}/s; notaryd {scpu / elapsed:.2f} cores = {1e6 * scpu / (rate * elapsed):.1f} us "
      f"per request, client {1e6 * ccpu / (rate * elapsed):.1f} us per request")
PY
echo "($threads keep-alive HTTP clients, ${seconds}s each, notaryd --http-threads 8; cores = CPU-s per s)"
