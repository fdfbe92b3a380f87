#!/bin/sh
# Containers through the Docker Engine API, with images made locally
# (scripts/make-images): a bind-mounted folder whose edits the container
# sees, services that reach each other by name on the project network,
# ports published on 127.0.0.1, a named volume that keeps its data across
# down and up until `down -v`, adoption of unchanged containers and
# recreation of a changed one, Compose's labels, orphans, and the stop
# grace period. TAP output.
# Usage: test-docker.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

need_docker_images

P=tendit$RUN$$
docker_project "$P" "${P}b"
WEBPORT=$(free_port)
mkdir -p "$T/www"
echo "first" >"$T/www/index.html"
cat >"$T/$P.yaml" <<EOF
services:
  web:
    image: tend/busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: ["$WEBPORT:8080"]
    volumes: ["$T/www:/www:ro"]
    stop_grace_period: 1s
    x-tend:
      probe:
        http: http://127.0.0.1:$WEBPORT/index.html
  client:
    image: tend/busybox
    command: ["sh", "-c", "wget -qO- http://web:8080/index.html | sed s/^/fetched-/; exec sleep 1000"]
    stop_grace_period: 1s
    depends_on:
      web: {condition: service_healthy}
  store:
    image: tend/busybox
    command: ["sh", "-c", "echo run >> /data/runs; echo runs=\$\$(wc -l < /data/runs); exec sleep 1000"]
    stop_grace_period: 1s
    volumes: ["data:/data"]
volumes:
  data: {}
EOF
cleanup_docker() {
    docker ps -aq --filter "label=com.docker.compose.project=$P" | xargs -r docker rm -f >/dev/null 2>&1
    docker network ls -q --filter "label=com.docker.compose.project=$P" | xargs -r docker network rm >/dev/null 2>&1
    docker volume ls -q --filter "label=com.docker.compose.project=$P" | xargs -r docker volume rm >/dev/null 2>&1
}
trap 'cleanup_docker; cleanup' EXIT
cleanup_docker

up() { # NAME: starts tend up in the background and waits for readiness
    start_tend "$P" up --no-color
    if wait_for 60 grep -q 'all services ready' "$T/$P.out"; then return 0; fi
    diag_run "$P"
    return 1
}
down_fg() { # ARGS
    env --default-signal=INT "$TEND" -p "$P" -f "$T/$P.yaml" down "$@" >"$T/down.out" 2>&1
}
stop_up() {
    kill -INT "$TEND_PID" 2>/dev/null
    wait_tend 30
}

if up; then ok "tend up brings three containers up and ready"; else notok "tend up brings three containers up and ready"; fi
cid=$(docker ps -q --filter "label=com.docker.compose.project=$P" --filter "label=com.docker.compose.service=web")
if [ -n "$cid" ] && [ "$(docker inspect -f '{{.Name}}' "$cid")" = "/$P-web-1" ]; then
    ok "the container is named PROJECT-SERVICE-1 and labelled with the project and service"
else
    notok "the container is named PROJECT-SERVICE-1 and labelled with the project and service" "cid=$cid"
fi
hash=$(docker inspect -f '{{index .Config.Labels "com.docker.compose.config-hash"}}' "$cid" 2>/dev/null)
if [ -n "$hash" ]; then ok "it carries a config hash"; else notok "it carries a config hash"; fi
bind=$(docker inspect -f '{{range .HostConfig.PortBindings}}{{range .}}{{.HostIp}}{{end}}{{end}}' "$cid" 2>/dev/null)
if [ "$bind" = 127.0.0.1 ]; then ok "ports are published on 127.0.0.1 by default"; else notok "ports are published on 127.0.0.1 by default" "HostIp=$bind"; fi
if curl -fsS "http://127.0.0.1:$WEBPORT/index.html" | grep -q first; then ok "the published port answers"; else notok "the published port answers"; fi
echo "second" >"$T/www/index.html"
if curl -fsS "http://127.0.0.1:$WEBPORT/index.html" | grep -q second; then ok "the container sees an edit made on the host in its bind mount"; else notok "the container sees an edit made on the host in its bind mount"; fi
if wait_for 10 grep -q 'fetched-first' "$T/$P.out"; then ok "services reach each other by name on the project network"; else notok "services reach each other by name on the project network"; diag_run "$P"; fi
# store has no probe: it is ready when it runs, its line can come after.
if wait_for 10 grep -q 'runs=1' "$T/$P.out"; then ok "the named volume starts empty"; else notok "the named volume starts empty"; fi
if command -v docker-compose >/dev/null 2>&1; then
    if (cd "$T" && docker-compose -p "$P" -f "$T/$P.yaml" ps 2>/dev/null) | grep -q "$P-web-1"; then
        ok "docker-compose ps lists tend's containers"
    else
        notok "docker-compose ps lists tend's containers" "$(cd "$T" && docker-compose -p "$P" -f "$T/$P.yaml" ps 2>&1 | tail -n 3)"
    fi
else
    skip "docker-compose ps lists tend's containers" "docker-compose is not installed"
fi
stop_up
if [ "$TEND_RC" = 0 ]; then ok "Ctrl-C stops the stack and tend exits 0"; else notok "Ctrl-C stops the stack and tend exits 0" "exit $TEND_RC"; fi

# A second up with nothing changed: the stopped containers are started
# again, not recreated (same ids).
id_before=$(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$P" | sort | tr '\n' ' ')
up || notok "the second up is ready"
id_after=$(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$P" | sort | tr '\n' ' ')
if [ "$id_before" = "$id_after" ]; then ok "an unchanged rerun recreates nothing"; else notok "an unchanged rerun recreates nothing" "before: $id_before" "after: $id_after"; fi
if wait_for 10 grep -q 'runs=2' "$T/$P.out"; then ok "the named volume kept its data across the restart"; else notok "the named volume kept its data across the restart"; diag_run "$P"; fi

# While it runs, another tend up adopts the running containers.
web_id=$(docker ps -q --no-trunc --filter "label=com.docker.compose.project=$P" --filter "label=com.docker.compose.service=web")
kill -KILL "$TEND_PID"; wait "$TEND_PID" 2>/dev/null; TEND_PID=
# Change one service: only that one is recreated.
/usr/bin/python3 - "$T/$P.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('echo run >> /data/runs;', 'echo run >> /data/runs; echo changed;', 1)
open(p, 'w').write(s)
PY
up || notok "the up after a change is ready"
web_id2=$(docker ps -q --no-trunc --filter "label=com.docker.compose.project=$P" --filter "label=com.docker.compose.service=web")
if [ "$web_id" = "$web_id2" ] && grep -qE '^web +\| adopted' "$T/$P.out"; then ok "a running unchanged container is adopted"; else notok "a running unchanged container is adopted" "$web_id vs $web_id2"; diag_run "$P"; fi
if grep -qE '^store +\| recreating' "$T/$P.out" && wait_for 10 grep -q 'runs=3' "$T/$P.out"; then ok "only the changed service is recreated, and its volume is kept"; else notok "only the changed service is recreated, and its volume is kept"; diag_run "$P"; fi
stop_up

# Orphans: a container of a service that left the file is reported by down.
/usr/bin/python3 - "$T/$P.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
i = s.index('  store:')
j = s.index('volumes:\n  data')
open(p, 'w').write(s[:i] + s[j:])
PY
down_fg
if grep -q 'orphan container' "$T/down.out"; then ok "down reports an orphan container"; else notok "down reports an orphan container"; diag_file "$T/down.out"; fi
if [ -n "$(docker ps -aq --filter "label=com.docker.compose.project=$P" --filter "label=com.docker.compose.service=web")" ]; then
    notok "down removes the project's containers"
else
    ok "down removes the project's containers"
fi
if docker volume inspect "${P}_data" >/dev/null 2>&1; then ok "down keeps the named volume"; else notok "down keeps the named volume"; fi
down_fg -v --remove-orphans
if docker volume inspect "${P}_data" >/dev/null 2>&1; then notok "down -v removes the named volume"; else ok "down -v removes the named volume"; fi
if [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$P")" ]; then ok "--remove-orphans removes the orphan"; else notok "--remove-orphans removes the orphan"; fi
if [ -z "$(docker network ls -q --filter "label=com.docker.compose.project=$P")" ]; then ok "down removes the project's network"; else notok "down removes the project's network"; fi

# stop / start / restart without a supervisor in the foreground: by label.
up || notok "the stack comes up again"
kill -KILL "$TEND_PID"; wait "$TEND_PID" 2>/dev/null; TEND_PID=
state() { docker inspect -f '{{.State.Status}}' "$P-$1-1" 2>/dev/null; }
"$TEND" -p "$P" -f "$T/$P.yaml" stop client >"$T/life.out" 2>&1
if [ "$(state client)" = exited ] && [ "$(state web)" = running ]; then ok "tend stop SERVICE stops only that container"; else notok "tend stop SERVICE stops only that container" "client=$(state client) web=$(state web)"; diag_file "$T/life.out"; fi
"$TEND" -p "$P" -f "$T/$P.yaml" start >"$T/life.out" 2>&1
if [ "$(state client)" = running ]; then ok "tend start starts the stopped container"; else notok "tend start starts the stopped container" "client=$(state client)"; diag_file "$T/life.out"; fi
before=$(docker inspect -f '{{.State.StartedAt}}' "$P-web-1")
"$TEND" -p "$P" -f "$T/$P.yaml" restart -t 1 web >"$T/life.out" 2>&1
after=$(docker inspect -f '{{.State.StartedAt}}' "$P-web-1")
if [ "$(state web)" = running ] && [ "$before" != "$after" ]; then ok "tend restart restarts the container"; else notok "tend restart restarts the container" "$before -> $after"; diag_file "$T/life.out"; fi
out=$("$TEND" -p "$P" -f "$T/$P.yaml" exec web sh -c 'echo from-exec; exit 5' 2>&1)
rc=$?
if [ "$rc" = 5 ] && [ "$out" = from-exec ]; then ok "tend exec runs in the container and passes the exit code through"; else notok "tend exec runs in the container and passes the exit code through" "rc=$rc out=$out"; fi
# With a terminal on both ends exec is interactive: keys reach the
# command, the container has a tty of this terminal's size.
if command -v script >/dev/null 2>&1; then
    # The size is set by a resize call once the exec has started (API
    # 1.41 has no size at start, as with docker exec): the shell looks for
    # it for up to 10 s (the size typed as sums, so that the echo of the
    # input is not taken for it), then prints what it has.
    printf '%s\n' 'echo typed-$((6*7)); tty' 'w="$((30+3)) $((90+1))"; i=0' \
        'while [ $i -lt 100 ] && [ "$(stty size)" != "$w" ]; do sleep 0.1; i=$((i+1)); done' 'stty size; exit 6' |
        script -qec "stty cols 91 rows 33; '$TEND' -p '$P' -f '$T/$P.yaml' exec web sh" "$T/typescript" >/dev/null 2>&1
    rc=$?
    if [ "$rc" = 6 ] && grep -q 'typed-42' "$T/typescript" && grep -q '^/dev/pts/' "$T/typescript" &&
        grep -q '^33 91' "$T/typescript"; then
        ok "exec on a terminal is interactive, with a tty of the terminal's size, and passes the exit code"
    else
        notok "exec on a terminal is interactive, with a tty of the terminal's size, and passes the exit code" "rc=$rc"
        diag_file "$T/typescript"
    fi
else
    skip "exec on a terminal is interactive" "script(1) is not installed"
fi
down_fg -v
if [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$P")" ]; then ok "down after stop/start leaves nothing"; else notok "down after stop/start leaves nothing"; fi

# build: an image built from a Dockerfile by the engine, then run; a rerun
# reuses it; up --build builds again and the changed image recreates the
# container.
cp -r "$ROOT/tests/data/docker/build-hello" "$T/ctx"
cat >"$T/${P}b.yaml" <<EOF
services:
  hello:
    build: $T/ctx
EOF
bup() { # OUT ARGS
    out=$1
    shift
    env --default-signal=INT "$TEND" -p "${P}b" -f "$T/${P}b.yaml" up --no-color "$@" >"$T/$out" 2>&1
}
bup build.out
rc=$?
if [ "$rc" = 0 ] && grep -q 'hello from tend-test/hello' "$T/build.out" && grep -qE '^hello +\| built '"${P}b"'-hello' "$T/build.out"; then
    ok "a build: service is built from its Dockerfile and runs"
else
    notok "a build: service is built from its Dockerfile and runs" "rc=$rc"
    diag_file "$T/build.out"
fi
sed -i 's/hello from/hello again from/' "$T/ctx/hello.sh"
bup build2.out
if ! grep -q 'building' "$T/build2.out" && grep -q 'hello from tend-test/hello' "$T/build2.out"; then
    ok "without --build an existing image is used as it is"
else
    notok "without --build an existing image is used as it is"
    diag_file "$T/build2.out"
fi
bup build3.out --build
if grep -qE '^hello +\| built ' "$T/build3.out" && grep -qE '^hello +\| recreating .*its image changed' "$T/build3.out" &&
    grep -q 'hello again from tend-test/hello' "$T/build3.out"; then
    ok "up --build builds again and the changed image recreates the container"
else
    notok "up --build builds again and the changed image recreates the container"
    diag_file "$T/build3.out"
fi
bup build4.out
if grep -qE '^hello +\| recreating' "$T/build4.out"; then
    notok "a rerun after the rebuild recreates nothing"
    diag_file "$T/build4.out"
else
    ok "a rerun after the rebuild recreates nothing"
fi
"$TEND" -p "${P}b" -f "$T/${P}b.yaml" down >/dev/null 2>&1
docker rmi -f "${P}b-hello" >/dev/null 2>&1

finish
