#!/usr/bin/env bash
# The lab's CRL publishing path, on top of lab/lab.sh (which must be up):
# per origin, a renderer that turns its replica's view of cfssl's certdb into
# sharded CRLs (labtool crl, with CRLNumber and IDP) every few seconds, and a
# real HTTP server for that origin's docroot; nginx with proxy_cache in front
# of both origins as the CDN. cfssl's own `cfssl crl` output (no CRLNumber)
# is published too, as cfssl.crl, and crls.json lists the shards as CCADB
# does. Everything listens on 127.0.0.1.
#
#   lab/crl.sh up                 start renderers, origin servers and the CDN (idempotent)
#   lab/crl.sh down               stop them
#   lab/crl.sh status             one line per part
#   lab/crl.sh cdn-stale on|off   the CDN keeps what it cached for an hour / back to a 2 s TTL (cache wiped)
#   lab/crl.sh stop|start NAME    stop or start one part: render-N, serve-N (N = 1, 2) or cdn
#   lab/crl.sh cfssl-crl          re-render cfssl.crl at both origins
#   lab/crl.sh ocsp-refresh       re-sign every OCSP row from certdb (cfssl ocsprefresh), so that
#                                 revocations reach the OCSP origins too
#
# Settings (environment): LAB_DIR as for lab.sh; LAB_PG_PORT (primary; replica-N
# is +N); LAB_CRL_PORT (origin-1's CRL server, origin-2 +1; default 59190);
# LAB_CRL_CDN_PORT (default 59192); LAB_CRL_EVERY (render interval, default 2s);
# LAB_CRL_SHARDS (default 2).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_DIR=${LAB_DIR:-/tmp/certstatus-lab}
LAB_PG_PORT=${LAB_PG_PORT:-55432}
LAB_CRL_PORT=${LAB_CRL_PORT:-59190}
LAB_CRL_CDN_PORT=${LAB_CRL_CDN_PORT:-59192}
LAB_CRL_EVERY=${LAB_CRL_EVERY:-2s}
LAB_CRL_SHARDS=${LAB_CRL_SHARDS:-2}
TOOLS="$REPO/.tools/bin"
D="$LAB_DIR/crl"
CRL_HOST=crl.lab.example
NGINX=${NGINX:-/usr/sbin/nginx}

log() { printf 'crl-lab: %s\n' "$*" >&2; }
die() { printf 'crl-lab: error: %s\n' "$*" >&2; exit 1; }

ensure_nginx() {
  [ -x "$NGINX" ] && return
  [ "$(id -u)" = 0 ] || die "nginx is missing; run as root or: sudo apt-get install nginx-light"
  log "installing nginx-light"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
  # Debian's package starts its own service on :80; the lab runs its own.
  command -v service >/dev/null && service nginx stop >/dev/null 2>&1 || true
}

# ours PID PATTERN: PID is alive and runs a command matching PATTERN. A
# stale pid file's number may belong to any process by now (pids wrap).
ours() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"; }
running() { [ -f "$D/run/$1.pid" ] && ours "$(cat "$D/run/$1.pid")" 'labtool\|nginx'; }

wait_port() {
  local i
  for i in $(seq 200); do # 20 s: a loaded 2-core machine
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
    sleep 0.1
  done
  die "nothing listens on :$1; see $D/log ($(tail -c 300 "$D"/log/*.log 2>/dev/null | tr '\n' ' '))"
}

serve_port() { echo $((LAB_CRL_PORT + $1 - 1)); }

# port_free refuses a port someone else listens on: waiting for "our" server
# would otherwise find theirs (another lab on the same defaults).
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "port $1 is busy (another lab?); set LAB_CRL_PORT / LAB_CRL_CDN_PORT"
  fi
}

start_render() { # start_render N: origin-N renders replica-N's view
  local n=$1
  running "render-$n" && return
  nohup "$TOOLS/labtool" crl -dsn "postgres://postgres@127.0.0.1:$((LAB_PG_PORT + n))/certdb?sslmode=disable&connect_timeout=2" \
    -ca "$LAB_DIR/ca/ca.pem" -key "$LAB_DIR/ca/ca-key.pem" -out "$D/origin-$n" -url "http://$CRL_HOST/shards/" \
    -shards "$LAB_CRL_SHARDS" -every "$LAB_CRL_EVERY" >"$D/log/render-$n.log" 2>&1 &
  echo $! >"$D/run/render-$n.pid"
}

start_serve() {
  local n=$1
  running "serve-$n" && return
  port_free "$(serve_port "$n")"
  nohup "$TOOLS/labtool" crl serve -dir "$D/origin-$n" -addr "127.0.0.1:$(serve_port "$n")" >"$D/log/serve-$n.log" 2>&1 &
  echo $! >"$D/run/serve-$n.pid"
  wait_port "$(serve_port "$n")"
}

write_nginx_conf() { # write_nginx_conf TTL
  mkdir -p "$D/nginx/cache" "$D/nginx/tmp"
  cat >"$D/nginx/nginx.conf" <<EOC
pid $D/run/cdn.pid;
error_log $D/log/cdn-error.log warn;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log $D/log/cdn-access.log;
  client_body_temp_path $D/nginx/tmp/body;
  proxy_temp_path $D/nginx/tmp/proxy;
  fastcgi_temp_path $D/nginx/tmp/fastcgi;
  uwsgi_temp_path $D/nginx/tmp/uwsgi;
  scgi_temp_path $D/nginx/tmp/scgi;
  proxy_cache_path $D/nginx/cache levels=1 keys_zone=crl:1m max_size=64m inactive=2h use_temp_path=off;
  upstream origins { server 127.0.0.1:$(serve_port 1); server 127.0.0.1:$(serve_port 2); }
  server {
    listen 127.0.0.1:$LAB_CRL_CDN_PORT;
    location / {
      proxy_pass http://origins;
      proxy_set_header Host \$host;
      proxy_cache crl;
      proxy_cache_valid 200 $1;
      proxy_ignore_headers Cache-Control Expires Set-Cookie;
      proxy_cache_use_stale error timeout updating http_502 http_503 http_504;
      add_header X-Cache-Status \$upstream_cache_status;
    }
  }
}
EOC
  # Workers run as nobody when the master is root.
  [ "$(id -u)" = 0 ] && chown -R nobody "$D/nginx" || true
}

start_cdn() {
  running cdn && return
  port_free "$LAB_CRL_CDN_PORT"
  [ -f "$D/nginx/nginx.conf" ] || write_nginx_conf 2s
  "$NGINX" -p "$D/nginx" -e "$D/log/cdn-error.log" -c "$D/nginx/nginx.conf"
  wait_port "$LAB_CRL_CDN_PORT"
}

stop_one() {
  local name=$1
  if running "$name"; then
    if [ "$name" = cdn ]; then
      "$NGINX" -p "$D/nginx" -e "$D/log/cdn-error.log" -c "$D/nginx/nginx.conf" -s stop 2>/dev/null || kill "$(cat "$D/run/cdn.pid")"
      local i
      for i in $(seq 50); do running cdn || break; sleep 0.1; done
    else
      kill "$(cat "$D/run/$name.pid")" 2>/dev/null || true
    fi
  fi
  rm -f "$D/run/$name.pid"
}

# cfssl_crl N: cfssl's own CRL of replica-N's view (base64 DER on stdout).
cfssl_crl() {
  local n=$1
  "$TOOLS/cfssl" crl -loglevel 5 -db-config "$LAB_DIR/ca/db-replica-$n.json" -ca "$LAB_DIR/ca/ca.pem" \
    -ca-key "$LAB_DIR/ca/ca-key.pem" | base64 -d >"$D/origin-$n/cfssl.crl.tmp"
  mv "$D/origin-$n/cfssl.crl.tmp" "$D/origin-$n/cfssl.crl"
}

# write_shard_list: the CCADB-style JSON array of the shards' URLs, at both origins.
write_shard_list() {
  local n i list=""
  for i in $(seq 0 $((LAB_CRL_SHARDS - 1))); do
    list+="${list:+, }\"http://$CRL_HOST/shards/$i.crl\""
  done
  for n in 1 2; do echo "[$list]" >"$D/origin-$n/crls.json"; done
}

write_env() {
  cat >"$D/crl.env" <<EOF2
LAB_CRL_HOST=$CRL_HOST
LAB_CRL_SHARD_URL=http://$CRL_HOST/shards/
LAB_CRL_SHARDS=$LAB_CRL_SHARDS
LAB_CRL_ORIGIN1_URL=http://127.0.0.1:$(serve_port 1)/
LAB_CRL_ORIGIN2_URL=http://127.0.0.1:$(serve_port 2)/
LAB_CRL_CDN_URL=http://127.0.0.1:$LAB_CRL_CDN_PORT/
LAB_CRL_SHARD_LIST_URL=http://127.0.0.1:$(serve_port 1)/crls.json
EOF2
}

cmd_up() {
  [ -f "$LAB_DIR/lab.env" ] || die "the lab is not up (run: lab/lab.sh up)"
  ensure_nginx
  (cd "$REPO" && go build -o "$TOOLS/labtool" ./lab/labtool)
  mkdir -p "$D/run" "$D/log" "$D/origin-1/shards" "$D/origin-2/shards"
  local n
  # Before starting anything: a port already taken means another lab.
  running serve-1 || port_free "$(serve_port 1)"
  running serve-2 || port_free "$(serve_port 2)"
  running cdn || port_free "$LAB_CRL_CDN_PORT"
  for n in 1 2; do
    start_render "$n"
    cfssl_crl "$n"
    start_serve "$n"
  done
  start_cdn
  write_shard_list
  write_env
  for n in 1 2; do # the first render is there before anyone fetches
    local i
    for i in $(seq 100); do [ -f "$D/origin-$n/shards/0.crl" ] && break; sleep 0.1; done
    [ -f "$D/origin-$n/shards/0.crl" ] || die "origin-$n rendered no CRL; see $D/log/render-$n.log"
  done
  log "up: origin CRL servers :$(serve_port 1) :$(serve_port 2), CDN :$LAB_CRL_CDN_PORT; settings in $D/crl.env"
}

cmd_down() {
  [ -d "$D/run" ] || return 0
  local p
  for p in cdn serve-1 serve-2 render-1 render-2; do stop_one "$p"; done
  log "down"
}

cmd_status() {
  local p
  for p in render-1 render-2 serve-1 serve-2 cdn; do
    if running "$p"; then echo "$p up"; else echo "$p down"; fi
  done
}

cmd_cdn_stale() {
  case "${1:-}" in
    on) write_nginx_conf 1h
        "$NGINX" -p "$D/nginx" -e "$D/log/cdn-error.log" -c "$D/nginx/nginx.conf" -s reload ;;
    off) stop_one cdn
         rm -rf "$D/nginx/cache"
         write_nginx_conf 2s
         start_cdn ;;
    *) die "cdn-stale on|off" ;;
  esac
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  cdn-stale) cmd_cdn_stale "${2:-}" ;;
  stop) stop_one "${2:?name}" ;;
  start)
    case "${2:?name}" in
      render-[12]) start_render "${2#render-}" ;;
      serve-[12]) start_serve "${2#serve-}" ;;
      cdn) start_cdn ;;
      *) die "unknown part $2" ;;
    esac ;;
  cfssl-crl) cfssl_crl 1; cfssl_crl 2 ;;
  ocsp-refresh)
    "$TOOLS/cfssl" ocsprefresh -loglevel 3 -db-config "$LAB_DIR/ca/db-primary.json" -ca "$LAB_DIR/ca/ca.pem" \
      -responder "$LAB_DIR/ca/responder.pem" -responder-key "$LAB_DIR/ca/responder-key.pem" -interval 96h ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
