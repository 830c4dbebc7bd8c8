#!/usr/bin/env bash
# Sealing and publishing with three witnesses and three time-stamp authorities (issue 19),
# next to sealing with none, in one run, on one private PostgreSQL:
#   1. notaryd alone: the built-in TSA, no witness (the reference)
#   2. notaryd with three notary-witness processes (quorum 3) and three authorities (the
#      built-in one and two `openssl ts -reply` servers, tests/tools/tsa_server.py, each its
#      own CA), --tsa-quorum 3
# Each run: smtp-source sends MESSAGES messages of 10 KB over 20 sessions; prints messages/s.
# For run 2 it then reads, from the database, for every block the time from its seal to the
# first published (quorum-cosigned) checkpoint that covers it, and prints the median, p95
# and maximum, and the witnesses' round-trip as notaryd measured it (/metrics).
#
#   bench/witness_publish_bench.sh [MESSAGES]      BUILD_DIR=build SESSIONS=20
# Needs a build with notaryd and notary-witness, and Postfix's smtp-source.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
messages=${1:-5000}
sessions=${SESSIONS:-20}
export PATH="/usr/sbin:$PATH"
for b in notaryd/notaryd witness/notary-witness; do
  [ -x "$build/$b" ] || { echo "witness_publish_bench: build $b first" >&2; exit 1; }
done
bench_start witness-publish-bench

rate() {  # rate PORT -> messages/s
  local t0 t1
  t0=$(date +%s.%N)
  smtp-source -s "$sessions" -l 10240 -m "$messages" -f bench@example.com \
    -t sink@example.net "127.0.0.1:$1"
  t1=$(date +%s.%N)
  python3 -c "print(f'{$messages/($t1-$t0):.0f}')"
}

psql_app() { psql "$app" -Atc "$1"; }
# CPU seconds (user+sys, with reaped children: the TSA servers run openssl per token) so far.
tick=$(getconf CLK_TCK)
cpu_of() {
  local s=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && s=$((s + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat")))
  done
  python3 -c "print(f'{$s/$tick:.2f}')"
}

start_notaryd() {  # start_notaryd DIR SMTP HTTP [extra flags...]
  local dir=$1 smtp=$2 http=$3
  shift 3
  "$build/notaryd/notaryd" --sender-checks false --database-url "$app" --owner-database-url "$owner" \
    --data-dir "$dir" --http-listen "127.0.0.1:$http" --smtp-listen "127.0.0.1:$smtp" \
    --origin bench.test/log --batch-interval-ms "${BATCH_MS:-200}" --log-level warn "$@" \
    > "$dir.log" 2>&1 &
  pids+=($!)
  wait_port "$smtp"
}

# 1. The reference: no witness, the built-in TSA only.
smtp1=$(port); http1=$(port)
start_notaryd "$work/plain" "$smtp1" "$http1"
n0=$(cpu_of "${pids[-1]}")
plain=$(rate "$smtp1")
plain_cpu=$(python3 -c "print(f'{($(cpu_of "${pids[-1]}") - $n0) / $messages * 1e6:.0f}')")
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
# Each run gets its own database: the second must not count the first's blocks.
PGOPTIONS=--client-min-messages=warning psql "$owner" -qc "DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO public" >/dev/null

# 2. Three witnesses (started once notaryd has made its key) and three authorities.
mkdir -p "$work/w1" "$work/w2" "$work/w3" "$work/tsa1" "$work/tsa2"
wports=() wflags=()
for i in 1 2 3; do
  p=$(port); wports+=("$p")
  vkey=$("$build/witness/notary-witness" --data-dir "$work/w$i" --name "bench.test/w$i" --print-vkey)
  wflags+=(--witness "$vkey=http://127.0.0.1:$p")
done
tsa_flags=()
for i in 1 2; do
  python3 "$here/tests/tools/tsa_server.py" 0 "$work/tsa$i" > "$work/tsa$i.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do grep -q '^port=' "$work/tsa$i.out" && break; sleep 0.1; done
  tsa_flags+=(--tsa-url "http://127.0.0.1:$(sed -n 's/^port=//p' "$work/tsa$i.out")/" \
              --tsa-ca "$work/tsa$i/ca.pem")
done
smtp2=$(port); http2=$(port)
start_notaryd "$work/witnessed" "$smtp2" "$http2" "${wflags[@]}" --witness-quorum 3 \
  --checkpoint-interval-ms 1000 "${tsa_flags[@]}" --tsa-quorum 3
log_vkey=$(curl -sf "http://127.0.0.1:$http2/v1/keys" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["note_verifier_key"])')
for i in 1 2 3; do
  "$build/witness/notary-witness" --listen "127.0.0.1:${wports[$((i-1))]}" --data-dir "$work/w$i" \
    --name "bench.test/w$i" --log "bench.test/log=$log_vkey" > "$work/w$i.log" 2>&1 &
  pids+=($!)
  wait_port "${wports[$((i-1))]}"
done
notaryd2=${pids[-4]}
others=("${pids[@]: -6:2}" "${pids[@]: -3}")  # the TSA servers and the witnesses
n0=$(cpu_of "$notaryd2"); o0=$(cpu_of "${others[@]}")
witnessed=$(rate "$smtp2")
witnessed_cpu=$(python3 -c "print(f'{($(cpu_of "$notaryd2") - $n0) / $messages * 1e6:.0f}')")
others_cpu=$(python3 -c "print(f'{$(cpu_of "${others[@]}") - $o0:.2f}')")
# Let the last block seal and be published (at most a few intervals).
for _ in $(seq 1 100); do
  pending=$(psql_app "SELECT count(*) FROM pending")
  last=$(psql_app "SELECT coalesce(max(tree_size), 0) FROM blocks")
  pub=$(psql_app "SELECT coalesce(max(tree_size), 0) FROM cosigned_checkpoints")
  [ "$pending" = 0 ] && [ "$pub" = "$last" ] && [ "$last" != 0 ] && break
  sleep 0.2
done
latency=$(psql_app "
  SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' ||
         round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' ||
         round(max(ms)::numeric, 1) || ' ' || count(*)
  FROM (SELECT extract(epoch FROM min(c.created_at) - b.sealed_at) * 1000 AS ms
          FROM blocks b JOIN cosigned_checkpoints c ON c.tree_size >= b.tree_size
         GROUP BY b.height, b.sealed_at) x")
read -r p50 p95 pmax nblocks <<<"$latency"
publish=$(curl -sf "http://127.0.0.1:$http2/metrics" | python3 -c '
import sys
m = {l.split()[0]: float(l.split()[1]) for l in sys.stdin if l.startswith("checkpoint_publish_seconds")}
n = m.get("checkpoint_publish_seconds_count", 0)
total, peak = m.get("checkpoint_publish_seconds_sum", 0), m.get("checkpoint_publish_seconds_max", 0)
print(f"mean {total/n*1000:.1f} ms, max {peak*1000:.1f} ms over {n:.0f} checkpoints" if n else "none")')
round_trip=$(curl -sf "http://127.0.0.1:$http2/metrics" | python3 -c '
import sys
s = {}; n = {}
for line in sys.stdin:
    if line.startswith("witness_latency_seconds_sum{"): s[line.split("\"")[1]] = float(line.split()[-1])
    if line.startswith("witness_latency_seconds_count{"): n[line.split("\"")[1]] = float(line.split()[-1])
print(" ".join(f"{k}={s[k]/n[k]*1000:.1f}ms" for k in sorted(s) if n.get(k)))')

echo "messages: $messages of 10 KB over $sessions SMTP sessions"
echo "ingest, no witness, built-in TSA only:        $plain msgs/s (reference), notaryd $plain_cpu us CPU/message"
echo "ingest, 3 witnesses (quorum 3) + 3 TSAs (q 3): $witnessed msgs/s ($(python3 -c "print(f'{$witnessed/$plain*100:.0f}')") % of the reference), notaryd $witnessed_cpu us CPU/message"
echo "  CPU of the witnesses and TSA servers on this same machine meanwhile: $others_cpu s"
echo "publishing round (newest block read, 3 witnesses asked in parallel, stored): $publish"
echo "block sealed_at (before its commit) -> published, over $nblocks blocks: median $p50 ms, p95 $p95 ms, max $pmax ms"
echo "witness round trip (add-checkpoint, mean per witness): $round_trip"
