#!/bin/sh
# Services that die again and again: a container the kernel kills for
# memory (mem_limit 8m, then it fills a shell variable with 64 MB) and a
# host process that exits 3 at once, both with restart: always. Proves
# that:
#   1. the restart policy holds: each comes back, again and again;
#   2. the backoff holds: the waits grow (100 ms doubling), so the number
#      of restarts stays small, and the crash loop is said in plain words;
#   3. the OOM kill is named as such, not only as exit status 137;
#   4. tend itself stays under 1% of one CPU meanwhile;
#   5. Ctrl-C stops it all, leaving nothing behind.
# Ends with a summary line. TAP output. Usage: test-crashloop.sh TEND_BINARY
. "$(dirname "$0")/../integration/lib.sh" "$@"

DOCKER=1
if [ ! -S /var/run/docker.sock ] && [ -z "${DOCKER_HOST:-}" ]; then DOCKER=0; fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ $DOCKER = 1 ] && ! "$ROOT/scripts/make-images" >"$T/images.log" 2>&1; then
    notok "the test images can be made" "$(tail -n 5 "$T/images.log")"
    finish
fi
P=tendcl$RUN$$
docker_project "$P"
{
    cat <<EOF
services:
  crash:
    command: ["sh", "-c", "echo crash-start; exit 3", "$T-crash"]
    restart: always
EOF
    [ $DOCKER = 1 ] && cat <<EOF
  oom:
    image: tend/busybox
    mem_limit: 8m
    command: ["sh", "-c", "echo oom-start; x=\$\$(head -c 64000000 /dev/zero | tr '\\\\0' a); echo survived"]
    restart: always
EOF
} >"$T/$P.yaml"

start_tend "$P" up --no-color
# The first seconds are the quick retries; then tend waits longer and
# longer: its CPU is measured over the 15 s after that.
sleep 3
ticks() { awk '{ print $14 + $15 }' "/proc/$TEND_PID/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep 15
t1=$(ticks)
cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / 15 * 100 }')
echo "# tend's CPU over 15 s of crash loops: $cpu% of one core"
check "tend stays under 1% of one CPU while services crash in a loop ($cpu%)" \
    awk -v c="$cpu" 'BEGIN { exit !(c < 1) }'

starts=$(grep -c '^crash *| crash-start' "$T/$P.out")
check "the host service is restarted again and again ($starts starts in 18 s)" [ "$starts" -ge 5 ]
check "the backoff keeps the restarts few ($starts starts in 18 s, not hundreds)" [ "$starts" -le 12 ]
# The waits announced, in order: they must not shrink while it keeps failing.
grep -oE '^crash *\| .*(restarting in|next try in) [0-9.]+ (ms|s)' "$T/$P.out" |
    sed -E 's/.* ([0-9.]+) (ms|s)$/\1 \2/' | awk '{ print ($2 == "s" ? $1 * 1000 : $1) }' >"$T/waits"
if awk 'NR > 1 && $1 < prev { bad = 1 } { prev = $1 } END { exit bad || NR < 4 || prev < 1600 }' "$T/waits"; then
    ok "the waits grow: $(tr '\n' ' ' <"$T/waits")ms"
else
    notok "the waits grow" "$(tr '\n' ' ' <"$T/waits")"
fi
if out_has "$P" "keeps crashing"; then ok "the crash loop is said in plain words"; else notok "the crash loop is said in plain words"; diag_run "$P"; fi

if [ $DOCKER = 1 ]; then
    ostarts=$(grep -c '^oom *| oom-start' "$T/$P.out")
    check "the OOM-killed container is restarted too ($ostarts starts)" [ "$ostarts" -ge 3 ]
    if out_has "$P" "killed by the kernel: out of memory"; then
        ok "the OOM kill is named as such"
    else
        notok "the OOM kill is named as such"
        diag_run "$P"
    fi
    check "the container never survived its limit" eval '! out_has "$P" survived'
else
    skip "a container killed for memory" "no Docker engine"
fi

kill -INT "$TEND_PID"
if wait_tend 30; then ok "Ctrl-C stops everything"; HANGS=0; else notok "Ctrl-C stops everything"; HANGS=1; fi
left=$(leftovers | wc -l)
check "no process of the stack is left" [ "$left" = 0 ]
"$TEND" -p "$P" -f "$T/$P.yaml" down >/dev/null 2>&1
echo "# fault summary: test=crashloop injected=$((starts + ${ostarts:-0})) rounds=1 orphans=$left data_lost=0 hangs=$HANGS"
finish
