#!/bin/sh
# Runs PostgreSQL from the host's /usr (the tend/hostusr image) as the
# postgres user. The first start on an empty data volume makes the cluster:
# a superuser $POSTGRES_USER with $POSTGRES_PASSWORD and a database
# $POSTGRES_DB, as the official postgres image does; the schema and rows come
# from tend's seeds once the server is ready.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "postgres: first start, making the cluster in $PGDATA"
    pw=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set}" >"$pw"
    initdb -D "$PGDATA" -U "$user" --pwfile="$pw" -E UTF8 --locale=C.UTF-8 --no-sync \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pw"
    # Other containers on the project network log in with the password.
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
        echo "CREATE DATABASE \"$db\" OWNER \"$user\"" |
            postgres --single -D "$PGDATA" -j postgres >/dev/null
    fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
