#!/bin/sh
# A dependency that fails makes what needs it fail at once, with a message
# naming the dependency and why, and the dependent's command never runs;
# with `required: false` the dependent starts anyway after a warning.
# TAP output.
# Usage: test-up-failfast.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

# db would be ready once something listens on this port: never.
DBPORT=$(free_port)

write_project() { # NAME REQUIRED
    cat >"$T/$1.yaml" <<EOF
services:
  db:
    command: "echo db-boom; exit 1"
    restart: "no"
    x-tend:
      probe:
        tcp: $DBPORT
  web:
    command: "touch $T/$1-web-ran; echo web-ran"
    depends_on:
      db: {condition: service_healthy, required: $2}
EOF
}

# ---- required (the default) ----
write_project ff true
t0=$(now_ms)
start_tend ff up
if wait_tend 10; then ok "tend returns once db failed and web could not start"; else notok "tend returns once db failed and web could not start" "still running after 10 s"; fi
el=$((TEND_END_MS - t0))
# db's probe budget is 30 s (3 retries x 10 s): web must not wait for it.
if [ "$el" -lt 10000 ]; then ok "tend does not wait for db's probe budget (${el} ms)"; else notok "tend does not wait for db's probe budget" "took ${el} ms"; fi
if [ "$TEND_RC" = 1 ]; then ok "tend exits 1"; else notok "tend exits 1" "exit status $TEND_RC"; fi
if grep -qE '^db +\| failed: exit status 1$' "$T/ff.out"; then
    ok "db is reported failed with its exit status"
else
    notok "db is reported failed with its exit status" "no line \"db  | failed: exit status 1\""
fi
if grep -qE '^web +\| failed: dependency db failed: exit status 1$' "$T/ff.out"; then
    ok "web fails naming db and the reason"
else
    notok "web fails naming db and the reason" "no line \"web | failed: dependency db failed: exit status 1\""
fi
if [ ! -e "$T/ff-web-ran" ] && ! grep -q 'web-ran' "$T/ff.out"; then
    ok "web's command never ran"
else
    notok "web's command never ran" "the marker file exists or web printed"
fi
if ! grep -qE '^web +\| started$' "$T/ff.out"; then ok "web is not reported started"; else notok "web is not reported started"; fi
[ $fail = 0 ] || diag_run ff

# The same in JSON: web goes waiting -> failed with the reason.
write_project ffj true
start_tend ffj up --json
wait_tend 10 || notok "tend --json returns" "still running after 10 s"
py_check "$T/ffj.out" <<'EOF'
st = [e for e in events(sys.argv[1]) if e.get("event") == "state" and e.get("service") == "web"]
tr = [(e["from"], e["to"]) for e in st]
check(tr == [("idle", "waiting"), ("waiting", "failed")], "in JSON, web goes idle -> waiting -> failed", tr)
if st:
    check(st[-1].get("reason") == "dependency db failed: exit status 1",
          "the failed state event carries the reason", st[-1].get("reason"))
from datetime import datetime
def ms(e):
    return datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
db = [e for e in events(sys.argv[1]) if e.get("event") == "state" and e.get("service") == "db" and e.get("to") == "failed"]
if check(len(db) == 1 and st, "db fails once"):
    gap = ms(st[-1]) - ms(db[0])
    check(0 <= gap < 200, "web fails at once when db fails (%d ms later)" % gap, gap)
EOF

# ---- required: false ----
write_project opt false
start_tend opt up
if wait_tend 10; then ok "with required: false tend returns once both are done"; else notok "with required: false tend returns once both are done" "still running after 10 s"; fi
if [ -e "$T/opt-web-ran" ]; then ok "with required: false web starts anyway"; else notok "with required: false web starts anyway" "web's marker file is missing"; fi
if grep -qE '^web +\| warning: dependency db failed: exit status 1 \(not required; starting anyway\)$' "$T/opt.out"; then
    ok "a warning names the failed optional dependency"
else
    notok "a warning names the failed optional dependency" "no warning line for web"
fi
if ! grep -qE '^web +\| failed' "$T/opt.out"; then ok "web does not fail"; else notok "web does not fail" "$(grep -E '^web +\| failed' "$T/opt.out")"; fi
[ $fail = 0 ] || diag_run opt

left=$(leftovers)
if [ -z "$left" ]; then ok "no process is left"; else notok "no process is left" "$left"; fi
finish
