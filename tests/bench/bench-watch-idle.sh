#!/bin/bash
# Idle watch benchmark: watch-tree watches the 100 000-folder tree of
# bench-watch-setup.sh, then sits for BENCH_IDLE_S seconds (default 5)
# while nothing changes. Reports its wakeups over that time (context
# switches from /proc/PID/status, all threads; goal 0) and the CPU time it
# used, and perf's count of context switches when perf works here.
# No peer: docker compose v5 watches only beside its containers; v1 has
# no `watch`.
# Not a pass/fail test: it fails only when watch-tree fails.
#   bench-watch-idle.sh WATCH_TREE_BIN
. "$(dirname "$0")/bench-watch-setup.sh" "$@"

IDLE_S=${BENCH_IDLE_S:-5}
OUT=$(mktemp /tmp/tend-bench-watch-idle.XXXXXX)
PID=
stop() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -f "$OUT"
    restore_limit
}
trap stop EXIT

ctxt() {
    awk '$1 ~ /ctxt_switches:/ { s += $2 } END { print s + 0 }' /proc/"$1"/task/*/status
}
# utime + stime of the process, in clock ticks
cpu_ticks() {
    awk '{ print $14 + $15 }' /proc/"$1"/stat
}

make_tree || exit 1
raise_limit $((TOP * SUB + TOP + 1))
"$WATCH_TREE" idle "$TREE" >"$OUT" &
PID=$!
for _ in $(seq 1 600); do
    grep -q '^ready' "$OUT" && break
    kill -0 "$PID" 2>/dev/null || { echo "watch-tree failed" >&2; exit 1; }
    sleep 0.1
done
grep -q '^ready' "$OUT" || { echo "watch-tree did not get ready" >&2; exit 1; }
sleep 1
c0=$(ctxt "$PID")
t0=$(cpu_ticks "$PID")
sleep "$IDLE_S"
c1=$(ctxt "$PID")
t1=$(cpu_ticks "$PID")
hz=$(getconf CLK_TCK)
echo "# idle watch: $(sed 's/^ready //' "$OUT") over $TREE, $IDLE_S s with nothing changing"
echo "wakeups    $((c1 - c0)) in ${IDLE_S} s (context switches, goal 0)"
printf 'BENCH-RESULT\t%s\t%s\t-\t-\t0\n' "wakeups of an idle watcher of $(sed 's/^ready //' "$OUT"), in $IDLE_S s" "$((c1 - c0))"
echo "CPU time   $(((t1 - t0) * 1000 / hz)) ms (ticks of 1/$hz s)"
echo "RSS        $(awk '$1 == "VmRSS:" { print $2 " kB" }' /proc/"$PID"/status)"
if command -v perf >/dev/null 2>&1; then
    p=$(perf stat -x, -e context-switches,task-clock -p "$PID" -- sleep "$IDLE_S" 2>&1 |
        awk -F, '$3 == "context-switches" { cs = $1 } $3 == "task-clock" { tc = $1 }
                 END { if (cs == "<not counted>" && tc == "<not counted>")
                           print "0 context switches, 0 ms task-clock (never scheduled)"
                       else if (cs != "") printf "%s context switches, %s ms task-clock\n", cs, tc }')
    [ -n "$p" ] && echo "perf       $p over another ${IDLE_S} s"
fi
echo "# peer: none shown; docker compose v5 watches only beside its containers" \
    "(\`compose watch\`); v1 has no \`watch\`"
