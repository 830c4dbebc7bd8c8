#!/usr/bin/env bash
# notary-witness's add-checkpoint logic (issue 19: at least 2,000 checkpoints per CPU-second),
# next to `openssl speed -seconds 3 ed25519` measured in the same run. Every add-checkpoint
# verifies one Ed25519 signature (the log's) and makes one (the cosignature), so OpenSSL's
# verify+sign rate, 1 / (1/sign + 1/verify), is the ceiling the witness can approach.
#
#   bench/witness_bench.sh [CHECKPOINTS] [FSYNC_CHECKPOINTS]      BUILD_DIR=build
#
# The fsync'd run writes under $BUILD_DIR/tmp (the real disk; /tmp may be a tmpfs).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build}
[[ $build = /* ]] || build=$here/$build
n=${1:-3000}
n_sync=${2:-300}
work="$build/tmp/witness_bench.$$"
mkdir -p "$build/tmp"
trap 'rm -rf "$work"' EXIT

read -r sign verify < <(openssl speed -seconds 3 ed25519 2>/dev/null |
  awk '/Ed25519/ { print $(NF-1), $NF; exit }')
out=$("$build/bench/witness_bench" "$work" "$n" "$n_sync")
echo "$out" | grep -v '^RESULT'
eval "$(echo "$out" | awk '/^RESULT/ { for (i = 2; i <= NF; i++) print $i }')"
ceiling=$(awk -v s="$sign" -v v="$verify" 'BEGIN { printf "%.0f", 1 / (1 / s + 1 / v) }')
echo "openssl speed ed25519 (same run): sign ${sign}/s verify ${verify}/s; verify+sign ${ceiling}/s"
awk -v l="$logic_cpu" -v d="$durable_cpu" -v c="$ceiling" 'BEGIN {
  printf "witness / (verify+sign): logic alone %.2f, fsync'"'"'d %.2f; target 2,000/CPU-s: %s\n",
    l / c, d / c, (d >= 2000 ? "met" : "NOT met")
}'
