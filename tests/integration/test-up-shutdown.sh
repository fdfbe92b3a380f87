#!/bin/sh
# Stopping: a service that ignores SIGTERM is killed once its
# stop_grace_period is over; a second Ctrl-C kills at once; stop_signal is
# the signal a service gets. TAP output.
# Usage: test-up-shutdown.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

# wait_up NAME SERVICE: the service printed "up".
wait_up() {
    if wait_for 10 grep -qE "^$2 +\| up\$" "$T/$1.out"; then
        ok "$1: $2 runs"
    else
        notok "$1: $2 runs" "no \"$2 | up\" within 10 s"
        diag_run "$1"
    fi
}

# ---- the grace period ----
cat >"$T/grace.yaml" <<EOF
services:
  stubborn:
    command: ': $T-stubborn; trap "" TERM; echo up; while :; do sleep 0.1; done'
    stop_grace_period: 1s
EOF
start_tend grace up
wait_up grace stubborn
t0=$(now_ms)
kill -INT "$TEND_PID"
if wait_tend 10; then ok "tend exits after Ctrl-C although the service ignores SIGTERM"; else notok "tend exits after Ctrl-C although the service ignores SIGTERM" "still running after 10 s"; fi
el=$((TEND_END_MS - t0))
if [ "$el" -ge 900 ] && [ "$el" -le 3000 ]; then
    ok "the service is killed after its 1s grace period (${el} ms)"
else
    notok "the service is killed after its 1s grace period" "tend exited ${el} ms after SIGINT, wanted 900..3000"
    diag_run grace
fi
if grep -qE '^stubborn +\| did not stop within 1(\.0)? s; killing it$' "$T/grace.out"; then
    ok "tend says it kills the service after the grace period"
else
    notok "tend says it kills the service after the grace period" "no \"did not stop within 1.0 s; killing it\" line"
fi
left=$(leftovers)
if [ -z "$left" ]; then ok "the stubborn service is gone"; else notok "the stubborn service is gone" "$left"; fi

# ---- a second Ctrl-C ----
cat >"$T/twice.yaml" <<EOF
services:
  stubborn:
    command: ': $T-twice; trap "" TERM; echo up; while :; do sleep 0.1; done'
    stop_grace_period: 30s
EOF
start_tend twice up
wait_up twice stubborn
kill -INT "$TEND_PID"
sleep 0.3
if tend_alive; then ok "after one Ctrl-C tend waits for the grace period"; else notok "after one Ctrl-C tend waits for the grace period" "tend already exited"; fi
t0=$(now_ms)
kill -INT "$TEND_PID" 2>/dev/null
if wait_tend 10; then ok "tend exits after a second Ctrl-C"; else notok "tend exits after a second Ctrl-C" "still running after 10 s"; fi
el=$((TEND_END_MS - t0))
# At once: well under a second (the grace period is 30 s).
if [ "$el" -lt 1000 ]; then
    ok "a second Ctrl-C kills at once (${el} ms)"
else
    notok "a second Ctrl-C kills at once" "tend exited ${el} ms after the second SIGINT"
    diag_run twice
fi
if grep -qE '^tend +\| killing everything now$' "$T/twice.out"; then
    ok "tend says it kills everything now"
else
    notok "tend says it kills everything now" "no \"tend | killing everything now\" line"
fi
left=$(leftovers)
if [ -z "$left" ]; then ok "the service is gone after the second Ctrl-C"; else notok "the service is gone after the second Ctrl-C" "$left"; fi

# ---- stop_signal ----
cat >"$T/sig.yaml" <<EOF
services:
  polite:
    command: ': $T-sig; trap "echo int >$T/got-int; exit 0" INT; trap "echo term >$T/got-term; exit 0" TERM; echo up; while :; do sleep 0.1; done'
    stop_signal: SIGINT
EOF
start_tend sig up
wait_up sig polite
t0=$(now_ms)
kill -INT "$TEND_PID"
if wait_tend 15; then ok "tend exits after Ctrl-C with stop_signal: SIGINT"; else notok "tend exits after Ctrl-C with stop_signal: SIGINT" "still running after 15 s"; fi
el=$((TEND_END_MS - t0))
if [ -e "$T/got-int" ] && [ ! -e "$T/got-term" ]; then
    ok "the service gets SIGINT, its stop_signal, and not SIGTERM"
else
    notok "the service gets SIGINT, its stop_signal, and not SIGTERM" \
        "got-int: $([ -e "$T/got-int" ] && echo yes || echo no), got-term: $([ -e "$T/got-term" ] && echo yes || echo no)"
    diag_run sig
fi
if [ "$el" -lt 2000 ]; then ok "it stops on that signal without waiting for the grace period (${el} ms)"; else notok "it stops on that signal without waiting for the grace period" "took ${el} ms"; fi
if [ "$TEND_RC" = 0 ]; then ok "tend exits 0 after a clean stop"; else notok "tend exits 0 after a clean stop" "exit status $TEND_RC"; fi

left=$(leftovers)
if [ -z "$left" ]; then ok "no process is left"; else notok "no process is left" "$left"; fi
finish
