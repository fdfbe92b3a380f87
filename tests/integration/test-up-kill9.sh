#!/bin/sh
# `kill -9` of tend leaves nothing behind: every process of every host
# service, background children and a setsid'd daemon included, is gone
# within 3 s. TAP output.
# Usage: test-up-kill9.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

# A literal $ is $$ in a services file; @T@ is the temp folder.
sed "s|@T@|$T|g" >"$T/k9.yaml" <<'EOF'
services:
  alpha:
    command: "echo $$$$ >@T@/alpha.sh; sleep 300 & echo $$! >@T@/alpha.bg; sleep 301 & echo $$! >@T@/alpha.fg; wait"
  beta:
    command: "echo $$$$ >@T@/beta.sh; sleep 300 & echo $$! >@T@/beta.bg; sleep 301 & echo $$! >@T@/beta.fg; wait"
    depends_on: [alpha]
  daemon:
    command: "setsid sh -c 'echo $$$$ >@T@/daemon.sid; sleep 303' & wait"
EOF

pidfiles_written() {
    for f in alpha.sh alpha.bg alpha.fg beta.sh beta.bg beta.fg daemon.sid; do
        [ -s "$T/$f" ] || return 1
    done
}

start_tend k9 up
if wait_for 10 pidfiles_written; then
    ok "the services run and recorded their pids"
else
    notok "the services run and recorded their pids" "$(ls "$T")"
    diag_run k9
fi
pids=$(cat "$T"/alpha.* "$T"/beta.* "$T"/daemon.sid 2>/dev/null; group_pids)
# shellcheck disable=SC2086
alive=$(alive_of $pids | wc -l)
if [ "$alive" -ge 7 ]; then ok "the services' processes are running ($alive)"; else notok "the services' processes are running" "$alive alive of: $pids"; fi

kill -KILL "$TEND_PID"
wait "$TEND_PID" 2>/dev/null
TEND_PID=
t0=$(now_ms)
# shellcheck disable=SC2086
if wait_for 3 eval 'test -z "$(alive_of $pids)"'; then
    ok "every process is gone within 3 s of kill -9 ($(($(now_ms) - t0)) ms)"
else
    # shellcheck disable=SC2086
    notok "every process is gone within 3 s of kill -9" "$(alive_of $pids)"
fi
left=$(leftovers)
if [ -z "$left" ]; then ok "no process carrying the test's marker is left"; else notok "no process carrying the test's marker is left" "$left"; fi
finish
