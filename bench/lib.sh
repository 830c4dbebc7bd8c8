# Shared by the bench scripts (source it): a work folder, a private PostgreSQL in it, free
# loopback ports, and cleanup on exit of every process a script registers in `pids`.
#   bench_start NAME     sets here, build, work, app, owner; starts the cluster
#   port                 prints a free loopback port
#   wait_port PORT       waits until something listens there
# A script may define bench_cleanup_hook() to stop things of its own first.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$here/build}
[[ $build = /* ]] || build=$here/$build
pids=()

bench_cleanup() {
  if declare -F bench_cleanup_hook >/dev/null; then bench_cleanup_hook || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  NOTARY_PG_DIR=$work/pg "$here/scripts/pg" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}

bench_start() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$work"  # Postfix and postgres run as other users
  trap bench_cleanup EXIT
  export NOTARY_PG_DIR=$work/pg
  "$here/scripts/pg" start >/dev/null
  app=$("$here/scripts/pg" url app)
  owner=$("$here/scripts/pg" url owner)
}

port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on port $1" >&2
  return 1
}
