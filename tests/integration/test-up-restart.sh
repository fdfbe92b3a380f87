#!/bin/sh
# Restart policies as a user sees them: on-failure:3 restarts three times
# with a growing delay (100, 200, 400 ms) and then fails, which makes
# `tend up` exit 1 once nothing runs any more; restart: always shows the
# crash-loop message after five exits within a minute, and Ctrl-C during a
# restart delay stops at once. TAP output.
# Usage: test-up-restart.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

# ---- on-failure:3 ----
# Each run writes when it began and when it is about to exit (ms). The JSON
# output gives tend's own timeline: backoff -> waiting is the delay.
cat >"$T/flaky.yaml" <<EOF
services:
  flaky:
    command: "date +%s%3N >>$T/starts; echo run-begin; sleep 0.2; date +%s%3N >>$T/exits; exit 1"
    restart: on-failure:3
EOF
start_tend flaky up --json
if wait_tend 20; then ok "tend returns by itself once the service gave up"; else notok "tend returns by itself once the service gave up" "still running after 20 s"; fi
if [ "$TEND_RC" = 1 ]; then
    ok "tend exits 1 because a service failed"
else
    notok "tend exits 1 because a service failed" "exit status $TEND_RC"
fi
starts=$(wc -l <"$T/starts" 2>/dev/null || echo 0)
if [ "$starts" -eq 4 ]; then ok "the command started 4 times (1 + 3 restarts)"; else notok "the command started 4 times (1 + 3 restarts)" "started $starts times"; fi

py_check "$T/flaky.out" "$T/starts" "$T/exits" <<'EOF'
from datetime import datetime
evs = events(sys.argv[1])
def ms(e):
    return datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
lines = [e.get("line") for e in evs if e.get("service") == "flaky" and "line" in e]
check(lines.count("run-begin") == 4, "the service printed run-begin 4 times", lines.count("run-begin"))
for d in ["100 ms", "200 ms", "400 ms"]:
    check("exit status 1; restarting in " + d in lines, "tend tells the restart delay: " + d, lines)
check(sum("restarting in" in l for l in lines) == 3, "exactly 3 restarts were announced", lines)
check(lines and lines[-1] == "failed: exit status 1", "after the third restart the service is failed",
      lines[-3:])
st = [e for e in evs if e.get("event") == "state" and e.get("service") == "flaky"]
check(st and st[-1].get("to") == "failed" and st[-1].get("reason") == "exit status 1",
      "its last state is failed, reason exit status 1", st[-1:])
# tend's delays: from entering backoff to leaving it.
gaps = []
for i, e in enumerate(st):
    if e.get("to") == "backoff":
        nxt = next((f for f in st[i + 1:] if f.get("from") == "backoff"), None)
        if nxt:
            gaps.append(round(ms(nxt) - ms(e)))
if check(len(gaps) == 3, "three restart delays in tend's state events", gaps):
    for g, want in zip(gaps, [100, 200, 400]):
        check(want - 5 <= g <= want + 1000, "tend waits %d ms before the restart (measured %d ms)" % (want, g), gaps)
    check(gaps[0] < gaps[1] < gaps[2], "each restart delay is longer than the one before", gaps)
# Seen from the service: from one run's exit to the next run's start.
starts = [int(x) for x in open(sys.argv[2]).read().split()]
exits = [int(x) for x in open(sys.argv[3]).read().split()]
gaps = [starts[i + 1] - exits[i] for i in range(min(len(starts) - 1, len(exits)))]
if check(len(gaps) == 3, "three pauses between runs measured by the service", gaps):
    for g, want in zip(gaps, [100, 200, 400]):
        check(g >= want - 10, "the service is down at least %d ms before its restart (%d ms)" % (want, g), gaps)
EOF
[ $fail = 0 ] || diag_run flaky 12

# ---- restart: always, crash loop ----
cat >"$T/loop.yaml" <<EOF
services:
  crashy:
    command: "echo crash-run; exit 3"
    restart: always
EOF
start_tend loop up
if wait_for 10 out_has loop "keeps crashing"; then
    ok "a crash loop is reported"
else
    notok "a crash loop is reported" "no \"keeps crashing\" within 10 s"
fi
sleep 0.1
# SIGINT during the 1.6 s restart delay: the stop does not wait for it.
t0=$(now_ms)
kill -INT "$TEND_PID" 2>/dev/null
if wait_tend 10; then ok "tend exits after Ctrl-C during a restart delay"; else notok "tend exits after Ctrl-C during a restart delay" "still running"; fi
el=$((TEND_END_MS - t0))
if [ "$el" -lt 1200 ]; then
    ok "Ctrl-C cancels the pending restart at once (${el} ms)"
else
    notok "Ctrl-C cancels the pending restart at once" "took ${el} ms"
fi
if [ "$TEND_RC" = 0 ]; then ok "tend exits 0 after Ctrl-C"; else notok "tend exits 0 after Ctrl-C" "exit status $TEND_RC"; fi

py_check "$T/loop.out" <<'EOF'
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
runs = 0
msg_at = None
for l in lines:
    if re.match(r"^crashy +\| crash-run$", l):
        runs += 1
    elif "keeps crashing" in l and msg_at is None:
        msg_at = runs
        msg = l
check(msg_at == 5, "the crash-loop message comes after the 5th exit", "after exit %s" % msg_at)
if msg_at is not None:
    check(re.match(r"^crashy +\| keeps crashing: 5 exits within a minute \(last: exit status 3\); next try in 1\.6 s$", msg),
          "the crash-loop message tells the count, the last exit and the next delay", msg)
check(sum("keeps crashing" in l for l in lines) == 1, "the crash-loop message is shown once before Ctrl-C",
      [l for l in lines if "keeps crashing" in l])
delays = [m.group(1) for m in (re.search(r"restarting in (.*)$", l) for l in lines) if m]
check(delays == ["100 ms", "200 ms", "400 ms", "800 ms"], "the delays before the crash-loop message double", delays)
check(runs == 5, "no further run after Ctrl-C", "%d runs" % runs)
EOF
[ $fail = 0 ] || diag_run loop

left=$(leftovers)
if [ -z "$left" ]; then ok "no process is left"; else notok "no process is left" "$left"; fi
finish
