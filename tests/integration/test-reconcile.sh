#!/bin/sh
# Other clients acting on the containers of a running `tend up -d`, each
# test playing the other client against the real engine: `docker kill -s
# KILL`, `docker rm -f`, `docker stop`, `docker start`, `docker pause`,
# `docker rename`, a container made by hand with tend's labels, and docker
# compose v5 `up -d` and `down` on the same project, with restart policies
# "no" and "unless-stopped". For each: the one line tend prints (in tend.log and
# `tend events`), the state and the why of `tend ps`, whether the
# container is made or started again, and that tend still runs. Then the
# end of the background tend is said, with its reason. TAP output.
# Usage: test-reconcile.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

need_docker_images
COMPOSE=$("$ROOT/scripts/compose-v5" 2>"$T/compose-v5.err")
crc=$?
[ $crc -eq 0 ] || COMPOSE=
unset XDG_RUNTIME_DIR

P=tendrc$RUN$$
docker_project "$P"
# Every service ends at once on SIGTERM (a trapped signal interrupts wait).
cat >"$T/$P.yaml" <<'EOF'
x-loop: &loop ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done"]
services:
  db:
    image: tend/busybox
    command: *loop
    stop_grace_period: 2s
  app:
    image: tend/busybox
    command: *loop
    restart: unless-stopped
    depends_on: [db]
    stop_grace_period: 2s
  worker:
    image: tend/busybox
    command: *loop
    stop_grace_period: 2s
EOF
# docker compose's own change to one service.
cat >"$T/changed.yaml" <<'EOF'
services:
  worker:
    environment:
      CHANGED: "1"
EOF
LOG="$XDG_STATE_HOME/tend/$P/tend.log"
tnd() { "$TEND" -p "$P" -f "$T/$P.yaml" "$@"; }
dc() { (cd "$T" && "$COMPOSE" -p "$P" "$@"); }

docker_remove "$P"

# tend.log without the padding after service names ("db     | x" -> "db | x").
log() { sed 's/^\([^ |]*\) *| /\1 | /' "$LOG" 2>/dev/null; }
log_has() { log | grep -qF -- "$1"; }
# The number of lines of tend.log holding TEXT.
log_count() { log | grep -cF -- "$1"; }
# ps_of SERVICE FIELD: a field of the service in `tend ps --json`.
ps_of() {
    tnd ps --json 2>/dev/null | "$PY" -c 'import json, sys
for s in json.load(sys.stdin):
    if s["service"] == sys.argv[1]:
        print(s.get(sys.argv[2]))' "$1" "$2"
}
ctr_id() { docker inspect -f '{{.Id}}' "$P-$1-1" 2>/dev/null; }
ctr_status() { docker inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }
sup_alive() { [ -n "$SUP" ] && pid_alive "$SUP"; }
state_is() { [ "$(ps_of "$1" state)" = "$2" ]; }
diag() {
    diag_file "$LOG" 15
    tnd ps 2>&1 | sed 's/^/#   ps: /'
}

# expect DESC TEXT: tend.log gets the line within 30 s (a loaded machine is slow).
expect() {
    if wait_for 30 log_has "$2"; then ok "$1"; else notok "$1" "no line with: $2"; diag; fi
}
# expect_state SERVICE STATE WHY_PART: ps shows the state with that why.
expect_state() {
    if wait_for 30 state_is "$1" "$2" && ps_of "$1" why | grep -qF -- "$3"; then
        ok "ps: $1 is $2, why: $3"
    else
        notok "ps: $1 is $2, why: $3" "state $(ps_of "$1" state), why: $(ps_of "$1" why)"
    fi
}
still_runs() {
    if sup_alive && tnd ps >/dev/null 2>&1; then ok "tend still runs ($1)"; else notok "tend still runs ($1)"; diag; fi
}

# ---- the stack, in the background ----
tnd up -d --wait >"$T/up.out" 2>&1
SUP=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$T/up.out" | head -n 1)
if sup_alive && state_is db ready && state_is app ready && state_is worker ready; then
    ok "up -d --wait: db, app and worker ready"
else
    notok "up -d --wait: db, app and worker ready" "$(cat "$T/up.out")"
    diag
    finish
fi
tnd events --json >"$T/events.out" 2>&1 &
EVENTS=$!
wait_for 5 eval 'tnd ps --json >/dev/null'

# ---- docker kill -s KILL, restart "no": left as it is ----
docker kill -s KILL "$P-worker-1" >/dev/null
expect "docker kill of worker (restart no): one line says who and what" \
    'worker | killed by another client with SIGKILL (docker kill): restart policy "no": left as it is; `tend start worker` starts it again'
expect_state worker exited "killed by another client with SIGKILL (docker kill)"
sleep 1
check "worker's container is not started again ($(ctr_status "$P-worker-1"))" test "$(ctr_status "$P-worker-1")" = exited
still_runs "after docker kill"
tnd start worker >/dev/null 2>&1
if wait_for 30 state_is worker ready; then ok "tend start worker brings it back"; else notok "tend start worker brings it back"; diag; fi

# ---- a container made by hand with the file's labels is adopted ----
# (captured now: docker rm -f below takes worker's container away)
docker inspect "$P-worker-1" >"$T/worker.json"

# ---- docker rm -f, restart "no" ----
docker rm -f "$P-worker-1" >/dev/null
expect "docker rm -f of worker (restart no): one line" \
    'worker | removed by another client (docker rm): restart policy "no": left as it is; `tend start worker` makes it again'
expect_state worker exited "removed by another client (docker rm)"
sleep 1
check "worker's container is not made again" test -z "$(ctr_id worker)"

"$PY" - "$T/worker.json" "$P" >"$T/run.out" 2>&1 <<'PY'
import json, subprocess, sys
c = json.load(open(sys.argv[1]))[0]
argv = ["docker", "run", "-d", "--name", sys.argv[2] + "-worker-1", "--network", sys.argv[2] + "_default"]
for k, v in c["Config"]["Labels"].items():
    argv += ["--label", "%s=%s" % (k, v)]
argv += [c["Config"]["Image"]] + c["Config"]["Cmd"]
sys.exit(subprocess.call(argv, stdout=subprocess.DEVNULL))
PY
expect "a container another client made with the file's labels and hash is adopted" \
    "worker | $P-worker-1 made and started by another client with the file's configuration: tend follows it"
expect_state worker ready "running (no probe)"

# ---- docker kill -s KILL and docker rm -f, restart "unless-stopped" ----
app1=$(ctr_id app)
docker kill -s KILL "$P-app-1" >/dev/null
expect "docker kill of app (restart unless-stopped): it starts again" \
    'app | killed by another client with SIGKILL (docker kill): restart policy "unless-stopped": starting it again in'
if wait_for 30 state_is app ready && [ "$(ctr_id app)" = "$app1" ]; then
    ok "app is ready again in the same container"
else
    notok "app is ready again in the same container" "state $(ps_of app state), $app1 -> $(ctr_id app)"
fi
docker rm -f "$P-app-1" >/dev/null
expect "docker rm -f of app (restart unless-stopped): it is made again" \
    'app | removed by another client (docker rm): restart policy "unless-stopped": making it again in'
if wait_for 30 state_is app ready && [ -n "$(ctr_id app)" ] && [ "$(ctr_id app)" != "$app1" ]; then
    ok "app is ready again in a new container"
else
    notok "app is ready again in a new container" "state $(ps_of app state), $app1 -> $(ctr_id app)"
fi
still_runs "after docker kill and rm of app"

# ---- docker stop: a stop, whatever the policy; dependents are told ----
docker stop -t 5 "$P-db-1" >/dev/null
expect "docker stop of db: one line, naming what depends on it" \
    'db | stopped by another client (docker stop): left stopped, as after tend stop; `tend start db` starts it again; app depends on it'
expect_state db exited "stopped by another client (docker stop)"
expect_state app ready "its dependency db (exited: stopped by another client (docker stop)) is down"
docker stop -t 5 "$P-app-1" >/dev/null
expect "docker stop of app (restart unless-stopped): left stopped" \
    'app | stopped by another client (docker stop): left stopped, as after tend stop; `tend start app` starts it again'
sleep 1.5
if state_is app exited && [ "$(ctr_status "$P-app-1")" = exited ]; then
    ok "unless-stopped does not start a stopped container again"
else
    notok "unless-stopped does not start a stopped container again" "state $(ps_of app state), container $(ctr_status "$P-app-1")"
fi
still_runs "after docker stop"

# ---- docker start: tend follows its container again ----
docker start "$P-app-1" >/dev/null
expect "docker start of app: tend follows it again" \
    "app | $P-app-1 started again by another client (docker start) with the file's configuration: tend follows it"
expect_state app ready "its dependency db (exited"
tnd start db >/dev/null 2>&1
if wait_for 30 state_is db ready && ps_of app why | grep -q "^running (no probe)$"; then
    ok "tend start db: db ready, and app's why no longer names it"
else
    notok "tend start db: db ready, and app's why no longer names it" "db $(ps_of db state), app: $(ps_of app why)"
fi

# ---- docker pause: said, and shown ----
docker pause "$P-app-1" >/dev/null
expect "docker pause of app: one line" \
    'app | paused by another client (docker pause): its processes are frozen and its probe held until docker unpause or tend unpause'
expect_state app paused "paused by another client (docker pause)"
docker unpause "$P-app-1" >/dev/null
expect "docker unpause of app: one line" 'app | unpaused by another client (docker unpause)'

# ---- docker rename: still followed ----
docker rename "$P-worker-1" "$P-worker-renamed"
expect "docker rename of worker: one line" \
    "worker | its container was renamed to $P-worker-renamed by another client (docker rename); tend keeps following it"
docker kill -s KILL "$P-worker-renamed" >/dev/null
expect "tend follows the renamed container: a kill of it is seen" \
    'worker | killed by another client with SIGKILL (docker kill)'
tnd start worker >/dev/null 2>&1
if wait_for 30 state_is worker ready && [ -n "$(ctr_id worker)" ]; then
    ok "tend start worker makes $P-worker-1 again"
else
    notok "tend start worker makes $P-worker-1 again"
    diag
fi
docker rm -f "$P-worker-renamed" >/dev/null 2>&1
still_runs "after docker rename"

# ---- docker compose v5 on the same project ----
if [ -z "$COMPOSE" ]; then
    skip "docker compose up -d replacing a service with another configuration is reported" "$(cat "$T/compose-v5.err")"
    skip "docker compose down: every service left stopped, tend still runs" "no docker compose v5"
else
    dc -f "$P.yaml" -f changed.yaml up -d worker >"$T/compose-up.out" 2>&1
    expect "docker compose up -d of worker with another environment: its stop is told" \
        'worker | stopped'
    expect "and the container it made is reported with the difference, not adopted" \
        "worker | replaced by $P-worker-1, made by another client (docker compose 5.6.0), whose configuration differs from tend's in environment (CHANGED): tend leaves it alone; \`tend restart worker\` puts tend's back"
    expect_state worker exited "replaced by $P-worker-1"
    check "compose's worker runs ($(ctr_status "$P-worker-1"))" test "$(ctr_status "$P-worker-1")" = running
    still_runs "after docker compose up -d"

    dc -f "$P.yaml" -f changed.yaml down -t 5 >"$T/compose-down.out" 2>&1
    expect "docker compose down: db's stop is told" 'db | stopped'
    expect "docker compose down: app (unless-stopped) is left stopped" 'app | stopped'
    expect "docker compose down: then tend says it runs nothing and stays" \
        'tend runs nothing of the stack now: '
    expect_state app exited "stopped"
    still_runs "after docker compose down"
    tnd start >/dev/null 2>&1
    if wait_for 30 eval 'state_is db ready && state_is app ready && state_is worker ready'; then
        ok "tend start brings the stack back after compose down (the network made again)"
    else
        notok "tend start brings the stack back after compose down (the network made again)"
        diag
    fi
fi

# ---- docker compose up -d --force-recreate: adopted, the hashes agree ----
# tend's config hash is docker compose's (load/gojson.c): containers compose
# makes with the file's configuration are tend's to follow.
if [ -z "$COMPOSE" ]; then
    skip "containers docker compose made with the file's configuration are adopted" "no docker compose v5"
else
    theirs=$(dc -f "$P.yaml" config --hash worker 2>/dev/null | awk '{print $2}')
    mine=$(docker inspect -f '{{index .Config.Labels "com.docker.compose.config-hash"}}' "$P-worker-1" 2>/dev/null)
    check "tend's config hash of worker is docker compose's ($mine)" test -n "$theirs" -a "$theirs" = "$mine"
    n0=$(log_count 'made and started by another client')
    dc -f "$P.yaml" up -d --force-recreate >"$T/compose-up2.out" 2>&1
    if wait_for 30 eval '[ "$(log_count "made and started by another client")" -ge $((n0 + 3)) ]' &&
        wait_for 30 eval 'state_is db ready && state_is app ready && state_is worker ready'; then
        ok "containers docker compose made with the file's configuration are adopted"
    else
        notok "containers docker compose made with the file's configuration are adopted"
        diag
    fi
fi

# ---- tend events: the lines as events; the end with its reason ----
tnd down >"$T/down.out" 2>&1
wait_for 30 eval '! sup_alive'
check "tend down ends the background tend" eval '! sup_alive'
wait_for 10 eval '! pid_alive $EVENTS'
py_check "$T/events.out" <<'EOF'
evs = events(sys.argv[1])
out = [e for e in evs if e.get("event") == "outside"]
whats = sorted(set(e.get("what") for e in out))
check(all(w in whats for w in ("killed", "removed", "stopped", "renamed", "adopted")),
      "tend events: an outside event for each kind (" + ", ".join(str(w) for w in whats) + ")", out[:3])
k = [e for e in out if e.get("service") == "worker" and e.get("what") == "killed"]
check(k and k[0].get("message", "").startswith("killed by another client with SIGKILL (docker kill)"),
      "an outside event carries the line tend printed", k[:1])
end = [e for e in evs if e.get("event") == "stopped"]
check(end and end[-1].get("reason") == "asked by tend down", "the stopped event says why tend ended", end)
EOF
if log_has "stopping: asked by tend down"; then ok "tend.log says why tend ended"; else notok "tend.log says why tend ended"; diag; fi

# ---- a background tend whose services all end says why it ends ----
cat >"$T/${P}h.yaml" <<EOF
services:
  job:
    command: ["sh", "-c", "sleep 0.3", "$T-job"]
EOF
"$TEND" -p "${P}h" -f "$T/${P}h.yaml" up -d >"$T/uph.out" 2>&1
HLOG="$XDG_STATE_HOME/tend/${P}h/tend.log"
if wait_for 30 grep -qF "stopping: nothing runs any more (job completed)" "$HLOG"; then
    ok "a background tend whose services all completed ends saying why"
else
    notok "a background tend whose services all completed ends saying why" "$(cat "$T/uph.out")"
    diag_file "$HLOG"
fi

docker_remove "$P"
left=$(docker ps -aq --filter "label=com.docker.compose.project=$P")
check "no container of the project is left" test -z "$left"
finish
