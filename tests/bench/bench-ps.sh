#!/bin/bash
# `tend ps` latency: the whole command (process start, loading the services
# file, the control socket's answer, the table) against a running stack of
# 50 host services (`sleep`), run BENCH_RUNS times in a row; median and
# p95. Beside it: `tend version` (the floor: starting the binary, loading
# its shared libraries), and the control socket's own round trip (connect,
# hello, ps request, answer) from a Python client. Then 10 containers
# (tend/busybox `sleep`): `tend ps` through the socket of a `tend up -d`,
# `tend ps` with no supervisor (the engine's labels), and `docker compose
# ps` (v5) and `docker-compose ps` (v1) on their own copy of the stack.
# Goal: tend ps <= 10 ms.
# Not a pass/fail test on time: it fails only when a program crashed.
#   bench-ps.sh TEND
#   BENCH_RUNS      runs of each (default 50)
BENCH_NAME=ps
. "$(dirname "$0")/bench-up-lib.sh" "$@"

runs=${BENCH_RUNS:-50}
export XDG_RUNTIME_DIR="$T/run"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"

# p95 <FILE: the 95th percentile (nearest rank) of one number per line.
p95() {
    sort -n | LC_ALL=C awk '{ v[NR] = $1 } END { if (NR == 0) exit 1
        i = int(NR * 0.95 + 0.999); if (i > NR) i = NR; printf "%.1f\n", v[i] }'
}

# timed FILE CMD...: runs CMD runs times, appending each wall time in ms.
timed() {
    local f=$1 k t0 t1 rc
    shift
    : >"$f"
    for ((k = 0; k < runs; k++)); do
        t0=$(now_us)
        "$@" >/dev/null 2>"$T/timed.err"
        rc=$?
        t1=$(now_us)
        note_status "$1" "$rc"
        if ((rc != 0)); then
            echo "$BENCH_NAME: $* failed (status $rc): $(head -c 300 "$T/timed.err")" >&2
            return 1
        fi
        LC_ALL=C awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) / 1000 }' >>"$f"
    done
}

report() { echo "$BENCH_NAME $1: median $(median <"$2") ms, p95 $(p95 <"$2") ms$(cpu_of "$2")"; }

# cpu_of FILE: ", CPU X ms" from FILE.cpu when measured: the processor time
# (user + system) of one run, which the machine's other load changes less
# than the wall time.
cpu_of() { [ -s "$1.cpu" ] && echo ", CPU $(cat "$1.cpu") ms/run"; }

# cpu_time FILE CMD...: the mean CPU time of CMD over the runs, in FILE.cpu.
cpu_time() {
    local f=$1
    shift
    "$PY" - "$runs" "$@" >"$f.cpu" <<'PYEOF'
import os, resource, subprocess, sys
runs, cmd = int(sys.argv[1]), sys.argv[2:]
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
for _ in range(runs):
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.1f" % ((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000 / runs))
PYEOF
}

on_exit() {
    local p ids
    "$TEND" -p bps50 -f "$T/bps50.yaml" down >/dev/null 2>&1
    [ -f "$T/bpsct.yaml" ] && "$TEND" -p bpsct -f "$T/bpsct.yaml" down >/dev/null 2>&1
    for p in bpsct bpscc$$ bpscv$$; do
        ids=$(docker ps -aq --filter "label=com.docker.compose.project=$p" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
        ids=$(docker network ls -q --filter "label=com.docker.compose.project=$p" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1
    done
    bench_cleanup
}
trap on_exit EXIT

# ---- 50 host services ----
{
    echo "services:"
    for ((i = 1; i <= 50; i++)); do
        printf '  svc%02d:\n    command: ["sh", "-c", "exec sleep 300", "%s"]\n' "$i" "$T"
    done
} >"$T/bps50.yaml"
tps() { "$TEND" -p bps50 -f "$T/bps50.yaml" "$@"; }
if ! tps up -d --wait >"$T/up50.out" 2>&1; then
    echo "$BENCH_NAME: tend up -d --wait of 50 services failed: $(tail -n 3 "$T/up50.out")" >&2
    exit 1
fi
n=$(tps ps -q | wc -l)
((n == 50)) || echo "$BENCH_NAME: tend ps lists $n services, not 50" >&2
timed "$T/ps50.res" tps ps
timed "$T/ps50j.res" tps ps --format json
timed "$T/ver.res" "$TEND" version
cpu_time "$T/ps50.res" "$TEND" -p bps50 -f "$T/bps50.yaml" ps
cpu_time "$T/ver.res" "$TEND" version
"$PY" - "$XDG_RUNTIME_DIR/tend/bps50.sock" "$runs" >"$T/rt.res" <<'EOF'
import json, socket, sys, time
path, runs = sys.argv[1], int(sys.argv[2])
for _ in range(runs * 4):
    t0 = time.perf_counter()
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rwb")
    json.loads(f.readline())
    f.write(b'{"id":1,"cmd":"ps"}\n')
    f.flush()
    r = json.loads(f.readline())
    s.close()
    assert len(r["services"]) == 50
    print("%.3f" % ((time.perf_counter() - t0) * 1000))
EOF
report "tend ps, 50 host services (the whole command; goal <= 10 ms)" "$T/ps50.res"
result "tend ps, 50 host services (no peer runs host services)" "$(median <"$T/ps50.res")" - - "<= 10 ms"
report "tend ps --format json, 50 host services" "$T/ps50j.res"
report "tend version (the floor: start the binary and its libraries)" "$T/ver.res"
report "control socket round trip (connect, hello, ps, answer), 50 services" "$T/rt.res"
tps down >/dev/null 2>&1

# ---- 10 containers, beside docker-compose ----
if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
    echo "$BENCH_NAME: containers: skipped (no Docker engine)"
    exit $crashed
fi
if ! docker image inspect tend/busybox:latest >/dev/null 2>&1; then
    "$(dirname "$0")/../../scripts/make-images" >"$T/make-images.log" 2>&1 || {
        echo "$BENCH_NAME: containers: skipped (no image tend/busybox)"
        exit $crashed
    }
fi
{
    echo 'version: "2.4"'
    echo "services:"
    for ((i = 1; i <= 10; i++)); do
        printf '  c%02d:\n    image: tend/busybox\n    command: ["sleep", "100000"]\n    stop_signal: SIGKILL\n' "$i"
    done
} >"$T/bpsct.yaml"
tct() { "$TEND" -p bpsct -f "$T/bpsct.yaml" "$@"; }
if ! tct up -d --wait >"$T/upct.out" 2>&1; then
    echo "$BENCH_NAME: tend up -d --wait of 10 containers failed: $(tail -n 3 "$T/upct.out")" >&2
    exit 1
fi
timed "$T/psct.res" tct ps
cpu_time "$T/psct.res" "$TEND" -p bpsct -f "$T/bpsct.yaml" ps
report "tend ps, 10 containers, through the socket" "$T/psct.res"
# peer_ps NAME TOOL PROJECT RESFILE: `TOOL ps` on its own running copy.
peer_ps() {
    local runs_saved=$runs
    runs=$((runs < 20 ? runs : 20))
    if "$2" -p "$3" -f "$T/bpsct.yaml" up -d >"$T/cc.out" 2>&1; then
        timed "$4" "$2" -p "$3" -f "$T/bpsct.yaml" ps
        cpu_time "$4" "$2" -p "$3" -f "$T/bpsct.yaml" ps
        report "$1 ps, 10 containers ($runs runs)" "$4"
    else
        echo "$BENCH_NAME: $1 up -d failed: $(tail -n 3 "$T/cc.out")" >&2
    fi
    runs=$runs_saved
}
pc=bpscc$$
p5=bpscv$$
[ -n "$COMPOSE5" ] && peer_ps "docker compose v5" "$COMPOSE5" "$p5" "$T/ps5.res"
[ -n "$COMPOSE1" ] && peer_ps "docker-compose v1" "$COMPOSE1" "$pc" "$T/ps1.res"
# No supervisor for that project: tend reads the engine's labels, as the
# peers do.
if [ -s "$T/ps5.res" ]; then
    timed "$T/pslab.res" "$TEND" -p "$p5" -f "$T/bpsct.yaml" ps
    report "tend ps, 10 containers, no supervisor (engine labels)" "$T/pslab.res"
fi
m() { [ -s "$1" ] && median <"$1"; }
echo "$BENCH_NAME: tend ps (socket) vs docker compose v5 ps: $(ratio "$(m "$T/psct.res")" "$(m "$T/ps5.res")")x;" \
    "tend ps (engine labels) vs v5: $(ratio "$(m "$T/pslab.res")" "$(m "$T/ps5.res")")x"
result "tend ps, 10 containers, through a running tend" "$(m "$T/psct.res")" "$(m "$T/ps5.res")" "$(m "$T/ps1.res")" "<= 10 ms"
result "tend ps, 10 containers, no tend running (engine labels)" "$(m "$T/pslab.res")" "$(m "$T/ps5.res")" "$(m "$T/ps1.res")" ""
for p in "$pc" "$p5"; do
    ids=$(docker ps -aq --filter "label=com.docker.compose.project=$p" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    ids=$(docker network ls -q --filter "label=com.docker.compose.project=$p" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1
done
load_note
tct down >/dev/null 2>&1
exit $crashed
