#!/bin/sh
# Containers and readiness through the Docker Engine API, with images made
# locally (scripts/make-images) and a throwaway registry on 127.0.0.1
# (scripts/local-registry):
#   1. postgres (native probe on the project network) and redis (a Compose
#      healthcheck run by the engine) in containers gate a dependent, which
#      starts within 100 ms of the later of the two becoming ready;
#   2. a container that ignores SIGTERM is killed after its stop grace period;
#   3. a missing image is pulled from the registry, with per-layer progress;
#   4. a host service waits for a container that is probed through its
#      published port;
#   5. an image that is missing with pull_policy: never fails its service
#      with a message naming it, and its dependents at once;
#   6. a dependent's container is made while its dependency comes up and
#      started, the same container, once the dependency is healthy.
# TAP output. Everything labelled with the test's projects is removed at the
# end, with the pulled image and the registry.
# Usage: test-docker-ready.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

if [ ! -S /var/run/docker.sock ] && [ -z "${DOCKER_HOST:-}" ]; then
    skip_all "no Docker engine on this machine (/var/run/docker.sock is absent)"
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

P=tenddr$RUN$$
PROJECTS="${P}a ${P}b ${P}c ${P}d ${P}e ${P}f"
# shellcheck disable=SC2086
docker_project "$P" $PROJECTS
REGPORT=
PULLREF=

by_label() { # KIND PROJECT: ids of the project's containers, networks or volumes
    case $1 in
        container) docker ps -aq --filter "label=com.docker.compose.project=$2" ;;
        network) docker network ls -q --filter "label=com.docker.compose.project=$2" ;;
        volume) docker volume ls -q --filter "label=com.docker.compose.project=$2" ;;
    esac 2>/dev/null
}
cleanup_docker() {
    for _p in $PROJECTS; do
        by_label container "$_p" | xargs -r docker rm -f >/dev/null 2>&1
        by_label network "$_p" | xargs -r docker network rm >/dev/null 2>&1
        by_label volume "$_p" | xargs -r docker volume rm >/dev/null 2>&1
    done
    docker rm -f "${P}-mk" >/dev/null 2>&1
    if [ -n "$PULLREF" ]; then docker rmi -f "$PULLREF" >/dev/null 2>&1; fi
    if [ -n "$REGPORT" ]; then TMPDIR="$T" "$ROOT/scripts/local-registry" stop "$REGPORT" >/dev/null 2>&1; fi
}
# lib.sh's cleanup (processes, temp folder) runs after the engine's.
trap 'cleanup_docker; cleanup' EXIT
cleanup_docker

if ! "$ROOT/scripts/make-images" >"$T/images.log" 2>&1; then
    notok "the test images can be made" "$(tail -n 5 "$T/images.log")"
    finish
fi

# Project NAME's file is $T/NAME.yaml (start_tend's convention).
stop_up() { # SECONDS: Ctrl-C to the running tend, and waits for it
    kill -INT "$TEND_PID" 2>/dev/null
    wait_tend "${1:-30}"
}
down_v() { # PROJECT
    env --default-signal=INT "$TEND" -p "$1" -f "$T/$1.yaml" down -v >"$T/$1.down" 2>&1
}
# nothing_left PROJECT: no container, network or volume carries its label.
nothing_left() {
    [ -z "$(by_label container "$1")$(by_label network "$1")$(by_label volume "$1")" ]
}

# ---- 1. postgres and redis in containers gate a dependent ----

A=${P}a
cat >"$T/$A.yaml" <<'EOF'
services:
  pg:
    image: tend/hostusr
    user: postgres
    volumes: ["/usr:/usr:ro"]
    environment:
      PATH: /usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    command: ["sh", "-c", "initdb -D /tmp/pg >/dev/null && exec postgres -D /tmp/pg -c listen_addresses=* -k /tmp"]
    stop_grace_period: 5s
    x-tend:
      probe:
        postgres: {}
  redis:
    image: tend/hostusr
    user: redis
    volumes: ["/usr:/usr:ro"]
    # No snapshot: the root folder is not writable, and a failed save on
    # SIGTERM would keep redis from exiting.
    command: ["redis-server", "--protected-mode", "no", "--save", ""]
    stop_grace_period: 5s
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
  app:
    image: tend/busybox
    command: ["sh", "-c", "echo app-saw-its-dependencies; trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    stop_grace_period: 2s
    depends_on:
      pg: {condition: service_healthy}
      redis: {condition: service_healthy}
EOF
start_tend "$A" up --json
if wait_for 60 grep -q '"event":"ready"' "$T/$A.out" && wait_for 15 grep -q 'app-saw-its-dependencies' "$T/$A.out"; then
    ok "postgres and redis containers become ready and the app runs"
else
    notok "postgres and redis containers become ready and the app runs"
    diag_run "$A"
fi
stop_up 30
if [ "$TEND_RC" = 0 ]; then ok "tend up exits 0 after Ctrl-C"; else notok "tend up exits 0 after Ctrl-C" "exit $TEND_RC"; diag_run "$A"; fi
py_check "$T/$A.out" <<'EOF'
from datetime import datetime, timezone
def ms(e):
    t = datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(round(t.timestamp() * 1000))
evs = events(sys.argv[1])
st = [e for e in evs if e.get("event") == "state"]
def first(svc, to):
    for e in st:
        if e.get("service") == svc and e.get("to") == to:
            return e
    return None
pg, rd, app = first("pg", "ready"), first("redis", "ready"), first("app", "starting")
check(pg is not None, "postgres became ready through its native probe",
      [e for e in st if e.get("service") == "pg"])
check(rd is not None, "redis became ready through its healthcheck",
      [e for e in st if e.get("service") == "redis"])
if pg and rd and app:
    later = max(ms(pg), ms(rd))
    d = ms(app) - later
    check(0 <= d <= 100, "app starts within 100 ms of its later dependency becoming ready",
          "app starting %+d ms after the later ready (pg %s, redis %s, app %s)" % (d, pg["time"], rd["time"], app["time"]))
else:
    check(False, "app starts within 100 ms of its later dependency becoming ready", "app starting: %s" % app)
lines = [e for e in evs if e.get("service") == "app" and e.get("line") == "app-saw-its-dependencies"]
check(len(lines) == 1, "the app's output arrives as a JSON log line", len(lines))
EOF
down_v "$A"
if nothing_left "$A"; then
    ok "tend down -v leaves no container, network or volume of the project"
else
    notok "tend down -v leaves no container, network or volume of the project" \
        "containers: $(by_label container "$A" | tr '\n' ' ')" "networks: $(by_label network "$A" | tr '\n' ' ')" \
        "volumes: $(by_label volume "$A" | tr '\n' ' ')"
    diag_file "$T/$A.down"
fi

# ---- 2. stop grace period, then a kill ----

B=${P}b
cat >"$T/$B.yaml" <<'EOF'
services:
  stubborn:
    image: tend/busybox
    command: ["sh", "-c", "trap '' TERM; echo stubborn-up; while :; do sleep 1; done"]
    stop_grace_period: 2s
EOF
start_tend "$B" up --json
if wait_for 30 grep -q 'stubborn-up' "$T/$B.out"; then
    int_ms=$(now_ms)
    stop_up 20
    py_check "$T/$B.out" "$int_ms" <<'EOF'
from datetime import datetime, timezone
def ms(e):
    t = datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(round(t.timestamp() * 1000))
evs = events(sys.argv[1])
sent = int(sys.argv[2])
msg = [e for e in evs if e.get("service") == "stubborn" and e.get("stream") == "tend"
       and e.get("line") == "did not stop within 2.0 s; killing it"]
check(len(msg) == 1, "tend says the container did not stop within 2.0 s and kills it",
      [e.get("line") for e in evs if e.get("stream") == "tend"])
ex = [e for e in evs if e.get("event") == "state" and e.get("service") == "stubborn" and e.get("to") == "exited"]
if ex:
    d = ms(ex[0]) - sent
    check(1800 <= d <= 6000, "the container is killed 1.8 to 6 s after Ctrl-C",
          "exited %d ms after SIGINT (%s)" % (d, ex[0].get("reason")))
else:
    check(False, "the container is killed 1.8 to 6 s after Ctrl-C", "no exited event")
EOF
    st=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$B-stubborn-1" 2>&1)
    if [ "$st" = "exited 137" ]; then ok "the engine shows the container exited (137, killed)"; else notok "the engine shows the container exited (137, killed)" "$st"; fi
    if [ "$TEND_RC" = 0 ]; then ok "tend exits 0 after the kill"; else notok "tend exits 0 after the kill" "exit $TEND_RC"; diag_run "$B"; fi
else
    notok "the container that ignores SIGTERM starts"
    diag_run "$B"
    stop_up 20
fi
down_v "$B"

# ---- 3. a pull from the local registry ----

C=${P}c
REGPORT=$(free_port)
if TMPDIR="$T" "$ROOT/scripts/local-registry" start "$REGPORT" >"$T/registry.log" 2>&1; then
    PULLREF=127.0.0.1:$REGPORT/tend/pulltest:1
    # A layer of its own on top of tend/busybox, so that the pull downloads
    # it (a retag of a local image would find every layer present).
    if docker run --name "$P-mk" --label "com.docker.compose.project=$P" tend/busybox sh -c "echo pulled-image-$P >/pulltest-marker" >"$T/push.log" 2>&1 &&
        docker commit -c 'CMD ["sh"]' "$P-mk" "$PULLREF" >>"$T/push.log" 2>&1 &&
        docker rm "$P-mk" >>"$T/push.log" 2>&1 &&
        docker push "$PULLREF" >>"$T/push.log" 2>&1 &&
        docker rmi "$PULLREF" >>"$T/push.log" 2>&1; then
        cat >"$T/$C.yaml" <<EOF
services:
  pulled:
    image: $PULLREF
    command: ["sh", "-c", "cat /pulltest-marker; trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    stop_grace_period: 2s
EOF
        start_tend "$C" up --no-color
        if wait_for 60 grep -q "pulled-image-$P" "$T/$C.out"; then
            ok "the pulled image runs (its container prints the marker from its own layer)"
        else
            notok "the pulled image runs (its container prints the marker from its own layer)"
            diag_run "$C"
        fi
        if out_has "$C" "pulling $PULLREF"; then ok "tend says it pulls the image"; else notok "tend says it pulls the image"; diag_run "$C"; fi
        if grep -qE "^pulled +\| pull $PULLREF: [0-9a-f]{12} Pull complete$" "$T/$C.out"; then
            ok "tend shows the pull per layer (Pull complete)"
        else
            notok "tend shows the pull per layer (Pull complete)"
            diag_run "$C"
        fi
        stop_up 20
        if [ "$TEND_RC" = 0 ]; then ok "tend exits 0 after Ctrl-C"; else notok "tend exits 0 after Ctrl-C" "exit $TEND_RC"; fi
        down_v "$C"
    else
        notok "an image is pushed to the local registry" "$(tail -n 5 "$T/push.log")"
    fi
    TMPDIR="$T" "$ROOT/scripts/local-registry" stop "$REGPORT" >/dev/null 2>&1
    if TMPDIR="$T" "$ROOT/scripts/local-registry" status "$REGPORT" >/dev/null 2>&1; then notok "the registry is stopped"; else REGPORT=; fi
    if [ -n "$PULLREF" ]; then docker rmi -f "$PULLREF" >/dev/null 2>&1; fi
else
    notok "the local registry starts" "$(tail -n 5 "$T/registry.log")"
fi

# ---- 4. a host service waits for a container ----

D=${P}d
WEBPORT=$(free_port)
HOSTPORT=$(free_port)
mkdir -p "$T/www"
echo host-page >"$T/www/index.html"
cat >"$T/$D.yaml" <<EOF
services:
  web:
    image: tend/busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/etc"]
    ports: ["127.0.0.1:$WEBPORT:8080"]
    stop_grace_period: 1s
    x-tend:
      probe:
        http: http://127.0.0.1:$WEBPORT/passwd
  front:
    command: ["$PY", "-m", "http.server", "--bind", "127.0.0.1", "--directory", "$T/www", "$HOSTPORT"]
    depends_on:
      web: {condition: service_healthy}
    x-tend:
      probe:
        http: http://127.0.0.1:$HOSTPORT/index.html
EOF
start_tend "$D" up --json
if wait_for 60 grep -q '"event":"ready"' "$T/$D.out"; then
    ok "the mixed stack (container, then host service) becomes ready"
else
    notok "the mixed stack (container, then host service) becomes ready"
    diag_run "$D"
fi
if curl -fsS "http://127.0.0.1:$HOSTPORT/index.html" 2>/dev/null | grep -q host-page &&
    curl -fsS "http://127.0.0.1:$WEBPORT/passwd" 2>/dev/null | grep -q '^root:'; then
    ok "the host service and the container's published port answer"
else
    notok "the host service and the container's published port answer"
fi
stop_up 20
if [ "$TEND_RC" = 0 ]; then ok "tend exits 0 after Ctrl-C"; else notok "tend exits 0 after Ctrl-C" "exit $TEND_RC"; diag_run "$D"; fi
py_check "$T/$D.out" <<'EOF'
from datetime import datetime, timezone
def ms(e):
    t = datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(round(t.timestamp() * 1000))
evs = events(sys.argv[1])
wr = index_of(evs, event="state", service="web", to="ready")
fs = index_of(evs, event="state", service="front", to="starting")
check(wr is not None and fs is not None and wr < fs and ms(evs[fs]) >= ms(evs[wr]),
      "the host service starts only after the container is ready",
      [e for e in evs if e.get("event") == "state"])
ready = [e for e in evs if e.get("event") == "ready"]
rt = {s.get("service"): s.get("runtime") for s in (ready[0].get("services") or [])} if ready else {}
check(rt == {"web": "docker", "front": "host"}, "web runs in a container and front on the host", rt)
EOF
down_v "$D"

# ---- 5. a missing image with pull_policy: never ----

E=${P}e
BAD=tend/no-such-image-$P:missing
cat >"$T/$E.yaml" <<EOF
services:
  bad:
    image: $BAD
    pull_policy: never
  boxed:
    image: tend/busybox
    command: ["echo", "boxed-ran"]
    depends_on:
      bad: {condition: service_started}
  hosted:
    command: ["echo", "hosted-ran"]
    depends_on:
      bad: {condition: service_healthy}
EOF
start_tend "$E" up --json
wait_tend 30
if [ "$TEND_RC" = 1 ]; then ok "tend up exits 1 when an image is missing"; else notok "tend up exits 1 when an image is missing" "exit $TEND_RC"; diag_run "$E"; fi
py_check "$T/$E.out" "$BAD" <<'EOF'
from datetime import datetime, timezone
def ms(e):
    t = datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(round(t.timestamp() * 1000))
evs = events(sys.argv[1])
bad = sys.argv[2]
why = "image %s is not present and pull_policy is never" % bad
i = index_of(evs, event="state", service="bad", to="failed")
check(i is not None and evs[i].get("reason") == why, "the service fails with a message naming the image",
      evs[i] if i is not None else [e for e in evs if e.get("service") == "bad"])
for dep in ("boxed", "hosted"):
    j = index_of(evs, event="state", service=dep, to="failed")
    exp = "dependency bad failed: " + why
    good = j is not None and evs[j].get("reason") == exp
    if good and i is not None:
        good = 0 <= ms(evs[j]) - ms(evs[i]) <= 100
    check(good, "dependent %s fails at once, naming bad and the image" % dep,
          evs[j] if j is not None else [e for e in evs if e.get("service") == dep])
ran = [e for e in evs if e.get("line") in ("boxed-ran", "hosted-ran")]
check(not ran, "no dependent ran", ran)
EOF
# A dependent's container may have been made ahead (as docker compose makes
# every container before it starts any); none was ever started.
started=
for _id in $(by_label container "$E"); do
    _st=$(docker inspect -f '{{.Name}} {{.State.Status}} {{.State.StartedAt}}' "$_id" 2>/dev/null)
    case $_st in
        *" created 0001-01-01T00:00:00Z") ;;
        *) started="$started [$_st]" ;;
    esac
done
if [ -z "$started" ]; then ok "no container of the failed services was started"; else notok "no container of the failed services was started" "$started"; fi
down_v "$E"

# ---- 6. dependents' containers are made while their dependency comes up ----

F=${P}f
mkdir -p "$T/gate"
cat >"$T/$F.yaml" <<'EOF'
services:
  gate:
    image: tend/busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    volumes: ["./gate:/gate"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "test", "-e", "/gate/open"]
      interval: 300ms
  app:
    image: tend/busybox
    command: ["sh", "-c", "echo app-ran; trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "true"]
      interval: 300ms
    depends_on:
      gate: {condition: service_healthy}
EOF
ctr_state() { docker inspect -f '{{.State.Status}}' "$F-$1-1" 2>/dev/null; }
ctr_id() { docker inspect -f '{{.Id}}' "$F-$1-1" 2>/dev/null; }
start_tend "$F" up --json
if wait_for 30 eval '[ "$(ctr_state gate)" = running ]' && wait_for 15 eval '[ "$(ctr_state app)" = created ]'; then
    ok "the dependent's container is made while its dependency is not healthy yet"
else
    notok "the dependent's container is made while its dependency is not healthy yet" \
        "gate: $(ctr_state gate), app: $(ctr_state app)"
    diag_run "$F"
fi
sleep 1
if [ "$(ctr_state app)" = created ] && ! grep -q app-ran "$T/$F.out"; then
    ok "... and not started before its dependency is healthy"
else
    notok "... and not started before its dependency is healthy" "app: $(ctr_state app)"
fi
app_id=$(ctr_id app)
touch "$T/gate/open"
if wait_for 30 grep -q '"event":"ready"' "$T/$F.out" && wait_for 15 grep -q app-ran "$T/$F.out"; then
    ok "once its dependency is healthy the container made ahead is started"
else
    notok "once its dependency is healthy the container made ahead is started"
    diag_run "$F"
fi
if [ -n "$app_id" ] && [ "$(ctr_id app)" = "$app_id" ]; then
    ok "... the same container, not another"
else
    notok "... the same container, not another" "made ahead: $app_id, running: $(ctr_id app)"
fi
py_check "$T/$F.out" <<'EOF'
evs = events(sys.argv[1])
gr = index_of(evs, event="state", service="gate", to="ready")
ast = index_of(evs, event="state", service="app", to="starting")
check(gr is not None and ast is not None and gr < ast, "the app starts after the gate is ready",
      [e for e in evs if e.get("event") == "state"])
said = [e.get("line") for e in evs if e.get("service") == "app" and e.get("stream") == "tend"]
check(not any("recreat" in (l or "") for l in said), "nothing about the app is recreated", said)
EOF
# A rerun after kill -9 finds both running, healthy and unchanged: the
# app's, staged as running, is followed once the gate is ready, and is
# ready at once (its health was known before anything waited for it).
kill -KILL "$TEND_PID"
wait_tend 10
start_tend "$F" up --json
if wait_for 20 grep -q '"event":"ready"' "$T/$F.out" && [ "$(ctr_id app)" = "$app_id" ]; then
    ok "a rerun adopts the running, healthy container of the dependent and gets ready"
else
    notok "a rerun adopts the running, healthy container of the dependent and gets ready" \
        "made ahead: $app_id, running: $(ctr_id app)"
    diag_run "$F"
fi
stop_up 20
# A rerun finds both containers stopped and unchanged: the app's is
# started again, not made anew; removed by another client while it waits,
# it is made again.
rm -f "$T/gate/open"
start_tend "$F" up --json
if wait_for 30 eval '[ "$(ctr_state gate)" = running ]' && sleep 1 && [ "$(ctr_state app)" = exited ]; then
    ok "a rerun waits again for the gate, the dependent's container as it was"
else
    notok "a rerun waits again for the gate, the dependent's container as it was" "gate: $(ctr_state gate), app: $(ctr_state app)"
    diag_run "$F"
fi
docker rm -f "$F-app-1" >/dev/null 2>&1
touch "$T/gate/open"
if wait_for 30 grep -q '"event":"ready"' "$T/$F.out" && wait_for 5 grep -q app-ran "$T/$F.out"; then
    ok "the dependent's container, removed by another client while it waited, is made again and runs"
else
    notok "the dependent's container, removed by another client while it waited, is made again and runs" \
        "app: $(ctr_state app)"
    diag_run "$F"
fi
check "... and tend says so" grep -q "is gone (removed by another client?): making it again" "$T/$F.out"
stop_up 20
down_v "$F"

left=
for _p in $PROJECTS; do
    nothing_left "$_p" || left="$left $_p: $(by_label container "$_p" | tr '\n' ' ')$(by_label network "$_p" | tr '\n' ' ')$(by_label volume "$_p" | tr '\n' ' ')"
done
if [ -z "$left" ]; then ok "down -v removed every project of this test"; else notok "down -v removed every project of this test" "$left"; fi
finish
