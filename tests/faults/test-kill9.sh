#!/bin/sh
# kill -9 of tend at random moments: while `tend up` starts the stack,
# while it seeds, during a reload, while it stops (Ctrl-C), and while
# `tend down` runs. The stack: a Redis container keeping its data in a
# named volume (append-only file, fsync always) with seed steps, and a host
# service with a child of its own that reloads on changes. Each round
# starts `tend up`, waits for its moment, and kills tend with SIGKILL.
# Proves, round after round, that:
#   - no host process of the stack outlives tend (0 orphans);
#   - the next `tend up` adopts or recreates the container and becomes
#     ready (no hang);
#   - every seed step runs exactly once, however often tend dies around
#     it (a "seeding" round adds a new step: the kill may land inside it);
#   - what was written into the named volume is still there (no data lost).
# FAULT_ROUNDS rounds (default 10; the bench runs 50) from FAULT_SEED
# (default 1709; printed, so that a run can be replayed). Ends with a
# summary line. TAP output. Usage: test-kill9.sh TEND_BINARY
. "$(dirname "$0")/../integration/lib.sh" "$@"

ROUNDS=${FAULT_ROUNDS:-10}
SEED=${FAULT_SEED:-1709}
need_docker_images
command -v redis-server >/dev/null || skip_all "redis-server not installed"

P=tendk9$RUN$$
docker_project "$P"
echo "# kill -9 rounds: $ROUNDS, seed $SEED (FAULT_SEED=$SEED FAULT_ROUNDS=$ROUNDS to replay)"
mkdir -p "$T/src" "$T/seeds"
echo 1 >"$T/src/version"
STEPS=0
add_step() { # a new seed step of its own: it must run exactly once
    printf 'INCR applied:%s\nRPUSH steps %s\n' "$STEPS" "$STEPS" >"$T/seeds/s$STEPS.redis"
    STEPS=$((STEPS + 1))
    write_file
}
write_file() {
    {
        cat <<EOF
services:
  db:
    image: tend/hostusr
    volumes: ["/usr:/usr:ro", "data:/data"]
    command: ["redis-server", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes",
              "--appendfsync", "always", "--save", ""]
    stop_grace_period: 2s
    x-tend:
      probe:
        redis: {}
      seed:
EOF
        _i=0
        while [ $_i -lt $STEPS ]; do
            echo "        - redis: seeds/s$_i.redis"
            _i=$((_i + 1))
        done
        cat <<EOF
  app:
    command: ["sh", "-c", "echo \$\$\$\$ >>'$T/pids'; sleep 300 & echo \$\$! >>'$T/pids'; echo app-up; while :; do sleep 0.1; done", "$T-app"]
    working_dir: $T/src
    stop_grace_period: 1s
    depends_on:
      db: {condition: service_healthy}
    x-tend:
      watch:
        enabled: true
volumes:
  data: {}
EOF
    } >"$T/$P.yaml"
}
add_step

ORPHANS=0
HANGS=0
LOST=0
KILLS=0
# redis-cli in the container. A failed docker exec is tried again for up
# to 10 s, its output and error kept in $T/rcli.err, never taken for the
# answer: after a `tend down` killed half-way the engine may still be
# stopping the container the next up adopted (Docker has no "stopping"
# state to tell it by), and tend starts it again once, so an exec right
# after the ready line can meet "task ... not found".
rcli() {
    _n=0
    until _o=$(docker exec "$P-db-1" redis-cli "$@" 2>>"$T/rcli.err"); do
        echo "$_o" >>"$T/rcli.err"
        _n=$((_n + 1))
        [ $_n -lt 20 ] || return 1
        echo "# docker exec failed ($_n), once more: $(tail -n 1 "$T/rcli.err")" >&2
        sleep 0.5
    done
    printf '%s\n' "$_o"
}
ready() { grep -q 'all services ready' "$T/$P.out"; }
# The host processes the stack ever started that are still alive.
orphans() {
    [ -f "$T/pids" ] || return 0
    for _p in $(sort -u "$T/pids"); do
        pid_alive "$_p" && echo "$_p"
    done
}
kill9() { # kills tend, then counts what it left
    kill -KILL "$TEND_PID" 2>/dev/null
    wait "$TEND_PID" 2>/dev/null
    TEND_PID=
    KILLS=$((KILLS + 1))
    if ! wait_for 10 eval '[ -z "$(orphans)" ]'; then
        ORPHANS=$((ORPHANS + $(orphans | wc -l)))
        notok "round $r ($phase): no host process outlives tend" "$(alive_of $(orphans))"
        # shellcheck disable=SC2046
        kill -KILL $(orphans) 2>/dev/null
    fi
}
up_ready() { # DESC: tend up, ready in time (else a hang)
    start_tend "$P" up --no-color
    if wait_for 90 ready; then return 0; fi
    HANGS=$((HANGS + 1))
    notok "$1" "not ready within 90 s"
    diag_run "$P"
    return 1
}

# The first up: the volume is new, the data written then must survive.
if up_ready "the first tend up becomes ready"; then ok "the first tend up becomes ready"; fi
rcli SET precious "kept-$SEED" >/dev/null
kill -INT "$TEND_PID" 2>/dev/null
wait_tend 30

# The moments: random from the seed; up to 10 rounds take the five kinds
# in turn, so that a short run meets each.
awk -v s="$SEED" -v n="$ROUNDS" 'BEGIN {
    srand(s)
    for (i = 1; i <= n; i++) {
        p = int(rand() * 5)
        print i, (n <= 10 ? (i - 1) % 5 : p), int(rand() * 1500)
    }
}' >"$T/plan"
while read -r r p ms; do
    case $p in
        0) phase=up ;;
        1) phase=seeding ;;
        2) phase=reload ;;
        3) phase=stopping ;;
        *) phase=down ;;
    esac
    echo "# round $r: $phase, kill after ${ms} ms"
    case $phase in
        up | seeding)
            [ "$phase" = seeding ] && add_step
            start_tend "$P" up --no-color
            sleep "$(awk -v m="$ms" 'BEGIN { print m / 1000 }')"
            kill9
            ;;
        reload)
            up_ready "round $r: tend up becomes ready after the last kill" || { kill9; continue; }
            echo "$r" >"$T/src/version"
            sleep "$(awk -v m="$ms" 'BEGIN { print m / 2000 }')"
            kill9
            ;;
        stopping)
            up_ready "round $r: tend up becomes ready after the last kill" || { kill9; continue; }
            kill -INT "$TEND_PID"
            sleep "$(awk -v m="$ms" 'BEGIN { print m / 1000 }')"
            kill9
            ;;
        down)
            up_ready "round $r: tend up becomes ready after the last kill" || { kill9; continue; }
            kill9
            "$TEND" -p "$P" -f "$T/$P.yaml" down >"$T/down.out" 2>&1 &
            _d=$!
            sleep "$(awk -v m="$ms" 'BEGIN { print m / 3000 }')"
            kill -KILL "$_d" 2>/dev/null
            wait "$_d" 2>/dev/null
            KILLS=$((KILLS + 1))
            ;;
    esac
done <"$T/plan"

# The end: one more up must finish, every step ran exactly once, and the
# data is there.
if up_ready "after $ROUNDS rounds tend up becomes ready"; then ok "after $ROUNDS rounds tend up becomes ready"; fi
bad=""
_i=0
while [ $_i -lt $STEPS ]; do
    v=$(rcli GET "applied:$_i")
    if [ "$v" != 1 ]; then
        bad="$bad step $_i ran ${v:-0} times;"
        [ -s "$T/rcli.err" ] && bad="$bad (docker exec said: $(tail -n 1 "$T/rcli.err"))"
    fi
    _i=$((_i + 1))
done
if [ -z "$bad" ]; then ok "each of the $STEPS seed steps ran exactly once"; else notok "each seed step ran exactly once" "$bad"; fi
if [ "$(rcli GET precious)" = "kept-$SEED" ]; then
    ok "the data written before the rounds is still in the volume"
else
    LOST=1
    notok "the data written before the rounds is still in the volume" "precious=$(rcli GET precious)"
fi
kill -INT "$TEND_PID" 2>/dev/null
wait_tend 30
"$TEND" -p "$P" -f "$T/$P.yaml" down -v >"$T/down.out" 2>&1
check "no host process of the stack is left ($ORPHANS orphans over $KILLS kills)" [ "$ORPHANS" = 0 ]
left=$(docker ps -aq --filter "label=com.docker.compose.project=$P" | wc -l)
check "tend down -v leaves no container" [ "$left" = 0 ]
check "no tend up hung" [ "$HANGS" = 0 ]
echo "# fault summary: test=kill9 injected=$KILLS rounds=$ROUNDS orphans=$ORPHANS data_lost=$LOST hangs=$HANGS seed=$SEED"
finish
