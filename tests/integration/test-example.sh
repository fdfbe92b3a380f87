#!/bin/sh
# The example stack of services.d/ end to end, in containers (tend/hostusr
# from scripts/make-images), from a copy of services.d/ and examples/ in a
# temp folder (the repository is never modified), under its own project name
# and on its own port:
#   1. `tend up` brings postgres, redis, web, worker, status and proxy up,
#      healthy and seeded (the time to ready is printed);
#   2. a page through Caddy shows the rows seeded into Postgres and a visit
#      counter kept in Redis, seeded at 1000;
#   3. a job enqueued through the web app is completed by the RQ worker, and
#      its status message arrives over the WebSocket (/ws, Tornado) through
#      Caddy;
#   4. an edit of the web app's source is served within a second (gunicorn
#      gets SIGHUP from tend's watch; the latency is printed);
#   5. after `tend down` and `tend up -d --wait` (in the background; `tend
#      wait` and `tend ps` see every service ready) the seeded data and the
#      counter are still there and the seeds did not run again;
#   6. `tend down -v` stops the background tend and leaves no container,
#      network or volume of the project.
# TAP output. Usage: test-example.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

if [ ! -S /var/run/docker.sock ] && [ -z "${DOCKER_HOST:-}" ]; then
    skip_all "no Docker engine on this machine (/var/run/docker.sock is absent)"
fi
"$PY" -c 'import tornado.websocket' 2>/dev/null || skip_all "python3-tornado is not installed (scripts/setup)"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

P=tendex$RUN$$
docker_project "$P"
PORT=$(free_port)
PROJ=$T/proj
BASE=http://127.0.0.1:$PORT

by_label() { # KIND: ids of the project's containers, networks or volumes
    case $1 in
        container) docker ps -aq --filter "label=com.docker.compose.project=$P" ;;
        network) docker network ls -q --filter "label=com.docker.compose.project=$P" ;;
        volume) docker volume ls -q --filter "label=com.docker.compose.project=$P" ;;
    esac 2>/dev/null
}
cleanup_docker() {
    # A tend up -d of the project still running: down stops it first.
    [ -d "$PROJ" ] && tendp down -t 1 >/dev/null 2>&1
    by_label container | xargs -r docker rm -f >/dev/null 2>&1
    by_label network | xargs -r docker network rm >/dev/null 2>&1
    by_label volume | xargs -r docker volume rm >/dev/null 2>&1
}
# lib.sh's cleanup (processes, temp folder) runs after the engine's.
trap 'cleanup_docker; cleanup' EXIT

if ! "$ROOT/scripts/make-images" >"$T/images.log" 2>&1; then
    notok "the images of the example can be made" "$(tail -n 5 "$T/images.log")"
    finish
fi

mkdir -p "$PROJ"
cp -R "$ROOT/services.d" "$ROOT/examples" "$PROJ/"
chmod -R a+rX "$PROJ"

# tend in the project's copy, with the test's project name and port.
tendp() {
    (cd "$PROJ" && env --default-signal=INT,QUIT TEND_EXAMPLE_PORT="$PORT" "$TEND" -p "$P" "$@")
}
# up_bg NAME: `tend up --json` in the background, output in $T/NAME.out/.err.
up_bg() {
    TEND_NAME=$1
    TEND_RC=
    UP_START_MS=$(now_ms)
    : >"$T/$1.out" # not left to the background command: a wait must not find the last run's lines
    : >"$T/$1.err"
    (cd "$PROJ" && exec env --default-signal=INT,QUIT TEND_EXAMPLE_PORT="$PORT" "$TEND" -p "$P" up --json) \
        >"$T/$1.out" 2>"$T/$1.err" </dev/null &
    TEND_PID=$!
}
stop_up() { # Ctrl-C to the running tend, and wait for it
    kill -INT "$TEND_PID" 2>/dev/null
    wait_tend "${1:-60}"
}
# wait_ready NAME SECONDS: the ready event came; sets READY_MS.
wait_ready() {
    if wait_for "$2" grep -q '"event":"ready"' "$T/$1.out"; then
        READY_MS=$(($(now_ms) - UP_START_MS))
        return 0
    fi
    return 1
}
# psql_app SQL: one query in the postgres container, unaligned output.
psql_app() {
    tendp exec -T postgres psql -h /tmp -U app -d app -Atc "$1" 2>"$T/psql.err"
}
redis_cli() {
    tendp exec -T redis redis-cli "$@" 2>"$T/redis.err"
}
# seed_lines FILE...: tend's lines about seeding (plain or JSON log lines).
seed_lines() {
    cat "$@" 2>/dev/null | sed -n -e 's/.*"line":"\(seed [^"]*\)".*/\1/p' \
        -e '/"line":/!s/^[a-z]* *| \(seed .*\)/\1/p' | cut -c1-200
}
metrics() { # the numbers a Python check wrote, as TAP comments
    [ -f "$T/metrics" ] && sed 's/^/# /' "$T/metrics"
    rm -f "$T/metrics"
}

# ---- 1. up: healthy and seeded ----

up_bg up1
if wait_ready up1 240; then
    ok "tend up: every service of the example is ready"
    echo "# time to ready (first start, empty volumes, initdb): $READY_MS ms"
else
    notok "tend up: every service of the example is ready" "not ready within 240 s"
    diag_run up1 40
    stop_up 60
    finish
fi
"$PY" - "$T/up1.out" >"$T/ready-table" 2>/dev/null <<'EOF'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if isinstance(e, dict) and e.get("event") == "ready":
        for s in e.get("services", []):
            print("  %-9s ready in %6d ms" % (s.get("service"), s.get("ready_ms", -1)))
EOF
sed 's/^/# /' "$T/ready-table"
seed_lines "$T/up1.out" | sed 's/^/#   /'

# ---- 2. a page through Caddy: seeded rows and a Redis counter ----

py_check "$BASE" "$T/metrics" <<'EOF'
import json, urllib.request
base = sys.argv[1]
def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.status, r.read().decode()
try:
    st, body = get("/api")
    a = json.loads(body)
except Exception as e:
    check(False, "GET /api through Caddy answers", e)
    sys.exit(0)
check(st == 200, "GET /api through Caddy answers 200", st)
names = [i["name"] for i in a.get("items", [])]
check(names == ["postgres", "redis", "rq worker", "tornado", "caddy"],
      "the page reads the five rows seeded into Postgres", names)
check(a.get("greeting") == "Hello from Redis", "the page reads the key seeded into Redis", a.get("greeting"))
check(a.get("visits") == 1001, "the visit counter, seeded at 1000, is 1001 on the first visit", a.get("visits"))
st, page = get("/")
check(st == 200 and "seeded from examples/db/seed.sql" in page and 'id="visits">1002<' in page,
      "the HTML page shows the seeded rows and the counter (1002)", page[:300])
EOF

# ---- 3. a job, completed by the worker, announced over the WebSocket ----

py_check "$BASE" "$T/metrics" <<'EOF'
import asyncio, json, time, urllib.request
from tornado.websocket import websocket_connect
base = sys.argv[1]
async def main():
    try:
        ws = await websocket_connect(base.replace("http://", "ws://") + "/ws", connect_timeout=10)
        hello = json.loads(await asyncio.wait_for(ws.read_message(), 10))
    except Exception as e:
        check(False, "a WebSocket to /ws through Caddy opens", repr(e))
        return
    check(hello.get("state") == "connected", "a WebSocket to /ws through Caddy opens", hello)
    t0 = time.monotonic()
    req = urllib.request.Request(base + "/jobs", data=b"from-the-test", method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        job = json.load(r)["id"]
    msg = None
    try:
        while msg is None:
            m = await asyncio.wait_for(ws.read_message(), 15)
            if m is None:
                break
            m = json.loads(m)
            if m.get("job") == job:
                msg = m
    except asyncio.TimeoutError:
        pass
    ms = (time.monotonic() - t0) * 1000
    check(msg is not None and msg.get("state") == "finished",
          "the job's status message arrives over the WebSocket", msg)
    if msg:
        with open(sys.argv[2], "a") as f:
            f.write("job enqueued -> status message over the WebSocket: %.0f ms\n" % ms)
    # The worker publishes just before RQ marks the job finished: poll.
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(base + "/jobs/" + job, timeout=10) as r:
            j = json.load(r)
        if (j.get("status") == "finished" and j.get("row")) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    check(j.get("status") == "finished" and j.get("row")
          and j["row"]["result"] == "processed 'from-the-test' against 5 seeded rows",
          "the worker completed the job and wrote its row in Postgres", j)
asyncio.run(main())
EOF
metrics

# ---- 4. an edit of the web app is served within a second ----

# Three saves, each timed until the new text comes back through Caddy. The
# bar is the median under a second; when it is missed on a machine that is
# overloaded (a load average above 2 per core, e.g. other builds and tests)
# the times are printed and the bar is skipped, since they measure the
# machine then.
rm -f "$T/reload-skip"
py_check "$BASE" "$PROJ/examples/web/app.py" "$T/metrics" "$T/reload-skip" <<'EOF'
import os, time, urllib.request
base, src = sys.argv[1], sys.argv[2]
def save_and_wait(new):
    text = open(src).read()
    edited = re.sub(r'^MESSAGE = ".*"$', 'MESSAGE = "%s"' % new, text, count=1, flags=re.M)
    if edited == text:
        return None, 0, "no MESSAGE line in app.py"
    t0 = time.monotonic()
    with open(src, "w") as f:  # an editor's save in place
        f.write(edited)
    errors, last = 0, None
    while time.monotonic() - t0 < 15:
        try:
            with urllib.request.urlopen(base + "/api", timeout=5) as r:
                last = json.load(r).get("message")
            if last == new:
                return (time.monotonic() - t0) * 1000, errors, last
        except Exception as e:
            errors += 1
            last = repr(e)
        time.sleep(0.01)
    return None, errors, last
times, errors, last = [], 0, None
load = os.getloadavg()[0]
for k in range(3):
    time.sleep(0.5)  # settled after the previous reload
    ms, err, last = save_and_wait("Reloaded %d-%d" % (k, time.time_ns()))
    errors += err
    if ms is None:
        break
    times.append(ms)
load = max(load, os.getloadavg()[0])
cores = os.cpu_count() or 1
with open(sys.argv[3], "a") as f:
    f.write("reload latency (save -> new response through Caddy): %s ms; %d failed requests meanwhile; "
            "load average %.1f on %d cores\n" % (", ".join("%.0f" % t for t in times) or "-", errors, load, cores))
check(len(times) == 3, "each of three edits of the web app is served after its save", last)
median = sorted(times)[1] if len(times) == 3 else None
if load > 2 * cores and not (median is not None and median < 1000):
    with open(sys.argv[4], "w") as f:
        f.write("machine overloaded (load average %.1f on %d cores): median %s ms\n"
                % (load, cores, "%.0f" % median if median is not None else "-"))
else:
    check(median is not None and median < 1000, "... within a second (median of three)",
          "times %s ms" % [round(t) for t in times])
check(errors == 0, "no request failed during the reloads", "%d failed, last: %s" % (errors, last))
EOF
if [ -s "$T/reload-skip" ]; then skip "... within a second (median of three)" "$(cat "$T/reload-skip")"; fi
metrics

# The state before the restart, to compare with after it.
SEEDS_PG=$(psql_app "SELECT step || '=' || checksum || '@' || applied_at FROM tend_seed ORDER BY step")
SEEDS_REDIS=$(redis_cli --no-raw HGETALL tend:seed)
VISITS=$(redis_cli GET example:visits)
if [ -n "$SEEDS_PG" ]; then
    ok "tend_seed records the SQL seed in Postgres"
else
    notok "tend_seed records the SQL seed in Postgres" "$(cat "$T/psql.err")"
fi
if [ -n "$SEEDS_REDIS" ] && [ "$SEEDS_REDIS" != "(empty array)" ]; then
    ok "tend:seed records the Redis seed in Redis"
else
    notok "tend:seed records the Redis seed in Redis" "got: $SEEDS_REDIS $(cat "$T/redis.err")"
fi

# ---- 5. down, up: the data stays, the seeds do not run again ----

stop_up 60
if [ "$TEND_RC" = 0 ]; then ok "tend up exits 0 after Ctrl-C"; else notok "tend up exits 0 after Ctrl-C" "exit $TEND_RC"; diag_run up1; fi
tendp down >"$T/down1.out" 2>&1
down_rc=$?
if [ $down_rc = 0 ] && [ -z "$(by_label container)" ] && [ -n "$(by_label volume)" ]; then
    ok "tend down removes the containers and keeps the volumes"
else
    notok "tend down removes the containers and keeps the volumes" "rc=$down_rc containers: $(by_label container | tr '\n' ' ') volumes: $(by_label volume | tr '\n' ' ')"
    diag_file "$T/down1.out"
fi

t0=$(now_ms)
tendp up -d --wait >"$T/up2.out" 2>&1
up2_rc=$?
if [ $up2_rc = 0 ]; then
    ok "tend up -d --wait: returns once every service is ready"
    echo "# time to ready (second start, volumes kept, in the background): $(($(now_ms) - t0)) ms"
else
    notok "tend up -d --wait: returns once every service is ready" "exit $up2_rc"
    diag_file "$T/up2.out" 40
fi
if tendp wait --timeout 30 >"$T/wait.out" 2>&1; then
    ok "tend wait: every service is ready"
else
    notok "tend wait: every service is ready" "$(cat "$T/wait.out")"
fi
tendp ps >"$T/ps.out" 2>&1
if [ "$(grep -cE '^(postgres|redis|web|worker|status|proxy) +ready ' "$T/ps.out")" = 6 ]; then
    ok "tend ps lists the six services ready"
else
    notok "tend ps lists the six services ready" "$(cat "$T/ps.out")"
fi
tendp logs >"$T/logs2.out" 2>&1
seed_lines "$T/logs2.out" >"$T/seed2"
sed 's/^/#   /' "$T/seed2"
if [ "$(grep -c ': up to date$' "$T/seed2")" = 2 ] && ! grep -q ': applied' "$T/seed2"; then
    ok "the second up reports both seeds up to date"
else
    notok "the second up reports both seeds up to date" "$(cat "$T/seed2")"
fi

py_check "$BASE" "$VISITS" <<'EOF'
import json, urllib.request
base, visits = sys.argv[1], sys.argv[2]
try:
    with urllib.request.urlopen(base + "/api", timeout=10) as r:
        a = json.load(r)
except Exception as e:
    check(False, "GET /api answers after the restart", e)
    sys.exit(0)
names = [i["name"] for i in a.get("items", [])]
check(len(names) == 5, "the five seeded rows are still there, not seeded twice", names)
check(visits.isdigit() and a.get("visits") == int(visits) + 1,
      "the Redis counter went on from %s (not seeded again)" % visits, a.get("visits"))
EOF
SEEDS_PG2=$(psql_app "SELECT step || '=' || checksum || '@' || applied_at FROM tend_seed ORDER BY step")
SEEDS_REDIS2=$(redis_cli --no-raw HGETALL tend:seed)
if [ -n "$SEEDS_PG" ] && [ "$SEEDS_PG2" = "$SEEDS_PG" ]; then
    ok "the SQL seed did not run again (its tend_seed record is unchanged)"
else
    notok "the SQL seed did not run again (its tend_seed record is unchanged)" "before: $SEEDS_PG" "after: $SEEDS_PG2"
fi
if [ -n "$SEEDS_REDIS" ] && [ "$SEEDS_REDIS" != "(empty array)" ] && [ "$SEEDS_REDIS2" = "$SEEDS_REDIS" ]; then
    ok "the Redis seed did not run again (tend:seed is unchanged)"
else
    notok "the Redis seed did not run again (tend:seed is unchanged)" "before: $SEEDS_REDIS" "after: $SEEDS_REDIS2"
fi

# ---- 6. down -v removes everything ----

sup=$(sed -n 's/.*(pid \([0-9][0-9]*\)).*/\1/p' "$T/up2.out" | head -n 1)
tendp down -v >"$T/down2.out" 2>&1
down_rc=$?
if [ -z "$sup" ]; then
    notok "tend down stops the tend running in the background" "no pid in: $(head -c 300 "$T/up2.out")"
elif ! wait_for 10 eval '! pid_alive "$sup"'; then
    notok "tend down stops the tend running in the background" "pid $sup still alive"
else
    ok "tend down stops the tend running in the background"
fi
if [ $down_rc = 0 ] && [ -z "$(by_label container)$(by_label network)$(by_label volume)" ]; then
    ok "tend down -v leaves no container, network or volume of the project"
else
    notok "tend down -v leaves no container, network or volume of the project" \
        "rc=$down_rc containers: $(by_label container | tr '\n' ' ')" "networks: $(by_label network | tr '\n' ' ')" \
        "volumes: $(by_label volume | tr '\n' ' ')"
    diag_file "$T/down2.out"
fi
if cmp -s "$ROOT/examples/web/app.py" "$PROJ/examples/web/app.py"; then
    notok "the edit went to the temp copy" "the copy is unchanged"
elif git -C "$ROOT" diff --quiet -- examples/web/app.py 2>/dev/null; then
    ok "the repository's examples are untouched"
else
    notok "the repository's examples are untouched" "$(git -C "$ROOT" diff --stat -- examples | tail -n 3)"
fi

finish
