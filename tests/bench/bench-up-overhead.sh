#!/bin/bash
# Overhead benchmark: how much later than the services themselves `tend up`
# reaches its {"event":"ready"} moment, on a Postgres -> Redis -> web ->
# worker chain (each depends_on the previous with service_healthy).
# The peer is a plain shell script starting the same four programs in the
# same order, waiting for each with the tightest loop a script has
# (pg_isready, redis-cli ping, curl, the worker's line) every 1 ms: its
# time is the services' own readiness. Both are timed from their launch;
# runs alternate and the median of each is printed with the difference.
# Not a pass/fail test on time: it fails only when a program crashed.
#   bench-up-overhead.sh TEND
#   BENCH_RUNS   runs of each (default 5, after one warm-up run of each)
BENCH_NAME=up-overhead
. "$(dirname "$0")/bench-up-lib.sh" "$@"

runs=${BENCH_RUNS:-5}
goal_ms=50

PGBIN=
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && PGBIN=$d
done
[ -n "$PGBIN" ] || bench_skip "postgres not installed"
for p in redis-server redis-cli curl setpriv; do
    command -v "$p" >/dev/null || bench_skip "$p not installed"
done
PG_ISREADY=$(command -v pg_isready || echo "$PGBIN/pg_isready")

# initdb and postgres refuse to run as root: as root, run them as postgres
# (setpriv execs, so signals reach postgres itself).
AS_PG=
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || bench_skip "running as root and there is no postgres user"
    AS_PG="setpriv --reuid=postgres --regid=postgres --init-groups --"
fi

mkdir -p "$T/pg" "$T/www" "$T/redis"
echo "hello from web" >"$T/www/index.html"
[ -n "$AS_PG" ] && chown postgres:postgres "$T/pg"
# shellcheck disable=SC2086
if ! $AS_PG "$PGBIN/initdb" -D "$T/pg" -U postgres -A trust -E UTF8 --no-sync >"$T/initdb.log" 2>&1; then
    echo "$BENCH_NAME: initdb failed:" >&2
    tail -n 5 "$T/initdb.log" >&2
    exit 1
fi

PGPORT=$(free_port)
REDISPORT=$(free_port)
WEBPORT=$(free_port)

# The same argv for both: the servers exec'd directly, no shell between.
pg_argv=($AS_PG "$PGBIN/postgres" -D "$T/pg" -p "$PGPORT" -k "$T/pg"
    -c listen_addresses=127.0.0.1 -c fsync=off)
redis_argv=(redis-server --port "$REDISPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$T/redis")
web_argv=("$PY" -u -m http.server "$WEBPORT" --bind 127.0.0.1 --directory "$T/www")
worker_argv=(sh -c 'echo worker ready; exec sleep 1000' "$T-worker")

# yaml_list ARGS...: a flow sequence of double-quoted strings.
yaml_list() {
    local a out=""
    for a in "$@"; do
        a=${a//\\/\\\\}
        out+="${out:+, }\"${a//\"/\\\"}\""
    done
    echo "[$out]"
}

cat >"$T/chain.yaml" <<EOF
services:
  postgres:
    command: $(yaml_list "${pg_argv[@]}")
    # Fast shutdown, as the postgres image does it (SIGTERM waits for
    # every client to leave).
    stop_signal: SIGINT
    x-tend:
      probe:
        postgres: {host: 127.0.0.1, port: $PGPORT, user: postgres, dbname: postgres}
  redis:
    command: $(yaml_list "${redis_argv[@]}")
    depends_on:
      postgres: {condition: service_healthy}
    x-tend:
      probe:
        redis: {host: 127.0.0.1, port: $REDISPORT}
  web:
    command: $(yaml_list "${web_argv[@]}")
    depends_on:
      redis: {condition: service_healthy}
    x-tend:
      probe:
        http: http://127.0.0.1:$WEBPORT/index.html
  worker:
    command: $(yaml_list "${worker_argv[@]}")
    depends_on:
      web: {condition: service_healthy}
    x-tend:
      probe:
        log: "worker ready"
EOF

# The peer: each server in a process group of its own (set -m), as under
# tend; each waited for before the next starts. It writes the moment each
# became ready and the group of each, then exits and leaves them running.
q() { printf '%q ' "$@"; }
cat >"$T/peer.sh" <<EOF
#!/bin/bash
set -m
mkfifo $(q "$T/peer-nap") && exec 9<>$(q "$T/peer-nap")
deadline=\$((\${EPOCHREALTIME/./} + 60000000))
# nap also gives up after 60 s: a server that never gets ready.
nap() {
    read -r -t 0.001 -u 9 _
    ((\${EPOCHREALTIME/./} < deadline)) || exit 1
}
stamp() { echo "\$1 \${EPOCHREALTIME/./}" >>$(q "$T/peer.times"); }
$(q "${pg_argv[@]}") >$(q "$T/peer-postgres.log") 2>&1 </dev/null &
echo \$! >>$(q "$PEER_GROUPS")
until $(q "$PG_ISREADY") -q -h 127.0.0.1 -p $PGPORT -U postgres -d postgres; do nap; done
stamp postgres
$(q "${redis_argv[@]}") >$(q "$T/peer-redis.log") 2>&1 </dev/null &
echo \$! >>$(q "$PEER_GROUPS")
until [[ \$(redis-cli -h 127.0.0.1 -p $REDISPORT ping 2>/dev/null) == PONG ]]; do nap; done
stamp redis
$(q "${web_argv[@]}") >$(q "$T/peer-web.log") 2>&1 </dev/null &
echo \$! >>$(q "$PEER_GROUPS")
until curl -fs -o /dev/null http://127.0.0.1:$WEBPORT/index.html; do nap; done
stamp web
$(q "${worker_argv[@]}") >$(q "$T/peer-worker.log") 2>&1 </dev/null &
echo \$! >>$(q "$PEER_GROUPS")
until { read -r l <$(q "$T/peer-worker.log"); } 2>/dev/null && [[ \$l == "worker ready" ]]; do nap; done
stamp worker
rm -f $(q "$T/peer-nap")
EOF

# postgres_alive: the postmaster of the data folder still runs (its pid
# file outlives a postmaster killed with SIGKILL).
postgres_alive() {
    local pid
    { read -r pid <"$T/pg/postmaster.pid"; } 2>/dev/null && pid_alive "$pid"
}

# Waits (up to 20 s) until postgres has let go of its data folder and no
# port of the chain is taken, so that every run starts from the same place.
settle() {
    local deadline
    deadline=$(($(now_us) + 20000000))
    while postgres_alive || port_listening "$PGPORT" ||
        port_listening "$REDISPORT" || port_listening "$WEBPORT"; do
        if (($(now_us) > deadline)); then
            echo "$BENCH_NAME: the chain did not stop within 20 s" >&2
            return 1
        fi
        nap 0.01
    done
}

# run_tend: one run; prints "TOTAL_MS postgres_ms redis_ms web_ms worker_ms"
# (each from tend's launch) or nothing when it did not get ready.
run_tend() {
    local out=$T/chain.out
    tend_launch chain up --json
    if ! wait_line "$out" '"event":"ready"' 60; then
        tend_failed "tend did not get ready within 60 s"
        tend_stop
        settle
        return 1
    fi
    tend_stop
    # Times from tend's own clock (ms in its RFC 3339 stamps): no polling
    # delay in them.
    "$PY" - "$out" "$T0_US" <<'PY'
import json, sys
from datetime import datetime, timezone
t0 = int(sys.argv[2]) / 1e6
def ms(ts):
    t = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return (t.timestamp() - t0) * 1000
ready = {}
total = None
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "state" and e.get("to") == "ready":
        ready.setdefault(e["service"], ms(e["time"]))
    elif e.get("event") == "ready" and total is None:
        total = ms(e["time"])
print("%.1f %s" % (total, " ".join("%.1f" % ready.get(s, float("nan"))
                                   for s in ("postgres", "redis", "web", "worker"))))
PY
    settle
}

# run_peer: the same for the shell script.
run_peer() {
    local t0 t1 rc
    rm -f "$T/peer.times" "$T"/peer-*.log
    t0=$(now_us)
    bash "$T/peer.sh"
    rc=$?
    t1=$(now_us)
    # Stop the four: postgres with its fast shutdown, the others with
    # SIGTERM, each to its whole group.
    peer_groups_stop INT TERM
    if ((rc != 0)); then
        echo "$BENCH_NAME: the shell script did not get ready (status $rc)" >&2
        note_status "the shell script" "$rc"
        settle
        return 1
    fi
    LC_ALL=C awk -v t0="$t0" -v t1="$t1" '{ r[$1] = ($2 - t0) / 1000 }
        END { printf "%.1f %.1f %.1f %.1f %.1f\n", (t1 - t0) / 1000,
              r["postgres"], r["redis"], r["web"], r["worker"] }' "$T/peer.times"
    settle
}

# One warm-up run of each (caches, postgres' first start after initdb),
# then alternate.
run_tend >/dev/null
run_peer >/dev/null
: >"$T/tend.res"
: >"$T/peer.res"
for ((k = 0; k < runs; k++)); do
    run_tend >>"$T/tend.res"
    run_peer >>"$T/peer.res"
done

col() { cut -d' ' -f"$1" "$2" | median; }
tend_ms=$(col 1 "$T/tend.res")
peer_ms=$(col 1 "$T/peer.res")

if [ -n "$tend_ms" ] && [ -n "$peer_ms" ]; then
    diff_ms=$(LC_ALL=C awk -v a="$tend_ms" -v b="$peer_ms" 'BEGIN { printf "%+.1f", a - b }')
    echo "up-overhead postgres->redis->web->worker: tend $tend_ms ms, shell script $peer_ms ms" \
        "(overhead $diff_ms ms, $(ratio "$tend_ms" "$peer_ms")x); goal overhead <= $goal_ms ms"
    stages="up-overhead ready moments, ms after launch (tend / shell script):"
    i=2
    for s in postgres redis web worker; do
        stages+=" $s $(col $i "$T/tend.res") / $(col $i "$T/peer.res")"
        i=$((i + 1))
    done
    echo "$stages"
    result "overhead of a host postgres->redis->web->worker chain over a shell script (script: $peer_ms ms)" \
        "$diff_ms" - - "<= +$goal_ms ms"
else
    echo "up-overhead postgres->redis->web->worker: tend ${tend_ms:-failed} ms, shell script ${peer_ms:-failed} ms; goal overhead <= $goal_ms ms"
fi
load_note
exit $crashed
