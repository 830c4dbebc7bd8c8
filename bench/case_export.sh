#!/usr/bin/env bash
# A case's production (issue 23, docs/cases.md): N distinct messages of 10 KB sent over SMTP,
# sealed, put in one case, then GET /v1/cases/{id}/export timed next to Info-ZIP's `zip` of
# the same natives in the same run; notaryd's resident memory sampled during the export.
#   bench/case_export.sh [N]    BUILD_DIR=build
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-10000}
bench_start case-export
"$build/cli/notaryctl" --database-url "$app" --owner-database-url "$owner" migrate >/dev/null
key=$("$build/cli/notaryctl" --database-url "$app" apikey create --tenant default \
  --scope ingest,read,cases | tail -1)
http=$(port)
smtp=$(port)
"$build/notaryd/notaryd" --sender-checks false --database-url "$app" --owner-database-url "$owner" \
  --data-dir "$work/data" --http-listen "127.0.0.1:$http" --smtp-listen "127.0.0.1:$smtp" \
  --rate-limit 1000000 --log-level warn > "$work/notaryd.log" 2>&1 &
notaryd_pid=$!
pids+=($notaryd_pid)
wait_port "$http"
wait_port "$smtp"

# Distinct messages (each its own words), kept as files for the reference, sent over SMTP on
# four connections.
mkdir -p "$work/natives"
python3 - "$n" "$smtp" "$work/natives" <<'PY'
import random, smtplib, sys, threading
n, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(7)
words = ["contract", "delivery", "invoice", "widget", "schedule", "payment", "clause",
         "meeting", "draft", "approval", "shipment", "penalty", "warranty", "notice"]
msgs = []
for i in range(n):
    body = []
    size = 0
    while size < 10000:
        line = " ".join(rng.choice(words) for _ in range(10)) + "\r\n"
        body.append(line)
        size += len(line)
    m = ("From: sender%d@firm.example\r\nTo: client%d@client.example\r\nSubject: matter %d\r\n"
         "Message-ID: <m%d@firm.example>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\n"
         % (i % 50, i % 70, i, i)) + "".join(body)
    open("%s/%06d.eml" % (out, i), "w", newline="").write(m)
    msgs.append(m)
def send(part):
    s = smtplib.SMTP("127.0.0.1", port)
    for m in part:
        s.sendmail("sender@firm.example", ["client@client.example"], m.encode())
    s.quit()
threads = [threading.Thread(target=send, args=(msgs[k::4],)) for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
PY
api() { curl -sf -H "Authorization: Bearer $key" "$@"; }
# Every message sealed and time-stamped: the newest one's bundle is served.
last=$(api "http://127.0.0.1:$http/v1/messages?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
api -o /dev/null "http://127.0.0.1:$http/v1/messages/$last/evidence?wait=60"
while [ "$(api "http://127.0.0.1:$http/v1/messages?status=pending&limit=1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" != 0 ]; do
  sleep 1
done
case_id=$(api -H 'Content-Type: application/json' -d '{"name":"bench"}' \
  "http://127.0.0.1:$http/v1/cases" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
added=$(api -H 'Content-Type: application/json' -d '{"query":{}}' \
  "http://127.0.0.1:$http/v1/cases/$case_id/messages" | python3 -c 'import json,sys; print(json.load(sys.stdin)["receipts"])')

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$notaryd_pid/status"; }
base=$(rss_kb)
peak=$base
t0=$(date +%s.%N)
api -o "$work/case.zip" "http://127.0.0.1:$http/v1/cases/$case_id/export?bates_prefix=BENCH" &
curl_pid=$!
while kill -0 "$curl_pid" 2>/dev/null; do
  r=$(rss_kb); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.1
done
wait "$curl_pid"
t1=$(date +%s.%N)
z0=$(date +%s.%N)
(cd "$work" && zip -q -r natives.zip natives)
z1=$(date +%s.%N)
# notary-verify of the production on one thread and on every core, next to Info-ZIP's
# `unzip -tq` (every entry's CRC) of the same zip: wall seconds and CPU seconds (user + sys).
timed() {
  local TIMEFORMAT='%R %U %S' rc=0
  { time "$@" >"$work/verify.out" 2>&1 || rc=$?; } 2>"$work/time"
  if [ "$rc" != 0 ]; then tail -5 "$work/verify.out" >&2; echo "failed: $*" >&2; exit 1; fi
  awk '{printf "%s %.2f", $1, $2 + $3}' "$work/time"
}
# The floor of any implementation: Info-ZIP given the production's own content as files (every
# bundle unpacked into its folder, the natives, the mailbox, the lists; the certificate left
# out), and the same without the bundles: what must be compressed whatever builds it.
mkdir "$work/content"
(cd "$work/content" && unzip -q "$work/case.zip" && rm -f certificate.pdf &&
  for z in bundles/*.zip; do mkdir "${z%.zip}" && unzip -q "$z" -d "${z%.zip}" && rm "$z"; done)
c0=$(date +%s.%N)
(cd "$work/content" && zip -q -r "$work/content.zip" .)
c1=$(date +%s.%N)
(cd "$work/content" && zip -q -r "$work/content-no-bundles.zip" . -x 'bundles/*')
c2=$(date +%s.%N)
v1=$(timed "$build/cli/notary-verify" --threads 1 "$work/case.zip")
vn=$(timed "$build/cli/notary-verify" "$work/case.zip")
ut=$(timed unzip -tq "$work/case.zip")
python3 - "$added" "$t0" "$t1" "$z0" "$z1" "$base" "$peak" "$(stat -c %s "$work/case.zip")" \
  "$(stat -c %s "$work/natives.zip")" "$v1" "$vn" "$ut" "$(nproc)" "$c0" "$c1" "$c2" <<'PY'
import sys
n, t0, t1, z0, z1, base, peak, size, zsize, v1, vn, ut, cores, c0, c1, c2 = sys.argv[1:]
export, ref = float(t1) - float(t0), float(z1) - float(z0)
print(f"case of {n} messages of 10 KB")
print(f"export (GET /v1/cases/{{id}}/export): {export:.2f} s, {int(size)/1e6:.0f} MB")
print(f"Info-ZIP zip -r of the natives:       {ref:.2f} s, {int(zsize)/1e6:.0f} MB")
print(f"ratio: {export/ref:.1f} x (issue 23 target: at most 3 x)")
whole, lists = float(c1) - float(c0), float(c2) - float(c1)
print(f"Info-ZIP zip -r of the production's content, bundles unpacked: {whole:.2f} s "
      f"({whole/ref:.1f} x the natives; the export is {export/whole:.2f} x this)")
print(f"  the same without the bundles (natives, mailbox, lists, custody): {lists:.2f} s "
      f"({lists/ref:.1f} x the natives)")
print(f"notaryd resident memory: {int(base)/1024:.0f} MB before, peak {int(peak)/1024:.0f} MB during the export (target: under 200 MB)")
(w1, c1), (wn, cn), (wu, cu) = ([float(x) for x in v.split()] for v in (v1, vn, ut))
print(f"notary-verify case.zip, 1 thread:        {w1:.2f} s wall, {c1:.2f} s CPU")
print(f"notary-verify case.zip, {cores} threads (default): {wn:.2f} s wall, {cn:.2f} s CPU "
      f"({cn/wn:.2f} cores busy, {w1/wn:.2f} x faster)")
print(f"Info-ZIP unzip -tq case.zip:            {wu:.2f} s wall ({wn/wu:.0f} x for notary-verify)")
PY
