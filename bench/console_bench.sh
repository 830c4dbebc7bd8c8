#!/usr/bin/env bash
# console_bench.sh: the web console's speed in headless Chromium (docs/benchmarks.md, "Web
# console"): first render of the search page and of a 1,000-row result page, and in-browser
# verification of a bundle with a 10 MB attachment next to notary-verify on the same bundle.
#
#   bench/console_bench.sh BUILD_DIR
#
# BUILD_DIR holds notaryd/notaryd, cli/notaryctl and cli/notary-verify (use an optimised build).
# Starts its own PostgreSQL (scripts/pg in a temporary folder) and notaryd on loopback, puts
# 1,000 messages and one with a 10 MB attachment in over HTTP, then runs console_bench.mjs.
set -euo pipefail
build=$(cd "${1:?usage: console_bench.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
chmod 755 "$work"
export NOTARY_PG_DIR=$work/pg
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  "$here/scripts/pg" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$here/scripts/pg" start >/dev/null
app=$("$here/scripts/pg" url app)
owner=$("$here/scripts/pg" url owner)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http=$(port)
smtp=$(port)
"$build/notaryd/notaryd" --sender-checks false --database-url "$app" --owner-database-url "$owner" \
  --data-dir "$work/data" --smtp-listen "127.0.0.1:$smtp" --http-listen "127.0.0.1:$http" \
  --node-name bench --origin notary.bench/log --batch-interval-ms 200 --log-level warn \
  --rate-limit 1000000 \
  > "$work/notaryd.log" 2>&1 &
pid=$!
url=http://127.0.0.1:$http
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
key=$("$build/cli/notaryctl" --database-url "$app" apikey create --tenant default \
  --scope ingest,read | tail -n 1)

# 1,000 small messages (two curl processes at a time) and one with a 10 MB attachment.
seq 1000 | xargs -P 2 -I{} sh -c "printf 'From: a@example.org\r\nTo: b@example.org\r\nSubject: bench {}\r\nMessage-ID: <bench-{}@example.org>\r\n\r\nbody {}\r\n' |
  curl -sf -o /dev/null -H 'Authorization: Bearer $key' -H 'Content-Type: message/rfc822' --data-binary @- $url/v1/messages"
python3 - "$work/big.eml" <<'PY'
import base64, os, sys
data = os.urandom(10 * 1024 * 1024)
b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
msg = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: ten megabytes\r\n"
       b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
       b"--b\r\nContent-Type: text/plain\r\n\r\nSee attachment.\r\n"
       b"--b\r\nContent-Type: application/octet-stream\r\n"
       b"Content-Disposition: attachment; filename=\"big.bin\"\r\n"
       b"Content-Transfer-Encoding: base64\r\n\r\n" + b64 + b"--b--\r\n")
open(sys.argv[1], "wb").write(msg)
PY
big=$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: message/rfc822' \
  --data-binary @"$work/big.eml" "$url/v1/messages" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -o "$work/big.zip" -H "Authorization: Bearer $key" "$url/v1/messages/$big/evidence?wait=60"
ls -l "$work/big.zip" | awk '{print "bundle: " $5 " bytes"}'

CONSOLE_URL=$url READ_KEY=$key BUNDLE=$work/big.zip NOTARY_VERIFY=$build/cli/notary-verify \
  TSA_CA=$work/data/tsa/ca.pem node "$here/bench/console_bench.mjs"
