#!/bin/sh
# Seeding a stack in containers (images made locally by scripts/make-images):
# Postgres with its data in a named volume, Redis with no persistence, and
# an app whose exec step runs inside its container. Proves that:
#   1. `tend up` seeds each service once it is ready, the stores reached on
#      their container addresses and the exec step run in the app's
#      container, its record kept in the app's Postgres dependency; a
#      `tend seed` after it has nothing to do, `--force` reruns everything;
#   2. after `tend down` and `up` again the Postgres records survive with the
#      volume (nothing reruns there) while Redis, whose data died with its
#      container, is seeded again;
#   3. after `tend down -v` everything is seeded again.
# TAP output. Usage: test-seed-docker.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

if [ ! -S /var/run/docker.sock ] && [ -z "${DOCKER_HOST:-}" ]; then
    skip_all "no Docker engine on this machine (/var/run/docker.sock is absent)"
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PGBIN=
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && PGBIN=$d
done
[ -n "$PGBIN" ] || skip_all "postgres not installed"
command -v redis-server >/dev/null || skip_all "redis-server not installed"

P=tendseed$RUN$$
docker_project "$P"
cleanup_docker() {
    docker ps -aq --filter "label=com.docker.compose.project=$P" | xargs -r docker rm -f >/dev/null 2>&1
    docker network ls -q --filter "label=com.docker.compose.project=$P" | xargs -r docker network rm >/dev/null 2>&1
    docker volume ls -q --filter "label=com.docker.compose.project=$P" | xargs -r docker volume rm >/dev/null 2>&1
}
trap 'cleanup_docker; cleanup' EXIT
if ! "$ROOT/scripts/make-images" >"$T/images.log" 2>&1; then
    notok "the test images can be made" "$(tail -n 5 "$T/images.log")"
    finish
fi

mkdir -p "$T/seeds"
cat >"$T/seeds/schema.sql" <<'EOF'
CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO items VALUES (1, 'one'), (2, 'two') ON CONFLICT DO NOTHING;
EOF
cat >"$T/seeds/cache.redis" <<'EOF'
INCR seeded
EOF
cat >"$T/$P.yaml" <<EOF
services:
  pg:
    image: tend/hostusr
    volumes: ["/usr:/usr:ro", "pgdata:/data"]
    environment:
      PATH: $PGBIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    command:
      - sh
      - -c
      - >-
        mkdir -p /data/pg && chown postgres /data/pg &&
        exec setpriv --reuid=postgres --regid=postgres --init-groups -- sh -c
        '[ -f /data/pg/PG_VERSION ] || { initdb -D /data/pg -U postgres -A trust >/dev/null &&
        echo "host all all all trust" >>/data/pg/pg_hba.conf; };
        exec postgres -D /data/pg -c listen_addresses=* -k /tmp -c fsync=off'
    stop_grace_period: 5s
    x-tend:
      probe:
        postgres: {}
      seed:
        - sql: seeds/schema.sql
  cache:
    image: tend/hostusr
    user: redis
    volumes: ["/usr:/usr:ro"]
    command: ["redis-server", "--protected-mode", "no", "--save", ""]
    stop_grace_period: 5s
    x-tend:
      probe:
        redis: {}
      seed:
        - redis: seeds/cache.redis
  app:
    image: tend/busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    stop_grace_period: 2s
    depends_on:
      pg: {condition: service_healthy}
      cache: {condition: service_healthy}
    x-tend:
      seed:
        - exec: echo migrated >>/tmp/migrations; echo migrating in \$(hostname)
volumes:
  pgdata: {}
EOF

up() { # wait until ready
    start_tend "$P" up --json
    if wait_for 60 grep -q '"event":"ready"' "$T/$P.out"; then
        ok "$1: the stack becomes ready"
    else
        notok "$1: the stack becomes ready"
        diag_run "$P"
    fi
}
stop_up() {
    kill -INT "$TEND_PID" 2>/dev/null
    wait_tend 30
}
seed() { # NAME ARGS...
    _n=$1
    shift
    "$TEND" -p "$P" -f "$T/$P.yaml" seed "$@" >"$T/$_n.out" 2>&1
    RC=$?
}
has() { grep -qF -- "$2" "$T/$1.out"; }
ip_of() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$P-$1-1" 2>/dev/null; }
sql() { "$PGBIN/psql" -h "$(ip_of pg)" -U postgres -d postgres -AtX -c "$1" 2>&1; }
rcli() { redis-cli -h "$(ip_of cache)" "$@" 2>&1; }

# The lines of the running tend (JSON) that hold TEXT.
up_has() { grep -F -- "$1" "$T/$P.out" | grep -q '"service"'; }

# ---- 1. up seeds a stack in containers; tend seed then has nothing to do ----

up "first up"
check "up ran the SQL step on the Postgres container" up_has "seed pg: sql seeds/schema.sql: applied"
check "up ran the Redis step on the Redis container" up_has "seed cache: redis seeds/cache.redis: applied"
check "up ran the exec step" up_has "migrating in "
check "the SQL rows are there" [ "$(sql 'select count(*) from items')" = 2 ]
check "the Redis key is there" [ "$(rcli GET seeded)" = 1 ]
check "the exec step ran inside the app's container" \
    [ "$(docker exec "$P-app-1" cat /tmp/migrations 2>&1)" = migrated ]
check "the exec step is recorded in the app's Postgres dependency" \
    [ "$(sql "select count(*) from tend_seed where step like 'app: exec %'")" = 1 ]
seed first
if [ $RC = 0 ]; then ok "tend seed succeeds against containers"; else notok "tend seed succeeds against containers" "$(cat "$T/first.out")"; fi
check "tend seed after up runs nothing" has first "seeds: 0 ran, 3 up to date"
check "the exec step did not run again" [ "$(docker exec "$P-app-1" cat /tmp/migrations 2>&1)" = migrated ]
seed forced --force
check "tend seed --force runs every step in the containers" has forced "seeds: 3 ran, 0 up to date"
check "the exec step's output is shown under the app" grep -qE '^app +\| migrating in ' "$T/forced.out"
check "--force ran the exec step in the container again" \
    [ "$(docker exec "$P-app-1" cat /tmp/migrations 2>&1 | wc -l)" = 2 ]
check "--force ran the Redis step again" [ "$(rcli GET seeded)" = 2 ]

# ---- 2. down and up: the records live and die with the data ----

stop_up
"$TEND" -p "$P" -f "$T/$P.yaml" down >"$T/down.out" 2>&1
check "tend down succeeds" [ $? = 0 ]
up "after down"
check "the Postgres step is up to date: its record lives in the volume" \
    up_has "seed pg: sql seeds/schema.sql: up to date"
check "the exec step recorded in Postgres is up to date" grep -qE 'seed app: exec .*: up to date' "$T/$P.out"
check "the exec step did not run in the new container" \
    [ "$(docker exec "$P-app-1" cat /tmp/migrations 2>/dev/null)" = "" ]
check "Redis, whose data went with its container, is seeded again" \
    up_has "seed cache: redis seeds/cache.redis: applied"
check "the Redis key is back" [ "$(rcli GET seeded)" = 1 ]
seed again
check "tend seed after down and up runs nothing" has again "seeds: 0 ran, 3 up to date"

# ---- 3. down -v: everything again ----

stop_up
"$TEND" -p "$P" -f "$T/$P.yaml" down -v >"$T/downv.out" 2>&1
check "tend down -v succeeds" [ $? = 0 ]
up "after down -v"
check "after down -v the SQL step runs again" up_has "seed pg: sql seeds/schema.sql: applied"
check "after down -v the exec step runs again" \
    [ "$(docker exec "$P-app-1" cat /tmp/migrations 2>&1)" = migrated ]
check "the rows are back" [ "$(sql 'select count(*) from items')" = 2 ]
stop_up

finish
