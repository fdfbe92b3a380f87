#!/bin/bash
# Idle benchmark: what `tend up` costs while a stack of 20 services sits
# ready. Half the services have no probe, half a tcp probe with a 1 h
# interval (against one listener the benchmark starts), so once everything
# is ready no probe is due for an hour. Measures tend's RSS (VmRSS) once
# ready and its wakeups per second (context switches, all threads) over 5 s
# of that idleness, starting 1 s after the ready event; the shims' figures
# follow for scale. docker-compose has no host processes to compare with:
# the peer figure is a `sleep`'s RSS, for scale.
# Not a pass/fail test: it fails only when tend crashed.
#   bench-up-idle.sh TEND
#   BENCH_SERVICES   services (default 20)
#   BENCH_IDLE_S     seconds of idleness measured (default 5)
BENCH_NAME=up-idle
. "$(dirname "$0")/bench-up-lib.sh" "$@"

nsvc=${BENCH_SERVICES:-20}
idle_s=${BENCH_IDLE_S:-5}
goal_rss_mb=8

# One listener for every tcp probe: it only has to accept.
port=$(free_port)
"$PY" -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
time.sleep(3600)' "$port" "$T-listener" &
listener=$!
deadline=$(($(now_us) + 10000000))
until port_listening "$port"; do
    if (($(now_us) > deadline)) || ! pid_alive "$listener"; then
        echo "$BENCH_NAME: the tcp listener did not start" >&2
        exit 1
    fi
    nap 0.01
done

{
    echo "services:"
    for ((i = 1; i <= nsvc; i++)); do
        printf '  svc%02d:\n    command: ["%s", "1000"]\n' "$i" "$SLEEP"
        if ((i > nsvc / 2)); then
            printf '    x-tend:\n      probe:\n        tcp: {host: 127.0.0.1, port: %d}\n        interval: 1h\n' "$port"
        fi
    done
} >"$T/idle.yaml"

# sum_status PID FIELD: FIELD of /proc/PID/status summed over its threads.
sum_status() {
    local f v sum=0
    for f in /proc/"$1"/task/*/status; do
        v=$(awk -v k="$2:" '$1 == k { print $2 }' "$f" 2>/dev/null)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
ctxt() { echo $(($(sum_status "$1" voluntary_ctxt_switches) + $(sum_status "$1" nonvoluntary_ctxt_switches))); }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
# Private memory: what a process costs beyond the pages it shares with
# others running the same binary and libraries.
private_kb() {
    awk '$1 ~ /^Private_(Clean|Dirty):$/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null
}
mb() { LC_ALL=C awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

tend_launch idle up --json
if ! wait_line "$T/idle.out" '"event":"ready"' 60; then
    tend_failed "tend did not get ready within 60 s"
    tend_stop
    exit $crashed
fi
nap 1

shims=$(pgrep -P "$TEND_PID")
nshims=$(echo "$shims" | wc -w)
svcpid=$(pgrep -f "^$SLEEP 1000" | head -1)

rss=$(rss_kb "$TEND_PID")
priv=$(private_kb "$TEND_PID")
shim_rss=0
shim_priv=0
for p in $shims; do
    shim_rss=$((shim_rss + $(rss_kb "$p")))
    shim_priv=$((shim_priv + $(private_kb "$p")))
done
sleep_rss=$(rss_kb "$svcpid")

c0=$(ctxt "$TEND_PID")
s0=0
for p in $shims; do s0=$((s0 + $(ctxt "$p"))); done
t0=$(now_us)
nap "$idle_s"
c1=$(ctxt "$TEND_PID")
s1=0
for p in $shims; do s1=$((s1 + $(ctxt "$p"))); done
t1=$(now_us)

tend_stop
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null

secs=$(LC_ALL=C awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
per_s() { LC_ALL=C awk -v n="$1" -v s="$secs" 'BEGIN { printf "%.1f", n / s }'; }

echo "up-idle $nsvc services, RSS once ready: tend $(mb "$rss") MB, sleep $(mb "$sleep_rss") MB" \
    "($(ratio "$rss" "$sleep_rss")x); goal <= $goal_rss_mb MB"
echo "up-idle $nsvc services, private memory: tend $(mb "$priv") MB;" \
    "its $nshims shims RSS $(mb "$shim_rss") MB in all, private $(mb "$shim_priv") MB in all"
echo "up-idle $nsvc services, wakeups over $secs s idle: tend $(per_s $((c1 - c0)))/s" \
    "($((c1 - c0)) context switches; shims $(per_s $((s1 - s0)))/s for $nshims); goal 0/s"
result "RSS of tend with $nsvc host services, MB (no peer runs host services)" "$(mb "$rss")" - - "<= $goal_rss_mb MB"
result "wakeups of an idle tend with $nsvc services, per s" "$(per_s $((c1 - c0)))" - - "0"
load_note
exit $crashed
