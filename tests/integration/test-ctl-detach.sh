#!/bin/sh
# Detached mode and the control socket's defences: `up -d --wait` returns
# once the stack is ready with the supervisor in a session of its own,
# `wait` and `attach` reach it, `down` stops it and nothing is left; `up -d
# --wait` with a failing service exits 1 with the reason; the socket (0600,
# and the supervisor checks the peer's uid) refuses another user; a stale
# socket left by a supervisor killed with SIGKILL is detected and removed by
# the next up. TAP output.
# Usage: test-ctl-detach.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

# No XDG_RUNTIME_DIR: the socket goes to the project's state folder.
unset XDG_RUNTIME_DIR
SOCK="$XDG_STATE_HOME/tend/d1/ctl.sock"

cat >"$T/d1.yaml" <<EOF
services:
  db:
    command: ["sh", "-c", "echo db starting; sleep 0.3; echo db ready; exec sleep 300", "$T-db"]
    x-tend:
      probe: {log: "db ready"}
  api:
    command: ["sh", "-c", "i=0; while :; do i=\$\$((i+1)); echo api line \$\$i; sleep 0.1; done", "$T-api"]
    depends_on: {db: {condition: service_healthy}}
EOF
tend_d() { "$TEND" -p d1 -f "$T/d1.yaml" "$@"; }

# ---- up -d --wait, wait, attach, down ----
t0=$(now_ms)
# Through a pipe read to its end: up -d must not leave it open in the background.
tend_d up -d --wait 2>&1 </dev/null | cat >"$T/up.out"
rc=$(cat "$T/up.out" >/dev/null; tend_d ps --json >/dev/null 2>&1; echo $?)
el=$(($(now_ms) - t0))
if grep -q "runs in the background (pid [0-9]*): every service is ready" "$T/up.out" && [ "$el" -lt 8000 ]; then
    ok "up -d --wait returns once every service is ready ($el ms)"
else
    notok "up -d --wait returns once every service is ready" "after $el ms: $(cat "$T/up.out")"
fi
SUP=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$T/up.out" | head -n 1)
if [ -n "$SUP" ] && pid_alive "$SUP"; then ok "the supervisor runs in the background (pid $SUP)"; else notok "the supervisor runs in the background" "pid=$SUP"; fi
sid=$(ps -o sid= -p "$SUP" 2>/dev/null | tr -d ' ')
check "it runs in a session of its own (sid $sid)" test "$sid" = "$SUP"
st=$(tend_d ps --json 2>&1 | "$PY" -c 'import json,sys; print(",".join(s["service"]+"="+s["state"] for s in json.load(sys.stdin)))')
check "ps: db and api ready ($st)" test "$st" = "api=ready,db=ready"
tend_d wait --timeout 5 >/dev/null 2>&1
check "wait: exit 0" test $? -eq 0
"$TEND" -p d1 -f "$T/d1.yaml" attach --no-color >"$T/attach.out" 2>&1 &
ATTACH=$!
if wait_for 10 grep -q "^api *| api line" "$T/attach.out"; then ok "attach follows the output"; else notok "attach follows the output" "$(cat "$T/attach.out")"; fi
test -s "$XDG_STATE_HOME/tend/d1/tend.log" && grep -q "db ready" "$XDG_STATE_HOME/tend/d1/tend.log"
check "the background tend writes its output to STATE/tend.log" test $? -eq 0

# ---- the socket refuses other users ----
mode=$(stat -c %a "$SOCK" 2>/dev/null)
check "the socket has mode 0600 ($mode)" test "$mode" = 600
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
    AS_NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups --"
    $AS_NOBODY /bin/true 2>/dev/null || AS_NOBODY="setpriv --reuid=nobody --regid=nobody --clear-groups --"
    chmod 755 "$XDG_STATE_HOME" "$XDG_STATE_HOME/tend" "$XDG_STATE_HOME/tend/d1"
    chmod 644 "$T/d1.yaml"
    $AS_NOBODY "$TEND" -p d1 -f "$T/d1.yaml" ps >"$T/nobody1.out" 2>&1
    rc=$?
    if [ $rc -ne 0 ] && grep -qi "permission denied" "$T/nobody1.out"; then
        ok "another user cannot connect (mode 0600): exit $rc"
    else
        notok "another user cannot connect (mode 0600)" "rc=$rc $(cat "$T/nobody1.out")"
    fi
    # With the mode opened up, the supervisor's own check still refuses.
    chmod 666 "$SOCK"
    $AS_NOBODY "$PY" - "$SOCK" >"$T/nobody2.out" 2>&1 <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
f = s.makefile("rw")
hello = json.loads(f.readline())
print(json.dumps(hello))
try:
    f.write('{"id":1,"cmd":"down"}\n')
    f.flush()
    print("answer:", f.readline().strip() or "EOF")
except OSError as e:
    print("answer: error", e)
EOF
    if grep -q '"error": "permission denied' "$T/nobody2.out" && grep -q "answer: \(EOF\|error\)" "$T/nobody2.out"; then
        ok "with the mode opened, the peer-credential check refuses another uid"
    else
        notok "with the mode opened, the peer-credential check refuses another uid" "$(cat "$T/nobody2.out")"
    fi
    chmod 600 "$SOCK"
    pid_alive "$SUP"
    check "the refused client did not stop the stack" test $? -eq 0
else
    skip "another user cannot connect" "needs root, setpriv and a nobody user"
    skip "the peer-credential check refuses another uid" "needs root, setpriv and a nobody user"
    skip "the refused client did not stop the stack" "needs root"
fi

tend_d up -d >"$T/up2.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "already running this project (pid $SUP)" "$T/up2.out"; then ok "a second up -d: exit 1, naming the running one"; else notok "a second up -d: exit 1" "rc=$rc $(cat "$T/up2.out")"; fi

pids=$(group_pids)
tend_d down >"$T/down.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && ! pid_alive "$SUP"; then ok "down stops the background tend and waits for it"; else notok "down stops the background tend and waits for it" "rc=$rc $(cat "$T/down.out")"; fi
# shellcheck disable=SC2086
left=$(alive_of $pids; leftovers)
if [ -z "$left" ]; then ok "nothing is left after down"; else notok "nothing is left after down" "$left"; fi
if wait_for 10 eval '! pid_alive $ATTACH'; then ok "attach ends when the stack stops"; else notok "attach ends when the stack stops"; fi
check "the socket file is gone" test ! -e "$SOCK"

# ---- up -d --wait with a service that fails ----
cat >"$T/d2.yaml" <<EOF
services:
  db:
    command: ["sh", "-c", "echo db starting; exec sleep 300", "$T-db2"]
  broken:
    command: ["sh", "-c", "echo cannot start: no config; sleep 0.2; exit 4", "$T-broken"]
    depends_on: [db]
    x-tend:
      probe: {log: "listening"}
EOF
"$TEND" -p d2 -f "$T/d2.yaml" up -d --wait >"$T/up3.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "broken.*exit status 4" "$T/up3.out"; then ok "up -d --wait with a failing service: exit 1 with the reason"; else notok "up -d --wait with a failing service: exit 1 with the reason" "rc=$rc $(cat "$T/up3.out")"; fi
"$TEND" -p d2 -f "$T/d2.yaml" down >/dev/null 2>&1
check "down after it: exit 0" test $? -eq 0

# ---- a stale socket after kill -9 ----
tend_d up -d >"$T/up4.out" 2>&1
rc=$?
SUP=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$T/up4.out" | head -n 1)
check "up -d returns once every service has started (exit $rc)" test "$rc" -eq 0 -a -n "$SUP"
pids=$(group_pids)
kill -KILL "$SUP"
# shellcheck disable=SC2086
if wait_for 10 eval 'test -z "$(alive_of $SUP $pids)"'; then ok "kill -9 of the background tend takes its services with it"; else notok "kill -9 of the background tend takes its services with it" "$(alive_of $SUP $pids)"; fi
check "the socket file stays behind (stale)" test -S "$SOCK"
tend_d ps >"$T/ps-stale.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ ! -e "$SOCK" ]; then ok "ps finds nobody behind the stale socket and removes it"; else notok "ps with a stale socket" "rc=$rc $(cat "$T/ps-stale.out")"; fi
# Again, and this time the next up finds it.
tend_d up -d >"$T/up5.out" 2>&1
SUP=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$T/up5.out" | head -n 1)
pids=$(group_pids)
kill -KILL "$SUP"
# shellcheck disable=SC2086
wait_for 10 eval 'test -z "$(alive_of $SUP $pids)"'
tend_d up -d --wait >"$T/up6.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "every service is ready" "$T/up6.out"; then ok "the next up -d cleans the stale socket up and starts"; else notok "the next up -d cleans the stale socket up and starts" "rc=$rc $(cat "$T/up6.out")"; fi
tend_d down >/dev/null 2>&1
check "down: exit 0" test $? -eq 0
left=$(leftovers)
if [ -z "$left" ]; then ok "nothing is left at the end"; else notok "nothing is left at the end" "$left"; fi
finish
