#!/bin/bash
# Many containers: a stack of 200 (tend/busybox `sleep 100000`, no
# healthcheck, stop_signal SIGKILL), tend beside docker compose v5 on the
# same engine, each on its own copy of the stack, four figures per run:
#   cold up   from nothing to every container running: tend's launch to
#             its {"event":"ready"} stamp; `docker compose up -d` to its exit
#   warm up   the same again with every container running and unchanged
#             (tend was killed with SIGKILL, which leaves them running)
#   ps        `tend ps` through a running tend (`tend up -d` adopted the
#             stack), and with no tend running (the engine's labels, as
#             Compose reads them), against `docker compose ps`
#   down      `tend down` (no tend running) against `docker compose down`:
#             every container and the network removed
# Beside each cold up and down, the engine's own span from its events (the
# first create to the last start; the first kill to the last destroy): the
# floor no client can go below. Runs alternate between the tools; medians. docker-compose v1 is left out
# by default: it hangs creating a few hundred containers at once
# (BENCH_V1=1 adds it). Goal: tend at least 3x faster on each.
# Not a pass/fail test on time: it fails only when a program crashed.
#   bench-docker-many.sh TEND
#   BENCH_RUNS       runs of each (default 3)
#   BENCH_SERVICES   containers (default 200)
BENCH_NAME=docker-many
. "$(dirname "$0")/bench-up-lib.sh" "$@"

runs=${BENCH_RUNS:-3}
n=${BENCH_SERVICES:-200}
PT=tbmany$$t
P5=tbmany$$v
P1=tbmany$$c

command -v docker >/dev/null || bench_skip "docker not installed"
docker info >/dev/null 2>&1 || bench_skip "the Docker engine does not answer"
[ -n "$COMPOSE5" ] || bench_skip "docker compose v5 not built (scripts/compose-v5)"
if ! docker image inspect tend/busybox:latest >/dev/null 2>&1; then
    "$(dirname "$0")/../../scripts/make-images" >"$T/make-images.log" 2>&1 ||
        bench_skip "no image tend/busybox and scripts/make-images failed: $(tail -n 1 "$T/make-images.log")"
fi
[ "${BENCH_V1:-}" = 1 ] || COMPOSE1=

project_cleanup() {
    local ids
    ids=$(docker ps -aq --filter "label=com.docker.compose.project=$1" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1
    ids=$(docker network ls -q --filter "label=com.docker.compose.project=$1" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1
}
on_exit() {
    [ -n "$TEND_PID" ] && kill -KILL "$TEND_PID" 2>/dev/null
    [ -n "${EVENTS_PID:-}" ] && kill "$EVENTS_PID" 2>/dev/null
    for p in "$PT" "$P5" "$P1"; do project_cleanup "$p"; done
    bench_cleanup
}
trap on_exit EXIT

{
    echo "services:"
    for ((i = 1; i <= n; i++)); do
        printf '  svc%03d:\n    image: tend/busybox\n    command: ["sleep", "100000"]\n    stop_signal: SIGKILL\n' "$i"
    done
} >"$T/many.yaml"
ln -s many.yaml "$T/$PT.yaml"

tend_kill() {
    [ -n "$TEND_PID" ] || return 0
    kill -KILL "$TEND_PID" 2>/dev/null
    wait "$TEND_PID" 2>/dev/null
    note_status tend "$?" 137
    TEND_PID=
}

# running PROJECT: how many of its containers run.
running() { docker ps -q --filter "label=com.docker.compose.project=$1" | wc -l; }

# ms CMD...: runs CMD, prints its wall time in ms (nothing when it failed;
# with MS_ANY=1, the time anyway: a down whose containers are gone but
# whose network the engine would not remove, see down_note).
ms() {
    local t0 t1 rc
    t0=$(now_us)
    "$@" >"$T/cmd.out" 2>&1
    rc=$?
    t1=$(now_us)
    note_status "$1" "$rc"
    if ((rc != 0)); then
        echo "$BENCH_NAME: $* failed (status $rc): $(tail -n 2 "$T/cmd.out")" >&2
        if [ "${MS_ANY:-}" = 1 ] && grep -q "active endpoints" "$T/cmd.out"; then
            echo "$BENCH_NAME: (timed all the same: the engine kept endpoints of removed containers)" >&2
            echo $(((t1 - t0) / 1000))
        fi
        return 1
    fi
    echo $(((t1 - t0) / 1000))
}

# events_on PROJECT / events_off FIRST LAST: the engine's container events
# for the project, streamed while a phase runs (the engine keeps too few
# past events for `--since` to reach back over 200 containers), then the
# ms from its first FIRST event to its last LAST event.
events_on() {
    docker events --filter "label=com.docker.compose.project=$1" --filter type=container \
        --format '{{.TimeNano}} {{.Action}}' >"$T/events.txt" 2>/dev/null &
    EVENTS_PID=$!
    nap 0.3 # subscribed before the phase starts
}
events_off() {
    nap 0.3
    kill "$EVENTS_PID" 2>/dev/null
    wait "$EVENTS_PID" 2>/dev/null
    EVENTS_PID=
    LC_ALL=C awk -v f="$1" -v l="$2" '$2 == f && (a == "" || $1 < a) { a = $1 }
        $2 == l && $1 > b { b = $1 } END { if (a != "" && b != "") printf "%.0f\n", (b - a) / 1e6 }' "$T/events.txt"
}

# engine_list PROJECT: ms the engine takes to answer the list of the
# project's containers (one request on an open connection, from Python):
# the floor of any `ps` that asks the engine.
engine_list() {
    "$PY" - "$1" <<'PY'
import http.client, json, os, socket, sys, time, urllib.parse
host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(host[len("unix://"):])
f = urllib.parse.quote(json.dumps({"label": ["com.docker.compose.project=" + sys.argv[1]]}))
c = Conn("localhost")
ts = []
for _ in range(5):
    t0 = time.perf_counter()
    c.request("GET", "/containers/json?all=1&filters=" + f)
    c.getresponse().read()
    ts.append((time.perf_counter() - t0) * 1000)
print("%.1f" % sorted(ts)[2])
PY
}

# tend_up FILE: one `tend up`, its time to ready appended to FILE.
tend_up() {
    tend_launch "$PT" up --json
    if wait_line "$T/$PT.out" '"event":"ready"' 600; then
        echo $((($(iso_us "$(json_time "$LINE")") - T0_US) / 1000)) >>"$1"
    else
        tend_failed "tend did not get $n containers ready within 600 s"
    fi
    tend_kill
}

run_tend() {
    events_on "$PT"
    tend_up "$T/tend.cold"
    events_off create start >>"$T/tend.cold.engine"
    local r
    r=$(running "$PT")
    ((r == n)) || echo "$BENCH_NAME: after tend's cold up $r of $n containers run" >&2
    tend_up "$T/tend.warm"
    # Five of each ps, the machine still busy with the containers it just
    # started: one alone is noise.
    for _ in 1 2 3 4 5; do ms "$TEND" -p "$PT" -f "$T/many.yaml" ps >>"$T/tend.ps"; done
    engine_list "$PT" >>"$T/engine.list"
    # A tend in the background adopts the stack; ps asks it.
    if "$TEND" -p "$PT" -f "$T/many.yaml" up -d --wait >"$T/upd.out" 2>&1; then
        ms "$TEND" -p "$PT" -f "$T/many.yaml" ps >/dev/null # writes the stamp
        for _ in 1 2 3 4 5; do ms "$TEND" -p "$PT" -f "$T/many.yaml" ps >>"$T/tend.psd"; done
        # Ends the background tend; the containers keep running.
        kill -KILL "$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$T/upd.out" | head -n 1)" 2>/dev/null
    else
        echo "$BENCH_NAME: tend up -d --wait failed: $(tail -n 2 "$T/upd.out")" >&2
    fi
    events_on "$PT"
    MS_ANY=1 ms "$TEND" -p "$PT" -f "$T/many.yaml" down >>"$T/tend.down"
    events_off kill destroy >>"$T/tend.down.engine"
    r=$(running "$PT")
    ((r == 0)) || echo "$BENCH_NAME: after tend down $r containers still run" >&2
    project_cleanup "$PT"
}

# run_peer TAG TOOL PROJECT
run_peer() {
    local tag=$1 tool=$2 p=$3
    events_on "$p"
    ms "$tool" -p "$p" -f "$T/many.yaml" up -d >>"$T/$tag.cold"
    events_off create start >>"$T/$tag.cold.engine"
    ms "$tool" -p "$p" -f "$T/many.yaml" up -d >>"$T/$tag.warm"
    for _ in 1 2 3 4 5; do ms "$tool" -p "$p" -f "$T/many.yaml" ps >>"$T/$tag.ps"; done
    events_on "$p"
    MS_ANY=1 ms "$tool" -p "$p" -f "$T/many.yaml" down >>"$T/$tag.down"
    events_off kill destroy >>"$T/$tag.down.engine"
    project_cleanup "$p"
}

for ((k = 0; k < runs; k++)); do
    run_tend
    run_peer v5 "$COMPOSE5" "$P5"
    [ -n "$COMPOSE1" ] && run_peer v1 "$COMPOSE1" "$P1"
done

m() { [ -s "$1" ] && median <"$1"; }
for fig in cold warm psd ps down; do
    tm=$(m "$T/tend.$fig")
    m5=$(m "$T/v5.$fig")
    m1=$(m "$T/v1.$fig")
    case $fig in
    cold) what="cold up" ;;
    warm) what="warm up (nothing changed)" ;;
    psd) what="ps (through a running tend)"
        m5=$(m "$T/v5.ps")
        m1=$(m "$T/v1.ps") ;;
    ps) what="ps (no tend running)" ;;
    down) what="down" ;;
    esac
    goal=""
    [ -n "$m5" ] && goal=$(LC_ALL=C awk -v b="$m5" 'BEGIN { printf "%.0f", b / 3 }')
    of=$runs
    case $fig in ps | psd) of=$((runs * 5)) ;; esac
    echo "$BENCH_NAME $n containers, $what (median of $of): tend ${tm:-failed} ms," \
        "docker compose v5 ${m5:-failed} ms ($(ratio "$tm" "$m5")x)${m1:+, docker-compose v1 $m1 ms}" \
        "; goal tend <= v5 / 3${goal:+ = $goal ms}"
    if [ -s "$T/tend.$fig.engine" ]; then
        echo "$BENCH_NAME $n containers, $what: the engine's own span (first create to last start," \
            "or first kill to last destroy): under tend $(m "$T/tend.$fig.engine") ms, under" \
            "docker compose v5 $(m "$T/v5.$fig.engine") ms"
    fi
    # warm: also under 300 ms, whichever is less
    [ "$fig" = warm ] && goal=$(LC_ALL=C awk -v g="${goal:-300}" 'BEGIN { print (g < 300 ? g : 300) }')
    result "$what, $n containers" "$tm" "$m5" "$m1" "<= ${goal:-?} ms"
done
[ -s "$T/engine.list" ] && echo "$BENCH_NAME: the engine answers the list of $n containers in" \
    "$(m "$T/engine.list") ms (median, on an open connection): the floor of a ps that asks it"
load_note
exit $crashed
