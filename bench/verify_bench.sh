#!/bin/sh
# verify_bench.sh: wall time of notary-verify per bundle, as a whole process (start-up,
# reading the zip, canonicalisation, every signature, token and proof check).
#
#   bench/verify_bench.sh TEST_BUILD_DIR VERIFY_BINARY
#
# TEST_BUILD_DIR holds tests/evidence_tests (any build type): its bundle test writes the
# bundle, pinned fingerprint and TSA root used here. VERIFY_BINARY is the notary-verify to
# time (use an optimised build, e.g. -DNOTARY_VERIFY_ONLY=ON, RelWithDebInfo by default).
# Needs hyperfine (apt-get install hyperfine).
set -eu
test_build=${1:?usage: verify_bench.sh TEST_BUILD_DIR VERIFY_BINARY}
verify=${2:?usage: verify_bench.sh TEST_BUILD_DIR VERIFY_BINARY}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bundle=$work/evidence.zip
NOTARY_BUNDLE_OUT=$bundle "$test_build/tests/evidence_tests" \
  --gtest_filter='BundleCliTest.ValidBundleExitsZeroWithOneLinePerCheck' > /dev/null
fp=$(cat "$bundle.fingerprint")
ls -l "$bundle"

# Reference: the cost of starting a process that does nothing.
hyperfine -N --warmup 5 --runs 200 \
  --command-name 'true (process start-up)' 'true' \
  --command-name 'notary-verify (self-declared key)' "$verify $bundle" \
  --command-name 'notary-verify --fingerprint --tsa-ca' \
  "$verify $bundle --fingerprint $fp --tsa-ca $bundle.tsa-ca.pem" \
  --command-name 'notary-verify --json --fingerprint --tsa-ca' \
  "$verify $bundle --json --fingerprint $fp --tsa-ca $bundle.tsa-ca.pem"
