#!/bin/sh
# tend up with real servers as host services: Postgres, Redis, a Python HTTP
# server and a worker that needs all three healthy. Checks the start order
# (independent services in parallel, the worker only after every dependency
# is ready), the stop order after Ctrl-C (the worker first), the exit status
# and that nothing of the stack is left running. TAP output.
# Usage: test-up-stack.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

PGBIN=
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && PGBIN=$d
done
[ -n "$PGBIN" ] || skip_all "postgres not installed"
command -v redis-server >/dev/null || skip_all "redis-server not installed"
command -v setpriv >/dev/null || skip_all "setpriv not installed"

# initdb and postgres refuse to run as root: as root, run them as postgres
# (setpriv execs, so tend's signals reach postgres itself).
AS_PG=
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || skip_all "running as root and there is no postgres user"
    AS_PG="setpriv --reuid=postgres --regid=postgres --init-groups --"
fi

mkdir -p "$T/pg" "$T/www" "$T/redis"
echo "hello from web" >"$T/www/index.html"
[ -n "$AS_PG" ] && chown postgres:postgres "$T/pg"
if ! $AS_PG "$PGBIN/initdb" -D "$T/pg" -U postgres -A trust -E UTF8 --no-sync >"$T/initdb.log" 2>&1; then
    notok "initdb prepares a data folder" "$(tail -n 5 "$T/initdb.log")"
    finish
fi

PGPORT=$(free_port)
REDISPORT=$(free_port)
WEBPORT=$(free_port)

# Argv lists: the servers are the direct children of tend's shim.
pg_cmd="[$(for a in $AS_PG; do printf '"%s", ' "$a"; done)\"$PGBIN/postgres\", \"-D\", \"$T/pg\", \"-p\", \"$PGPORT\", \"-k\", \"$T/pg\", \"-c\", \"listen_addresses=127.0.0.1\", \"-c\", \"fsync=off\"]"
cat >"$T/stack.yaml" <<EOF
services:
  postgres:
    command: $pg_cmd
    x-tend:
      probe:
        postgres: {host: 127.0.0.1, port: $PGPORT, user: postgres, dbname: postgres}
  redis:
    command: ["redis-server", "--port", "$REDISPORT", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", "$T/redis"]
    x-tend:
      probe:
        redis: {host: 127.0.0.1, port: $REDISPORT}
  web:
    command: ["$PY", "-u", "-m", "http.server", "$WEBPORT", "--bind", "127.0.0.1", "--directory", "$T/www"]
    x-tend:
      probe:
        http: http://127.0.0.1:$WEBPORT/index.html
  worker:
    command: ["sh", "-c", "echo worker booting; sleep 0.3; echo worker ready to work; while :; do sleep 0.1; done", "$T-worker"]
    depends_on:
      postgres: {condition: service_healthy}
      redis: {condition: service_healthy}
      web: {condition: service_healthy}
    x-tend:
      probe:
        log: "ready to work"
EOF

start_tend stack up --json
if wait_for 30 out_has stack '"event":"ready"'; then
    ok "the whole stack becomes ready"
else
    notok "the whole stack becomes ready" "no {\"event\":\"ready\"} line within 30 s"
    diag_run stack 40
fi

check "postgres answers on its port" port_listening "$PGPORT"
check "redis answers on its port" port_listening "$REDISPORT"
if [ "$(curl -s --max-time 5 "http://127.0.0.1:$WEBPORT/index.html")" = "hello from web" ]; then
    ok "web serves its page"
else
    notok "web serves its page"
fi

# Every process of the running stack, to look for after the stop.
pids=$(group_pids)
if [ "$(echo "$pids" | wc -w)" -ge 5 ]; then
    ok "the stack's processes are found through their process groups"
else
    notok "the stack's processes are found through their process groups" "pids: $pids"
fi

py_check "$T/stack.out" <<'EOF'
evs = events(sys.argv[1])
st = [e for e in evs if e.get("event") == "state"]
deps = ["postgres", "redis", "web"]
def at(svc, to):
    return index_of(st, service=svc, to=to)
ready = {s: at(s, "ready") for s in deps + ["worker"]}
starting = {s: at(s, "starting") for s in deps + ["worker"]}
check(all(v is not None for v in ready.values()), "every service reached ready", ready)
check(all(v is not None for v in starting.values()), "every service reached starting", starting)
if all(v is not None for v in list(ready.values()) + list(starting.values())):
    check(all(starting["worker"] > ready[d] for d in deps),
          "the worker starts only after postgres, redis and web are ready",
          "starting at event %d, dependencies ready at %s" % (starting["worker"], [ready[d] for d in deps]))
    check(max(starting[d] for d in deps) < min(ready[d] for d in deps),
          "postgres, redis and web start in parallel (all starting before any is ready)",
          "starting at %s, ready at %s" % ([starting[d] for d in deps], [ready[d] for d in deps]))
    w = [(e["from"], e["to"]) for e in st if e.get("service") == "worker"]
    check(w[:4] == [("idle", "waiting"), ("waiting", "starting"), ("starting", "running"), ("running", "ready")],
          "the worker goes waiting -> starting -> running -> ready", w)
r = [e for e in evs if e.get("event") == "ready"]
if check(len(r) == 1, "one ready event", len(r)):
    svcs = {s.get("service"): s for s in r[0].get("services", [])}
    check(sorted(svcs) == sorted(deps + ["worker"]) and all(s.get("state") == "ready" for s in svcs.values()),
          "the ready event lists the four services as ready", r[0])
bad = [e for e in st if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", str(e.get("time")))
       or "reason" not in e or "from" not in e]
check(not bad, "state events carry from, to, time and reason", bad[:2])
EOF

# Ctrl-C: everything stops, the worker first.
kill -INT "$TEND_PID" 2>/dev/null
if wait_tend 20; then
    ok "tend exits after Ctrl-C"
else
    notok "tend exits after Ctrl-C" "still running 20 s after SIGINT"
fi
if [ "$TEND_RC" = 0 ]; then
    ok "tend exits 0 after a clean stop"
else
    notok "tend exits 0 after a clean stop" "exit status $TEND_RC"
    diag_run stack
fi

py_check "$T/stack.out" <<'EOF'
evs = events(sys.argv[1])
st = [e for e in evs if e.get("event") == "state"]
def at(svc, to):
    return index_of(st, service=svc, to=to)
w_exit = at("worker", "exited")
check(w_exit is not None, "the worker reaches exited",
      [(e["service"], e["from"], e["to"]) for e in st if e.get("service") == "worker"])
for d in ["postgres", "redis", "web"]:
    s, x = at(d, "stopping"), at(d, "exited")
    check(s is not None and x is not None, "%s goes stopping -> exited" % d,
          [(e["from"], e["to"], e.get("reason")) for e in st if e.get("service") == d])
    if w_exit is not None and s is not None:
        check(w_exit < s, "the worker has stopped before %s is asked to stop" % d,
              "worker exited at event %d, %s stopping at %d" % (w_exit, d, s))
check(not [e for e in st if e.get("to") == "failed"], "no service failed",
      [e for e in st if e.get("to") == "failed"])
EOF

# Postgres got its stop signal and shut down cleanly (not killed).
if grep -q 'database system is shut down' "$T/stack.out"; then
    ok "postgres shuts down cleanly"
else
    notok "postgres shuts down cleanly" "no \"database system is shut down\" in the output"
fi

# shellcheck disable=SC2086
left=$(leftovers; alive_of $pids)
if [ -z "$left" ]; then ok "no process of the stack is left"; else notok "no process of the stack is left" "$left"; fi
still=""
for p in "$PGPORT" "$REDISPORT" "$WEBPORT"; do
    port_listening "$p" && still="$still $p"
done
if [ -z "$still" ]; then ok "no port of the stack is still listening"; else notok "no port of the stack is still listening" "listening:$still"; fi

finish
