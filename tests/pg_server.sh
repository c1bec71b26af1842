#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 for the test run: a fresh cluster in DIR, owned by
# a non-root user, listening only on a unix socket in DIR (and on 127.0.0.1:PORT when given).
#   pg_server.sh start DIR [PORT]   prints nothing; fails loudly if the server cannot start
#   pg_server.sh stop DIR           stops the server and removes DIR
# Settings: durability off (fsync, synchronous_commit) for speed unless STRATA_PG_DURABLE=1.
set -euo pipefail

action=${1:?usage: pg_server.sh start|stop DIR [PORT]}
dir=${2:?usage: pg_server.sh start|stop DIR [PORT]}
port=${3:-}

bin=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
if [[ -z $bin ]]; then
  echo "pg_server.sh: PostgreSQL 15 is not installed (run scripts/install-deps)" >&2
  exit 1
fi

# initdb refuses to run as root: run the server as the postgres user then.
as_owner=()
if ((EUID == 0)); then as_owner=(runuser -u postgres --); fi

case $action in
  start)
    if [[ -e $dir/data/postmaster.pid ]]; then
      "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    if ((EUID == 0)); then chown postgres: "$dir"; fi
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U strata --auth=trust -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if [[ ${STRATA_PG_DURABLE:-0} == 1 ]]; then durability=""; fi
    listen="-c listen_addresses=''"
    if [[ -n $port ]]; then listen="-c listen_addresses=127.0.0.1"; fi
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir -p ${port:-5432} $listen -c max_connections=200 $durability" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    if [[ -e $dir/data/postmaster.pid ]]; then
      "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "pg_server.sh: unknown action '$action' (start|stop)" >&2
    exit 2
    ;;
esac
