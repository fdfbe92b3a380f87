#!/bin/sh
# Seeds during `tend up`: a service's x-tend.seed steps run once it is first
# ready, and what depends on it being healthy starts only after they are
# done; a rerun does not run them again (their record lives with the data);
# a failing step stops up with FILE:LINE, leaves the data as it was, and its
# dependents never start. The Postgres server is a host process started
# here; the db service stands for it through its probe. TAP output.
# Usage: test-up-seed.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

PGBIN=
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && PGBIN=$d
done
[ -n "$PGBIN" ] || skip_all "postgres not installed"
PSQL=$PGBIN/psql
[ -x "$PSQL" ] || PSQL=psql
AS_PG=
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || skip_all "running as root and there is no postgres user"
    AS_PG="setpriv --reuid=postgres --regid=postgres --init-groups --"
fi
mkdir -p "$T/pg" "$T/seeds"
[ -n "$AS_PG" ] && chown postgres:postgres "$T/pg"
if ! $AS_PG "$PGBIN/initdb" -D "$T/pg" -U postgres -A trust -E UTF8 --no-sync >"$T/initdb.log" 2>&1; then
    notok "initdb prepares a data folder" "$(tail -n 5 "$T/initdb.log")"
    finish
fi
PGPORT=$(free_port)
setsid $AS_PG "$PGBIN/postgres" -D "$T/pg" -p "$PGPORT" -k "$T/pg" -c listen_addresses=127.0.0.1 \
    -c fsync=off >"$T/postgres.log" 2>&1 &
sql() { "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -AtX -c "$1" 2>&1; }
if ! wait_for 20 eval 'sql "select 1" >/dev/null 2>&1'; then
    notok "postgres starts" "$(tail -n 5 "$T/postgres.log")"
    finish
fi

cat >"$T/seeds/schema.sql" <<'EOF'
CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text NOT NULL);
EOF
cat >"$T/seeds/data.sql" <<'EOF'
INSERT INTO items VALUES (1, 'one'), (2, 'two') ON CONFLICT DO NOTHING;
EOF
cat >"$T/seeds/bad.sql" <<'EOF'
INSERT INTO items VALUES (3, 'three');
INSERT INTO items VALUES (4, 'four', 'one too many');
EOF
stack() { # NAME EXTRA_SEED_LINE
    cat >"$T/$1.yaml" <<EOF
services:
  db:
    command: ["sleep", "1000"]
    x-tend:
      probe:
        postgres: {host: 127.0.0.1, port: $PGPORT, user: postgres, dbname: postgres}
      seed:
        - sql: seeds/schema.sql
        - sql: seeds/data.sql
$2
  app:
    command: ["sh", "-c", "echo items=\$\$('$PSQL' -h 127.0.0.1 -p $PGPORT -U postgres -d postgres -AtX -c 'select count(*) from items'); exec sleep 1000"]
    depends_on:
      db: {condition: service_healthy}
EOF
}
stack seeded ""
start_tend seeded up --no-color
if wait_for 30 grep -q 'all services ready' "$T/seeded.out" && wait_for 10 grep -q 'items=' "$T/seeded.out"; then
    ok "up with seeds becomes ready"
else
    notok "up with seeds becomes ready"
    diag_run seeded
fi
if grep -q '^app *| items=2$' "$T/seeded.out"; then
    ok "the dependent started only after the seeds ran (it saw the seeded rows)"
else
    notok "the dependent started only after the seeds ran (it saw the seeded rows)"
    diag_run seeded
fi
applied=$(sql "select step || checksum || applied_at from tend_seed order by step")
if [ "$(sql 'select count(*) from tend_seed')" = 2 ]; then ok "each step is recorded with the data"; else notok "each step is recorded with the data" "$applied"; fi
kill -INT "$TEND_PID"
wait_tend 30

start_tend seeded up --no-color
wait_for 30 grep -q 'all services ready' "$T/seeded.out" || diag_run seeded
wait_for 10 grep -q 'items=' "$T/seeded.out"
if [ "$(sql "select step || checksum || applied_at from tend_seed order by step")" = "$applied" ] &&
    grep -q '^app *| items=2$' "$T/seeded.out"; then
    ok "a rerun does not run the seeds again"
else
    notok "a rerun does not run the seeds again"
    diag_run seeded
fi
kill -INT "$TEND_PID"
wait_tend 30

stack failing "        - sql: seeds/bad.sql"
start_tend failing up --no-color
wait_tend 60
if [ "$TEND_RC" = 1 ] && grep -q 'seeds/bad.sql:2' "$T/failing.out"; then
    ok "a failing seed stops up (exit 1) and names FILE:LINE"
else
    notok "a failing seed stops up (exit 1) and names FILE:LINE" "rc=$TEND_RC"
    diag_run failing
fi
if [ "$(sql 'select count(*) from items')" = 2 ]; then ok "the failed step left the data as it was"; else notok "the failed step left the data as it was" "$(sql 'select * from items')"; fi
if grep -q '^app *| started' "$T/failing.out"; then
    notok "the dependent of a service whose seed failed never starts"
    diag_run failing
else
    ok "the dependent of a service whose seed failed never starts"
fi
finish
