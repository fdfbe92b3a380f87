#!/bin/sh
# A container on its way down is not adopted as if it ran: `tend up` right
# after a stop another client (or a tend down killed half-way) started,
# while the container still runs out its stop, waits for it to end and
# starts it again, and says so; it does not report it ready and then lose
# it. A container sent a signal that does not stop it (SIGHUP) is adopted
# at once. TAP output.
# Usage: test-adopt-stopping.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

need_docker_images

P=tendas$RUN$$
docker_project "$P"
# On SIGTERM the service takes 3 s to end (as a database flushing would);
# SIGHUP it ignores.
cat >"$T/$P.yaml" <<'EOF'
services:
  slow:
    image: tend/busybox
    command: ["sh", "-c", "trap 'sleep 3; exit 0' TERM; trap '' HUP; echo slow-up; while :; do sleep 1 & wait $$!; done"]
    stop_grace_period: 10s
EOF
tnd() { "$TEND" -p "$P" -f "$T/$P.yaml" "$@"; }
ctr() { docker inspect -f "$1" "$P-slow-1" 2>/dev/null; }
log_has() { grep -qF -- "$1" "$T/$P.out" "$T/$P.err" 2>/dev/null; }

start_tend "$P" up --no-color
if wait_for 30 log_has "all services ready"; then ok "tend up makes the container"; else notok "tend up makes the container"; diag_run "$P"; fi
kill -KILL "$TEND_PID"
wait_tend 10
check "the container runs on after tend is killed" [ "$(ctr '{{.State.Status}}')" = running ]
started0=$(ctr '{{.State.StartedAt}}')

# Another client stops it (the engine sends SIGTERM and waits); tend up
# comes while the stop is under way.
docker stop -t 10 "$P-slow-1" >/dev/null 2>&1 &
STOPPER=$!
wait_for 10 eval '[ "$(docker events --since 30s --until 0s --filter container='"$P-slow-1"' --filter event=kill --format x 2>/dev/null | wc -l)" -ge 1 ]'
check "the container is still running out its stop" [ "$(ctr '{{.State.Status}}')" = running ]
start_tend "$P" up --no-color
if wait_for 30 log_has "all services ready"; then ok "tend up gets ready"; else notok "tend up gets ready"; diag_run "$P"; fi
check "... after saying it waits for the stop under way" wait_for 10 log_has "is being stopped (a stop was under way): waiting for it to end"
wait "$STOPPER" 2>/dev/null
check "... and the container was started again after it ended" [ "$(ctr '{{.State.StartedAt}}')" != "$started0" ]
sleep 1
check "... so that it runs when tend says it is ready" [ "$(ctr '{{.State.Status}}')" = running ]
check "... without being lost right after (no restart after adoption)" eval '! log_has "stopped right after it was adopted"'
check "tend still runs" pid_alive "$TEND_PID"
kill -KILL "$TEND_PID"
wait_tend 10

# A signal that does not stop it: adopted at once.
started1=$(ctr '{{.State.StartedAt}}')
docker kill -s HUP "$P-slow-1" >/dev/null 2>&1
start_tend "$P" up --no-color
if wait_for 30 log_has "all services ready"; then ok "after a SIGHUP from another client tend up gets ready"; else notok "after a SIGHUP from another client tend up gets ready"; diag_run "$P"; fi
check "... adopting the running container as it is" wait_for 10 log_has "adopted running container $P-slow-1 (unchanged)"
check "... not waiting for it" eval '! log_has "is being stopped"'
check "... which was not started again" [ "$(ctr '{{.State.StartedAt}}')" = "$started1" ]
kill -INT "$TEND_PID"
wait_tend 30
tnd down >/dev/null 2>&1
finish
