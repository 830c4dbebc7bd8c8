#!/usr/bin/env bash
# Postfix throughput with and without notary-milter, in one run:
#   1. no milter   2. notary-milter --mode fail-open   3. notary-milter --mode fail-closed
# A private PostgreSQL, notaryd, smtp-sink (the next hop) and a private Postfix, all on
# loopback; smtp-source sends MESSAGES messages of SIZE bytes over SESSIONS parallel
# sessions. Prints messages/s accepted by Postfix per setup and the ratios to no milter.
#
#   bench/milter_bench.sh [MESSAGES]      BUILD_DIR=build SESSIONS=20 SIZE=10240
# Needs root (Postfix's master), the build's notaryd, notaryctl and notary-milter.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build}
[[ $build = /* ]] || build=$here/$build
messages=${1:-5000}
sessions=${SESSIONS:-20}
size=${SIZE:-10240}
export PATH="/usr/sbin:$PATH"
for b in server/notaryd cli/notaryctl plugin/notary-milter; do
  [ -x "$build/$b" ] || { echo "milter_bench: $build/$b missing; build it first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/milter-bench.XXXXXX)
chmod 755 "$work"
pids=()
pf_conf=""
cleanup() {
  [ -n "$pf_conf" ] && postfix -c "$pf_conf" stop >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  NOTARY_PG_DIR=$work/pg "$here/scripts/pg" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "milter_bench: nothing listens on port $1" >&2
  return 1
}

export NOTARY_PG_DIR=$work/pg
"$here/scripts/pg" start >/dev/null
app=$("$here/scripts/pg" url app)
owner=$("$here/scripts/pg" url owner)
"$build/cli/notaryctl" --database-url "$app" --owner-database-url "$owner" migrate >/dev/null
"$build/cli/notaryctl" --database-url "$app" apikey create --tenant default --scope ingest \
  | tail -1 > "$work/key"
chmod 600 "$work/key"

http=$(port); smtp=$(port); sink=$(port); milter=$(port); pfport=$(port)
mkdir -p "$work/notaryd"
"$build/server/notaryd" --database-url "$app" --owner-database-url "$owner" \
  --data-dir "$work/notaryd" --http-listen "127.0.0.1:$http" --smtp-listen "127.0.0.1:$smtp" \
  --rate-limit 1000000 --log-level warn > "$work/notaryd.log" 2>&1 &
pids+=($!)
wait_port "$http"
smtp-sink -u postfix "127.0.0.1:$sink" 256 > "$work/sink.log" 2>&1 &
pids+=($!)
wait_port "$sink"

run() {  # run NAME MILTER_FLAGS...   (NOTARY_URL overrides the notary the milter posts to)
  local name=$1; shift
  local d=$work/$name mpid=""
  mkdir -p "$d/conf" "$d/queue" "$d/data"
  chown postfix "$d/data"
  local milters=""
  if [ $# -gt 0 ]; then
    "$build/plugin/notary-milter" --listen "inet:127.0.0.1:$milter" \
      --notary-url "${NOTARY_URL:-http://127.0.0.1:$http}" --api-key-file "$work/key" --log-level warn "$@" \
      > "$d/milter.log" 2>&1 &
    mpid=$!
    pids+=("$mpid")
    wait_port "$milter"
    milters="inet:127.0.0.1:$milter"
  fi
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
relayhost = [127.0.0.1]:$sink
smtp_dns_support_level = disabled
smtp_tls_security_level = none
alias_maps =
alias_database =
local_recipient_maps =
maillog_file_prefixes = /
maillog_file = $d/maillog
smtpd_milters = $milters
milter_default_action = tempfail
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
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
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
  local t0 t1
  t0=$(date +%s.%N)
  smtp-source -s "$sessions" -l "$size" -m "$messages" -f bench@example.com \
    -t sink@example.net "127.0.0.1:$pfport"
  t1=$(date +%s.%N)
  postfix -c "$pf_conf" stop >/dev/null 2>&1 || true
  pf_conf=""
  local accepted refused
  accepted=$(grep -c "status=sent" "$d/maillog" || true)
  refused=$(grep -c "milter-reject\|451 4.3.0" "$d/maillog" || true)
  if [ -n "$mpid" ]; then kill "$mpid"; wait "$mpid" 2>/dev/null || true; fi
  rate=$(python3 -c "print(f'{$messages/($t1-$t0):.1f}')")
  printf '%-12s %8s msgs/s  (%d messages in %.2f s, %s relayed so far, %s refused)\n' \
    "$name" "$rate" "$messages" "$(python3 -c "print($t1-$t0)")" "$accepted" "$refused"
  eval "rate_${name//-/_}=$rate"
}

echo "notary-milter benchmark: $messages messages x $size bytes, $sessions sessions"
run none
run fail-open --mode fail-open --spool-dir "${SPOOL_DIR:-$work/spool}"
run fail-closed --mode fail-closed
# The milter's own cost in the SMTP path: fail-open while notaryd is away, so the forwarder
# (and notaryd, and PostgreSQL) do not compete with Postfix for this machine's cores.
NOTARY_URL="http://127.0.0.1:$(port)" run spool-only --mode fail-open --spool-dir "$work/spool2"
python3 - "$rate_none" "$rate_fail_open" "$rate_fail_closed" "$rate_spool_only" <<'PY'
import sys
none, fo, fc, so = map(float, sys.argv[1:])
print(f"fail-open   {fo/none:6.1%} of no-milter throughput (cost {1-fo/none:5.1%}, target <= 20 %)")
print(f"fail-closed {fc/none:6.1%} of no-milter throughput (cost {1-fc/none:5.1%}, target <= 50 %)")
print(f"spool-only  {so/none:6.1%} of no-milter throughput (cost {1-so/none:5.1%}: fail-open, notaryd away)")
PY
