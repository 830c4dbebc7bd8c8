#!/usr/bin/env bash
# Postfix throughput with and without notary-milter, in one run:
#   1. no milter
#   2. notary-milter --mode fail-open (forwarding paced: after the burst)
#   3. fail-open with pacing off (--forward-quiet-ms 0): forwarding during the burst
#   4. notary-milter --mode fail-closed
#   5. fail-open while notaryd is away (spool-only: the milter's own cost in the SMTP path)
#   6. bench/noop_milter: the same milter events to a milter that does nothing (the floor
#      of any libmilter plugin on this machine)
# The milters listen on a Unix socket, as a milter on the MTA's own host is deployed
# (MILTER_SOCKET=inet: loopback TCP instead).
# A private PostgreSQL, notaryd, smtp-sink (the next hop) and a private Postfix, all on
# loopback; smtp-source sends MESSAGES messages of SIZE bytes over SESSIONS parallel
# sessions. Prints per setup: messages/s accepted by Postfix, the ratio to no milter, and
# the CPU time (user+sys, ms per message) each component used while Postfix was accepting:
# wall-clock moves with the machine's load, CPU time much less.
# After fail-open it waits until the spool has drained and counts the receipts in the
# database: every message must have reached notaryd; the drain time is printed.
#
#   bench/milter_bench.sh [MESSAGES]      BUILD_DIR=build SESSIONS=20 SIZE=10240
#   MILTER_FLAGS="..." extra notary-milter flags for every milter run
#   MILTER_SOCKET=inet  the milters listen on loopback TCP instead of a Unix socket
#   SETUPS="none spool-only" runs only those (ratios only when none is among them)
#   ROUNDS=3            rounds of every setup; the cost printed is the median over rounds
#                       (each round starts one setup further along: ROUNDS=6 puts every
#                       setup once in every position)
# Needs root (Postfix's master), the build's notaryd, notaryctl, notary-milter, noop_milter.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
messages=${1:-5000}
rounds=${ROUNDS:-3}
sessions=${SESSIONS:-20}
size=${SIZE:-10240}
export PATH="/usr/sbin:$PATH"
for b in notaryd/notaryd cli/notaryctl plugin/notary-milter bench/noop_milter; do
  [ -x "$build/$b" ] || { echo "milter_bench: $build/$b missing; build it first" >&2; exit 1; }
done
pf_conf=""
bench_cleanup_hook() { [ -z "$pf_conf" ] || postfix -c "$pf_conf" stop >/dev/null 2>&1; }
bench_start milter-bench

# CPU ms (user+sys) of process trees: each pid with the children it reaped, plus its live
# descendants (which have not yet been counted in a parent).
cpu_ms() {
  python3 - "$@" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
def stat(pid):
    try:
        s = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()
    return int(f[1]), sum(int(x) for x in f[11:15])  # ppid, utime+stime+cutime+cstime
procs = {}
for p in os.listdir("/proc"):
    if p.isdigit() and (st := stat(p)):
        procs[int(p)] = st
children = {}
for pid, (ppid, _) in procs.items():
    children.setdefault(ppid, []).append(pid)
total, todo = 0, [int(p) for p in sys.argv[1:] if p]
while todo:
    pid = todo.pop()
    if pid in procs:
        total += procs[pid][1]
        todo += children.get(pid, [])
print(total * 1000 // hz)
PY
}
receipts() {
  psql -X -tA "$owner" -c "SELECT count(*) FROM receipts WHERE source = 'milter'" 2>/dev/null
}

"$build/cli/notaryctl" --database-url "$app" --owner-database-url "$owner" migrate >/dev/null
"$build/cli/notaryctl" --database-url "$app" apikey create --tenant default --scope ingest \
  | tail -1 > "$work/key"
chmod 600 "$work/key"

http=$(port); smtp=$(port); sink=$(port); milter=$(port); status=$(port); pfport=$(port)
mkdir -p "$work/notaryd"
"$build/notaryd/notaryd" --sender-checks false --database-url "$app" --owner-database-url "$owner" \
  --data-dir "$work/notaryd" --http-listen "127.0.0.1:$http" --smtp-listen "127.0.0.1:$smtp" \
  --rate-limit 1000000 --log-level warn > "$work/notaryd.log" 2>&1 &
notaryd_pid=$!
pids+=($notaryd_pid)
wait_port "$http"
pg_pid=$(head -1 "$work/pg/data/postmaster.pid")
smtp-sink -u postfix "127.0.0.1:$sink" 256 > "$work/sink.log" 2>&1 &
sink_pid=$!
pids+=($sink_pid)
wait_port "$sink"

run() {  # run NAME MILTER_FLAGS...   (NOTARY_URL overrides the notary the milter posts to)
  local name=$1; shift
  local d=$work/$name.$round mpid=""
  mkdir -p "$d/conf" "$d/queue" "$d/data"
  chown postfix "$d/data"
  local milters
  # The milter's socket: a Unix socket (Postfix's smtpd runs unchrooted here, so it can
  # reach it), or with MILTER_SOCKET=inet loopback TCP.
  local listen="inet:127.0.0.1:$milter" lib_listen="inet:$milter@127.0.0.1"
  milters="inet:127.0.0.1:$milter"
  if [ "${MILTER_SOCKET:-unix}" = unix ]; then
    listen="unix:$d/milter.sock" lib_listen="unix:$d/milter.sock" milters="unix:$d/milter.sock"
  fi
  if [ "${1:-}" = --noop ]; then
    "$build/bench/noop_milter" "$lib_listen" > "$d/milter.log" 2>&1 &
  elif [ $# -gt 0 ]; then
    # shellcheck disable=SC2086
    "$build/plugin/notary-milter" --listen "$listen" \
      --notary-url "${NOTARY_URL:-http://127.0.0.1:$http}" --api-key-file "$work/key" \
      --status-listen "127.0.0.1:$status" --log-level warn ${MILTER_FLAGS:-} "$@" \
      > "$d/milter.log" 2>&1 &
  else
    milters=""
  fi
  if [ -n "$milters" ]; then
    mpid=$!
    pids+=("$mpid")
    if [ "${MILTER_SOCKET:-unix}" = unix ]; then
      for _ in $(seq 1 100); do [ -S "$d/milter.sock" ] && break; sleep 0.1; done
      chmod 666 "$d/milter.sock"  # Postfix's smtpd runs as the postfix user
    else
      wait_port "$milter"
    fi
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
  local master r0 t0 t1 c0 c1
  master=$(head -1 "$d/queue/pid/master.pid" | tr -d ' ')
  r0=$(receipts)
  c0=$(cpu_ms "$master"; cpu_ms "$mpid"; cpu_ms "$notaryd_pid"; cpu_ms "$pg_pid"; cpu_ms "$sink_pid")
  t0=$(date +%s.%N)
  local src_ms
  src_ms=$( { /usr/bin/time -f '%U %S' smtp-source -s "$sessions" -l "$size" -m "$messages" \
    -f bench@example.com -t sink@example.net "127.0.0.1:$pfport" >/dev/null; } 2>&1 \
    | awk '{ printf "%d", ($1 + $2) * 1000 }')
  t1=$(date +%s.%N)
  c1=$(cpu_ms "$master"; cpu_ms "$mpid"; cpu_ms "$notaryd_pid"; cpu_ms "$pg_pid"; cpu_ms "$sink_pid")
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  # Fail-open: the spool must drain completely; every message must reach notaryd.
  local drain=""
  if [[ $name = fail-open* ]]; then
    local want=$((r0 + messages)) got
    for _ in $(seq 1 1200); do
      got=$(receipts)
      [ "$got" -ge "$want" ] && break
      sleep 0.25
    done
    drain=$(python3 -c "import time; print(f'{time.time() - $t1:.1f}')")
    got=$(receipts)
    drain="receipts $((got - r0))/$messages, all in notaryd ${drain} s after the last acceptance"
  fi
  postfix -c "$pf_conf" stop >/dev/null 2>&1 || true
  pf_conf=""
  local accepted refused
  accepted=$(grep -c "status=sent" "$d/maillog" || true)
  refused=$(grep -c "milter-reject\|451 4.3.0" "$d/maillog" || true)
  if [ -n "$mpid" ]; then kill "$mpid"; wait "$mpid" 2>/dev/null || true; fi
  rate=$(python3 -c "print(f'{$messages/($t1-$t0):.1f}')")
  printf '%-12s %8s msgs/s  (%d messages in %.2f s, %s relayed so far, %s refused; load %s)\n' \
    "$name" "$rate" "$messages" "$(python3 -c "print($t1-$t0)")" "$accepted" "$refused" "$load"
  python3 - "$messages" "$src_ms" $c0 $c1 <<'PY'
import sys
n, src = int(sys.argv[1]), int(sys.argv[2])
a = list(map(int, sys.argv[3:8])); b = list(map(int, sys.argv[8:13]))
d = [(y - x) / n for x, y in zip(a, b)]
print(f"             CPU ms/message: postfix {d[0]:.2f}  milter {d[1]:.2f}  notaryd {d[2]:.2f}  "
      f"postgres {d[3]:.2f}  smtp-source+sink {d[4] + src / n:.2f}  total {sum(d) + src / n:.2f}")
PY
  [ -z "$drain" ] || echo "             $drain"
  echo "$round $name $rate" >> "$work/rates"
}

echo "notary-milter benchmark: $messages messages x $size bytes, $sessions sessions," \
  "$rounds rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
setups=" ${SETUPS:-none fail-open fail-open-now fail-closed spool-only noop} "
# This machine's speed drifts by tens of percent from one minute to the next (a shared VM):
# every round runs each setup once, and each setup's cost is judged against
# the no-milter run of its own round; the median over rounds is the figure.
setup() {  # setup NAME: one run of that setup in the current round
  case $1 in
    none) run none ;;
    fail-open) run fail-open --mode fail-open --spool-dir "${SPOOL_DIR:-$work/spool}.$round" ;;
    # Fail-open forwarding at once instead of after the burst (pacing off): the cost while
    # notarising keeps pace with the mail, as under load longer than --forward-max-delay-ms.
    fail-open-now)
      run fail-open-now --mode fail-open --spool-dir "$work/spool3.$round" --forward-quiet-ms 0 ;;
    fail-closed) run fail-closed --mode fail-closed ;;
    # The milter's own cost in the SMTP path: fail-open while notaryd is away, so the
    # forwarder (and notaryd, and PostgreSQL) do not compete with Postfix for the cores.
    spool-only)
      NOTARY_URL="http://127.0.0.1:$(port)" run spool-only --mode fail-open \
        --spool-dir "$work/spool2.$round" ;;
    # The floor of any libmilter plugin: the same events delivered to a milter that does nothing.
    noop) run noop --noop ;;
  esac
}
read -r -a order <<< "$setups"
# Each round starts one setup further along the list, so that over as many rounds as there
# are setups each one runs once in every position: a setup's place in the round (right after
# another's burst, say) would otherwise be counted as its cost.
for round in $(seq 1 "$rounds"); do
  echo "-- round $round"
  n=${#order[@]}
  for i in $(seq 0 $((n - 1))); do setup "${order[$(((i + round - 1) % n))]}"; done
done
[[ $setups = *" none "* ]] || exit 0
python3 - "$work/rates" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    r, name, rate = line.split()
    rates.setdefault(name, {})[int(r)] = float(rate)
none = rates.pop("none")
what = {"fail-open": "target <= 20 %", "fail-open-now": "fail-open, forwarding at once",
        "fail-closed": "target <= 50 %", "spool-only": "fail-open, notaryd away",
        "noop": "a libmilter milter that does nothing"}
for name, per_round in rates.items():
    costs = [1 - rate / none[r] for r, rate in sorted(per_round.items())]
    print(f"{name:<14} cost median {statistics.median(costs):6.1%}  (rounds: "
          + ", ".join(f"{c:.0%}" for c in costs) + f")  {what.get(name, '')}")
PY
