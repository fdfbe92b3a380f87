#!/bin/bash
# Log throughput benchmark: one service prints ~200 MB of 64-byte lines;
# `tend up` (plain output, no colour) has its stdout redirected to a file.
# Timed from tend's launch to its exit, which comes when the service has
# exited and its output is drained (nothing runs any more): MB/s of the
# service's output, and tend's maximum RSS (/usr/bin/time) to show that
# memory stays bounded. The peer is the same command writing straight to
# the file. Median of N runs of each, alternating; every run's line count is
# checked, a run that lost lines is reported.
# Not a pass/fail test on speed: it fails only when a program crashed.
#   bench-up-logs.sh TEND
#   BENCH_RUNS    runs of each (default 3)
#   BENCH_BYTES   bytes the service prints (default 200000000)
BENCH_NAME=up-logs
. "$(dirname "$0")/bench-up-lib.sh" "$@"

runs=${BENCH_RUNS:-3}
bytes=${BENCH_BYTES:-200000000}
goal_mbs=50
[ -x /usr/bin/time ] || bench_skip "/usr/bin/time not installed"

# 63 characters and a newline.
text=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde
lines=$((bytes / 64))
# The marker rides along as $0 of the shell, so the cleanup finds it.
cmd="yes $text | head -c $bytes"
cat >"$T/logs.yaml" <<EOF
services:
  flood:
    command: ["sh", "-c", "$cmd", "$T-flood"]
EOF

mbs() { LC_ALL=C awk -v b="$bytes" -v us="$1" 'BEGIN { printf "%.1f", b / 1e6 / (us / 1e6) }'; }

# Lines of the output that carry the text (tend adds a prefix and its own
# lines).
count_lines() { grep -c -F "$text" "$1"; }

run_tend() {
    local t0 t1 rc n
    rm -rf "$XDG_STATE_HOME"
    t0=$(now_us)
    /usr/bin/time -f %M -o "$T/time.out" \
        "$TEND" -p logs -f "$T/logs.yaml" up --no-color >"$T/logs.out" 2>"$T/logs.err" </dev/null &
    TEND_PID=$!
    wait "$TEND_PID"
    rc=$?
    t1=$(now_us)
    TEND_PID=
    # /usr/bin/time reports a signal as "Command terminated by signal N".
    local sig
    sig=$(sed -n 's/.*terminated by signal \([0-9]*\).*/\1/p' "$T/time.out")
    [ -n "$sig" ] && note_status tend $((128 + sig))
    if ((rc != 0)); then
        echo "$BENCH_NAME: tend exited with status $rc" >&2
        tail -n 5 "$T/logs.err" >&2
        return 1
    fi
    n=$(count_lines "$T/logs.out")
    if ((n != lines)); then
        echo "$BENCH_NAME: tend's output has $n of the $lines lines" >&2
    fi
    echo "$(mbs $((t1 - t0))) $(tail -n 1 "$T/time.out")" >>"$T/tend.res"
}

run_peer() {
    local t0 t1 rc n
    # In a group of its own (set -m), so that an interrupted benchmark
    # stops yes and head too.
    t0=$(now_us)
    set -m
    sh -c "$cmd" "$T-peer" >"$T/peer.out" &
    set +m
    echo $! >"$PEER_GROUPS"
    wait $!
    rc=$?
    t1=$(now_us)
    rm -f "$PEER_GROUPS"
    note_status "the peer" "$rc"
    n=$(count_lines "$T/peer.out")
    ((n != lines)) && echo "$BENCH_NAME: the peer's output has $n of the $lines lines" >&2
    echo "$(mbs $((t1 - t0)))" >>"$T/peer.res"
}

: >"$T/tend.res"
: >"$T/peer.res"
for ((k = 0; k < runs; k++)); do
    run_tend
    run_peer
done
rm -f "$T/logs.out" "$T/peer.out"

tend_mbs=$(cut -d' ' -f1 "$T/tend.res" | median)
peer_mbs=$(median <"$T/peer.res")
maxrss=$(cut -d' ' -f2 "$T/tend.res" | sort -n | tail -n 1)
mb=$((bytes / 1000000))
if [ -n "$tend_mbs" ]; then
    echo "up-logs $mb MB of lines to a file: tend $tend_mbs MB/s, cmd > file $peer_mbs MB/s" \
        "($(ratio "$tend_mbs" "$peer_mbs")x); goal >= $goal_mbs MB/s"
    echo "up-logs $mb MB of lines to a file: tend max RSS $(LC_ALL=C awk -v k="$maxrss" 'BEGIN { printf "%.1f", k / 1024 }') MB"
    result "log throughput to a file, MB/s (cmd > file: $peer_mbs MB/s)" "$tend_mbs" - - ">= $goal_mbs MB/s"
else
    echo "up-logs $mb MB of lines to a file: tend failed, cmd > file $peer_mbs MB/s; goal >= $goal_mbs MB/s"
fi
load_note
exit $crashed
