#!/bin/sh
# The official postgres image's start-up sequence, reduced to what the test needs.
set -eu
bin=/usr/lib/postgresql/15/bin
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql
  as_postgres "$bin/initdb" -D "$PGDATA" -U postgres -A scram-sha-256 --auth-local=trust --no-sync >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  # Temporary server: unix socket only, so nothing on TCP can mistake it for the real one.
  as_postgres "$bin/pg_ctl" -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=/run/postgresql" start
  # The password comes from the secret file and goes to psql on stdin, never on a command line.
  { printf "CREATE ROLE app LOGIN PASSWORD :'pw';\nCREATE DATABASE appdb OWNER app;\n"; } |
    as_postgres "$bin/psql" -h /run/postgresql -U postgres -d postgres -q -v ON_ERROR_STOP=1 -v pw="$(cat /run/secrets/db_password)"
  sleep "${INIT_DELAY:-0}"   # the init scripts of a real project take a while
  as_postgres "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups \
  "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql
