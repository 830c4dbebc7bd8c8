#!/usr/bin/env bash
# notaryd on a PostgreSQL cluster with synchronous replication (issue 25), in one run:
#  1. SMTP ingest, Postfix's smtp-source sending MESSAGES 10 KB messages over 20 sessions, to
#     notaryd on (a) the single PostgreSQL of scripts/pg, (b) the primary of the local Patroni
#     cluster (scripts/ha: three nodes, on this same machine) with synchronous replication off,
#     (c) the same cluster with it on (every commit on a standby too before the 250). Rounds
#     alternate a, b, c, a, b, c; the ratios are of the sums.
#  2. Reads: GET /v1/messages/{id} latency through a node reading the primary, next to a node
#     with --read-database-url reading a standby (and the primary for its WAL position).
#  3. Failover time, FAILOVERS times: a sender (tests/ha/smtp_sender.py) sends through notaryd
#     while `scripts/ha kill-primary --host` kills the primary's host; printed: the time from
#     the kill to Patroni's new primary (the reference: what notaryd cannot be faster than) and
#     to notaryd's first 250 on it.
#
#   bench/ha_ingest.sh [MESSAGES] [FAILOVERS]     BUILD_DIR=build SESSIONS=20
# Needs root (PostgreSQL and Patroni run as `postgres`) and a build with notaryd.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
messages=${1:-5000}
failovers=${2:-3}
sessions=${SESSIONS:-20}
export PATH="/usr/sbin:$PATH"
[ -x "$build/notaryd/notaryd" ] || { echo "ha_ingest: build notaryd first" >&2; exit 1; }
bench_cleanup_hook() {
  touch "$work/stop" 2>/dev/null || true
  NOTARY_HA_DIR=$work/ha "$here/scripts/ha" down >/dev/null 2>&1 || true
}
bench_start ha-bench
export NOTARY_HA_DIR=$work/ha
"$here/scripts/ha" up >/dev/null
ha_app=$("$here/scripts/ha" url app)
ha_owner=$("$here/scripts/ha" url owner)
patroni() { runuser -u postgres -- patronictl -c "$NOTARY_HA_DIR/pg1.yml" "$@"; }
leader_says() {  # leader_says SQL
  psql -X -At "$("$here/scripts/ha" node-url "$("$here/scripts/ha" leader)" super)" -c "$1"
}
sync_mode() {  # sync_mode true|false, and wait until the primary has it
  patroni edit-config --force -s "synchronous_mode=$1" >/dev/null
  for _ in $(seq 1 150); do
    local names
    names=$(leader_says "SHOW synchronous_standby_names" 2>/dev/null || echo "?")
    if [ "$1" = false ] && [ -z "$names" ]; then return 0; fi
    if [ "$1" = true ] && [ -n "$names" ] && [ "$names" != "?" ] &&
      [ "$(leader_says "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")" -ge 1 ]; then
      return 0
    fi
    sleep 0.2
  done
  echo "ha_ingest: synchronous_mode=$1 not in effect after 30 s" >&2
  exit 1
}

# start NAME APP OWNER [FLAGS...]: a notaryd; sets $node_pid, $node_smtp and $node_http.
start() {
  node_smtp=$(port)
  node_http=$(port)
  "$build/notaryd/notaryd" --sender-checks false --database-url "$2" --owner-database-url "$3" \
    --data-dir "$work/data-$1" --http-listen "127.0.0.1:$node_http" --smtp-listen "127.0.0.1:$node_smtp" \
    --log-level warn --rate-limit 1000000 "${@:4}" > "$work/notaryd-$1.log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  wait_port "$node_smtp"
}
rate() {  # rate PORT: messages/s
  local t0 t1
  t0=$(date +%s.%N)
  smtp-source -s "$sessions" -l 10240 -m "$messages" -f bench@example.com -t sink@example.net \
    "127.0.0.1:$1"
  t1=$(date +%s.%N)
  python3 -c "print(f'{$messages/($t1-$t0):.0f}')"
}

start single "$app" "$owner"
single_pid=$node_pid single_smtp=$node_smtp
start cluster "$ha_app" "$ha_owner"
cluster_smtp=$node_smtp cluster_http=$node_http
declare -A sum=([single]=0 [async]=0 [sync]=0)
printf '%-5s %-44s %8s\n' round target msgs/s
for round in 1 2; do
  r=$(rate "$single_smtp")
  printf '%-5s %-44s %8s\n' "$round" "single PostgreSQL (scripts/pg)" "$r"
  sum[single]=$((sum[single] + r))
  sync_mode false
  r=$(rate "$cluster_smtp")
  printf '%-5s %-44s %8s\n' "$round" "Patroni primary, replication asynchronous" "$r"
  sum[async]=$((sum[async] + r))
  sync_mode true
  r=$(rate "$cluster_smtp")
  printf '%-5s %-44s %8s\n' "$round" "Patroni primary, synchronous standby" "$r"
  sum[sync]=$((sum[sync] + r))
done
python3 -c "print(f'synchronous / single = {${sum[sync]}/${sum[single]}:.2f}   synchronous / asynchronous = {${sum[sync]}/${sum[async]}:.2f}   (10 KB, $messages messages a round, $sessions sessions)')"
kill "$single_pid"

# Reads: GET /v1/messages/{id} of stored messages, one keep-alive client, through the node
# above (reads on the primary) and through a second node on the same data directory with
# --read-database-url (reads on a standby, after the freshness check on the primary).
ln -s "$work/data-cluster" "$work/data-reader"  # the same keys
start reader "$ha_app" "$ha_owner" --read-database-url "$("$here/scripts/ha" url app --read)"
reader_http=$node_http
key=$(NOTARY_DATABASE_URL=$ha_app "$build/cli/notaryctl" apikey create --tenant default --scope read | tail -1)
psql -X -At "$("$here/scripts/ha" node-url "$("$here/scripts/ha" leader)" super)" \
  -c "SELECT id FROM receipts ORDER BY random() LIMIT 500" > "$work/ids"
read_latency() {  # read_latency PORT: p50 and p99 in ms, and requests/s, of 3,000 GETs
  python3 - "$1" "$key" "$work/ids" <<'PY'
import http.client, sys, time
port, key, ids = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read().split()
c = http.client.HTTPConnection("127.0.0.1", port)
lat = []
t0 = time.perf_counter()
for i in range(3000):
    t = time.perf_counter()
    c.request("GET", "/v1/messages/" + ids[i % len(ids)], headers={"Authorization": "Bearer " + key})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"status {r.status}")
    lat.append(time.perf_counter() - t)
total = time.perf_counter() - t0
lat.sort()
print(f"{lat[len(lat) // 2] * 1e3:.2f} {lat[len(lat) * 99 // 100] * 1e3:.2f} {3000 / total:.0f}")
PY
}
replica_reads() { curl -s "http://127.0.0.1:$reader_http/metrics" | awk '$1 == "http_reads_total{from=\"replica\"}" {print $2}'; }
printf '%-44s %8s %8s %8s\n' "GET /v1/messages/{id}" "p50 ms" "p99 ms" "req/s"
for round in 1 2; do
  out=$(read_latency "$cluster_http")
  read -r p50 p99 rps <<<"$out"
  printf '%-44s %8s %8s %8s\n' "primary only" "$p50" "$p99" "$rps"
  before=$(replica_reads)
  out=$(read_latency "$reader_http")
  read -r p50 p99 rps <<<"$out"
  printf '%-44s %8s %8s %8s\n' "read replica (of those: $(( $(replica_reads) - before )) there)" "$p50" "$p99" "$rps"
done

# Failover time.
printf '%-9s %-14s %22s %22s\n' failover killed "Patroni new primary s" "notaryd first 250 s"
for f in $(seq 1 "$failovers"); do
  rm -f "$work/stop" "$work/sent.log"
  python3 "$here/tests/ha/smtp_sender.py" 127.0.0.1 "$cluster_smtp" "$work/sent.log" "$work/stop" &
  sender=$!
  for _ in $(seq 1 300); do
    acked=$(grep -c ' ok ' "$work/sent.log" 2>/dev/null || true)
    [ "${acked:-0}" -ge 20 ] && break
    sleep 0.1
  done
  old=$("$here/scripts/ha" kill-primary --host)
  killed=$(date +%s.%N)
  promoted=""
  for _ in $(seq 1 600); do
    new=$("$here/scripts/ha" leader 2>/dev/null || true)
    if [ -n "$new" ] && [ "$new" != "$old" ]; then promoted=$(date +%s.%N); break; fi
    sleep 0.05
  done
  first=""
  for _ in $(seq 1 600); do
    first=$(awk -v t="$killed" '$2 == "ok" && $3 > t {print $3; exit}' "$work/sent.log")
    [ -n "$first" ] && break
    sleep 0.1
  done
  touch "$work/stop"
  wait "$sender"
  python3 -c "print(f'{$f:<9} {\"$old\":<14} {$promoted-$killed:>22.1f} {$first-$killed:>22.1f}')"
  "$here/scripts/ha" up >/dev/null
done
