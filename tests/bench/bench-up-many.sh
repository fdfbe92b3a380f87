#!/bin/bash
# Many-services benchmark: 200 trivial host services (`sleep 1000`, no
# probe: ready as soon as they run), timed from tend's launch to its
# {"event":"ready"} moment. The peer is a shell loop starting 200
# `sleep 1000 &` and waiting until every one of them runs sleep (its
# /proc/PID/comm no longer the forked shell's). Median of N runs of each,
# alternating. The goal is the shell loop's own time plus 1 ms per
# service (a supervisor's bookkeeping on top of the fork and exec).
# Not a pass/fail test on time: it fails only when a program crashed.
#   bench-up-many.sh TEND
#   BENCH_RUNS       runs of each (default 5)
#   BENCH_SERVICES   services (default 200)
BENCH_NAME=up-many
. "$(dirname "$0")/bench-up-lib.sh" "$@"

runs=${BENCH_RUNS:-5}
nsvc=${BENCH_SERVICES:-200}

{
    echo "services:"
    for ((i = 1; i <= nsvc; i++)); do
        printf '  svc%03d:\n    command: ["%s", "1000"]\n' "$i" "$SLEEP"
    done
} >"$T/many.yaml"

# The peer exits once all run, leaving the sleeps behind with their pids
# in a file for the benchmark to stop them.
cat >"$T/peer.sh" <<EOF
#!/bin/bash
n=$nsvc
pids=()
for ((i = 0; i < n; i++)); do
    $(printf '%q' "$SLEEP") 1000 &
    pids+=(\$!)
done
printf '%s\n' "\${pids[@]}" >$(printf '%q' "$T/peer.pids")
mkfifo $(printf '%q' "$T/peer-nap") && exec 9<>$(printf '%q' "$T/peer-nap")
deadline=\$((\${EPOCHREALTIME/./} + 60000000))
for p in "\${pids[@]}"; do
    until read -r c </proc/\$p/comm && [[ \$c == sleep ]]; do
        ((\${EPOCHREALTIME/./} < deadline)) || exit 1
        read -r -t 0.001 -u 9 _
    done
done
rm -f $(printf '%q' "$T/peer-nap")
EOF

# No process of the previous run may still be around to take CPU.
settle() {
    local deadline
    deadline=$(($(now_us) + 20000000))
    while pgrep -f "^$SLEEP 1000" >/dev/null; do
        if (($(now_us) > deadline)); then
            echo "$BENCH_NAME: sleeps of the previous run still running after 20 s" >&2
            return 1
        fi
        nap 0.01
    done
}

run_tend() {
    tend_launch many up --json
    if ! wait_line "$T/many.out" '"event":"ready"' 60; then
        tend_failed "tend did not get ready within 60 s"
        tend_stop
        settle
        return 1
    fi
    # tend's own CPU (all its threads, not its children) up to now.
    local st
    read -r -a st <"/proc/$TEND_PID/stat" 2>/dev/null &&
        echo $(((st[13] + st[14]) * 1000 / $(getconf CLK_TCK))) >>"$T/tend.cpu"
    tend_stop
    settle
    # tend's own stamp of the moment (ms): no polling delay in it.
    echo $((($(iso_us "$(json_time "$LINE")") - T0_US) / 1000))
}

run_peer() {
    local t0 t1 rc p
    rm -f "$T/peer.pids"
    t0=$(now_us)
    bash "$T/peer.sh"
    rc=$?
    t1=$(now_us)
    if [ -f "$T/peer.pids" ]; then
        while read -r p; do kill "$p" 2>/dev/null; done <"$T/peer.pids"
    fi
    settle
    if ((rc != 0)); then
        echo "$BENCH_NAME: the shell loop did not see every sleep running (status $rc)" >&2
        note_status "the shell loop" "$rc"
        return 1
    fi
    LC_ALL=C awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }'
}

: >"$T/tend.res"
: >"$T/peer.res"
for ((k = 0; k < runs; k++)); do
    run_tend >>"$T/tend.res"
    run_peer >>"$T/peer.res"
done

tend_ms=$(median <"$T/tend.res")
peer_ms=$(median <"$T/peer.res")
goal=$(LC_ALL=C awk -v p="${peer_ms:-0}" -v n="$nsvc" 'BEGIN { printf "%.0f", p + n }')
echo "up-many $nsvc services to ready: tend ${tend_ms:-failed} ms, shell loop ${peer_ms:-failed} ms" \
    "($(ratio "$tend_ms" "$peer_ms")x); goal <= $goal ms (the loop + 1 ms per service)"
[ -s "$T/tend.cpu" ] && echo "up-many tend's own CPU time to ready: median $(median <"$T/tend.cpu") ms"
result "$nsvc host services to ready (shell loop: ${peer_ms:-?} ms)" "$tend_ms" - - "<= $goal ms"
load_note
exit $crashed
