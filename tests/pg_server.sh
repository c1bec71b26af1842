#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 for the test run: a fresh cluster in DIR, owned by
# a non-root user, listening only on a unix socket in DIR (and on 127.0.0.1:PORT when given),
# with PgBouncer in transaction mode in front of it on the socket DIR/.s.PGSQL.6432.
#   pg_server.sh start DIR [PORT]   prints nothing; fails loudly if the server cannot start
#   pg_server.sh restart DIR [PORT] stops the server (fast shutdown), keeps it down for
#                                   $STRATA_PG_DOWN_SECONDS (default 0), and starts it again
#   pg_server.sh stop DIR           stops the server and removes DIR
#   pg_server.sh bin                prints the directory of PostgreSQL's programs
#   pg_server.sh recover DIR BASE ARCHIVE POINT
#                                   starts a server in DIR from the base backup BASE (as
#                                   pg_basebackup -Fp wrote it), replaying the WAL in ARCHIVE up
#                                   to the restore point POINT, then promoting it; waits until it
#                                   takes writes
# Settings: durability off (fsync, synchronous_commit) for speed unless STRATA_PG_DURABLE=1.
# STRATA_PG_TLS=1: TLS on, with a certificate for localhost and 127.0.0.1 signed by a throwaway
# CA (DIR/ca.crt); DIR/other-ca.crt is a CA that signed nothing here.
# STRATA_PG_ARCHIVE=1: every finished WAL segment is copied to DIR/archive.
set -euo pipefail

action=${1:?usage: pg_server.sh start|restart|stop|recover|bin DIR [PORT]}

bin=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
if [[ -z $bin ]]; then
  echo "pg_server.sh: PostgreSQL 15 is not installed (run scripts/install-deps)" >&2
  exit 1
fi
if [[ $action == bin ]]; then
  echo "$bin"
  exit 0
fi

dir=${2:?usage: pg_server.sh start|restart|stop|recover DIR [PORT]}
port=${3:-}

# initdb refuses to run as root: run the server as the postgres user then.
as_owner=()
if ((EUID == 0)); then as_owner=(runuser -u postgres --); fi

start_pgbouncer() {
  if ! command -v pgbouncer >/dev/null; then
    echo "pg_server.sh: pgbouncer is not installed (run scripts/install-deps)" >&2
    exit 1
  fi
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
postgres = host=$dir port=${port:-5432} dbname=postgres
[pgbouncer]
listen_addr =
unix_socket_dir = $dir
listen_port = 6432
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 10
ignore_startup_parameters = options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  echo '"strata" ""' >"$dir/userlist.txt"
  if ((EUID == 0)); then chown postgres: "$dir/pgbouncer.ini" "$dir/userlist.txt"; fi
  "${as_owner[@]}" pgbouncer -d "$dir/pgbouncer.ini" || { cat "$dir/pgbouncer.log" >&2; exit 1; }
  for _ in $(seq 50); do
    [[ -S $dir/.s.PGSQL.6432 ]] && return 0
    sleep 0.1
  done
  echo "pg_server.sh: pgbouncer did not start" >&2
  cat "$dir/pgbouncer.log" >&2
  exit 1
}

make_certificates() {
  local options=(-days 2 -nodes)
  openssl req -new -x509 "${options[@]}" -subj "/CN=Strata test CA" -keyout "$dir/ca.key" \
    -out "$dir/ca.crt" 2>/dev/null
  openssl req -new -x509 "${options[@]}" -subj "/CN=Another CA" -keyout "$dir/other-ca.key" \
    -out "$dir/other-ca.crt" 2>/dev/null
  openssl req -new -nodes -subj "/CN=localhost" -keyout "$dir/server.key" \
    -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  chmod 600 "$dir/server.key"
  if ((EUID == 0)); then chown postgres: "$dir/server.key" "$dir/server.crt"; fi
}

start_server() {
  local tls=""
  if [[ ${STRATA_PG_TLS:-0} == 1 ]]; then
    tls="-c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
  fi
  local archive=""
  if [[ ${STRATA_PG_ARCHIVE:-0} == 1 ]]; then
    archive="-c archive_mode=on -c archive_command='cp %p $dir/archive/%f'"
  fi
  durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [[ ${STRATA_PG_DURABLE:-0} == 1 ]]; then durability=""; fi
  listen="-c listen_addresses=''"
  if [[ -n $port ]]; then listen="-c listen_addresses=127.0.0.1"; fi
  "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -p ${port:-5432} $listen -c max_connections=200 $durability $tls $archive" start \
    >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
}

case $action in
  start)
    if [[ -e $dir/pgbouncer.pid ]]; then
      kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    fi
    if [[ -e $dir/data/postmaster.pid ]]; then
      "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    if ((EUID == 0)); then chown postgres: "$dir"; fi
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U strata --auth=trust -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    if [[ ${STRATA_PG_TLS:-0} == 1 ]]; then make_certificates; fi
    if [[ ${STRATA_PG_ARCHIVE:-0} == 1 ]]; then "${as_owner[@]}" mkdir "$dir/archive"; fi
    start_server
    start_pgbouncer
    ;;
  recover)
    base=${3:?usage: pg_server.sh recover DIR BASE ARCHIVE POINT}
    archive_dir=${4:?usage: pg_server.sh recover DIR BASE ARCHIVE POINT}
    point=${5:?usage: pg_server.sh recover DIR BASE ARCHIVE POINT}
    port=""
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -a "$base" "$dir/data"
    chmod 700 "$dir/data"
    touch "$dir/data/recovery.signal"
    cat >>"$dir/data/postgresql.auto.conf" <<CONF
restore_command = 'cp $archive_dir/%f %p'
recovery_target_name = '$point'
recovery_target_action = 'promote'
CONF
    if ((EUID == 0)); then chown -R postgres: "$dir"; fi
    start_server
    for _ in $(seq 600); do
      if [[ $("${as_owner[@]}" "$bin/psql" -h "$dir" -U strata -d postgres -Atc \
        "SELECT pg_is_in_recovery()" 2>/dev/null) == f ]]; then
        exit 0
      fi
      sleep 0.1
    done
    echo "pg_server.sh: the recovered server did not leave recovery" >&2
    cat "$dir/server.log" >&2
    exit 1
    ;;
  restart)
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    sleep "${STRATA_PG_DOWN_SECONDS:-0}"
    start_server
    ;;
  stop)
    if [[ -e $dir/pgbouncer.pid ]]; then
      kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    fi
    if [[ -e $dir/data/postmaster.pid ]]; then
      "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "pg_server.sh: unknown action '$action' (start|restart|stop|recover|bin)" >&2
    exit 2
    ;;
esac
