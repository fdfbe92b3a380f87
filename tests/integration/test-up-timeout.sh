#!/bin/sh
# --wait-timeout: a service whose HTTP probe never passes makes tend give up
# after the timeout, name the service and the probe's last failure, stop
# the stack and exit non-zero. TAP output.
# Usage: test-up-timeout.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

PORT=$(free_port)
cat >"$T/to.yaml" <<EOF
services:
  fine:
    command: ": $T-fine; echo up; sleep 60"
  api:
    command: ": $T-api; echo up; sleep 60"
    x-tend:
      probe:
        http: http://127.0.0.1:$PORT/health
EOF

t0=$(now_ms)
start_tend to up --wait-timeout 2
if wait_tend 15; then ok "tend gives up by itself"; else notok "tend gives up by itself" "still running after 15 s"; fi
el=$((TEND_END_MS - t0))
if [ "$el" -ge 1900 ] && [ "$el" -le 5000 ]; then
    ok "tend stops after the 2 s wait timeout (${el} ms)"
else
    notok "tend stops after the 2 s wait timeout" "exited after ${el} ms, wanted 1900..5000"
fi
if [ -n "$TEND_RC" ] && [ "$TEND_RC" != 0 ]; then ok "tend exits non-zero ($TEND_RC)"; else notok "tend exits non-zero" "exit status $TEND_RC"; fi

all=$(cat "$T/to.out" "$T/to.err")
if printf '%s\n' "$all" | grep -qE 'not every service was ready within 2(\.0)? s'; then
    ok "tend says not every service was ready in time"
else
    notok "tend says not every service was ready in time"
fi
line=$(printf '%s\n' "$all" | grep -E '^api +\| not ready' | head -n 1)
if [ -n "$line" ]; then ok "the not-ready service is named: $line"; else notok "the not-ready service is named" "no \"api | not ready...\" line"; fi
if printf '%s\n' "$line" | grep -qi 'connection refused'; then
    ok "the reason carries the probe's failure (connection refused)"
else
    notok "the reason carries the probe's failure (connection refused)" "got: $line"
fi
if ! printf '%s\n' "$all" | grep -qE '^fine +\| not ready'; then ok "the ready service is not listed as not ready"; else notok "the ready service is not listed as not ready"; fi
if printf '%s\n' "$all" | grep -qE '^fine +\| stopped$'; then ok "the rest of the stack is stopped"; else notok "the rest of the stack is stopped" "no \"fine | stopped\" line"; fi
[ $fail = 0 ] || diag_run to

left=$(leftovers)
if [ -z "$left" ]; then ok "no process is left"; else notok "no process is left" "$left"; fi
finish
