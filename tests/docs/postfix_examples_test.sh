#!/usr/bin/env bash
# The Postfix, Exim, Sendmail and notaryd snippets of docs/mail-server-setup.md are files under
# docs/examples/: each must appear in the guide as written, and Postfix must read its own as
# intended (Exim's and Sendmail's are run by tests/plugin/). Checked on a
# scratch configuration with `postconf -c`: no warning, and every parameter has exactly the
# value the guide means (a "# comment" after a value would become part of it, silently).
set -euo pipefail
src=${NOTARY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ex=$src/docs/examples/postfix
guide=$src/docs/mail-server-setup.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# 1. The guide shows each file as it is (indented four spaces, consecutive lines).
for f in postfix/bcc-main.cf postfix/transport postfix/notary-transport-master.cf \
         postfix/notary_tls_policy postfix/transport-notary postfix/milter-main.cf \
         notary/notaryd.conf exim/notary-router.conf exim/notary-transport.conf \
         sendmail/notary-milter.mc http/post-message.sh notary-milter/start.sh; do
  /usr/bin/python3 - "$guide" "$ex/../$f" <<'PY' || bad "docs/mail-server-setup.md does not show docs/examples/$f as written"
import sys
guide, snippet = open(sys.argv[1]).read(), open(sys.argv[2]).read()
block = "".join("    " + line if line.strip() else line for line in snippet.splitlines(True))
sys.exit(0 if block in guide else 1)
PY
done

# 2. Each main.cf snippet on a scratch configuration: postconf warns about nothing and reads
#    the intended values.
check() {  # check SNIPPET PARAM=VALUE...
  local snippet=$1; shift
  local dir=$work/$(basename "$snippet")
  mkdir -p "$dir"
  : > "$dir/main.cf"
  printf 'smtp inet n - n - - smtpd\n' > "$dir/master.cf"
  cat "$ex/$snippet" >> "$dir/main.cf"
  local out err
  for kv in "$@"; do
    local name=${kv%%=*} want=${kv#*=}
    out=$(postconf -c "$dir" -h "$name" 2>"$dir/err") || bad "$snippet: postconf $name failed: $(cat "$dir/err")"
    err=$(cat "$dir/err")
    [ -z "$err" ] || bad "$snippet: postconf warns: $err"
    [ "$out" = "$want" ] || bad "$snippet: $name is \"$out\", meant \"$want\""
  done
  err=$(postconf -c "$dir" -n 2>&1 >/dev/null)
  [ -z "$err" ] || bad "$snippet: postconf -n warns: $err"
}
check bcc-main.cf always_bcc=notary@notary.invalid transport_maps=hash:/etc/postfix/transport
check milter-main.cf smtpd_milters=unix:/notary-milter/milter.sock \
  'non_smtpd_milters=$smtpd_milters' milter_default_action=tempfail milter_content_timeout=60s

# 3. The transport map compiles, and answers for the notary's address.
cp "$ex/transport" "$work/transport"
postmap -c "$work/bcc-main.cf" "hash:$work/transport" 2>"$work/postmap.err" ||
  bad "postmap transport: $(cat "$work/postmap.err")"
got=$(postmap -c "$work/bcc-main.cf" -q notary.invalid "hash:$work/transport" 2>&1) || true
[ "$got" = "smtp:[192.0.2.10]:2525" ] || bad "transport map answers \"$got\" for notary.invalid"

# The TLS policy map and the transport map of the dedicated transport compile and answer.
for map in notary_tls_policy transport-notary; do
  cp "$ex/$map" "$work/$map"
  postmap -c "$work/bcc-main.cf" "hash:$work/$map" 2>"$work/postmap.err" ||
    bad "postmap $map: $(cat "$work/postmap.err")"
done
got=$(postmap -c "$work/bcc-main.cf" -q "[192.0.2.10]:2525" "hash:$work/notary_tls_policy" 2>&1) || true
[ "$got" = "secure match=notary.example.com" ] || bad "the TLS policy answers \"$got\""
got=$(postmap -c "$work/bcc-main.cf" -q notary.invalid "hash:$work/transport-notary" 2>&1) || true
[ "$got" = "notary:[192.0.2.10]:2525" ] || bad "transport-notary answers \"$got\""

# 4. The dedicated transport in master.cf: the entry parses, with its overrides.
dir=$work/master
mkdir -p "$dir"
: > "$dir/main.cf"
{ printf 'smtp inet n - n - - smtpd\n'; cat "$ex/notary-transport-master.cf"; } > "$dir/master.cf"
for kv in smtp_tls_security_level=encrypt \
          smtp_tls_policy_maps=hash:/etc/postfix/notary_tls_policy \
          smtp_tls_CAfile=/etc/ssl/certs/ca-certificates.crt smtp_connection_cache_on_demand=yes; do
  name=${kv%%=*} want=${kv#*=}
  out=$(postconf -c "$dir" -P "notary/unix/$name" 2>"$dir/err") || bad "master.cf: $(cat "$dir/err")"
  [ -z "$(cat "$dir/err")" ] || bad "master.cf: postconf warns: $(cat "$dir/err")"
  [ "$out" = "notary/unix/$name = $want" ] || bad "master.cf: notary/unix/$name is \"$out\""
done
want="notary/unix/command = smtp -o smtp_tls_security_level=encrypt -o smtp_tls_policy_maps=hash:/etc/postfix/notary_tls_policy -o smtp_tls_CAfile=/etc/ssl/certs/ca-certificates.crt -o smtp_connection_cache_on_demand=yes"
[ "$(postconf -c "$dir" -F notary/unix/command 2>&1)" = "$want" ] ||
  bad "master.cf: the notary service is not smtp with its four overrides"

[ "$fail" = 0 ] && echo "postfix examples: OK"
exit "$fail"
