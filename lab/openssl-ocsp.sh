#!/usr/bin/env bash
# openssl's own OCSP responder (`openssl ocsp -index`, Debian's openssl) over
# the lab CA's inventory: a second, independent responder implementation to
# hold the compliance probes against, next to cfssl's.
#
#   lab/openssl-ocsp.sh start    index every certificate in certdb, start the responder
#   lab/openssl-ocsp.sh stop
#
# openssl 3.0's responder binds every address, so it runs in its own network
# namespace (loopback only) and is reached on 127.0.0.1:$LAB_OPENSSL_OCSP_PORT
# through two `labtool bridge`s and a unix socket. Needs root (unshare -n).
# Settings: LAB_DIR, LAB_PG_PORT as for lab.sh; LAB_OPENSSL_OCSP_PORT (default 59590).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_DIR=${LAB_DIR:-/tmp/certstatus-lab}
LAB_PG_PORT=${LAB_PG_PORT:-55432}
PORT=${LAB_OPENSSL_OCSP_PORT:-59590}
TOOLS="$REPO/.tools/bin"
D="$LAB_DIR/openssl-ocsp"
CA="$LAB_DIR/ca"

die() { printf 'openssl-ocsp: error: %s\n' "$*" >&2; exit 1; }

# ours PID PATTERN: PID is alive and runs a command matching PATTERN. A
# stale pid file's number may belong to any process by now (pids wrap).
ours() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"; }

stop() {
  local f pid
  for f in "$D"/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if ours "$pid" 'openssl\|labtool\|unshare'; then kill "$pid" 2>/dev/null || true; fi
    rm -f "$f"
  done
  rm -f "$D/sock"
}

start() {
  [ -f "$LAB_DIR/lab.env" ] || die "lab is not up (run: lab/lab.sh up)"
  [ "$(id -u)" = 0 ] || die "needs root for its network namespace (unshare -n)"
  (cd "$REPO" && go build -o "$TOOLS/labtool" ./lab/labtool)
  stop
  mkdir -p "$D"
  "$TOOLS/labtool" ossl-index "postgres://postgres@127.0.0.1:$LAB_PG_PORT/certdb?sslmode=disable" "$D/index.txt" >/dev/null
  echo "unique_subject = no" >"$D/index.txt.attr"
  # Inside the namespace: loopback up, the responder, and a bridge from the
  # unix socket to it. nextUpdate 4 days (-ndays), as the BR want.
  unshare -n bash -c '
    ip link set lo up
    openssl ocsp -index "$1/index.txt" -port "$2" -rsigner "$3/responder.pem" -rkey "$3/responder-key.pem" \
      -CA "$3/ca.pem" -ndays 4 -ignore_err >"$1/openssl.log" 2>&1 &
    echo $! >"$1/openssl.pid"
    # Wait without connecting: an empty connection sends openssl 3.0 spinning.
    for i in $(seq 50); do ss -Htln "sport = :$2" | grep -q . && break; sleep 0.1; done
    exec "$4" bridge "unix:$1/sock" "tcp:127.0.0.1:$2"
  ' _ "$D" "$PORT" "$CA" "$TOOLS/labtool" >"$D/bridge-in.log" 2>&1 &
  echo $! >"$D/bridge-in.pid"
  local i
  for i in $(seq 50); do [ -S "$D/sock" ] && break; sleep 0.1; done
  [ -S "$D/sock" ] || die "responder bridge did not start; see $D"
  "$TOOLS/labtool" bridge "tcp:127.0.0.1:$PORT" "unix:$D/sock" >"$D/bridge-out.log" 2>&1 &
  echo $! >"$D/bridge-out.pid"
  for i in $(seq 50); do
    ss -Htln "sport = :$PORT" | grep -q 127.0.0.1 && { echo "http://127.0.0.1:$PORT/"; return; }
    sleep 0.1
  done
  die "bridge to the openssl responder not listening on 127.0.0.1:$PORT; see $D"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
