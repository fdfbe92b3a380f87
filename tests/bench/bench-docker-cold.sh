#!/bin/bash
# Cold container benchmark: `tend up` of a Postgres -> Redis -> web ->
# worker chain of containers (each depends_on the previous with
# service_healthy, each gated by a Compose healthcheck), from nothing (no
# container, network or volume of the project) to every container healthy.
# The peers are docker compose v5 (scripts/compose-v5) and docker-compose
# v1 (Debian's) on the same engine and the same file: `up -d` waits for
# each healthy dependency itself; its time ends at the engine's healthy
# event of the last service (no polling delay counted against it). tend's time ends at its {"event":"ready"}
# stamp. Between runs each tool removes its project with `down -v`.
#
# From the engine's events of each run: the containers' own readiness on
# the critical path (sum over the chain of container start -> healthy),
# the engine's start work (sum of create -> start events, or healthy
# dependency -> start for a container created ahead) and what is left,
# the tool's own part (setup before the first container, less the
# engine making the project's network, measured alone in the same run; the
# reaction to each healthy event; creating a container on the critical
# path; the moment it reports). Every
# healthcheck has an explicit `interval: 500ms` for both tools: API 1.41
# has no StartInterval and the engine probes first after one interval.
# tend's own part is also shown from its own stamps in `up --json` (the
# "timing" of the ready event: time waiting for the engine's create and
# start, and for probes, on the critical path; the rest is tend's).
# Runs alternate; medians are printed. Not a pass/fail test on time: it
# fails only when a program crashed.
#   bench-docker-cold.sh TEND
#   BENCH_RUNS   runs of each (default 3, after one warm-up run of each)
BENCH_NAME=docker-cold
. "$(dirname "$0")/bench-up-lib.sh" "$@"

runs=${BENCH_RUNS:-3}
goal_ms=100
# Project names of this run (the engine is shared: cleanup goes by them).
P_TEND=tbcold$$t
P_PEER=tbcold$$c
P_V5=tbcold$$v

command -v docker >/dev/null || bench_skip "docker not installed"
docker info >/dev/null 2>&1 || bench_skip "the Docker engine does not answer"
[ -n "$COMPOSE5" ] || bench_skip "docker compose v5 not built (scripts/compose-v5)"

PGBIN=
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_isready" ] && PGBIN=$d
done
[ -n "$PGBIN" ] || bench_skip "postgres not installed on the host (the containers run the host's /usr)"
for p in redis-server redis-cli python3 grep; do
    [ -x "/usr/bin/$p" ] || bench_skip "/usr/bin/$p not installed (the containers run the host's /usr)"
done

# The local images (no registry): made when missing, kept otherwise.
if ! docker image inspect tend/hostusr:latest >/dev/null 2>&1; then
    "$(dirname "$0")/../../scripts/make-images" >"$T/make-images.log" 2>&1 ||
        bench_skip "no image tend/hostusr and scripts/make-images failed: $(tail -n 1 "$T/make-images.log")"
fi

# docker_cleanup: removes every container, network and volume labelled
# with a project of this run, whatever state they are in.
docker_cleanup() {
    local p ids
    for p in "$P_TEND" "$P_PEER" "$P_V5"; do
        ids=$(docker ps -aq --filter "label=com.docker.compose.project=$p" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1
        ids=$(docker network ls -q --filter "label=com.docker.compose.project=$p" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1
        ids=$(docker volume ls -q --filter "label=com.docker.compose.project=$p" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$ids" ] && docker volume rm $ids >/dev/null 2>&1
    done
}
# tend first (it would restart what is removed under it), then the engine.
on_exit() {
    [ -n "$TEND_PID" ] && kill -KILL "$TEND_PID" 2>/dev/null
    [ -n "${EVENTS_PID:-}" ] && kill -KILL "$EVENTS_PID" 2>/dev/null
    docker_cleanup
    bench_cleanup
}
trap on_exit EXIT

# Written for both tools: docker-compose v1 needs file format 2.x for
# `condition: service_healthy`; tend ignores `version`. The containers run
# the host's programs (tend/hostusr with /usr bound read-only). web and
# worker would ignore SIGTERM as pid 1: SIGKILL stops them at once.
cat >"$T/cold.yaml" <<EOF
version: "2.4"
services:
  postgres:
    image: tend/hostusr
    user: postgres
    volumes: ["/usr:/usr:ro", "pgdata:/data"]
    command: ["sh", "-c", "$PGBIN/initdb -D /data/pg -U postgres -A trust -E UTF8 --no-sync >/dev/null && exec $PGBIN/postgres -D /data/pg -k /tmp -c listen_addresses='*' -c fsync=off"]
    stop_signal: SIGINT
    healthcheck:
      test: ["CMD", "$PGBIN/pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres"]
      interval: 500ms
      timeout: 5s
      retries: 120
  redis:
    image: tend/hostusr
    user: redis
    volumes: ["/usr:/usr:ro"]
    command: ["redis-server", "--save", "", "--appendonly", "no", "--dir", "/data"]
    depends_on:
      postgres: {condition: service_healthy}
    healthcheck:
      test: ["CMD-SHELL", "redis-cli ping | grep -q PONG"]
      interval: 500ms
      timeout: 5s
      retries: 120
  web:
    image: tend/hostusr
    volumes: ["/usr:/usr:ro"]
    command: ["python3", "-m", "http.server", "8000", "--directory", "/tmp"]
    stop_signal: SIGKILL
    depends_on:
      redis: {condition: service_healthy}
    healthcheck:
      test: ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/', timeout=2)"]
      interval: 500ms
      timeout: 5s
      retries: 120
  worker:
    image: tend/hostusr
    volumes: ["/usr:/usr:ro"]
    command: ["sh", "-c", "while :; do sleep 1; done"]
    stop_signal: SIGKILL
    depends_on:
      web: {condition: service_healthy}
    healthcheck:
      test: ["CMD", "true"]
      interval: 500ms
      timeout: 5s
      retries: 120
volumes:
  pgdata: {}
EOF
# tend_launch reads $T/NAME.yaml with NAME the project.
ln -s cold.yaml "$T/$P_TEND.yaml"

# compose TOOL PROJECT ARGS...
compose() { "$1" -p "$2" -f "$T/cold.yaml" "${@:3}"; }

# sec US: microseconds as the seconds.fraction docker's --since takes.
sec() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }

# analyse PROJECT T0_US END_US: reads the engine's container events of the
# project since T0 and prints "TOTAL OWN ENGINE TOOL" in ms, then the
# start -> healthy time of each service; nothing when an event is missing.
# The engine's work includes making the project's network, which has no
# event to time it by: NET_MS, measured alone in the same run.
analyse() {
    docker events --since "$(sec "$2")" --until "$(sec $(($(now_us) + 200000)))" \
        --filter "label=com.docker.compose.project=$1" --filter type=container \
        --format '{{json .}}' >"$T/events.json" 2>"$T/events.err"
    "$PY" - "$T/events.json" "$2" "$3" "$NET_MS" <<'PY'
import json, sys
path, t0, end = sys.argv[1], int(sys.argv[2]) * 1000, int(sys.argv[3]) * 1000
chain = ("postgres", "redis", "web", "worker")
first = {}
for line in open(path, errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    svc = e.get("Actor", {}).get("Attributes", {}).get("com.docker.compose.service")
    act = e.get("Action") or e.get("status") or ""
    if act == "health_status: healthy":
        act = "healthy"
    if svc in chain and act in ("create", "start", "healthy"):
        first.setdefault((svc, act), e["timeNano"])
try:
    own = [first[(s, "healthy")] - first[(s, "start")] for s in chain]
    # The engine's start work: from the later of the container's create
    # and its dependency's healthy event (a tool may create every
    # container first, as docker compose does) to its start event.
    engine = [first[(s, "start")] - max(first[(s, "create")],
                                        first[(chain[i - 1], "healthy")] if i else 0)
              for i, s in enumerate(chain)]
except KeyError as k:
    sys.stderr.write("missing engine event %s\n" % (k,))
    sys.exit(1)
ms = lambda ns: ns / 1e6
total = end - t0
net = float(sys.argv[4]) * 1e6
print("%.1f %.1f %.1f %.1f %s" % (ms(total), ms(sum(own)), ms(sum(engine) + net),
      ms(total - sum(own) - sum(engine) - net), " ".join("%.1f" % ms(o) for o in own)))
PY
}

# own_from_stamps OUT T0_US: tend's own part from its `up --json` state
# stamps alone: launch to ready, less, for each service of the chain, its
# starting -> running (the engine creating and starting the container;
# tend's share of it is building two requests) and running -> ready (the
# container getting healthy).
own_from_stamps() {
    "$PY" - "$1" "$2" <<'PY'
import datetime, json, sys
def us(t):
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return d.timestamp() * 1e6
at, end = {}, None
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "state":
        at.setdefault((e["service"], e["to"]), us(e["time"]))
    elif e.get("event") == "ready":
        end = us(e["time"])
try:
    wait = sum(at[(s, "ready")] - at[(s, "starting")] for s in ("postgres", "redis", "web", "worker"))
except KeyError:
    sys.exit(0)
print("%.1f" % ((end - int(sys.argv[2]) - wait) / 1000))
PY
}

# tend: from launch to its ready stamp; then stopped and `down -v`.
run_tend() {
    local end res
    tend_launch "$P_TEND" up --json
    if ! wait_line "$T/$P_TEND.out" '"event":"ready"' 120; then
        tend_failed "tend did not get ready within 120 s"
        tend_stop
        "$TEND" -p "$P_TEND" -f "$T/cold.yaml" down -v >/dev/null 2>&1
        return 1
    fi
    end=$(iso_us "$(json_time "$LINE")")
    res=$(analyse "$P_TEND" "$T0_US" "$end")
    own_from_stamps "$T/$P_TEND.out" "$T0_US" >>"$T/tend.own"
    tend_stop
    "$TEND" -p "$P_TEND" -f "$T/cold.yaml" down -v >"$T/down.log" 2>&1 ||
        { echo "$BENCH_NAME: tend down -v failed:" >&2; tail -n 3 "$T/down.log" >&2; }
    [ -n "$res" ] && echo "$res"
}

# A Compose peer: `up -d` (which waits for the healthy dependencies), then
# the worker's healthy event from a stream of the engine's events; the
# time ends at that event's own stamp.
#   run_peer TOOL PROJECT
run_peer() {
    local tool=$1 proj=$2 t0 rc tn st end="" res
    t0=$(now_us)
    compose "$tool" "$proj" up -d >"$T/peer.out" 2>&1
    rc=$?
    note_status "$tool" "$rc"
    if ((rc == 0)); then
        exec {efd}< <(exec timeout 120 docker events --since "$(sec "$t0")" \
            --filter "label=com.docker.compose.project=$proj" \
            --filter "label=com.docker.compose.service=worker" \
            --filter event=health_status --format '{{.TimeNano}} {{.Status}}')
        EVENTS_PID=$!
        while read -r tn st <&"$efd"; do
            if [[ $st == *": healthy" ]]; then
                end=$((tn / 1000))
                break
            fi
        done
        kill "$EVENTS_PID" 2>/dev/null
        exec {efd}<&-
        EVENTS_PID=
    else
        echo "$BENCH_NAME: $tool up -d failed (status $rc):" >&2
        tail -n 5 "$T/peer.out" >&2
    fi
    if [ -n "$end" ]; then
        res=$(analyse "$proj" "$t0" "$end")
    elif ((rc == 0)); then
        echo "$BENCH_NAME: $tool's worker did not get healthy within 120 s" >&2
    fi
    compose "$tool" "$proj" down -v -t 2 >"$T/down.log" 2>&1 ||
        { echo "$BENCH_NAME: $tool down -v failed:" >&2; tail -n 3 "$T/down.log" >&2; }
    [ -n "${res:-}" ] && echo "$res"
}

# One warm-up run of each (page cache of the host's programs, the engine's
# first network of the run), then alternate.
NET_MS=0
run_tend >/dev/null
run_peer "$COMPOSE5" "$P_V5" >/dev/null

# The engine making a bridge network with labels, as each tool makes the
# project's: the median of five, each request alone on the socket.
net_create_ms() {
    local k out
    for ((k = 0; k < 5; k++)); do
        out=$(curl -s -o /dev/null -w '%{time_total}' --unix-socket /var/run/docker.sock \
            -H 'Content-Type: application/json' -X POST \
            -d "{\"Name\":\"${P_TEND}net\",\"Driver\":\"bridge\",\"Labels\":{\"com.docker.compose.project\":\"${P_TEND}\"}}" \
            http://engine/networks/create) || continue
        docker network rm "${P_TEND}net" >/dev/null 2>&1
        LC_ALL=C awk -v s="$out" 'BEGIN { printf "%.1f\n", s * 1000 }'
    done | median
}
NET_MS=$(net_create_ms)
[ -n "$NET_MS" ] || NET_MS=0
echo "$BENCH_NAME: the engine makes a network in $NET_MS ms (median of 5, alone): counted as the engine's work for every tool"
: >"$T/tend.res"
: >"$T/v5.res"
: >"$T/v1.res"
for ((k = 0; k < runs; k++)); do
    run_tend >>"$T/tend.res"
    run_peer "$COMPOSE5" "$P_V5" >>"$T/v5.res"
    [ -n "$COMPOSE1" ] && run_peer "$COMPOSE1" "$P_PEER" >>"$T/v1.res"
done

col() { [ -s "$2" ] && cut -d' ' -f"$1" "$2" | median; }
tend_ms=$(col 1 "$T/tend.res")
v5_ms=$(col 1 "$T/v5.res")
v1_ms=$(col 1 "$T/v1.res")

echo "$BENCH_NAME: every healthcheck has an explicit interval: 500ms for every tool" \
    "(engine API $(docker version -f '{{.Server.APIVersion}}' 2>/dev/null) has no StartInterval;" \
    "the engine probes first one interval after the start)"
echo "$BENCH_NAME postgres->redis->web->worker, cold to all healthy: tend ${tend_ms:-failed} ms," \
    "docker compose v5 ${v5_ms:-failed} ms ($(ratio "$tend_ms" "$v5_ms")x), docker-compose v1 ${v1_ms:-not run} ms;" \
    "goal tool's own part <= $goal_ms ms"
for who in tend v5 v1; do
    f=$T/$who.res
    [ -s "$f" ] || continue
    case $who in
    tend) name=tend ;;
    v5) name="docker compose v5" ;;
    v1) name="docker-compose v1" ;;
    esac
    echo "$BENCH_NAME $name: total $(col 1 "$f") ms = containers' own readiness $(col 2 "$f") ms" \
        "(start -> healthy: postgres $(col 5 "$f"), redis $(col 6 "$f"), web $(col 7 "$f"), worker $(col 8 "$f"))" \
        "+ engine start work $(col 3 "$f") ms + $name's own part $(col 4 "$f") ms" \
        "(overhead over the containers' own readiness $(LC_ALL=C awk -v a="$(col 1 "$f")" -v b="$(col 2 "$f")" 'BEGIN { printf "%.1f", a - b }') ms)"
done
[ -s "$T/tend.own" ] && echo "$BENCH_NAME tend's own part from its own stamps (up --json timing): median $(median <"$T/tend.own") ms"
[ -s "$T/tend.own" ] && result "cold chain: tend's own part from its up --json stamps" "$(median <"$T/tend.own")" - - \
    "<= $goal_ms ms"
result "cold chain of 4 healthy containers, to all healthy" "$tend_ms" "$v5_ms" "$v1_ms" ""
result "cold chain: the tool's own part (not engine, not readiness)" "$(col 4 "$T/tend.res")" "$(col 4 "$T/v5.res")" \
    "$(col 4 "$T/v1.res")" "<= $goal_ms ms"
load_note
exit $crashed
