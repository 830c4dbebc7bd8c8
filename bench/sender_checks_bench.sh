#!/usr/bin/env bash
# Sender checks (issue 21) under a slow resolver: "with a resolver answering in 50 ms, 20 SMTP
# sessions reach at least 90 % of the throughput without authentication checks".
#
# Starts its own DNS environment (scripts/dnstest: knotd + validating unbound, on ports of its
# own) and, in front of unbound, bench/dns_delay_proxy.py, which adds DELAY_MS to every answer
# (checked with kdig: median of 11 lookups printed). One DKIM-signed message of about 10 KB
# (From: alice@acme.example, rsa1 key of acme.example, relaxed/relaxed) is sent by Postfix's
# smtp-source -F, MESSAGES times over SESSIONS sessions, MAIL FROM alice@acme.example from
# 127.0.0.1 (so SPF and DMARC pass too), to:
#   A  notaryd without sender checks (the reference)
#   B  notaryd --sender-checks true --dns-resolver <proxy> --dns-trust-anchor <dnstest's>
# alternated A, B, A, B, ... (ROUNDS of each), each run on a fresh database. Prints each run's
# messages/s (smtp-source's wall time) and CPU per message of notaryd and PostgreSQL, the
# medians and B / A against the 90 % target; for each B run, how long after the last 250 the
# last authentication row was stored, the rows stored by then, the checks' own rate
# (rows / (last row - first row)), the dkim pass count, and the DNS queries through the proxy.
#
#   bench/sender_checks_bench.sh [MESSAGES]     BUILD_DIR=build SESSIONS=20 ROUNDS=2
#                                               DELAY_MS=50 CHECK_WORKERS=32 (notaryd's default)
#                                               DNS_AUTH_PORT=17353 DNS_RESOLVER_PORT=17354
# Needs a build with notaryd, Postfix's smtp-source, and scripts/dnstest's tools (knot,
# knot-dnsutils, unbound, python3-dkim).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
messages=${1:-4000}
sessions=${SESSIONS:-20}
rounds=${ROUNDS:-2}
delay_ms=${DELAY_MS:-50}
workers=${CHECK_WORKERS:-32}
export PATH="/usr/sbin:$PATH"
[ -x "$build/notaryd/notaryd" ] || { echo "sender_checks_bench: build notaryd first" >&2; exit 1; }
for t in smtp-source kdig knotd unbound; do
  command -v "$t" >/dev/null || { echo "sender_checks_bench: $t not found" >&2; exit 1; }
done

dns=""
proxy_pid=""
bench_cleanup_hook() {
  if [ -n "$proxy_pid" ]; then
    kill "$proxy_pid" 2>/dev/null || true
    timeout 10 tail --pid="$proxy_pid" -f /dev/null 2>/dev/null || kill -9 "$proxy_pid" 2>/dev/null || true
  fi
  [ -z "$dns" ] || timeout 30 "$here/scripts/dnstest" down "$dns" >/dev/null 2>&1 || true
}
bench_start sender-checks-bench

# 1. DNS: knotd + unbound of our own, the delaying proxy in front of unbound.
dns=$work/dns
NOTARY_DNSTEST_AUTH_PORT=${DNS_AUTH_PORT:-17353} NOTARY_DNSTEST_RESOLVER_PORT=${DNS_RESOLVER_PORT:-17354} \
  "$here/scripts/dnstest" up "$dns" > "$work/dns.env" 2> "$work/dns.err" \
  || { cat "$work/dns.err" >&2; exit 1; }
source "$work/dns.env"
res_port=${NOTARY_DNSTEST_RESOLVER##*:}
proxy=$(port)
/usr/bin/python3 "$here/bench/dns_delay_proxy.py" "$proxy" "$res_port" "$delay_ms" > "$work/proxy.out" 2>&1 &
proxy_pid=$!
for _ in $(seq 1 100); do grep -q '^ready' "$work/proxy.out" && break; sleep 0.1; done
grep -q '^ready' "$work/proxy.out" || { cat "$work/proxy.out" >&2; exit 1; }
proxy_queries() { sed -n 's/^queries //p' "$work/proxy.out"; }

latency() {  # latency PORT -> median ms of 11 kdig lookups (kdig's own timing)
  local i
  for i in $(seq 1 11); do
    kdig -p "$1" @127.0.0.1 +dnssec +time=2 +retry=0 TXT rsa1._domainkey.acme.example 2>/dev/null \
      | sed -n 's/^;; From .* in \([0-9.]*\) ms$/\1/p'
  done | sort -n | sed -n 6p
}
direct_ms=$(latency "$res_port")
proxy_ms=$(latency "$proxy")
kdig -p "$proxy" @127.0.0.1 +dnssec TXT rsa1._domainkey.acme.example | grep -qiE '^;; flags:[^;]* ad[ ;]' \
  || { echo "sender_checks_bench: no validated answer through the proxy" >&2; exit 1; }

# 2. One signed message of about 10 KB.
{
  printf 'From: Alice <alice@acme.example>\nTo: bob@notary.test\nSubject: quarterly figures\n'
  printf 'Date: %s\nMessage-ID: <bench-sender-checks@acme.example>\nMIME-Version: 1.0\n' "$(date -R)"
  printf 'Content-Type: text/plain; charset=us-ascii\n\n'
  for i in $(seq 1 140); do printf 'line %03d of the quarterly figures, signed by acme.example for the notary\n' "$i"; done
} > "$work/msg.eml"
/usr/bin/python3 "$here/tests/sender/fixtures/dkim_sign.py" --domain acme.example --selector rsa1 \
  --key "$NOTARY_DNSTEST_KEY_ACME_RSA" < "$work/msg.eml" > "$work/signed.eml"
msg_bytes=$(wc -c < "$work/signed.eml")

# 3. The runs.
psql_app() { psql -X "$app" -Atc "$1"; }
tick=$(getconf CLK_TCK)
cpu_of() { local s=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$s"; }
pg_pids() { pgrep -P "$(head -1 "$work/pg/data/postmaster.pid")" | tr '\n' ' '; }

run() {  # run A|B ROUND -> one result line in $work/results
  local kind=$1 r=$2 smtp http extra=() npid t0 t1 n0 p0 n1 p1 q0 q1
  PGOPTIONS=--client-min-messages=warning psql -X "$owner" -qc \
    "DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO public" >/dev/null
  extra=(--sender-checks false)  # A: the checks are on by default
  [ "$kind" = B ] && extra=(--sender-checks true --dns-resolver "127.0.0.1:$proxy"
                            --dns-trust-anchor "$NOTARY_DNSTEST_TRUST_ANCHOR" --sender-check-workers "$workers")
  smtp=$(port); http=$(port)
  rm -rf "$work/notaryd"
  "$build/notaryd/notaryd" --database-url "$app" --owner-database-url "$owner" \
    --data-dir "$work/notaryd" --http-listen "127.0.0.1:$http" --smtp-listen "127.0.0.1:$smtp" \
    --log-level warn "${extra[@]}" > "$work/notaryd-$kind$r.log" 2>&1 &
  npid=$!
  pids+=($npid)
  wait_port "$smtp"
  n0=$(cpu_of "$npid"); p0=$(cpu_of $(pg_pids))
  t0=$(date +%s.%N)
  smtp-source -c -s "$sessions" -m "$messages" -F "$work/signed.eml" -f alice@acme.example \
    -t bob@notary.test "127.0.0.1:$smtp" > /dev/null
  t1=$(date +%s.%N)
  n1=$(cpu_of "$npid"); p1=$(cpu_of $(pg_pids))
  local rate
  rate=$(python3 -c "print(f'{$messages/($t1-$t0):.0f}')")
  local line="$kind $r $rate $(python3 -c "print(f'{($n1-$n0)/$tick/$messages*1e6:.0f} {($p1-$p0)/$tick/$messages*1e6:.0f}')")"
  if [ "$kind" = B ]; then
    local by_end count=0 i
    by_end=$(psql_app "SELECT count(*) FROM authentications")
    for i in $(seq 1 2000); do  # at most 400 s
      count=$(psql_app "SELECT count(*) FROM authentications")
      [ "$count" -ge "$messages" ] && break
      sleep 0.2
    done
    local t2 n2 p2
    t2=$(date +%s.%N); n2=$(cpu_of "$npid"); p2=$(cpu_of $(pg_pids))
    local stats
    stats=$(psql_app "SELECT round((extract(epoch FROM max(created_at)) - $t1)::numeric, 2) || ' ' ||
        round((count(*) / greatest(extract(epoch FROM max(created_at) - min(created_at)), 0.001))::numeric, 0) || ' ' ||
        count(*) FILTER (WHERE dkim_results = '{pass}')
      FROM authentications")
    # CPU from the first 250 to the last authentication row, per message (ingest + checks).
    line+=" $by_end $count $stats $(python3 -c "print(f'{($n2-$n0)/$tick/$messages*1e6:.0f} {($p2-$p0)/$tick/$messages*1e6:.0f}')")"
  fi
  line+=" $(psql_app "SELECT count(*) FROM receipts")"
  kill "$npid"; wait "$npid" 2>/dev/null || true
  echo "$line" >> "$work/results"
  echo "  $kind round $r: $rate msgs/s" >&2
}

echo "messages: $messages x $msg_bytes bytes (DKIM rsa-sha256 by acme.example) over $sessions SMTP sessions, $rounds rounds A/B; $(nproc) cores"
echo "resolver: unbound (validating) median $direct_ms ms; through the delay proxy (+$delay_ms ms) median $proxy_ms ms (kdig, 11 lookups each)"
: > "$work/results"
for r in $(seq 1 "$rounds"); do
  run A "$r"
  run B "$r"
done
kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true
proxy_pid=""
queries=$(proxy_queries)

python3 - "$work/results" "$messages" "$workers" "$queries" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
n, workers, queries = int(sys.argv[2]), sys.argv[3], sys.argv[4]
a = [r for r in rows if r[0] == "A"]
b = [r for r in rows if r[0] == "B"]
for r in rows:
    s = f"{r[0]} round {r[1]}: {int(r[2]):>5} msgs/s  CPU/message during SMTP: notaryd {r[3]} us, PostgreSQL {r[4]} us"
    if r[0] == "B":
        by_end, count, last, crate, dkim_pass, n_cpu, p_cpu, receipts = r[5:13]
        s += (f"\n    authentications: {by_end} stored by the last 250, {count}/{n} in all; last row {last} s after"
              f" the last 250; checks' own rate {crate} rows/s; dkim pass {dkim_pass}/{count};"
              f" CPU/message until the last row: notaryd {n_cpu} us, PostgreSQL {p_cpu} us; receipts {receipts}")
    else:
        s += f"; receipts {r[5]}"
    print(s)
ma = statistics.median(float(r[2]) for r in a)
mb = statistics.median(float(r[2]) for r in b)
print(f"median A (no sender checks): {ma:.0f} msgs/s   median B (checks, {workers} workers): {mb:.0f} msgs/s")
ratio = mb / ma
print(f"B / A = {ratio:.2f} (target >= 0.90: {'met' if ratio >= 0.9 else 'NOT met'})")
print(f"DNS queries through the delay proxy (all B runs): {queries}")
PY
