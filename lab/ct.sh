#!/usr/bin/env bash
# The lab's Certificate Transparency log: TesseraCT POSIX (a real static-ct-api
# log) on 127.0.0.1 that accepts the lab CA as its only root, plus a plain file
# server over its storage directory as the static-ct-api monitoring (read) path.
# Needs the lab CA (lab/lab.sh up) for issuing.
#
#   lab/ct.sh up                  install (pinned), create the key, start log + read server
#   lab/ct.sh down                stop both (keeps the log's storage)
#   lab/ct.sh start|stop          start or stop only the log (the writer); reads keep working
#   lab/ct.sh status              one line per part
#   lab/ct.sh issue [N] [FLAGS]   N certificates like a real CA: precert -> CT -> final cert
#                                 with the SCT -> CT, CA DB row (+ spool file) and signed OCSP row. FLAGS:
#                                 --skip-db --skip-ocsp --skip-ct --rate R (certs/s, 0 = fast)
#   lab/ct.sh submit CERT.pem     add-chain (or add-pre-chain for a precertificate); prints the SCT
#
# Settings (environment): LAB_DIR (default /tmp/certstatus-lab), LAB_PG_PORT
# (as lab/lab.sh), LAB_CT_PORT (the log's submission port, default 59290),
# LAB_CT_READ_PORT (the read server, default 59291).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_DIR=${LAB_DIR:-/tmp/certstatus-lab}
LAB_PG_PORT=${LAB_PG_PORT:-55432}
LAB_CT_PORT=${LAB_CT_PORT:-59290}
LAB_CT_READ_PORT=${LAB_CT_READ_PORT:-59291}
TESSERACT_VERSION=v0.1.1
TOOLS="$REPO/.tools/bin"
TESSERACT="$TOOLS/tesseract-posix"
CT="$LAB_DIR/ct"
# The origin names the log in its checkpoints; static-ct-api makes it the
# submission prefix without scheme (TesseraCT checks the host and path, not the port).
LOG_PATH=/certstatus-lab-log
ORIGIN=127.0.0.1$LOG_PATH

log() { printf 'lab/ct: %s\n' "$*" >&2; }
die() { printf 'lab/ct: error: %s\n' "$*" >&2; exit 1; }

ensure_tesseract() {
  # go install names the binary "posix"; a stamp file pins the version.
  [ -x "$TESSERACT" ] && [ "$(cat "$TOOLS/.tesseract-version" 2>/dev/null)" = "$TESSERACT_VERSION" ] && return
  log "installing TesseraCT POSIX $TESSERACT_VERSION into $TOOLS"
  local tmp
  tmp=$(mktemp -d)
  GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/transparency-dev/tesseract/cmd/tesseract/posix@$TESSERACT_VERSION"
  mkdir -p "$TOOLS"
  mv "$tmp/posix" "$TESSERACT"
  rm -rf "$tmp"
  echo "$TESSERACT_VERSION" >"$TOOLS/.tesseract-version"
}

ensure_labtool() { (cd "$REPO" && go build -o "$TOOLS/labtool" ./lab/labtool); }

init_log() {
  [ -f "$LAB_DIR/ca/ca.pem" ] || die "no lab CA at $LAB_DIR/ca (run lab/lab.sh up first)"
  if [ ! -f "$CT/instance" ]; then
    # A new log. Storage without an instance id was written by a log left
    # running over a destroyed lab: not this log's.
    rm -rf "$CT/storage"
    mkdir -p "$CT"
    od -An -N8 -tx8 /dev/urandom | tr -d ' ' >"$CT/instance"
  fi
  # storage/issuer made here: TesseraCT v0.1.1's own mkdir of it races between
  # the first concurrent submissions ("file exists" -> HTTP 500).
  mkdir -p "$CT/storage/issuer" "$LAB_DIR/log"
  if [ ! -f "$CT/log-key.pem" ]; then
    log "generating the log's ECDSA P-256 key"
    openssl ecparam -name prime256v1 -genkey -noout -out "$CT/log-key.pem" 2>/dev/null
    openssl ec -in "$CT/log-key.pem" -pubout -out "$CT/log-pub.pem" 2>/dev/null
    chmod 0600 "$CT/log-key.pem"
  fi
  cp "$LAB_DIR/ca/ca.pem" "$CT/roots.pem"
  echo "$ORIGIN" >"$CT/origin"
}

# Pid files live outside LAB_DIR, keyed by port: `lab.sh destroy` deletes
# LAB_DIR but does not know about the CT log, whose processes would otherwise
# keep the ports while serving a deleted directory.
RUN=${TMPDIR:-/tmp}/certstatus-ct-$LAB_CT_PORT
pidfile() { echo "$RUN.$1.pid"; }
# ours PID PATTERN: PID is alive and runs a command matching PATTERN. A
# stale pid file's number may belong to any process by now (pids wrap).
ours() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"; }
running() { [ -f "$(pidfile "$1")" ] && ours "$(cat "$(pidfile "$1")")" 'tesseract\|labtool'; }

# stop_stale stops a log or read server started for another lab directory,
# or for this one before it was destroyed: the lab's CA (the log's root) is
# new then. The directory's name is not enough (a running TesseraCT recreates
# its storage path), so each init writes an instance id next to the key.
instance() { echo "$CT $(cat "$CT/instance" 2>/dev/null)"; }
stop_stale() {
  if [ "$(cat "$RUN.dir" 2>/dev/null)" != "$(instance)" ] || [ ! -f "$CT/instance" ]; then
    stop_one ct-log
    stop_one ct-read
  fi
  return 0
}

wait_port() { # wait_port PORT NAME
  local i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
    sleep 0.1
  done
  die "$2 did not start; see $LAB_DIR/log/$2.log"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_log() {
  running ct-log && return
  # TesseraCT does not exit when it cannot listen (its sequencer keeps
  # writing the storage), so a busy port must be caught before.
  port_free "$LAB_CT_PORT" || die "port $LAB_CT_PORT is in use (another CT log? set LAB_CT_PORT)"
  # TesseraCT exports OpenTelemetry metrics over OTLP; aim that at an unused
  # loopback port of the lab's range and export rarely, so nothing leaves 127.0.0.1.
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$((LAB_CT_PORT + 9))" OTEL_METRIC_EXPORT_INTERVAL=86400000 \
    nohup "$TESSERACT" --http_endpoint "127.0.0.1:$LAB_CT_PORT" --origin "$ORIGIN" --path_prefix "$LOG_PATH" \
    --private_key "$CT/log-key.pem" --storage_dir "$CT/storage" --roots_pem_file "$CT/roots.pem" \
    --accept_sha1_signing_algorithms=false --checkpoint_interval 500ms --batch_max_age 100ms \
    >"$LAB_DIR/log/ct-log.log" 2>&1 &
  echo $! >"$(pidfile ct-log)"
  wait_port "$LAB_CT_PORT" ct-log
  # A new log takes submissions (without a 500) once it has published its first checkpoint.
  local i
  for i in $(seq 100); do
    [ -s "$CT/storage/checkpoint" ] && return
    sleep 0.1
  done
  die "ct-log published no checkpoint; see $LAB_DIR/log/ct-log.log"
}

start_read() {
  running ct-read && return
  port_free "$LAB_CT_READ_PORT" || die "port $LAB_CT_READ_PORT is in use (set LAB_CT_READ_PORT)"
  nohup "$TOOLS/labtool" serve "127.0.0.1:$LAB_CT_READ_PORT" "$CT/storage" >"$LAB_DIR/log/ct-read.log" 2>&1 &
  echo $! >"$(pidfile ct-read)"
  wait_port "$LAB_CT_READ_PORT" ct-read
}

stop_one() {
  running "$1" || { rm -f "$(pidfile "$1")"; return 0; }
  local pid i
  pid=$(cat "$(pidfile "$1")")
  kill "$pid" 2>/dev/null || true
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$(pidfile "$1")"
}

write_env() {
  cat >"$CT/ct.env" <<EOF
LAB_CT_SUBMIT_URL=http://127.0.0.1:$LAB_CT_PORT$LOG_PATH/
LAB_CT_READ_URL=http://127.0.0.1:$LAB_CT_READ_PORT/
LAB_CT_PUBLIC_KEY=$CT/log-pub.pem
LAB_CT_ORIGIN=$ORIGIN
EOF
}

cmd_up() {
  command -v go >/dev/null || die "go is needed to install TesseraCT"
  ensure_tesseract
  ensure_labtool
  stop_stale
  init_log
  instance >"$RUN.dir"
  start_log
  start_read
  write_env
  log "up: log (submission) :$LAB_CT_PORT, read :$LAB_CT_READ_PORT, origin $ORIGIN; settings in $CT/ct.env"
}

cmd_status() {
  local p
  for p in ct-log ct-read; do
    if running "$p"; then echo "$p up"; else echo "$p down"; fi
  done
}

ct_issue() {
  [ -f "$CT/ct.env" ] || die "the CT log is not up (run: lab/ct.sh up)"
  local n=${1:-1}
  shift || true
  mkdir -p "$LAB_DIR/issued"
  "$TOOLS/labtool" ct-issue -n "$n" -log "http://127.0.0.1:$LAB_CT_PORT$LOG_PATH/" -log-key "$CT/log-pub.pem" \
    -ca "$LAB_DIR/ca/ca.pem" -ca-key "$LAB_DIR/ca/ca-key.pem" \
    -responder "$LAB_DIR/ca/responder.pem" -responder-key "$LAB_DIR/ca/responder-key.pem" \
    -dsn "postgres://postgres@127.0.0.1:$LAB_PG_PORT/certdb?sslmode=disable" -out "$LAB_DIR/issued" "$@"
}

case "${1:-}" in
  up) cmd_up ;;
  down) stop_one ct-log; stop_one ct-read; log "down" ;;
  start) start_log ;;
  stop) stop_one ct-log ;;
  status) cmd_status ;;
  issue) shift; ct_issue "$@" ;;
  submit)
    "$TOOLS/labtool" ct-submit "http://127.0.0.1:$LAB_CT_PORT$LOG_PATH/" "$CT/log-pub.pem" "${2:?CERT.pem}" "$LAB_DIR/ca/ca.pem" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 2 ;;
esac
