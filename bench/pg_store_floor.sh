#!/usr/bin/env bash
# PostgreSQL's own floor for durable ingest on this machine: the backend CPU time to store N
# messages of SIZE bytes, 20 per transaction (a typical ingest group), by COPY into a table
# with nothing but a primary key on the hash: no receipt row, no search indexes, no queue.
# Everything notaryd adds (receipts, parts, indexes, the sealing queue) comes on top.
#   bench/pg_store_floor.sh [N] [SIZE]      (defaults 10000 10240)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-10000}
size=${2:-10240}
bench_start pg-floor
su=$("$here/scripts/pg" url super)
psql -X -q "$su" -c "CREATE TABLE floor_blobs (sha256 bytea PRIMARY KEY, data bytea NOT NULL)"
# One psql session: its backend's CPU time is read from /proc before and after the COPYs.
python3 - "$n" "$size" > "$work/copy.sql" <<'PY'
import hashlib, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
print("SELECT pg_backend_pid() AS bp \\gset")
print("\\setenv BP :bp")
print("\\! awk '{print \"cpu_before\", $14 + $15}' /proc/$BP/stat")
base = (b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod. " * 300)[:size]
for g in range(0, n, 20):
    print("BEGIN;\nCOPY floor_blobs (sha256, data) FROM STDIN;")
    for i in range(g, min(n, g + 20)):
        d = b"%010d" % i + base[10:]
        print("\\\\x" + hashlib.sha256(d).hexdigest() + "\t\\\\x" + d.hex())
    print("\\.\nCOMMIT;")
print("\\! awk '{print \"cpu_after\", $14 + $15}' /proc/$BP/stat")
PY
t0=$(date +%s.%N)
psql -X -q "$su" -f "$work/copy.sql" > "$work/out.txt"
t1=$(date +%s.%N)
before=$(awk '/cpu_before/ {print $2}' "$work/out.txt")
after=$(awk '/cpu_after/ {print $2}' "$work/out.txt")
tick=$(getconf CLK_TCK)
python3 -c "
n, d, cpu = $n, $t1 - $t0, ($after - $before) / $tick
print(f'{n} x $size B, 20 per commit: {n / d:.0f} rows/s wall; backend CPU {cpu:.2f} s = {cpu * 1e6 / n:.0f} us per message')"
