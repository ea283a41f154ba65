#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 server on 127.0.0.1 for the postgres tests and print its
# URL on the last line (postgresql://ldb@127.0.0.1:PORT/ldb_test).
#
# Usage: start_postgres.sh DIR   (DIR: a new or empty folder for the cluster and socket;
# stop it with stop_postgres.sh DIR). Installs Debian's postgresql when absent. As root,
# the server runs as the `postgres` user, since PostgreSQL refuses to run as root.
set -euo pipefail

DIR="${1:?usage: start_postgres.sh DIR}"
DB_USER=ldb
DB_NAME=ldb_test
PW_USER=ldb_pw
PW_PASSWORD=ldb-test-password  # a throwaway server's; the password tests read it here

find_bindir() {
    for candidate in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
        if [ -n "$candidate" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

BINDIR="$(find_bindir || true)"
if [ -z "$BINDIR" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: PostgreSQL's initdb/pg_ctl not found; install the postgresql package" >&2
        exit 1
    fi
    echo "Installing PostgreSQL (apt-get install postgresql)..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    BINDIR="$(find_bindir)"
fi

# as root, every server command runs as the postgres user, who owns DIR
if [ "$(id -u)" -eq 0 ]; then
    as_server() { runuser -u postgres -- "$@"; }
else
    as_server() { "$@"; }
fi

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
if [ -n "$(ls -A "$DIR")" ]; then
    echo "error: $DIR is not empty" >&2
    exit 1
fi
[ "$(id -u)" -eq 0 ] && chown postgres: "$DIR"
chmod 700 "$DIR"

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

as_server "$BINDIR/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 || {
    cat "$DIR/initdb.log" >&2
    exit 1
}
# a role that must give a password (scram), for the tests of libpq's password sources;
# every other connection on loopback is trusted
{ echo "host all $PW_USER 127.0.0.1/32 scram-sha-256"; cat "$DIR/data/pg_hba.conf"; } >"$DIR/pg_hba.new"
as_server cp "$DIR/pg_hba.new" "$DIR/data/pg_hba.conf"
rm -f "$DIR/pg_hba.new"
# fsync off: a throwaway test server; a crash only loses the tests' data
as_server "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >&2 || {
    cat "$DIR/server.log" >&2
    exit 1
}
echo "$BINDIR" >"$DIR/bindir"

psql_admin() { "$BINDIR/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_admin -c "CREATE ROLE $DB_USER LOGIN CREATEDB" >&2
psql_admin -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >&2
psql_admin -c "CREATE ROLE $PW_USER LOGIN CREATEDB PASSWORD '$PW_PASSWORD'" >&2

echo "postgresql://$DB_USER@127.0.0.1:$PORT/$DB_NAME"
