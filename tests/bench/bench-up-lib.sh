# Shared helpers for the `tend up` benchmarks (sourced by bash, not run).
#   . "$(dirname "$0")/bench-up-lib.sh" "$@"
# Builds on tests/integration/lib.sh: TEND, T (the temp folder and the
# marker in every command line a benchmark starts; everything carrying it
# is killed on exit), PY, free_port, pid_alive, TEND_PID. Adds: a fork-free
# nap, microsecond clocks, a median, launching and stopping tend, waiting
# for a line of its output, and the report line.
# shellcheck source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh" "$@"

# Process groups a benchmark starts outside tend (a peer's servers), one
# per line: killed on exit with everything else. Servers that rename their
# processes (redis) lose the marker, so their groups are needed.
PEER_GROUPS=$T/peer.groups
bench_cleanup() {
    local g
    if [ -f "$PEER_GROUPS" ]; then
        while read -r g; do
            kill -KILL "-$g" 2>/dev/null
        done <"$PEER_GROUPS"
    fi
    cleanup
}
trap bench_cleanup EXIT

# peer_groups_stop SIGNAL...: sends the i-th signal to the i-th group of
# PEER_GROUPS (the last signal to the rest), waits up to 20 s until no live
# process is left in them, then forgets them (a group id may be reused once
# its processes are gone).
peer_groups_stop() {
    local g sig=$1 deadline live p
    [ -f "$PEER_GROUPS" ] || return 0
    while read -r g; do
        kill -"$sig" "-$g" 2>/dev/null
        [ $# -gt 1 ] && shift && sig=$1
    done <"$PEER_GROUPS"
    deadline=$(($(now_us) + 20000000))
    while :; do
        live=0
        while read -r g; do
            for p in $(pgrep -g "$g"); do
                pid_alive "$p" && live=1
            done
        done <"$PEER_GROUPS"
        ((live)) || break
        if (($(now_us) > deadline)); then
            echo "$BENCH_NAME: the peer's processes did not stop within 20 s; killed" >&2
            while read -r g; do kill -KILL "-$g" 2>/dev/null; done <"$PEER_GROUPS"
            nap 0.5
            break
        fi
        nap 0.01
    done
    rm -f "$PEER_GROUPS"
}

# A status of 77 is meson's "skipped".
bench_skip() {
    echo "$BENCH_NAME: skipped: $1"
    exit 77
}

# Set when tend (or a peer) died of a signal nobody sent it: the only way a
# benchmark fails.
crashed=0

# Naps without a fork (an external `sleep` per poll would cost more than
# the wait it times): read on a fifo nobody writes to, with a timeout.
mkfifo "$T/nap" || exit 1
exec 9<>"$T/nap"
nap() { read -r -t "${1:-0.001}" -u 9 _ || :; }

# Microseconds since the epoch, without a fork.
now_us() { echo "${EPOCHREALTIME/./}"; }

# A `sleep` whose command line carries the marker, so the cleanup finds it
# whoever started it; its name (comm) stays "sleep".
ln -s "$(command -v sleep)" "$T/sleep" || exit 1
SLEEP=$T/sleep

# median: numbers on stdin, one per line; prints the median to 0.1.
median() {
    sort -n | LC_ALL=C awk '{ v[NR] = $1 }
        END { if (NR == 0) exit 1
              m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.1f\n", m }'
}

# tend_launch NAME ARGS...: `tend -p NAME -f $T/NAME.yaml ARGS...` in the
# background, stdout to $T/NAME.out, stderr to $T/NAME.err; T0_US is the
# moment just before. Started directly (no wrapper) so that the time
# measured is tend's own.
tend_launch() {
    TEND_NAME=$1
    shift
    # Emptied here, not by the redirection below: that one happens in the
    # background child, and wait_line could read the last run's lines first.
    : >"$T/$TEND_NAME.out"
    T0_US=$(now_us)
    "$TEND" -p "$TEND_NAME" -f "$T/$TEND_NAME.yaml" "$@" \
        >>"$T/$TEND_NAME.out" 2>"$T/$TEND_NAME.err" </dev/null &
    TEND_PID=$!
}

# wait_line FILE TEXT SECONDS: waits until FILE has a line containing TEXT
# and sets LINE to it; 1 when it did not come in time or tend exited
# first. Reads on from where it stopped, with builtins only, every 50 ms,
# so polling takes next to no CPU from the programs being timed.
wait_line() {
    local f=$1 text=$2 deadline fd l part="" gone=0
    deadline=$(($(now_us) + $3 * 1000000))
    LINE=
    exec {fd}<"$f" || return 1
    while :; do
        if IFS= read -r l <&"$fd"; then
            l=$part$l
            part=""
            if [[ $l == *"$text"* ]]; then
                LINE=$l
                exec {fd}<&-
                return 0
            fi
            continue
        fi
        part+=$l
        # One more read after tend is gone: its last lines may have come
        # after the failed read.
        ((gone)) && break
        [ -n "$TEND_PID" ] && ! pid_alive "$TEND_PID" && gone=1
        (($(now_us) > deadline)) && break
        # Every bench takes its times from tend's own stamps, so this poll
        # only decides when to stop tend; polled often (every 5 ms) it took
        # enough of the 2 cores to slow the stack being timed by ~100 ms.
        nap 0.05
    done
    exec {fd}<&-
    return 1
}

# iso_us TIME: an RFC 3339 time of tend's JSON output in microseconds.
iso_us() { date -u -d "$1" +%s%6N; }

# json_time LINE: the "time" field of a JSON line of tend's output.
json_time() {
    [[ $1 =~ \"time\":\"([^\"]+)\" ]] && echo "${BASH_REMATCH[1]}"
}

# note_status WHO STATUS [EXPECTED...]: a status above 128 that is not one
# of EXPECTED (signals the benchmark sent) counts as a crash.
note_status() {
    local who=$1 st=$2 e
    shift 2
    ((st <= 128)) && return 0
    for e in "$@"; do
        [ "$st" = "$e" ] && return 0
    done
    echo "$BENCH_NAME: $who died with status $st" >&2
    crashed=1
}

# tend_stop [SECONDS]: SIGTERM to tend (a clean stop), SIGKILL after
# SECONDS (default 20); sets TEND_RC. A status above 128 is a crash, unless
# it is the SIGKILL sent here (reported, but a hang is not a crash).
tend_stop() {
    local deadline
    [ -n "$TEND_PID" ] || return 0
    kill -TERM "$TEND_PID" 2>/dev/null
    deadline=$(($(now_us) + ${1:-20} * 1000000))
    while pid_alive "$TEND_PID" && (($(now_us) < deadline)); do
        nap 0.01
    done
    local killed=
    if pid_alive "$TEND_PID"; then
        tend_failed "tend still running ${1:-20} s after SIGTERM; killed"
        kill -KILL "$TEND_PID" 2>/dev/null
        killed=137
    fi
    wait "$TEND_PID"
    TEND_RC=$?
    TEND_PID=
    note_status tend "$TEND_RC" $killed
}

# tend_failed WHY: reports a run that did not get where it should, with the
# end of tend's output.
tend_failed() {
    echo "$BENCH_NAME: $1" >&2
    tail -n 5 "$T/$TEND_NAME.out" "$T/$TEND_NAME.err" 2>/dev/null | cut -c1-300 >&2
}

# ratio A B: "A/B" to two decimals ("-" when B is 0 or empty).
ratio() {
    LC_ALL=C awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN {
        if (b > 0) printf "%.2f", a / b; else printf "-" }'
}

# The peers: docker compose v5 (today's, built once by scripts/compose-v5)
# and docker-compose 1.29 (Debian's, the second column). COMPOSE5 and
# COMPOSE1 are their paths, empty when not there.
COMPOSE5=$("$(dirname "${BASH_SOURCE[0]}")/../../scripts/compose-v5" 2>/dev/null) || COMPOSE5=
COMPOSE1=$(command -v docker-compose 2>/dev/null) || COMPOSE1=

# result FIGURE TEND_MS V5_MS V1_MS GOAL: one line for tests/bench/report
# ("-" for a figure not measured), after the human-readable lines.
result() {
    printf 'BENCH-RESULT\t%s\t%s\t%s\t%s\t%s\n' "$1" "${2:--}" "${3:--}" "${4:--}" "${5:--}"
}

# load_note: the machine's load while a benchmark ran (the 1-minute
# average at its end, over its processors).
load_note() {
    echo "$BENCH_NAME: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) processors"
}
