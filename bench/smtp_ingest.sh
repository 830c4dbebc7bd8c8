#!/usr/bin/env bash
# SMTP ingest throughput: Postfix's smtp-source sends MESSAGES messages over 20 sessions,
# for 10 KB and 100 KB messages, in one run to:
#   1. notaryd          durable: every 250 follows a PostgreSQL commit
#   2. smtp-sink        stores nothing: the upper bound on this machine
#   3. Postfix smtpd    queues into its own durable queue (relaying on to an smtp-sink)
# Prints messages/s and MB/s for each, the ratios, and notaryd's peak RSS; CPU per message of
# notaryd, PostgreSQL, smtp-source and smtp-sink, and the CPU budget per message that half of
# smtp-sink's rate leaves for notaryd and PostgreSQL on this machine.
#
#   bench/smtp_ingest.sh [MESSAGES]        BUILD_DIR=build SESSIONS=20 NOTARYD_ARGS=
# (NOTARYD_ARGS="--index-interval-ms 0": the durable path alone, the search index left queued)
# Needs root (Postfix's master) and a build with notaryd.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
messages=${1:-10000}
sessions=${SESSIONS:-20}
export PATH="/usr/sbin:$PATH"
[ -x "$build/notaryd/notaryd" ] || { echo "smtp_ingest: build notaryd first" >&2; exit 1; }
pf_conf=""
bench_cleanup_hook() { [ -z "$pf_conf" ] || postfix -c "$pf_conf" stop >/dev/null 2>&1; }
bench_start smtp-bench
notary=$(port); http=$(port); sink=$(port); relay_sink=$(port); pfport=$(port)
"$build/notaryd/notaryd" --sender-checks false --database-url "$app" --owner-database-url "$owner" \
  --data-dir "$work/notaryd" --http-listen "127.0.0.1:$http" --smtp-listen "127.0.0.1:$notary" \
  --log-level warn ${NOTARYD_ARGS:-} > "$work/notaryd.log" 2>&1 &
notaryd_pid=$!
pids+=($notaryd_pid)
wait_port "$notary"
smtp-sink -u postfix "127.0.0.1:$sink" 256 > /dev/null 2>&1 &
sink_pid=$!
pids+=($sink_pid)
smtp-sink -u postfix "127.0.0.1:$relay_sink" 256 > /dev/null 2>&1 &
pids+=($!)
wait_port "$sink"
wait_port "$relay_sink"

d=$work/postfix
mkdir -p "$d/conf" "$d/queue" "$d/data"
chown postfix "$d/data"
cat > "$d/conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mta.bench.test
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$relay_sink
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
maillog_file_prefixes = /
maillog_file = $d/maillog
default_process_limit = 100
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
CF
cat > "$d/conf/master.cf" <<CF
127.0.0.1:$pfport inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
CF
pf_conf=$d/conf
postfix -c "$pf_conf" start >/dev/null 2>&1
wait_port "$pfport"

rate() {  # rate PORT SIZE -> "msgs/s MB/s smtp-source-CPU-seconds"
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$work/source.time" smtp-source -s "$sessions" -l "$2" \
    -m "$messages" -f bench@example.com -t sink@example.net "127.0.0.1:$1"
  t1=$(date +%s.%N)
  python3 -c "d=$t1-$t0; u, s = open('$work/source.time').read().split()[-2:]; \
print(f'{$messages/d:.0f} {$messages*$2/d/1e6:.1f} {float(u) + float(s):.2f}')"
}

# CPU seconds (user+sys) used so far by notaryd and by the cluster's processes.
cpu_of() { local s=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$s"; }
pg_pids() { pgrep -P "$(head -1 "$work/pg/data/postmaster.pid")" | tr '\n' ' '; }
tick=$(getconf CLK_TCK)

printf '%-8s %-26s %10s %8s\n' size target msgs/s MB/s
for size in 10240 102400; do
  n0=$(cpu_of "$notaryd_pid"); p0=$(cpu_of $(pg_pids))
  read -r n_rate n_mb n_src <<<"$(rate "$notary" "$size")"
  n1=$(cpu_of "$notaryd_pid"); p1=$(cpu_of $(pg_pids))
  k0=$(cpu_of "$sink_pid")
  read -r s_rate s_mb s_src <<<"$(rate "$sink" "$size")"
  k1=$(cpu_of "$sink_pid")
  read -r p_rate p_mb _ <<<"$(rate "$pfport" "$size")"
  printf '%-8s %-26s %10s %8s\n' "$size" "notaryd (durable)" "$n_rate" "$n_mb"
  printf '%-8s %-26s %10s %8s\n' "$size" "smtp-sink (stores nothing)" "$s_rate" "$s_mb"
  printf '%-8s %-26s %10s %8s\n' "$size" "Postfix smtpd + queue" "$p_rate" "$p_mb"
  python3 -c "print(f'{$size:<8} notaryd/smtp-sink = {$n_rate/$s_rate:.2f}   notaryd/postfix = {$n_rate/$p_rate:.2f}')"
  # Where the CPU goes per message while notaryd ingests (PostgreSQL: every server process,
  # backends of notaryd's pool, WAL writer, checkpointer and autovacuum included).
  python3 -c "print(f'{$size:<8} CPU per message: notaryd {($n1-$n0)/$tick/$messages*1e6:.0f} us, PostgreSQL {($p1-$p0)/$tick/$messages*1e6:.0f} us, smtp-source {$n_src/$messages*1e6:.0f} us')"
  # The budget half of smtp-sink's rate leaves on this machine's cores: what notaryd and
  # PostgreSQL together may spend per message after smtp-source's share (measured as it
  # sends to notaryd), next to smtp-sink's own CPU per message.
  python3 -c "b = $(nproc) / (0.5 * $s_rate) * 1e6 - $n_src / $messages * 1e6; \
print(f'{$size:<8} at 0.5 x smtp-sink on $(nproc) cores: {b:.0f} us per message for notaryd + PostgreSQL; smtp-sink itself used {($k1-$k0)/$tick/$messages*1e6:.0f} us, smtp-source {$s_src/$messages*1e6:.0f} us')"
done
stored=$(psql -X -At "$("$here/scripts/pg" url super)" -c "SELECT count(*) FROM receipts")
echo "receipts stored by notaryd: $stored (expected $((2 * messages)))"
echo "notaryd peak RSS: $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$notaryd_pid/status)"
