#!/bin/sh
# tend watch when the kernel's inotify queue overflows: with
# fs.inotify.max_queued_events set to 16 while tend starts watching (saved
# and put back at once; needs root), tend is paused while 2000 files are
# written, so the queue must overflow. tend says so, rescans the tree, and
# the change still reloads the service: once, with the new file content.
# TAP output.
# Usage: test-watch-overflow.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

Q=/proc/sys/fs/inotify/max_queued_events
if [ "$(id -u)" -ne 0 ] || [ ! -w "$Q" ]; then
    skip_all "needs root to set $Q"
fi
OLDQ=$(cat "$Q")
restore_q() { [ -n "$OLDQ" ] && echo "$OLDQ" >"$Q"; OLDQ=; }
trap 'restore_q; cleanup' EXIT

lines_of() { [ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }
starts_are() { [ "$(lines_of "$T/seen")" -eq "$1" ]; }

mkdir -p "$T/src"
echo v1 >"$T/src/version"
cat >"$T/o.yaml" <<EOF
services:
  web:
    command: "cat $T/src/version >>$T/seen; exec sleep 1000"
    stop_grace_period: 2s
    develop:
      watch:
        - path: ./src
          action: restart
EOF
# The queue size is taken when the inotify instance is made: small only
# for as long as tend takes to start watching.
echo 16 >"$Q"
start_tend o watch
wait_for 20 out_has o "watching src (restart)"
restore_q
if out_has o "watching src (restart)"; then ok "tend watches with a 16-event queue"; else notok "tend watches with a 16-event queue"; diag_run o; finish; fi
wait_for 10 starts_are 1

# tend cannot read while stopped: the writes overflow its queue.
kill -STOP "$TEND_PID"
"$PY" - "$T/src" <<'PYEOF'
import os, sys
d = sys.argv[1]
for i in range(2000):
    with open(os.path.join(d, "f%04d" % i), "w") as f:
        f.write("x")
with open(os.path.join(d, "version"), "w") as f:
    f.write("v2\n")
PYEOF
kill -CONT "$TEND_PID"
if wait_for 20 out_has o "file events overflowed; rescanned web's tree src"; then
    ok "the overflow is told, with the rescan"
else
    notok "the overflow is told, with the rescan"; diag_run o
fi
if wait_for 20 out_has o "reloaded (files changed; file events overflowed) in"; then
    ok "after the overflow the service is reloaded"
else
    notok "after the overflow the service is reloaded"; diag_run o
fi
# Ready comes when the service runs (no probe), before its shell wrote the
# line: the second start is waited for, then a second more for a third.
wait_for 10 starts_are 2
sleep 1
check "... once" starts_are 2
check "... and it started with the new file" [ "$(tail -n 1 "$T/seen")" = v2 ]

# Watching goes on after the rescan.
echo v3 >"$T/src/version"
if wait_for 20 starts_are 3; then ok "changes after the rescan still reload"; else notok "changes after the rescan still reload"; diag_run o; fi
check "... with the newest content" [ "$(tail -n 1 "$T/seen")" = v3 ]
kill -INT "$TEND_PID"
wait_tend 15
check "tend stops on Ctrl-C" [ "$TEND_RC" = 0 ]
finish
