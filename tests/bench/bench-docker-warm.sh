#!/bin/bash
# Warm container benchmark: `tend up` again with nothing changed, on 10
# running containers (tend/busybox `sleep 100000`, no healthcheck; 200 are
# measured by bench-docker-many). The stack is brought up once and tend
# killed with SIGKILL, which leaves the containers running; each timed
# `tend up` then adopts them, from its launch to its {"event":"ready"}
# stamp, and is killed again. The peers are `docker compose up -d` (v5,
# scripts/compose-v5) and `docker-compose up -d` (v1, Debian's), each on
# its own copy of the stack, already running, timed to their exit. Runs
# alternate; medians. Each run checks that nothing was recreated or
# restarted (container ids and start times unchanged).
# Not a pass/fail test on time: it fails only when a program crashed.
#   bench-docker-warm.sh TEND
#   BENCH_RUNS      runs of each (default 10)
#   BENCH_SIZES     stack sizes (default "10")
BENCH_NAME=docker-warm
. "$(dirname "$0")/bench-up-lib.sh" "$@"

runs=${BENCH_RUNS:-10}
sizes=${BENCH_SIZES:-10}
# Goals for tend by stack size.
declare -A goal_ms=([10]=50 [200]=300)
PROJECTS=()

command -v docker >/dev/null || bench_skip "docker not installed"
docker info >/dev/null 2>&1 || bench_skip "the Docker engine does not answer"
[ -n "$COMPOSE5" ] || bench_skip "docker compose v5 not built (scripts/compose-v5)"
if ! docker image inspect tend/busybox:latest >/dev/null 2>&1; then
    "$(dirname "$0")/../../scripts/make-images" >"$T/make-images.log" 2>&1 ||
        bench_skip "no image tend/busybox and scripts/make-images failed: $(tail -n 1 "$T/make-images.log")"
fi

# project_cleanup PROJECT: removes its containers, networks and volumes.
project_cleanup() {
    local ids
    ids=$(docker ps -aq --filter "label=com.docker.compose.project=$1" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1
    ids=$(docker network ls -q --filter "label=com.docker.compose.project=$1" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1
    ids=$(docker volume ls -q --filter "label=com.docker.compose.project=$1" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker volume rm $ids >/dev/null 2>&1
}
# tend first (it would restart what is removed under it), then the engine.
on_exit() {
    local p
    [ -n "$TEND_PID" ] && kill -KILL "$TEND_PID" 2>/dev/null
    for p in "${PROJECTS[@]}"; do project_cleanup "$p"; done
    bench_cleanup
}
trap on_exit EXIT

# tend_kill: SIGKILL to tend, which leaves its containers running.
tend_kill() {
    [ -n "$TEND_PID" ] || return 0
    kill -KILL "$TEND_PID" 2>/dev/null
    wait "$TEND_PID" 2>/dev/null
    TEND_RC=$?
    TEND_PID=
    note_status tend "$TEND_RC" 137
}

# running PROJECT: "id started-at" of its running containers, sorted.
running() {
    local ids
    ids=$(docker ps -q --filter "label=com.docker.compose.project=$1")
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker inspect -f '{{.Id}} {{.State.StartedAt}}' $ids | sort
}

# peer_warm TOOL PROJECT FILE RESFILE: one timed `up -d` of a running stack
# by a Compose peer, checked to have changed nothing.
peer_warm() {
    local tool=$1 p=$2 f=$3 res=$4 before after t0 t1 rc
    before=$(running "$p")
    t0=$(now_us)
    "$tool" -p "$p" -f "$f" up -d >"$T/peer.out" 2>&1
    rc=$?
    t1=$(now_us)
    note_status "$tool" "$rc"
    if ((rc == 0)); then
        echo $(((t1 - t0) / 1000)) >>"$res"
    else
        echo "$BENCH_NAME: $tool up -d failed (status $rc):" >&2
        tail -n 3 "$T/peer.out" >&2
    fi
    after=$(running "$p")
    [ "$before" = "$after" ] ||
        echo "$BENCH_NAME: $tool's rerun changed the running containers" >&2
}

# bench_size N: prints the report line for a stack of N containers.
bench_size() {
    local n=$1 pt=tbwarm$$t$1 p5=tbwarm$$v$1 p1=tbwarm$$c$1 i k before after
    local goal=${goal_ms[$n]:-} v1=$COMPOSE1
    # docker-compose 1.29 hangs creating a few hundred containers at once.
    ((n > 50)) && v1=
    PROJECTS+=("$pt" "$p5" "$p1")
    {
        echo 'version: "2.4"'
        echo "services:"
        # sleep as pid 1 ignores SIGTERM: SIGKILL stops it at once.
        for ((i = 1; i <= n; i++)); do
            printf '  svc%03d:\n    image: tend/busybox\n    command: ["sleep", "100000"]\n    stop_signal: SIGKILL\n' "$i"
        done
    } >"$T/warm$n.yaml"
    ln -sf "warm$n.yaml" "$T/$pt.yaml"

    # Once, from nothing: every stack running.
    tend_launch "$pt" up --json
    if ! wait_line "$T/$pt.out" '"event":"ready"' 600; then
        tend_failed "tend did not bring $n containers up within 600 s"
        tend_kill
        return 1
    fi
    tend_kill
    for tp in "$COMPOSE5:$p5" "$v1:$p1"; do
        [ -n "${tp%%:*}" ] || continue
        if ! "${tp%%:*}" -p "${tp##*:}" -f "$T/warm$n.yaml" up -d >"$T/peer.out" 2>&1; then
            echo "$BENCH_NAME: ${tp%%:*} up -d of $n services failed:" >&2
            tail -n 5 "$T/peer.out" >&2
            return 1
        fi
    done
    : >"$T/tend$n.res"
    : >"$T/v5$n.res"
    : >"$T/v1$n.res"
    for ((k = 0; k < runs; k++)); do
        before=$(running "$pt")
        tend_launch "$pt" up --json
        if wait_line "$T/$pt.out" '"event":"ready"' 120; then
            echo $((($(iso_us "$(json_time "$LINE")") - T0_US) / 1000)) >>"$T/tend$n.res"
        else
            tend_failed "tend did not adopt $n running containers within 120 s"
        fi
        tend_kill
        after=$(running "$pt")
        [ "$(wc -l <<<"$before")" -eq "$n" ] && [ "$before" = "$after" ] ||
            echo "$BENCH_NAME: tend's rerun changed the running containers ($(wc -l <<<"$after") of $n running as before: $(comm -12 <(echo "$before") <(echo "$after") | wc -l))" >&2
        peer_warm "$COMPOSE5" "$p5" "$T/warm$n.yaml" "$T/v5$n.res"
        [ -n "$v1" ] && peer_warm "$v1" "$p1" "$T/warm$n.yaml" "$T/v1$n.res"
    done
    project_cleanup "$pt"
    project_cleanup "$p5"
    project_cleanup "$p1"

    local tm m5 m1
    tm=$([ -s "$T/tend$n.res" ] && median <"$T/tend$n.res")
    m5=$([ -s "$T/v5$n.res" ] && median <"$T/v5$n.res")
    m1=$([ -s "$T/v1$n.res" ] && median <"$T/v1$n.res")
    echo "$BENCH_NAME $n running containers, rerun with nothing changed (median of $runs): tend ${tm:-failed} ms," \
        "docker compose v5 ${m5:-failed} ms ($(ratio "$tm" "$m5")x), docker-compose v1 ${m1:-not run} ms" \
        "${goal:+; goal tend <= $goal ms}"
    result "warm up, $n containers" "$tm" "$m5" "$m1" "${goal:+<= $goal ms}"
}

for n in $sizes; do
    bench_size "$n"
done
load_note
exit $crashed
