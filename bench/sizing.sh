#!/usr/bin/env bash
# Storage per message (docs/operations.md, "Sizing"): sends MESSAGES unique messages of each of
# two kinds through notaryd over SMTP, waits until all are sealed, and prints what the database
# grew by (all tables and indexes, from pg_database_size and pg_total_relation_size) and the WAL
# written, per message and per million, next to the reference measured in the same run: the
# raw bytes of the messages themselves, what a plain Maildir of the same mail would hold.
#
#   bench/sizing.sh [MESSAGES]      BUILD_DIR=build   (default 5000 per kind)
# Kinds: "text" (a plain and an HTML alternative, about 4 KB) and "attachment" (a short text
# and a 72 KB binary attachment, base64, about 100 KB). Every message is unique (random words
# and bytes), so nothing is deduplicated; bodies are stored encrypted, so nothing compresses.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
messages=${1:-5000}
[ -x "$build/notaryd/notaryd" ] || { echo "sizing: build notaryd first" >&2; exit 1; }
bench_start sizing-bench
smtp=$(port); http=$(port)
"$build/notaryd/notaryd" --sender-checks false --database-url "$app" --owner-database-url "$owner" \
  --data-dir "$work/notaryd" --http-listen "127.0.0.1:$http" --smtp-listen "127.0.0.1:$smtp" \
  --log-level warn > "$work/notaryd.log" 2>&1 &
pids+=($!)
wait_port "$smtp"
super=$("$here/scripts/pg" url super)
sql() { psql -X -At "$super" -c "$1"; }
pending() { curl -sf "http://127.0.0.1:$http/metrics" | sed -n 's/^receipts_pending \([0-9]*\)$/\1/p'; }

echo "notary storage per message ($messages unique messages per kind, $(nproc) CPUs)"
printf '%-11s %10s %10s %10s %8s %10s %12s\n' kind "raw B/msg" "db B/msg" "overhead" "db/raw" \
  "WAL B/msg" "db GB/1M msg"
for kind in text attachment; do
  # Settle: everything sealed, then a checkpoint, so each kind is measured alone.
  sql "CHECKPOINT" > /dev/null
  db0=$(sql "SELECT pg_database_size('notary')")
  wal0=$(sql "SELECT pg_current_wal_lsn()")
  raw=$(/usr/bin/python3 - "$smtp" "$messages" "$kind" <<'PY'
import base64, os, random, smtplib, sys, threading
port, n, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
words = [w for w in open("/usr/share/dict/words").read().split() if w.isalpha()] if os.path.exists("/usr/share/dict/words") else None
def text(rnd, size):
    out = []
    while sum(len(w) + 1 for w in out) < size:
        out.append(rnd.choice(words) if words else "%x" % rnd.getrandbits(24))
    lines, line = [], ""
    for w in out:
        if len(line) + len(w) > 70: lines.append(line); line = ""
        line += w + " "
    return "\r\n".join(lines + [line])
def message(i):
    rnd = random.Random(i * 7919 + (0 if kind == "text" else 1))
    head = ("From: Sender %d <sender%d@example.com>\r\nTo: Recipient <r%d@example.org>\r\n"
            "Subject: %s %d\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
            "Message-ID: <%s-%d@example.com>\r\nMIME-Version: 1.0\r\n" %
            (i % 97, i % 97, i % 89, kind, i, kind, i))
    if kind == "text":
        body = text(rnd, 1500)
        return (head + 'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n--b\r\n"
                "Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" + body +
                "</p></body></html>\r\n--b--\r\n")
    att = base64.encodebytes(rnd.randbytes(72 * 1024)).decode().replace("\n", "\r\n")
    return (head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text(rnd, 600) + "\r\n--b\r\n"
            'Content-Type: application/pdf; name="report-%d.pdf"\r\n'
            'Content-Disposition: attachment; filename="report-%d.pdf"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n%s--b--\r\n" % (i, i, att))
total, lock = [0], threading.Lock()
def worker(k):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    for i in range(k, n, 8):
        m = message(i).encode()
        s.sendmail("sender@example.com", ["r@example.org"], m)
        with lock: total[0] += len(m)
    s.quit()
ts = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(total[0])
PY
)
  for _ in $(seq 1 1200); do [ "$(pending)" = 0 ] && break; sleep 0.1; done
  [ "$(pending)" = 0 ] || { echo "sizing: mail still pending after 120 s" >&2; exit 1; }
  sql "CHECKPOINT" > /dev/null
  db1=$(sql "SELECT pg_database_size('notary')")
  wal=$(sql "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0')")
  awk -v k="$kind" -v n="$messages" -v raw="$raw" -v db="$((db1 - db0))" -v wal="$wal" 'BEGIN {
    printf "%-11s %10.0f %10.0f %10.0f %8.2f %10.0f %12.1f\n", k, raw / n, db / n,
      (db - raw) / n, db / raw, wal / n, db / n * 1e6 / 1e9 }'
done
echo
echo "largest relations after both kinds (tables with their indexes and TOAST):"
sql "SELECT format('  %-22s %8s', c.relname, pg_size_pretty(pg_total_relation_size(c.oid)))
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r'
      ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 8"
