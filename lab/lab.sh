#!/usr/bin/env bash
# The certstatus test lab: real PostgreSQL primary (15 from Debian, or 13-18
# from the npm registry) + 2 slotless streaming replicas, optional extra
# topologies, a cfssl CA whose certdb lives in the primary, and one
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
#   lab/lab.sh psql NODE [args]   psql as superuser on primary|replica-N
#   lab/lab.sh stop|start NODE    stop or start one PostgreSQL node
#   lab/lab.sh freeze|thaw NODE   SIGSTOP / SIGCONT every process of a node
#   lab/lab.sh rebuild NODE       re-clone a replica from the primary (after WAL loss)
#   lab/lab.sh cut|uncut NODE     point a replica's WAL receiver nowhere / back at its upstream
#   lab/lab.sh version            the server's major version
#   lab/lab.sh old-up|old-down    a standalone PostgreSQL 12 on LAB_PG_OLD_PORT (too old: for tests)
#   lab/lab.sh switch-wal [N]     move the primary N WAL segments on (pg_switch_wal)
#   lab/lab.sh freeze-checkpointer|thaw-checkpointer NODE   no checkpoint happens while frozen
#   lab/lab.sh archive-fail|archive-ok   make the primary's archive_command fail / work
#
# Settings (environment): LAB_DIR (default /tmp/certstatus-lab), LAB_PG_PORT
# (primary; replicas follow, default 55432), LAB_OCSP_PORT (origin-1; origin-2
# follows, default 58081), LAB_PG_USER (OS user running postgres, default postgres),
# LAB_PG_VERSION (13-18, default 15), LAB_TOPOLOGY (extra nodes, any of
# "slot archive cascade sync", or "all"; see docs/postgresql-versions.md),
# LAB_PG_OLD_PORT (the PostgreSQL 12 of old-up, default LAB_PG_PORT+13).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_DIR=${LAB_DIR:-/tmp/certstatus-lab}
LAB_PG_PORT=${LAB_PG_PORT:-55432}
LAB_OCSP_PORT=${LAB_OCSP_PORT:-58081}
LAB_PG_USER=${LAB_PG_USER:-postgres}
LAB_PG_OLD_PORT=${LAB_PG_OLD_PORT:-$((LAB_PG_PORT + 13))}
LAB_PG_VERSION=${LAB_PG_VERSION:-15}
LAB_TOPOLOGY=${LAB_TOPOLOGY:-}
[ "$LAB_TOPOLOGY" = all ] && LAB_TOPOLOGY="slot archive cascade sync"
# Every command but up works on the lab as it was made.
if [ "${1:-}" != up ] && [ -f "$LAB_DIR/pg-version" ]; then
  LAB_PG_VERSION=$(cat "$LAB_DIR/pg-version")
  LAB_TOPOLOGY=$(cat "$LAB_DIR/topology" 2>/dev/null || true)
fi
# Debian's client talks to every server version the lab runs (13-18).
PSQL_BIN=/usr/lib/postgresql/15/bin
CFSSL_VERSION=v1.6.5
TOOLS="$REPO/.tools/bin"
CFSSL="$TOOLS/cfssl"
CFSSLJSON="$TOOLS/cfssljson"
MONITOR_PASSWORD=monitor-lab-secret
source "$REPO/lab/pgversions.sh"
PG_BIN=$(pg_server_bin "$LAB_PG_VERSION")
NODES=(primary replica-1 replica-2)
has_topo() { [[ " $LAB_TOPOLOGY " == *" $1 "* ]]; }
has_topo slot && NODES+=(replica-slot)
has_topo archive && NODES+=(replica-archive)
has_topo cascade && NODES+=(replica-cascade)
has_topo sync && NODES+=(replica-sync)

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

port_of() {
  case "$1" in
    primary) echo "$LAB_PG_PORT" ;;
    replica-1) echo $((LAB_PG_PORT + 1)) ;;
    replica-2) echo $((LAB_PG_PORT + 2)) ;;
    replica-slot) echo $((LAB_PG_PORT + 3)) ;;
    replica-archive) echo $((LAB_PG_PORT + 4)) ;;
    replica-cascade) echo $((LAB_PG_PORT + 5)) ;;
    replica-sync) echo $((LAB_PG_PORT + 6)) ;;
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
  # The client (psql) is always Debian's 15; the server may come from npm.
  ensure_npm_postgres "$LAB_PG_VERSION"
  [ -x "$PG_BIN/postgres" ] && [ -x "$PSQL_BIN/psql" ] && return
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

pg_start() { pg_start_dir "$1"; }

# pg_start_dir DIR starts the cluster in $LAB_DIR/DIR (log $LAB_DIR/log/DIR.log).
pg_start_dir() {
  local node=$1 i
  pg_running "$node" && return
  # The lab's ports lie in the kernel's ephemeral range: a client socket may
  # hold one for up to a minute (TIME-WAIT), so a failed bind is retried.
  for i in $(seq 35); do
    as_pg "$PG_BIN/pg_ctl" -D "$LAB_DIR/$node" -l "$LAB_DIR/log/$node.log" -w -t 60 start >/dev/null && return
    tail -5 "$LAB_DIR/log/$node.log" | grep -q 'Address already in use' || break
    log "$node: port busy, retrying"
    sleep 2
  done
  die "$node did not start; see $LAB_DIR/log/$node.log"
}

psql_su() { # psql_su NODE [psql args...]
  local node=$1; shift
  as_pg "$PSQL_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$LAB_DIR/run" -p "$(port_of "$node")" -U postgres "$@"
}

init_primary() {
  [ -f "$LAB_DIR/primary/PG_VERSION" ] && return
  log "initdb primary (PostgreSQL $LAB_PG_VERSION)"
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
# New segments are not zero-filled: tests move through many with pg_switch_wal().
wal_init_zero = off
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
log_line_prefix = '%m [%p] '
EOF
  topology_conf >>"$LAB_DIR/primary/postgresql.conf"
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

# topology_conf prints the primary's settings for the extra topologies.
topology_conf() {
  if has_topo slot; then
    # Above max_wal_size, so that the slot's wal_status can be "extended".
    echo "max_slot_wal_keep_size = 512MB"
  fi
  if has_topo archive; then
    # The archive fails while $LAB_DIR/archive.fail exists (lab.sh archive-fail).
    echo "archive_mode = on"
    echo "archive_command = 'test ! -e $LAB_DIR/archive.fail && cp %p $LAB_DIR/archive/%f.part && mv $LAB_DIR/archive/%f.part $LAB_DIR/archive/%f'"
  fi
  if has_topo sync; then
    # The lab's synchronous_commit = off keeps other commits from waiting;
    # a session that sets it on waits for replica-sync.
    echo "synchronous_standby_names = '\"replica-sync\"'"
  fi
  return 0
}

upstream_of() { if [ "$1" = replica-cascade ]; then echo replica-1; else echo primary; fi; }

conninfo_of() {
  echo "host=127.0.0.1 port=$(port_of "$(upstream_of "$1")") user=replicator application_name=$1 connect_timeout=2"
}

# clone_replicas NODE...: each missing one becomes a cold copy of the stopped
# primary's data directory (Debian's pg_basebackup 15 refuses newer servers;
# the npm builds have none), made a standby by standby.signal + primary_conninfo.
clone_replicas() {
  local node todo=()
  for node in "$@"; do [ -f "$LAB_DIR/$node/PG_VERSION" ] || todo+=("$node"); done
  ((${#todo[@]})) || return 0
  if [[ " ${todo[*]} " == *" replica-slot "* ]]; then
    psql_su primary -d postgres -Atc "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'replica_slot'" >/dev/null
    psql_su primary -d postgres -Atc "SELECT pg_create_physical_replication_slot('replica_slot', true)" >/dev/null
  fi
  log "cold copy of the primary for ${todo[*]}"
  as_pg "$PG_BIN/pg_ctl" -D "$LAB_DIR/primary" -m fast -w stop >/dev/null
  for node in "${todo[@]}"; do
    rm -rf "${LAB_DIR:?}/$node"
    as_pg cp -a "$LAB_DIR/primary" "$LAB_DIR/$node"
    as_pg find "$LAB_DIR/$node/pg_replslot" -mindepth 1 -delete
    as_pg rm -f "$LAB_DIR/$node/postmaster.pid" "$LAB_DIR/$node/postmaster.opts"
    as_pg touch "$LAB_DIR/$node/standby.signal"
    {
      echo "port = $(port_of "$node")"
      echo "cluster_name = '$node'"
      echo "hot_standby = on"
      echo "wal_receiver_status_interval = 1s"
      if [ "$node" = replica-slot ]; then echo "primary_slot_name = 'replica_slot'"; fi
      if [ "$node" = replica-archive ]; then echo "restore_command = 'cp $LAB_DIR/archive/%f %p'"; fi
    } | as_pg tee -a "$LAB_DIR/$node/postgresql.conf" >/dev/null
    # Named, so the upstream's pg_stat_replication row says which standby it is.
    echo "primary_conninfo = '$(conninfo_of "$node")'" | as_pg tee -a "$LAB_DIR/$node/postgresql.auto.conf" >/dev/null
  done
  pg_start primary
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
  local origin=$1 replica=$2 try i
  origin_running "$origin" && return
  # As for PostgreSQL (pg_start_dir): a client socket in TIME-WAIT may hold
  # the port for up to a minute, so a failed bind is retried.
  for try in $(seq 35); do
    nohup "$CFSSL" ocspserve -loglevel 1 -address 127.0.0.1 -port "$(port_of "$origin")" \
      -db-config "$LAB_DIR/ca/db-$replica.json" >"$LAB_DIR/log/$origin.log" 2>&1 &
    echo $! >"$LAB_DIR/run/$origin.pid"
    for i in $(seq 50); do
      origin_running "$origin" || break
      (exec 3<>"/dev/tcp/127.0.0.1/$(port_of "$origin")") 2>/dev/null && return
      sleep 0.1
    done
    grep -q 'address already in use' "$LAB_DIR/log/$origin.log" || break
    log "$origin: port busy, retrying"
    sleep 2
  done
  die "$origin did not start; see $LAB_DIR/log/$origin.log"
}

write_env() {
  printf '%s\n' "$MONITOR_PASSWORD" >"$LAB_DIR/monitor.password"
  chmod 0600 "$LAB_DIR/monitor.password"
  {
    echo "LAB_DIR=$LAB_DIR"
    echo "LAB_PG_VERSION=$LAB_PG_VERSION"
    echo "LAB_TOPOLOGY=$LAB_TOPOLOGY"
    echo "LAB_PRIMARY_DSN=postgres://monitor@127.0.0.1:$(port_of primary)/certdb?sslmode=disable"
    echo "LAB_REPLICA1_DSN=postgres://monitor@127.0.0.1:$(port_of replica-1)/certdb?sslmode=disable"
    echo "LAB_REPLICA2_DSN=postgres://monitor@127.0.0.1:$(port_of replica-2)/certdb?sslmode=disable"
    local node key
    for node in replica-slot replica-archive replica-cascade replica-sync; do
      has_node "$node" || continue
      key=$(echo "${node#replica-}" | tr a-z A-Z)
      echo "LAB_REPLICA_${key}_DSN=postgres://monitor@127.0.0.1:$(port_of "$node")/certdb?sslmode=disable"
    done
    has_topo archive && echo "LAB_ARCHIVE_DIR=$LAB_DIR/archive"
    echo "LAB_PASSWORD_FILE=$LAB_DIR/monitor.password"
    echo "LAB_ORIGIN1_URL=http://127.0.0.1:$(port_of origin-1)/"
    echo "LAB_ORIGIN2_URL=http://127.0.0.1:$(port_of origin-2)/"
    echo "LAB_ISSUER=$LAB_DIR/ca/ca.pem"
    echo "LAB_SPOOL=$LAB_DIR/issued"
  } >"$LAB_DIR/lab.env"
}

has_node() { [[ " ${NODES[*]} " == *" $1 "* ]]; }

# check_recorded: an existing lab keeps the version and topology it was made
# with; asking for others needs a destroy first.
check_recorded() {
  local v t
  v=$(cat "$LAB_DIR/pg-version" 2>/dev/null || true)
  t=$(cat "$LAB_DIR/topology" 2>/dev/null || true)
  if [ -n "$v" ] && { [ "$v" != "$LAB_PG_VERSION" ] || [ "$t" != "$LAB_TOPOLOGY" ]; }; then
    die "$LAB_DIR holds PostgreSQL $v with topology '$t'; run lab/lab.sh destroy first"
  fi
}

cmd_up() {
  check_recorded
  ensure_postgres
  ensure_pg_user
  ensure_cfssl
  ensure_labtool
  mkdir -p "$LAB_DIR"/{log,run,issued}
  chown "$LAB_PG_USER" "$LAB_DIR" "$LAB_DIR/log" "$LAB_DIR/run" 2>/dev/null || true
  chmod 0755 "$LAB_DIR"
  echo "$LAB_PG_VERSION" >"$LAB_DIR/pg-version"
  echo "$LAB_TOPOLOGY" >"$LAB_DIR/topology"
  if has_topo archive; then
    mkdir -p "$LAB_DIR/archive"
    chown "$LAB_PG_USER" "$LAB_DIR/archive" 2>/dev/null || true
  fi
  copy_migrations
  init_ca
  init_primary
  pg_start primary
  clone_replicas "${NODES[@]:1}"
  local r
  for r in "${NODES[@]:1}"; do
    pg_start "$r"
  done
  write_db_configs
  start_origin origin-1 replica-1
  start_origin origin-2 replica-2
  write_env
  wait_streaming
  local ports=""
  for r in "${NODES[@]:1}"; do ports+=" $r:$(port_of "$r")"; done
  log "up: PostgreSQL $LAB_PG_VERSION primary :$(port_of primary), replicas$ports," \
    "origins :$(port_of origin-1) :$(port_of origin-2); settings in $LAB_DIR/lab.env"
}

# wait_streaming waits until every replica streams from its upstream.
wait_streaming() {
  local i node up n want ok
  for i in $(seq 150); do
    ok=1
    for up in primary replica-1; do
      want=0
      for node in "${NODES[@]:1}"; do [ "$(upstream_of "$node")" = "$up" ] && want=$((want + 1)); done
      ((want)) || continue
      n=$(psql_su "$up" -d postgres -Atc "SELECT count(*) FROM pg_stat_replication WHERE state='streaming'" 2>/dev/null || echo 0)
      [ "$n" = "$want" ] || ok=0
    done
    ((ok)) && return
    sleep 0.2
  done
  die "replicas are not streaming after 30s (see $LAB_DIR/log)"
}

# cmd_old_up starts a standalone PostgreSQL 12 (no replicas) on
# LAB_PG_OLD_PORT, for the test that the exporter refuses versions below 13.
cmd_old_up() {
  local bin dir="$LAB_DIR/old"
  ensure_npm_postgres 12
  ensure_pg_user
  bin=$(pg_server_bin 12)
  mkdir -p "$LAB_DIR"/{log,run}
  chown "$LAB_PG_USER" "$LAB_DIR" "$LAB_DIR/log" "$LAB_DIR/run" 2>/dev/null || true
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nfsync = off\nshared_buffers = 16MB\n" \
      "$LAB_PG_OLD_PORT" "$LAB_DIR/run" >>"$dir/postgresql.conf"
    PG_BIN=$bin pg_start_dir old
    as_pg "$PSQL_BIN/psql" -X -q -h "$LAB_DIR/run" -p "$LAB_PG_OLD_PORT" -U postgres -d postgres \
      -c "CREATE ROLE monitor WITH LOGIN PASSWORD '$MONITOR_PASSWORD' IN ROLE pg_monitor" -c "CREATE DATABASE certdb"
  fi
  PG_BIN=$bin pg_start_dir old
  echo "postgres://monitor@127.0.0.1:$LAB_PG_OLD_PORT/certdb?sslmode=disable"
}

cmd_old_down() {
  [ -f "$LAB_DIR/old/postmaster.pid" ] || return 0
  as_pg "$(pg_server_bin 12)/pg_ctl" -D "$LAB_DIR/old" -m immediate -w stop >/dev/null 2>&1 || true
}

# wait_node_streaming NODE waits until NODE streams from its upstream.
wait_node_streaming() {
  local i n
  for i in $(seq 150); do
    n=$(psql_su "$(upstream_of "$1")" -d postgres -Atc \
      "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$1' AND state = 'streaming'" 2>/dev/null || echo 0)
    [ "$n" = 1 ] && return
    sleep 0.2
  done
  die "$1 is not streaming after 30s (see $LAB_DIR/log/$1.log)"
}

cmd_down() {
  local o node i
  LAB_DIR="$LAB_DIR" bash "$REPO/lab/crl.sh" down || true # the CRL path (lab/crl.sh), if it was started
  # The CT log and openssl's responder, if started: a destroy never orphans them.
  LAB_DIR="$LAB_DIR" LAB_PG_PORT="$LAB_PG_PORT" bash "$REPO/lab/ct.sh" down >/dev/null 2>&1 || true
  LAB_DIR="$LAB_DIR" LAB_PG_PORT="$LAB_PG_PORT" bash "$REPO/lab/openssl-ocsp.sh" stop >/dev/null 2>&1 || true
  for o in origin-1 origin-2; do
    if origin_running "$o"; then kill "$(cat "$LAB_DIR/run/$o.pid")" 2>/dev/null || true; fi
    rm -f "$LAB_DIR/run/$o.pid"
  done
  for ((i = ${#NODES[@]} - 1; i >= 0; i--)); do
    node=${NODES[i]}
    [ -d "$LAB_DIR/$node" ] || continue
    # A SIGSTOPped node or checkpointer (a test fault) must be continued before it can stop.
    [ -f "$LAB_DIR/$node/postmaster.pid" ] && kill -CONT $(node_pids "$node") 2>/dev/null || true
    pg_running "$node" && as_pg "$PG_BIN/pg_ctl" -D "$LAB_DIR/$node" -m immediate -w stop >/dev/null || true
  done
  log "down"
}

cmd_destroy() {
  cmd_down
  cmd_old_down
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
  clone_replicas "$node"
  pg_start "$node"
  wait_node_streaming "$node"
  log "rebuilt $node"
}

# cmd_cut points a replica's WAL receiver at a closed port: it stays up and
# readable but receives nothing. uncut points it back at its upstream.
cmd_cut() {
  psql_su "$1" -d postgres -c "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 user=replicator connect_timeout=1'" \
    -c "SELECT pg_reload_conf()" >/dev/null
}
cmd_uncut() {
  psql_su "$1" -d postgres -c "ALTER SYSTEM SET primary_conninfo = '$(conninfo_of "$1")'" -c "SELECT pg_reload_conf()" >/dev/null
}

# checkpointer_pid prints the pid of a node's checkpointer process.
checkpointer_pid() {
  psql_su "$1" -d postgres -Atc "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"
}

cmd_status() {
  local node o
  echo "PostgreSQL $LAB_PG_VERSION, topology '${LAB_TOPOLOGY}'"
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
  cut) cmd_cut "${2:?node}" ;;
  old-up) cmd_old_up ;;
  old-down) cmd_old_down ;;
  uncut) cmd_uncut "${2:?node}" ;;
  version) psql_su primary -d postgres -Atc "SELECT current_setting('server_version_num')::int / 10000" ;;
  freeze-checkpointer) kill -STOP "$(checkpointer_pid "${2:?node}")" ;;
  thaw-checkpointer) kill -CONT $(node_pids "${2:?node}") ;;
  archive-fail) touch "$LAB_DIR/archive.fail" ;;
  archive-ok) rm -f "$LAB_DIR/archive.fail" ;;
  switch-wal) # switch-wal [N]: move the primary N segments on, writing almost nothing
    for _ in $(seq "${2:-1}"); do
      psql_su primary -d postgres -Atc "SELECT pg_logical_emit_message(false, 'lab', 'switch')" -c "SELECT pg_switch_wal()" >/dev/null
    done ;;
  precert)
    out="${2:?dir}/precert-$(date +%s%N).pem"
    "$TOOLS/labtool" precert "$LAB_DIR/ca/ca.pem" "$LAB_DIR/ca/ca-key.pem" "$out" >/dev/null
    echo "$out" ;;
  bulk)
    "$TOOLS/labtool" bulk "${2:?N}" "postgres://postgres@127.0.0.1:$(port_of primary)/certdb?sslmode=disable" \
      "$LAB_DIR/ca/ca.pem" "$LAB_DIR/ca/ca-key.pem" "$LAB_DIR/ca/responder.pem" "$LAB_DIR/ca/responder-key.pem" ;;
  ct) shift; exec bash "$REPO/lab/ct.sh" "$@" ;; # the CT log (lab/ct.sh)
  *) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
