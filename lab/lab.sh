#!/usr/bin/env bash
# The certstatus test lab: real PostgreSQL 15 primary + 2 slotless streaming
# replicas, a cfssl CA whose certdb lives in the primary, and one
# `cfssl ocspserve` origin per replica. Everything listens on 127.0.0.1.
#
#   lab/lab.sh up                 bring it all up (idempotent, installs what is missing)
#   lab/lab.sh down               stop everything (keeps the directory)
#   lab/lab.sh destroy            stop and delete the directory
#   lab/lab.sh status             one line per part
#   lab/lab.sh issue [N]          issue N certificates with signed OCSP rows
#   lab/lab.sh issue-norow [N]    issue N certificates into certdb WITHOUT OCSP rows
#   lab/lab.sh issue-backdated [N] [ROW]  like issue, notBefore backdated 1 h (as Let's Encrypt); ROW=0: no OCSP row
#   lab/lab.sh precert DIR        write a precertificate (CT poison) into DIR; no DB row
#   lab/lab.sh bulk N             N certificates with OCSP rows straight into certdb (benchmarks)
#   lab/lab.sh psql NODE [args]   psql as superuser on primary|replica-1|replica-2
#   lab/lab.sh stop|start NODE    stop or start one PostgreSQL node
#   lab/lab.sh freeze|thaw NODE   SIGSTOP / SIGCONT every process of a node
#   lab/lab.sh rebuild NODE       re-clone a replica from the primary (after WAL loss)
#
# Settings (environment): LAB_DIR (default /tmp/certstatus-lab), LAB_PG_PORT
# (primary; replicas follow, default 55432), LAB_OCSP_PORT (origin-1; origin-2
# follows, default 58081), LAB_PG_USER (OS user running postgres, default postgres).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_DIR=${LAB_DIR:-/tmp/certstatus-lab}
LAB_PG_PORT=${LAB_PG_PORT:-55432}
LAB_OCSP_PORT=${LAB_OCSP_PORT:-58081}
LAB_PG_USER=${LAB_PG_USER:-postgres}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
CFSSL_VERSION=v1.6.5
TOOLS="$REPO/.tools/bin"
CFSSL="$TOOLS/cfssl"
CFSSLJSON="$TOOLS/cfssljson"
MONITOR_PASSWORD=monitor-lab-secret
NODES=(primary replica-1 replica-2)

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

port_of() {
  case "$1" in
    primary) echo "$LAB_PG_PORT" ;;
    replica-1) echo $((LAB_PG_PORT + 1)) ;;
    replica-2) echo $((LAB_PG_PORT + 2)) ;;
    origin-1) echo "$LAB_OCSP_PORT" ;;
    origin-2) echo $((LAB_OCSP_PORT + 1)) ;;
    *) die "unknown node $1" ;;
  esac
}

# as_pg runs a command as the OS user that owns the clusters (postgres refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$LAB_PG_USER" -- "$@"
  else
    "$@"
  fi
}

ensure_postgres() {
  [ -x "$PG_BIN/postgres" ] && return
  [ "$(id -u)" = 0 ] || die "PostgreSQL 15 is missing at $PG_BIN; run as root to apt-get install postgresql-15"
  log "installing postgresql-15"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  # Debian's package starts its own cluster on 5432; the lab does not need it.
  command -v pg_ctlcluster >/dev/null && pg_ctlcluster 15 main stop 2>/dev/null || true
}

ensure_pg_user() {
  [ "$(id -u)" = 0 ] || { LAB_PG_USER=$(id -un); return; }
  id "$LAB_PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$LAB_PG_USER"
}

ensure_cfssl() {
  # cfssl built by go install reports "dev", so a stamp file records the pinned version.
  [ -x "$CFSSL" ] && [ -x "$CFSSLJSON" ] && [ "$(cat "$TOOLS/.cfssl-version" 2>/dev/null)" = "$CFSSL_VERSION" ] && return
  command -v go >/dev/null || die "go is needed to install cfssl"
  log "installing cfssl $CFSSL_VERSION into $TOOLS"
  mkdir -p "$TOOLS"
  GOBIN="$TOOLS" go install "github.com/cloudflare/cfssl/cmd/cfssl@$CFSSL_VERSION" \
    "github.com/cloudflare/cfssl/cmd/cfssljson@$CFSSL_VERSION"
  echo "$CFSSL_VERSION" >"$TOOLS/.cfssl-version"
}

ensure_labtool() {
  (cd "$REPO" && go build -o "$TOOLS/labtool" ./lab/labtool)
}

pg_running() { as_pg "$PG_BIN/pg_ctl" -D "$LAB_DIR/$1" status >/dev/null 2>&1; }

pg_start() {
  local node=$1
  pg_running "$node" && return
  as_pg "$PG_BIN/pg_ctl" -D "$LAB_DIR/$node" -l "$LAB_DIR/log/$node.log" -w -t 60 start >/dev/null
}

psql_su() { # psql_su NODE [psql args...]
  local node=$1; shift
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$LAB_DIR/run" -p "$(port_of "$node")" -U postgres "$@"
}

init_primary() {
  [ -f "$LAB_DIR/primary/PG_VERSION" ] && return
  log "initdb primary"
  as_pg "$PG_BIN/initdb" -D "$LAB_DIR/primary" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --wal-segsize=16 >/dev/null
  cat >>"$LAB_DIR/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $(port_of primary)
unix_socket_directories = '$LAB_DIR/run'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 4
# Small retention so that a cut replica can really lose the WAL it needs.
wal_keep_size = 32MB
min_wal_size = 32MB
max_wal_size = 256MB
checkpoint_timeout = 30s
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
log_line_prefix = '%m [%p] '
EOF
  cat >"$LAB_DIR/primary/pg_hba.conf" <<EOF
local all all trust
local replication all trust
host replication replicator 127.0.0.1/32 trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
EOF
  pg_start primary
  psql_su primary -d postgres <<EOF
CREATE ROLE replicator WITH LOGIN REPLICATION;
CREATE ROLE monitor WITH LOGIN PASSWORD '$MONITOR_PASSWORD' IN ROLE pg_monitor;
CREATE DATABASE certdb;
EOF
  # cfssl's own certdb schema (the goose "Up" sections of its migrations).
  local mig
  for mig in "$LAB_DIR"/ca/migrations/*.sql; do
    sed -n '/+goose Up/,/+goose Down/p' "$mig" | psql_su primary -d certdb
  done
  psql_su primary -d certdb -c "GRANT SELECT ON certificates, ocsp_responses TO monitor;"
  # Scratch table the tests write to when they need WAL.
  psql_su primary -d certdb -c "CREATE TABLE IF NOT EXISTS walfill (id bigserial, pad text);"
}

init_replica() {
  local node=$1
  [ -f "$LAB_DIR/$node/PG_VERSION" ] && return
  log "pg_basebackup $node (no replication slot)"
  as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$(port_of primary)" -U replicator -D "$LAB_DIR/$node" \
    -R -X stream -c fast --no-slot --no-sync
  cat >>"$LAB_DIR/$node/postgresql.conf" <<EOF
port = $(port_of "$node")
cluster_name = '$node'
hot_standby = on
wal_receiver_status_interval = 1s
EOF
  # Name the standby so the primary's pg_stat_replication row says which one it is.
  echo "primary_conninfo = 'host=127.0.0.1 port=$(port_of primary) user=replicator application_name=$node'" \
    >>"$LAB_DIR/$node/postgresql.auto.conf"
}

init_ca() {
  [ -f "$LAB_DIR/ca/ca.pem" ] && return
  log "creating the lab CA with cfssl"
  local d="$LAB_DIR/ca"
  mkdir -p "$d"
  cat >"$d/ca-csr.json" <<'EOF'
{"CN": "certstatus lab issuing CA", "key": {"algo": "ecdsa", "size": 256},
 "names": [{"O": "certstatus lab"}], "ca": {"expiry": "87600h"}}
EOF
  cat >"$d/config.json" <<'EOF'
{"signing": {"default": {"expiry": "2160h"},
  "profiles": {
    "server": {"expiry": "2160h", "usages": ["digital signature", "key encipherment", "server auth"]},
    "backdated": {"expiry": "2160h", "backdate": "1h", "usages": ["digital signature", "key encipherment", "server auth"]},
    "ocsp": {"expiry": "2160h", "usages": ["digital signature", "ocsp signing"]}}}}
EOF
  cat >"$d/responder-csr.json" <<'EOF'
{"CN": "certstatus lab OCSP responder", "key": {"algo": "ecdsa", "size": 256}, "names": [{"O": "certstatus lab"}]}
EOF
  (cd "$d" && "$CFSSL" genkey -loglevel 5 -initca ca-csr.json | "$CFSSLJSON" -bare ca)
  (cd "$d" && "$CFSSL" gencert -loglevel 5 -ca ca.pem -ca-key ca-key.pem -config config.json -profile ocsp \
    responder-csr.json | "$CFSSLJSON" -bare responder)
  chmod 0644 "$d"/*.pem
}

copy_migrations() {
  mkdir -p "$LAB_DIR/ca/migrations"
  local src
  src=$(cd "$REPO" && GOFLAGS=-mod=mod go env GOMODCACHE)/github.com/cloudflare/cfssl@$CFSSL_VERSION/certdb/pg/migrations
  [ -d "$src" ] || die "cfssl migrations not found at $src"
  cp "$src"/*.sql "$LAB_DIR/ca/migrations/"
}

write_db_configs() {
  local node
  for node in "${NODES[@]}"; do
    printf '{"driver":"postgres","data_source":"host=127.0.0.1 port=%s user=postgres dbname=certdb sslmode=disable connect_timeout=2"}\n' \
      "$(port_of "$node")" >"$LAB_DIR/ca/db-$node.json"
  done
}

origin_running() { [ -f "$LAB_DIR/run/$1.pid" ] && kill -0 "$(cat "$LAB_DIR/run/$1.pid")" 2>/dev/null; }

start_origin() { # start_origin origin-N replica-N
  local origin=$1 replica=$2
  origin_running "$origin" && return
  nohup "$CFSSL" ocspserve -loglevel 1 -address 127.0.0.1 -port "$(port_of "$origin")" \
    -db-config "$LAB_DIR/ca/db-$replica.json" >"$LAB_DIR/log/$origin.log" 2>&1 &
  echo $! >"$LAB_DIR/run/$origin.pid"
  local i
  for i in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$(port_of "$origin")") 2>/dev/null && return
    sleep 0.1
  done
  die "$origin did not start; see $LAB_DIR/log/$origin.log"
}

write_env() {
  printf '%s\n' "$MONITOR_PASSWORD" >"$LAB_DIR/monitor.password"
  chmod 0600 "$LAB_DIR/monitor.password"
  cat >"$LAB_DIR/lab.env" <<EOF
LAB_DIR=$LAB_DIR
LAB_PRIMARY_DSN=postgres://monitor@127.0.0.1:$(port_of primary)/certdb?sslmode=disable
LAB_REPLICA1_DSN=postgres://monitor@127.0.0.1:$(port_of replica-1)/certdb?sslmode=disable
LAB_REPLICA2_DSN=postgres://monitor@127.0.0.1:$(port_of replica-2)/certdb?sslmode=disable
LAB_PASSWORD_FILE=$LAB_DIR/monitor.password
LAB_ORIGIN1_URL=http://127.0.0.1:$(port_of origin-1)/
LAB_ORIGIN2_URL=http://127.0.0.1:$(port_of origin-2)/
LAB_ISSUER=$LAB_DIR/ca/ca.pem
LAB_SPOOL=$LAB_DIR/issued
EOF
}

cmd_up() {
  ensure_postgres
  ensure_pg_user
  ensure_cfssl
  ensure_labtool
  mkdir -p "$LAB_DIR"/{log,run,issued}
  chown "$LAB_PG_USER" "$LAB_DIR" "$LAB_DIR/log" "$LAB_DIR/run" 2>/dev/null || true
  chmod 0755 "$LAB_DIR"
  copy_migrations
  init_ca
  init_primary
  pg_start primary
  local r
  for r in replica-1 replica-2; do
    init_replica "$r"
    pg_start "$r"
  done
  write_db_configs
  start_origin origin-1 replica-1
  start_origin origin-2 replica-2
  write_env
  wait_streaming
  log "up: primary :$(port_of primary), replicas :$(port_of replica-1) :$(port_of replica-2)," \
    "origins :$(port_of origin-1) :$(port_of origin-2); settings in $LAB_DIR/lab.env"
}

wait_streaming() {
  local i n
  for i in $(seq 100); do
    n=$(psql_su primary -d postgres -Atc "SELECT count(*) FROM pg_stat_replication WHERE state='streaming'")
    [ "$n" = 2 ] && return
    sleep 0.2
  done
  die "replicas are not streaming after 20s (see $LAB_DIR/log)"
}

cmd_down() {
  local o node
  LAB_DIR="$LAB_DIR" bash "$REPO/lab/crl.sh" down || true # the CRL path (lab/crl.sh), if it was started
  for o in origin-1 origin-2; do
    if origin_running "$o"; then kill "$(cat "$LAB_DIR/run/$o.pid")" 2>/dev/null || true; fi
    rm -f "$LAB_DIR/run/$o.pid"
  done
  for node in replica-2 replica-1 primary; do
    [ -d "$LAB_DIR/$node" ] || continue
    # A SIGSTOPped postmaster (a test fault) must be continued before it can stop.
    [ -f "$LAB_DIR/$node/postmaster.pid" ] && kill -CONT "$(head -1 "$LAB_DIR/$node/postmaster.pid")" 2>/dev/null || true
    pg_running "$node" && as_pg "$PG_BIN/pg_ctl" -D "$LAB_DIR/$node" -m immediate -w stop >/dev/null || true
  done
  log "down"
}

cmd_destroy() {
  cmd_down
  rm -rf "$LAB_DIR"
  log "destroyed $LAB_DIR"
}

node_pids() { # the postmaster and all its children
  local pm
  pm=$(head -1 "$LAB_DIR/$1/postmaster.pid")
  echo "$pm" $(pgrep -P "$pm" || true)
}

cmd_rebuild() {
  local node=$1
  case "$node" in replica-*) ;; *) die "only replicas can be rebuilt" ;; esac
  kill -CONT $(node_pids "$node") 2>/dev/null || true
  pg_running "$node" && as_pg "$PG_BIN/pg_ctl" -D "$LAB_DIR/$node" -m immediate -w stop >/dev/null
  rm -rf "${LAB_DIR:?}/$node"
  init_replica "$node"
  pg_start "$node"
  wait_streaming
  log "rebuilt $node"
}

cmd_status() {
  local node o
  for node in "${NODES[@]}"; do
    if pg_running "$node"; then echo "$node up :$(port_of "$node")"; else echo "$node down"; fi
  done
  for o in origin-1 origin-2; do
    if origin_running "$o"; then echo "$o up :$(port_of "$o")"; else echo "$o down"; fi
  done
}

# issue_one NAME WITH_ROW: a certificate through cfssl into certdb (and the spool),
# then, with WITH_ROW=1, its OCSP response signed by the delegated responder.
issue_one() {
  local name=$1 with_row=$2 profile=${3:-server} d="$LAB_DIR/ca" out="$LAB_DIR/issued"
  local csr tmp
  tmp=$(mktemp -d)
  csr="{\"CN\":\"$name\",\"hosts\":[\"$name\"],\"key\":{\"algo\":\"ecdsa\",\"size\":256}}"
  (cd "$tmp" && echo "$csr" | "$CFSSL" gencert -loglevel 5 -ca "$d/ca.pem" -ca-key "$d/ca-key.pem" \
    -config "$d/config.json" -profile "$profile" -db-config "$d/db-primary.json" - | "$CFSSLJSON" -bare leaf)
  # cfssl leaves issued_at empty; the sql source reads it as the issuance time.
  local serial aki
  serial=$(cert_serial "$tmp/leaf.pem")
  psql_su primary -d certdb -c "UPDATE certificates SET issued_at = now() WHERE serial_number = '$serial'::bytea"
  if [ "$with_row" = 1 ]; then
    local b64
    b64=$("$CFSSL" ocspsign -loglevel 5 -ca "$d/ca.pem" -responder "$d/responder.pem" \
      -responder-key "$d/responder-key.pem" -cert "$tmp/leaf.pem" -status good -interval 96h |
      sed -n 's/.*"ocspResponse":"\([^"]*\)".*/\1/p')
    [ -n "$b64" ] || die "cfssl ocspsign returned no response"
    psql_su primary -d certdb -c "INSERT INTO ocsp_responses (serial_number, authority_key_identifier, body, expiry)
      SELECT serial_number, authority_key_identifier, decode('$b64', 'base64'), now() + interval '96 hours'
      FROM certificates WHERE serial_number = '$serial'::bytea"
  fi
  cp "$tmp/leaf.pem" "$out/$serial.pem"
  chmod 0644 "$out/$serial.pem"
  rm -rf "$tmp"
  echo "$out/$serial.pem"
}

# cert_serial prints a certificate's serial in decimal, the form cfssl's certdb keys on.
cert_serial() { "$TOOLS/labtool" serial "$1"; }

cmd_issue() {
  local n=${1:-1} with_row=$2 profile=${3:-server} i
  [ -f "$LAB_DIR/lab.env" ] || die "lab is not up (run: lab/lab.sh up)"
  for i in $(seq "$n"); do
    issue_one "cert-$(date +%s%N).lab.example" "$with_row" "$profile"
  done
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  destroy) cmd_destroy ;;
  status) cmd_status ;;
  issue) cmd_issue "${2:-1}" 1 ;;
  issue-norow) cmd_issue "${2:-1}" 0 ;;
  issue-backdated) cmd_issue "${2:-1}" "${3:-1}" backdated ;;
  psql) shift; node=${1:?node}; shift; psql_su "$node" -d certdb "$@" ;;
  stop) as_pg "$PG_BIN/pg_ctl" -D "$LAB_DIR/${2:?node}" -m fast -w stop >/dev/null ;;
  start) pg_start "${2:?node}" ;;
  freeze) kill -STOP $(node_pids "${2:?node}") ;;
  thaw) kill -CONT $(node_pids "${2:?node}") ;;
  rebuild) cmd_rebuild "${2:?node}" ;;
  precert)
    out="${2:?dir}/precert-$(date +%s%N).pem"
    "$TOOLS/labtool" precert "$LAB_DIR/ca/ca.pem" "$LAB_DIR/ca/ca-key.pem" "$out" >/dev/null
    echo "$out" ;;
  bulk)
    "$TOOLS/labtool" bulk "${2:?N}" "postgres://postgres@127.0.0.1:$(port_of primary)/certdb?sslmode=disable" \
      "$LAB_DIR/ca/ca.pem" "$LAB_DIR/ca/ca-key.pem" "$LAB_DIR/ca/responder.pem" "$LAB_DIR/ca/responder-key.pem" ;;
  ct) shift; exec bash "$REPO/lab/ct.sh" "$@" ;; # the CT log (lab/ct.sh)
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
