#!/usr/bin/env bash
# The packaging (issue 24): the systemd units pass `systemd-analyze verify`, the default
# configuration file is one notaryd reads, and cpack makes the two Debian packages with what
# they must hold: email-notary the server programs, units, sysusers/tmpfiles entries, the
# configuration (a conffile) and man pages; notary-verify the verifier alone, without the
# server's libraries, whose binary, extracted from the package, verifies a bundle.
#   package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
mkdir -p "$build/tmp"
work=$(mktemp -d "$build/tmp/package-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. The units, with ExecStart pointing at this build's programs (verify checks they exist).
mkdir "$work/units"
for u in "$src"/packaging/systemd/*.service; do
  sed -e "s|/usr/bin/notaryd|$build/notaryd/notaryd|" \
      -e "s|/usr/bin/notary-milter|$build/plugin/notary-milter|" \
      -e "s|/usr/bin/notary-signer|$build/signer/notary-signer|" "$u" >"$work/units/$(basename "$u")"
done
out=$(cd "$work/units" && systemd-analyze verify --man=no ./*.service 2>&1) ||
  fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
for key in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes; do
  for u in "$src"/packaging/systemd/*.service; do
    grep -qx "$key" "$u" || fail "$(basename "$u") lacks $key"
  done
done
# The milter's socket is inside the chroot of Debian's smtpd, in a directory of group postfix.
grep -q 'listen unix:/var/spool/postfix/notary-milter/milter.sock' \
  "$src/packaging/systemd/notary-milter.service" || fail "the milter's socket is not in Postfix's chroot"
grep -qx 'd /var/spool/postfix/notary-milter 0750 notary-milter postfix -' \
  "$src/packaging/tmpfiles-notary.conf" || fail "the milter's socket directory is not 0750 postfix"
grep -qx 'smtpd_milters = unix:/notary-milter/milter.sock' "$src/docs/examples/postfix/milter-main.cf" ||
  fail "docs/examples/postfix/milter-main.cf names another socket than the unit"

# 2. The default configuration is read (an unknown key would stop notaryd before the database).
cfg_out=$("$build/notaryd/notaryd" --config "$src/packaging/etc/notaryd.conf" \
  --database-url "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1" \
  --data-dir "$work/data" 2>&1) && fail "notaryd started without a database"
grep -qi "database" <<<"$cfg_out" || fail "notaryd did not get past its configuration: $cfg_out"

# 3. The packages.
(cd "$build" && cpack -G DEB -B "$work/debs" >"$work/cpack.log" 2>&1) ||
  fail "cpack: $(tail -5 "$work/cpack.log")"
server=$(ls "$work"/debs/email-notary_*.deb)
verify=$(ls "$work"/debs/notary-verify_*.deb)
contents=$(dpkg-deb -c "$server" | awk '{print $6}')
for f in ./usr/bin/notaryd ./usr/bin/notaryctl ./usr/bin/notary-milter ./usr/bin/notary-signer \
         ./usr/bin/notary-witness ./usr/lib/systemd/system/notaryd.service \
         ./usr/lib/systemd/system/notary-milter.service ./usr/lib/systemd/system/notary-signer.service \
         ./usr/lib/sysusers.d/email-notary.conf ./usr/lib/tmpfiles.d/email-notary.conf \
         ./etc/notary/notaryd.conf ./usr/share/man/man1/notaryd.1 ./usr/share/man/man1/notaryctl.1; do
  grep -qx "$f" <<<"$contents" || fail "email-notary lacks $f"
done
grep -q notary-verify <<<"$contents" && fail "email-notary carries notary-verify"
mkdir "$work/control"
dpkg-deb -e "$server" "$work/control"
grep -qx /etc/notary/notaryd.conf "$work/control/conffiles" || fail "notaryd.conf is not a conffile"
vcontents=$(dpkg-deb -c "$verify" | awk '{print $6}' | grep -v '/$')
[ "$(sort <<<"$vcontents")" = "$(printf './usr/bin/notary-verify\n./usr/share/man/man1/notary-verify.1\n')" ] ||
  fail "notary-verify holds more than the verifier and its man page: $vcontents"
depends=$(dpkg-deb -f "$verify" Depends)
for lib in libpq libpqxx httplib spdlog libmilter libunbound; do
  grep -q "$lib" <<<"$depends" && fail "notary-verify depends on $lib: $depends"
done
dpkg-deb -x "$verify" "$work/root"
verdict=$("$work/root/usr/bin/notary-verify" "$src/tests/fuzz/corpus/bundle/evidence.zip" || true)
grep -q "VERDICT: VALID" <<<"$verdict" || fail "the packaged notary-verify: $verdict"
echo "units verified; $(basename "$server") ($(wc -l <<<"$contents") entries), $(basename "$verify") verifies a bundle"
