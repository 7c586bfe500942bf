#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine with Go:
# PostgreSQL 15 (the lab), Prometheus' promtool and Alertmanager (rules and the
# end-to-end paging test), Chromium (the browser test), nginx (the CRL lab's
# CDN). cfssl is installed by lab/lab.sh, pinned.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/chromium ] || need+=(chromium) # the status-page browser test (internal/browsertest)
[ -x /usr/sbin/nginx ] || need+=(nginx-light) # the CRL lab's caching proxy (CDN)
command -v openssl >/dev/null || need+=(openssl) # openssl's own OCSP responder in the lab
command -v ip >/dev/null || need+=(iproute2)      # its loopback-only network namespace
((${#need[@]})) || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "deps: apt-get install ${need[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's packages may start their own services; the project runs its own.
for svc in prometheus prometheus-alertmanager; do
  command -v service >/dev/null && service "$svc" stop >/dev/null 2>&1 || true
done
pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
