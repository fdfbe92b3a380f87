#!/bin/sh
# `tend seed` against real servers: a Postgres and a Redis from the Debian
# packages, started here as host processes on free ports of 127.0.0.1. The
# services of the project are host services whose probes say where the
# servers are. Proves that:
#   1. SQL, Redis and exec steps run, in order, and record themselves with
#      the data (the table tend_seed, the hash tend:seed);
#   2. a second run runs nothing again;
#   3. a changed file runs its step again, and only that step;
#   4. a failing SQL file reports FILE:LINE and the server's message and
#      leaves no rows and no record (statement position and statement start);
#   5. a Redis file with a refused command reports FILE:LINE and applies
#      nothing;
#   6. --force runs every step again;
#   7. a store that cannot be reached fails at once with its address;
#   8. a failing seed during `tend up` stops it with FILE:LINE, and the
#      service that depends on the seeded one never starts.
# TAP output. Usage: test-seed.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

PGBIN=
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && PGBIN=$d
done
[ -n "$PGBIN" ] || skip_all "postgres not installed"
command -v redis-server >/dev/null || skip_all "redis-server not installed"
command -v redis-cli >/dev/null || skip_all "redis-cli not installed"
PSQL=$PGBIN/psql
[ -x "$PSQL" ] || PSQL=psql

# initdb and postgres refuse to run as root: as root, run them as postgres.
AS_PG=
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || skip_all "running as root and there is no postgres user"
    AS_PG="setpriv --reuid=postgres --regid=postgres --init-groups --"
fi
mkdir -p "$T/pg" "$T/redis" "$T/seeds"
[ -n "$AS_PG" ] && chown postgres:postgres "$T/pg"
if ! $AS_PG "$PGBIN/initdb" -D "$T/pg" -U postgres -A trust -E UTF8 --no-sync >"$T/initdb.log" 2>&1; then
    notok "initdb prepares a data folder" "$(tail -n 5 "$T/initdb.log")"
    finish
fi
PGPORT=$(free_port)
REDISPORT=$(free_port)
# setsid: a group of their own, which lib.sh's cleanup kills as a whole.
setsid $AS_PG "$PGBIN/postgres" -D "$T/pg" -p "$PGPORT" -k "$T/pg" -c listen_addresses=127.0.0.1 \
    -c fsync=off >"$T/postgres.log" 2>&1 &
echo $! >>"$T/pgids"
setsid redis-server --port "$REDISPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T/redis" \
    >"$T/redis.log" 2>&1 &
echo $! >>"$T/pgids"

sql() { "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -AtX -c "$1" 2>&1; }
rcli() { redis-cli -h 127.0.0.1 -p "$REDISPORT" "$@" 2>&1; }
if ! wait_for 20 eval 'sql "select 1" >/dev/null 2>&1' || ! wait_for 10 eval 'rcli ping | grep -q PONG'; then
    notok "postgres and redis start" "$(tail -n 5 "$T/postgres.log")" "$(tail -n 5 "$T/redis.log")"
    finish
fi

cat >"$T/seeds/schema.sql" <<'EOF'
-- The schema; a file may hold many statements. Seed files should be
-- safe to run again (a change or --force reruns them).
CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE IF NOT EXISTS notes (body text);
EOF
cat >"$T/seeds/data.sql" <<'EOF'
INSERT INTO items VALUES (1, 'one'), (2, 'two; with a semicolon');
INSERT INTO notes VALUES ($$dollar ; quoted$$), ('it''s; fine');
EOF
cat >"$T/seeds/cache.redis" <<'EOF'
# Redis commands, one per line.
SET greeting "hello world"
HSET user:1 name 'Ada Lovelace' born 1815
RPUSH queue a b c   # a trailing comment
EOF
cat >"$T/seeds/bad-pos.sql" <<'EOF'
INSERT INTO items VALUES (10, 'ten');
/* a comment; with a semicolon */
INSERT INTO items VALUES (11, 'eleven');
INSERT INTO items
  VALUES (12, 'twelve',
          no_such_column);
INSERT INTO items VALUES (13, 'never');
EOF
cat >"$T/seeds/bad-dup.sql" <<'EOF'
INSERT INTO items VALUES (20, 'twenty');

INSERT INTO items VALUES (1, 'a duplicate');
EOF
cat >"$T/seeds/bad.redis" <<'EOF'
SET bad:one 1
NOSUCHCOMMAND x y
SET bad:two 2
EOF
cat >"$T/seeds/wrongtype.redis" <<'EOF'
SET wt:str text
INCR wt:str
EOF

cat >"$T/seed.yaml" <<EOF
services:
  db:
    command: ["sleep", "1000"]
    x-tend:
      probe:
        postgres: {host: 127.0.0.1, port: $PGPORT, user: postgres, dbname: postgres}
      seed:
        - sql: seeds/schema.sql
        - sql: [seeds/data.sql]
        - exec: echo db-exec >>"$T/exec.log"
  cache:
    command: ["sleep", "1000"]
    x-tend:
      probe:
        redis: {host: 127.0.0.1, port: $REDISPORT}
      seed:
        - redis: seeds/cache.redis
  app:
    command: ["sleep", "1000"]
    depends_on: [db, cache]
    x-tend:
      seed:
        - exec: ["sh", "-c", "echo app-exec >>'$T/exec.log'; echo app seeding output"]
  bad_pos:
    command: ["sleep", "1000"]
    depends_on: [db]
    profiles: [bad]
    x-tend:
      seed:
        - sql: seeds/bad-pos.sql
  bad_dup:
    command: ["sleep", "1000"]
    depends_on: [db]
    profiles: [bad]
    x-tend:
      seed:
        - sql: seeds/bad-dup.sql
  bad_redis:
    command: ["sleep", "1000"]
    depends_on: [cache]
    profiles: [bad]
    x-tend:
      seed:
        - redis: seeds/bad.redis
  bad_exec:
    command: ["sleep", "1000"]
    depends_on: [cache]
    profiles: [bad]
    x-tend:
      seed:
        - redis: seeds/wrongtype.redis
  nowhere:
    command: ["sleep", "1000"]
    profiles: [bad]
    x-tend:
      probe:
        redis: {host: 127.0.0.1, port: $(free_port)}
      seed:
        - redis: seeds/cache.redis
EOF

# seed NAME ARGS...: tend seed on the project; output in $T/NAME.out, status in RC.
seed() {
    _name=$1
    shift
    "$TEND" -p seedtest -f "$T/seed.yaml" "$@" >"$T/$_name.out" 2>&1
    RC=$?
}
has() { grep -qF -- "$2" "$T/$1.out"; }
lines() { [ -f "$T/exec.log" ] && wc -l <"$T/exec.log" | tr -d ' ' || echo 0; }

# ---- 1. the first run ----

seed first seed
if [ $RC = 0 ]; then ok "the first tend seed succeeds"; else notok "the first tend seed succeeds" "exit $RC" "$(cat "$T/first.out")"; fi
check "the SQL files ran" [ "$(sql 'select count(*) from items')" = 2 ]
check "dollar quotes and doubled quotes hide semicolons" [ "$(sql 'select count(*) from notes')" = 2 ]
check "the Redis file ran" [ "$(rcli GET greeting)" = "hello world" ]
check "quoted Redis words stay whole" [ "$(rcli HGET user:1 name)" = "Ada Lovelace" ]
check "both exec steps ran on the host, once each" [ "$(lines)" = 2 ]
check "an exec step's output is shown under its service" grep -qE '^app +\| app seeding output$' "$T/first.out"
got=$(sql "select step from tend_seed order by step" | tr '\n' ',')
want="app: exec sh -c echo app-exec >>'$T/exec.log'; echo app seeding output,db: exec echo db-exec >>\"$T/exec.log\",db: sql seeds/data.sql,db: sql seeds/schema.sql,"
if [ "$got" = "$want" ]; then
    ok "the SQL and exec steps are recorded in tend_seed (app's exec in its Postgres dependency)"
else
    notok "the SQL and exec steps are recorded in tend_seed (app's exec in its Postgres dependency)" "got:  $got" "want: $want"
fi
check "the checksums are SHA-256" [ "$(sql "select count(*) from tend_seed where checksum ~ '^sha256:[0-9a-f]{64}\$'")" = 4 ]
check "the Redis step is recorded in the hash tend:seed" \
    eval '[ "$(rcli HGET tend:seed "cache: redis seeds/cache.redis" | cut -c1-7)" = "sha256:" ]'
# Order: db before app (app depends on it), and db's steps in file order.
if awk '/^db +\| seed db: sql seeds\/schema.sql/{a=NR} /^db +\| seed db: sql seeds\/data.sql/{b=NR} /^app +\| seed app: exec/{c=NR} END{exit !(a && b && c && a<b && b<c)}' "$T/first.out"; then
    ok "steps run in order, a service after its dependencies"
else
    notok "steps run in order, a service after its dependencies" "$(cat "$T/first.out")"
fi

# ---- 2. a second run runs nothing ----

seed second seed
check "the second run succeeds" [ $RC = 0 ]
check "the second run says every step is up to date" has second "seeds: 0 ran, 5 up to date"
check "no SQL ran again" [ "$(sql 'select count(*) from items')" = 2 ]
check "no exec step ran again" [ "$(lines)" = 2 ]
check "no Redis command ran again" [ "$(rcli LLEN queue)" = 3 ]

# ---- 3. a changed file runs again ----

# A new row; the old ones are there already, so the file is made safe to rerun.
cat >"$T/seeds/data.sql" <<'EOF'
INSERT INTO items VALUES (1, 'one'), (2, 'two; with a semicolon') ON CONFLICT DO NOTHING;
INSERT INTO items VALUES (3, 'three') ON CONFLICT DO NOTHING;
EOF
seed changed seed db
check "the run after a change succeeds" [ $RC = 0 ]
check "the changed file ran again" [ "$(sql 'select count(*) from items')" = 3 ]
check "only the changed step ran" has changed "seeds: 1 ran, 2 up to date"
check "the unchanged schema step did not run" has changed "seed db: sql seeds/schema.sql: up to date"

# ---- 4. a failing SQL file ----

before=$(sql 'select count(*) from tend_seed')
seed badpos --profile bad seed bad_pos
check "a failing SQL file fails tend seed" [ $RC = 1 ]
if has badpos "seeds/bad-pos.sql:6: ERROR: column \"no_such_column\" does not exist"; then
    ok "the error names FILE:LINE of the error's position and the server's message"
else
    notok "the error names FILE:LINE of the error's position and the server's message" "$(cat "$T/badpos.out")"
fi
check "no row of the failing file is left (rolled back)" [ "$(sql 'select count(*) from items where id >= 10')" = 0 ]
check "the failing step is not recorded" [ "$(sql 'select count(*) from tend_seed')" = "$before" ]

seed baddup --profile bad seed bad_dup
check "a constraint violation fails tend seed" [ $RC = 1 ]
if has baddup "seeds/bad-dup.sql:3: ERROR: duplicate key value violates unique constraint"; then
    ok "an error without a position names the line its statement starts on"
else
    notok "an error without a position names the line its statement starts on" "$(cat "$T/baddup.out")"
fi
check "the rows before the failing statement are rolled back" [ "$(sql 'select count(*) from items where id = 20')" = 0 ]
check "the existing row is untouched" [ "$(sql "select name from items where id = 1")" = one ]

# ---- 5. a failing Redis file ----

seed badredis --profile bad seed bad_redis
check "a Redis file with a refused command fails tend seed" [ $RC = 1 ]
if has badredis "seeds/bad.redis:2: ERR unknown command"; then
    ok "the Redis error names FILE:LINE and the server's message"
else
    notok "the Redis error names FILE:LINE and the server's message" "$(cat "$T/badredis.out")"
fi
check "no command of the refused Redis file was applied" [ "$(rcli EXISTS bad:one)" = 0 ]
check "the refused Redis step is not recorded" \
    [ "$(rcli HEXISTS tend:seed "bad_redis: redis seeds/bad.redis")" = 0 ]

# A command that fails only when EXEC runs it: the others are applied
# (Redis has no rollback), and the record written in the same transaction
# is taken back out, so that the step runs again once fixed.
seed badexec --profile bad seed bad_exec
check "a Redis command failing inside EXEC fails tend seed" [ $RC = 1 ]
if has badexec "seeds/wrongtype.redis:2: ERR value is not an integer" && has badexec "Redis has no rollback"; then
    ok "the EXEC-time error names FILE:LINE and says the other commands were applied"
else
    notok "the EXEC-time error names FILE:LINE and says the other commands were applied" "$(cat "$T/badexec.out")"
fi
check "the step that failed inside EXEC is not recorded" \
    [ "$(rcli HEXISTS tend:seed "bad_exec: redis seeds/wrongtype.redis")" = 0 ]

# ---- 6. --force ----

seed forced seed --force
check "tend seed --force succeeds" [ $RC = 0 ]
check "--force runs every step" has forced "seeds: 5 ran, 0 up to date"
check "--force runs the exec steps again" [ "$(lines)" = 4 ]
check "--force runs the Redis file again" [ "$(rcli LLEN queue)" = 6 ]

# ---- 7. a store that is not there ----

start=$(now_ms)
seed nowhere --profile bad seed nowhere
took=$(($(now_ms) - start))
check "an unreachable store fails tend seed" [ $RC = 1 ]
if has nowhere "cannot connect to redis at 127.0.0.1:"; then
    ok "the failure names the store's address"
else
    notok "the failure names the store's address" "$(cat "$T/nowhere.out")"
fi
check "a refused connection fails at once (${took} ms)" [ "$took" -lt 3000 ]

# ---- 8. a failing seed stops `tend up` ----

cat >"$T/upfail.yaml" <<EOF
services:
  db:
    command: ["sh", "-c", "sleep 1000", "$T-db"]
    x-tend:
      probe:
        postgres: {host: 127.0.0.1, port: $PGPORT, user: postgres, dbname: postgres}
      seed:
        - sql: seeds/bad-pos.sql
  after:
    command: ["sh", "-c", "echo after-started; sleep 1000", "$T-after"]
    depends_on:
      db: {condition: service_healthy}
EOF
start_tend upfail up
if wait_tend 30; then ok "tend up ends when a seed fails"; else notok "tend up ends when a seed fails" "$(cat "$T/upfail.out" "$T/upfail.err")"; fi
check "tend up exits non-zero (exit $TEND_RC)" [ "${TEND_RC:-0}" != 0 ]
if out_has upfail "seeds/bad-pos.sql:6: ERROR: column \"no_such_column\" does not exist"; then
    ok "tend up reports the failing seed's FILE:LINE and message"
else
    notok "tend up reports the failing seed's FILE:LINE and message" "$(cat "$T/upfail.out" "$T/upfail.err")"
fi
check "the dependent never started" eval '! out_has upfail after-started'
check "the failing seed left no rows" [ "$(sql 'select count(*) from items where id >= 10')" = 0 ]

finish
