#!/bin/sh
# The control socket from a second process, against a `tend up` running a
# stack of host services: ps (table and JSON), logs (tail, beyond the
# supervisor's memory from its files, follow), wait (reached, failed,
# timeout, completed), restart and stop, events, a second `up` refused,
# and `down` stopping the supervisor. TAP output.
# Usage: test-ctl.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

export XDG_RUNTIME_DIR="$T/run"

# db is ready when it says so; api prints a numbered line every 50 ms; burst
# prints 1500 lines at once (more than the supervisor keeps in memory); job
# completes; bad fails; slow never gets ready.
cat >"$T/c1.yaml" <<EOF
services:
  db:
    command: ["sh", "-c", "echo db starting; sleep 0.2; echo db ready; exec sleep 300", "$T-db"]
    x-tend:
      probe: {log: "db ready"}
  api:
    command: ["sh", "-c", "i=0; while :; do i=\$\$((i+1)); echo api line \$\$i; sleep 0.05; done", "$T-api"]
    depends_on: {db: {condition: service_healthy}}
  burst:
    command: ["sh", "-c", "seq 1 1500 | sed 's/^/burst /'; exec sleep 300", "$T-burst"]
  job:
    command: ["sh", "-c", "echo migrating; sleep 0.3; echo migrated", "$T-job"]
    depends_on: [db]
  bad:
    command: ["sh", "-c", "echo about to fail; exit 3", "$T-bad"]
    restart: "no"
  slow:
    command: ["sh", "-c", "exec sleep 300", "$T-slow"]
    x-tend:
      probe: {log: "never printed"}
EOF

tend_c() { "$TEND" -p c1 -f "$T/c1.yaml" "$@"; }

start_tend c1 up
if wait_for 10 test -S "$XDG_RUNTIME_DIR/tend/c1.sock"; then
    ok "up listens on \$XDG_RUNTIME_DIR/tend/PROJECT.sock"
else
    notok "up listens on \$XDG_RUNTIME_DIR/tend/PROJECT.sock" "$(ls -la "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/tend" 2>&1)"
    diag_run c1
fi
# The socket is made 0600 at its bind: read as soon as it is there.
sock_mode() { stat -c %a "$XDG_RUNTIME_DIR/tend/c1.sock" 2>/dev/null; }
mode=$(sock_mode)
check "the socket has mode 0600 ($mode)" test "$mode" = 600

# ---- wait ----
tend_c wait --timeout 10 api db >"$T/w1.out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok "wait api db: exit 0 once ready"; else notok "wait api db: exit 0 once ready" "rc=$rc $(cat "$T/w1.out")"; fi
tend_c wait --completed --timeout 10 job >"$T/w2.out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok "wait --completed job: exit 0"; else notok "wait --completed job: exit 0" "rc=$rc $(cat "$T/w2.out")"; fi
tend_c wait --timeout 10 bad >"$T/w3.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "bad" "$T/w3.out"; then ok "wait on a failed service: exit 1, saying which"; else notok "wait on a failed service: exit 1, saying which" "rc=$rc $(cat "$T/w3.out")"; fi
t0=$(now_ms)
tend_c wait --timeout 0.5 slow >"$T/w4.out" 2>&1
rc=$?
el=$(($(now_ms) - t0))
if [ $rc -eq 124 ] && [ $el -lt 3000 ]; then ok "wait --timeout 0.5 on a service never ready: exit 124 ($el ms)"; else notok "wait --timeout 0.5 on a service never ready: exit 124" "rc=$rc after $el ms: $(cat "$T/w4.out")"; fi
tend_c wait nosuch >/dev/null 2>&1
check "wait on an unknown service: exit 2" test $? -eq 2

# ---- ps ----
tend_c ps >"$T/ps.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "^SERVICE *STATE *HEALTH *SINCE *RESTARTS *RUNTIME *PORTS" "$T/ps.out" &&
    grep -q "^db *ready *healthy" "$T/ps.out" && grep -q "^api *ready" "$T/ps.out" &&
    grep -q "^bad *failed" "$T/ps.out"; then
    ok "ps: a table with every service's state and health"
else
    notok "ps: a table with every service's state and health" "rc=$rc" "$(cat "$T/ps.out")"
fi
tend_c ps --format json >"$T/ps.json" 2>&1
py_check "$T/ps.json" <<'EOF'
v = json.load(open(sys.argv[1]))
by = {s["service"]: s for s in v}
check(set(by) == {"db", "api", "burst", "job", "bad", "slow"}, "ps --format json lists every service", sorted(by))
check(by["db"]["state"] == "ready" and by["db"]["health"] == "healthy", "ps json: db ready and healthy", by["db"])
check(by["job"]["state"] == "exited" and by["job"].get("exit_status") == 0, "ps json: job exited 0", by["job"])
check(by["bad"]["state"] == "failed" and by["bad"].get("exit_status") == 3, "ps json: bad failed with status 3", by["bad"])
check(by["slow"]["health"] == "starting", "ps json: slow's health is starting", by["slow"])
check(all(isinstance(s.get("pid"), int) for s in (by["api"], by["db"])), "ps json: running host services have a pid", by["api"])
check(all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", s["since"]) for s in v), "ps json: since is an RFC 3339 time")
check(all(s["runtime"] == "host" and s["restarts"] == 0 for s in v), "ps json: runtime and restarts")
EOF

# ---- logs ----
tend_c logs --tail 2 api >"$T/l1.out" 2>&1
if [ "$(wc -l <"$T/l1.out")" -eq 2 ] && [ "$(grep -c '^api *| api line [0-9]*$' "$T/l1.out")" -eq 2 ]; then
    ok "logs --tail 2 api: the last two lines, prefixed"
else
    notok "logs --tail 2 api: the last two lines, prefixed" "$(cat "$T/l1.out")"
fi
tend_c logs --tail 1200 --no-log-prefix burst >"$T/l2.out" 2>&1
first=$(head -n 1 "$T/l2.out")
last=$(grep -v '^started\|ready in\|^$' "$T/l2.out" | tail -n 1)
n2=$(grep -c '^burst [0-9]*$' "$T/l2.out")
# The last lines are tend's own ("started", "ready in ..."): 1200 lines in all.
if [ "$(wc -l <"$T/l2.out")" -eq 1200 ] && [ "$last" = "burst 1500" ] && [ "$n2" -ge 1197 ]; then
    ok "logs --tail 1200 beyond the 1000 lines in memory: older lines from the log file, in order ($first ...)"
else
    notok "logs --tail 1200 beyond the 1000 lines in memory" "lines=$(wc -l <"$T/l2.out") first=$first last=$last n=$n2"
fi
tend_c logs --no-log-prefix burst >"$T/l3.out" 2>&1
if [ "$(grep -c '^burst [0-9]*$' "$T/l3.out")" -eq 1500 ] &&
    [ "$(grep '^burst [0-9]*$' "$T/l3.out" | sed 's/burst //' | sort -n -c 2>&1)" = "" ]; then
    ok "logs burst: all 1500 lines once each, in order"
else
    notok "logs burst: all 1500 lines once each, in order" "$(grep -c '^burst' "$T/l3.out") lines"
fi
tend_c logs --json --tail 1 api >"$T/l4.out" 2>&1
py_check "$T/l4.out" <<'EOF'
v = [json.loads(l) for l in open(sys.argv[1])]
check(len(v) == 1 and v[0]["service"] == "api" and v[0]["stream"] == "stdout" and v[0]["line"].startswith("api line"),
      "logs --json: time, service, stream and line", v)
EOF
since=$(date -u -d '-1 sec' +%Y-%m-%dT%H:%M:%S.%3NZ)
tend_c logs --timestamps --since "$since" api >"$T/l5.out" 2>&1
bad_ts=$(sed -n 's/^api *| \([^ ]*\) .*/\1/p' "$T/l5.out" | awk -v s="$since" '$0 < s' | wc -l)
if [ -s "$T/l5.out" ] && [ "$bad_ts" -eq 0 ]; then ok "logs --since --timestamps: only lines from then on"; else notok "logs --since --timestamps" "since=$since bad=$bad_ts $(head -n 3 "$T/l5.out")"; fi

# A follower sees new lines, and the end when tend stops.
"$TEND" -p c1 -f "$T/c1.yaml" logs -f --tail 0 api >"$T/follow.out" 2>&1 &
FOLLOW_PID=$!
if wait_for 10 grep -q "api line" "$T/follow.out"; then ok "logs -f: new lines arrive"; else notok "logs -f: new lines arrive" "$(cat "$T/follow.out")"; fi

# ---- events, restart, stop ----
"$TEND" -p c1 -f "$T/c1.yaml" events --json >"$T/events.out" 2>&1 &
EVENTS_PID=$!
# events prints nothing until something happens: burst (which nothing
# below looks at) is restarted until its events show that the follower
# listens, so that db's restart below cannot come before it does.
events_listen() {
    [ -s "$T/events.out" ] && return 0
    tend_c restart burst >/dev/null 2>&1
    return 1
}
if ! wait_for 20 events_listen; then notok "events: the follower listens" "$(cat "$T/events.out")"; fi
pid_before=$(tend_c ps --json | "$PY" -c 'import json,sys; print([s for s in json.load(sys.stdin) if s["service"]=="db"][0].get("pid"))')
tend_c restart db >"$T/r.out" 2>&1
rc=$?
pid_after=$(tend_c ps --json | "$PY" -c 'import json,sys; print([s for s in json.load(sys.stdin) if s["service"]=="db"][0].get("pid"))')
if [ $rc -eq 0 ] && [ -n "$pid_after" ] && [ "$pid_before" != "$pid_after" ]; then
    ok "restart db: a new process ($pid_before -> $pid_after)"
else
    notok "restart db: a new process" "rc=$rc $pid_before -> $pid_after $(cat "$T/r.out")"
fi
tend_c wait --timeout 10 db >/dev/null 2>&1
tend_c stop slow >"$T/s.out" 2>&1
rc=$?
st=$(tend_c ps --json | "$PY" -c 'import json,sys; print([s for s in json.load(sys.stdin) if s["service"]=="slow"][0]["state"])')
if [ $rc -eq 0 ] && [ "$st" = exited ]; then ok "stop slow: it has stopped when stop returns"; else notok "stop slow" "rc=$rc state=$st $(cat "$T/s.out")"; fi
tend_c start slow >"$T/s2.out" 2>&1
rc=$?
st=$(tend_c ps --json | "$PY" -c 'import json,sys; print([s for s in json.load(sys.stdin) if s["service"]=="slow"][0]["state"])')
if [ $rc -eq 0 ] && [ "$st" = running ]; then ok "start slow: running again"; else notok "start slow" "rc=$rc state=$st $(cat "$T/s2.out")"; fi
# The follower writes what tend sent it in its own time: slow's start, the
# last of it, is waited for (events come in order).
slow_running() { grep '"event":"state"' "$T/events.out" | grep '"service":"slow"' | grep -q '"to":"running"'; }
wait_for 10 slow_running
py_check "$T/events.out" <<'EOF'
evs = events(sys.argv[1])
i = index_of(evs, event="state", service="db", **{"from": "ready", "to": "stopping"})
check(i is not None, "events: db ready -> stopping on restart", evs[:5])
j = index_of(evs, event="health", service="db", status="healthy")
check(j is not None and j > i, "events: db healthy again after the restart", evs[-5:])
check(index_of(evs, event="state", service="slow", to="exited") is not None, "events: slow stopped", "")
check(all("time" in e for e in evs), "events: each has a time")
EOF

# ---- a second up ----
# api's shell and its shim, not the children the shell forks for sleep
# (until their exec they carry its command line): the processes that carry
# the marker and lead a process group.
api_shells() {
    for _p in $(pgrep -f -- "$T-api"); do
        [ "$(ps -o pgid= -p "$_p" 2>/dev/null | tr -d ' ')" = "$_p" ] && echo "$_p"
    done | wc -l
}
napi0=$(api_shells)
t0=$(now_ms)
"$TEND" -p c1 -f "$T/c1.yaml" up >"$T/up2.out" 2>&1
rc=$?
el=$(($(now_ms) - t0))
if [ $rc -eq 1 ] && grep -q "tend is already running this project (pid $TEND_PID); use tend attach / tend down" "$T/up2.out"; then
    ok "a second up: exit 1, naming the running one ($el ms)"
else
    notok "a second up: exit 1, naming the running one" "rc=$rc $(cat "$T/up2.out")"
fi
napi=$(api_shells)
check "a second up started nothing ($napi0 then $napi api processes)" test "$napi" -eq "$napi0"

# ---- down ----
tend_c down >"$T/down.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && ! tend_alive; then ok "down: the running tend stopped and exited"; else notok "down: the running tend stopped and exited" "rc=$rc $(cat "$T/down.out")"; fi
wait_tend 10
check "up exited 1 (a service had failed) after down" test "$TEND_RC" = 1
if wait_for 10 eval '! pid_alive $FOLLOW_PID'; then ok "logs -f ends when tend stops"; else notok "logs -f ends when tend stops"; fi
if wait_for 10 eval '! pid_alive $EVENTS_PID'; then ok "events ends when tend stops"; else notok "events ends when tend stops"; fi
grep -q '"event":"stopped"' "$T/events.out"
check "events: the last one is stopped" test $? -eq 0
check "the socket file is gone" test ! -e "$XDG_RUNTIME_DIR/tend/c1.sock"
left=$(leftovers)
if [ -z "$left" ]; then ok "nothing of the stack is left"; else notok "nothing of the stack is left" "$left"; fi

# ---- without a supervisor ----
tend_c logs --tail 1 --no-log-prefix job >"$T/l6.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "exited\|stopped\|migrated" "$T/l6.out"; then ok "logs without a running tend: from the log files"; else notok "logs without a running tend" "rc=$rc $(cat "$T/l6.out")"; fi
tend_c ps -a --json >"$T/ps2.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q '"not running"' "$T/ps2.out"; then ok "ps -a without a running tend: host services not running"; else notok "ps -a without a running tend" "rc=$rc $(cat "$T/ps2.out")"; fi
tend_c wait api >"$T/w5.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "no tend up runs" "$T/w5.out"; then ok "wait without a running tend: exit 1"; else notok "wait without a running tend: exit 1" "rc=$rc $(cat "$T/w5.out")"; fi
finish
