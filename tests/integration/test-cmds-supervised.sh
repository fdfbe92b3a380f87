#!/bin/sh
# kill, pause/unpause, port, top and ls while a `tend up -d` supervises the
# stack: they go through its control socket, so host processes are reached
# and its view stays right (a paused service is not probed into a restart,
# a killed one is not restarted by its policy). TAP output.
# Usage: test-cmds-supervised.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

need_docker_images

P=tendsup$RUN$$
docker_project "$P"
PORT=$(free_port)
cat >"$T/$P.yaml" <<EOF
services:
  srv:
    command: ["$PY", "-m", "http.server", "--bind", "127.0.0.1", "$PORT", "--directory", "$T"]
    restart: always
    x-tend:
      probe:
        http: http://127.0.0.1:$PORT/
        start_period: 20s
        interval: 200ms
        timeout: 200ms
        retries: 1
  web:
    image: tend/busybox
    command: ["httpd", "-f", "-p", "8080"]
    ports: ["127.0.0.1::8080"]
    restart: always
    stop_grace_period: 1s
EOF
cleanup_docker() {
    docker ps -aq --filter "label=com.docker.compose.project=$P" | xargs -r docker rm -f >/dev/null 2>&1
    docker network ls -q --filter "label=com.docker.compose.project=$P" | xargs -r docker network rm >/dev/null 2>&1
}
trap '"$TEND" -p "$P" -f "$T/$P.yaml" down >/dev/null 2>&1; cleanup_docker; cleanup' EXIT
cleanup_docker
tend() { "$TEND" -p "$P" -f "$T/$P.yaml" "$@"; }
# ps_field SERVICE FIELD: one field of the running tend's ps
ps_field() {
    tend ps --format json | "$PY" -c 'import json, sys
for s in json.load(sys.stdin):
    if s["service"] == sys.argv[1]:
        print(s.get(sys.argv[2]))' "$1" "$2"
}
answers() { curl --noproxy '*' -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"; }

if ! tend up -d --wait >"$T/up.out" 2>&1; then
    notok "tend up -d --wait" "$(tail -n 5 "$T/up.out")"
    finish
fi
tpid=$(sed -n 's/.*runs in the background (pid \([0-9]*\)).*/\1/p' "$T/up.out")

# ---- port, top ----
out=$(tend port srv "$PORT" 2>&1)
if [ "$out" = "127.0.0.1:$PORT" ]; then ok "port of a host service: its probe's port on the host"; else notok "port of a host service: its probe's port on the host" "$out"; fi
out=$(tend port web 8080 2>&1)
if [ "$out" = "$(docker port "$P-web-1" 8080/tcp | head -n 1)" ]; then ok "port of a supervised container"; else notok "port of a supervised container" "$out"; fi
tend top >"$T/top.out" 2>&1
if grep -q "^srv  *-  .*http.server --bind 127.0.0.1 $PORT" "$T/top.out" && grep -q '^web  *1  .*httpd -f -p 8080$' "$T/top.out"; then
    ok "top shows the host service's processes beside the container's"
else
    notok "top shows the host service's processes beside the container's"
    diag_file "$T/top.out"
fi

# ---- ls ----
tend ls --format json >"$T/ls.json" 2>&1
if "$PY" -c 'import json, sys
v = [p for p in json.load(open(sys.argv[1])) if p["Name"] == sys.argv[2]]
sys.exit(not (v and v[0]["Status"] == "running(2)" and v[0].get("Supervisor", 0) > 0))' "$T/ls.json" "$P"; then
    ok "ls counts the host service and names the supervising tend"
else
    notok "ls counts the host service and names the supervising tend"
    diag_file "$T/ls.json"
fi

# ---- pause, unpause: a host process and a container ----
tend pause srv web 2>"$T/pause.err"
child=$(pgrep -f "^$PY -m http.server --bind 127.0.0.1 $PORT" | head -n 1)
# tend answers once the command has stopped: read at once.
stat_of() { ps -o stat= -p "$1" 2>/dev/null | cut -c1; }
pst=$(stat_of "$child")
if [ "$(ps_field srv state)" = paused ] && [ "$pst" = T ] && [ "$(docker inspect -f '{{.State.Status}}' "$P-web-1")" = paused ] &&
    [ "$(ps_field web state)" = paused ]; then
    ok "pause freezes the host process (SIGSTOP) and the container; ps shows them paused"
else
    notok "pause freezes the host process (SIGSTOP) and the container; ps shows them paused" "srv=$(ps_field srv state) stat=$pst"
    diag_file "$T/pause.err"
fi
if answers; then notok "a paused host service does not answer"; else ok "a paused host service does not answer"; fi
sleep 1 # five probe intervals: an unpaused probe would have failed and restarted it
if [ "$(ps_field srv restarts)" = 0 ] && [ "$(ps_field srv state)" = paused ]; then
    ok "while paused its probe is held: no unhealthy restart"
else
    notok "while paused its probe is held: no unhealthy restart" "restarts=$(ps_field srv restarts) state=$(ps_field srv state)"
fi
tend unpause srv web 2>/dev/null
if wait_for 10 answers && [ "$(docker inspect -f '{{.State.Status}}' "$P-web-1")" = running ] &&
    wait_for 10 sh -c "[ \"\$($TEND -p $P -f $T/$P.yaml ps --format json | grep -o '\"state\":\"ready\"' | wc -l)\" = 2 ]"; then
    ok "unpause thaws both; they answer and are ready again"
else
    notok "unpause thaws both; they answer and are ready again" "srv=$(ps_field srv state) web=$(ps_field web state)"
fi

# ---- kill ----
tend kill srv 2>"$T/kill.err"
sleep 0.5 # restart: always would bring it back within 100 ms
if [ "$(ps_field srv state)" = exited ] && [ "$(ps_field srv restarts)" = 0 ] && ! answers &&
    ! pid_alive "$child" && grep -q 'Service srv  Killed' "$T/kill.err"; then
    ok "kill of a host service: killed, exited, not restarted by restart: always"
else
    notok "kill of a host service: killed, exited, not restarted by restart: always" "state=$(ps_field srv state)"
    diag_file "$T/kill.err"
fi
tend kill -s SIGHUP web 2>/dev/null
check "kill -s SIGHUP only delivers the signal" test "$(ps_field web state)" = ready
tend kill web 2>"$T/kill2.err"
if [ "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$P-web-1")" = "exited 137" ]; then
    ok "kill of the last service: its container exited 137"
else
    notok "kill of the last service: its container exited 137" "$(docker inspect -f '{{.State.Status}}' "$P-web-1")"
    diag_file "$T/kill2.err"
fi
if [ -n "$tpid" ] && wait_for 10 eval '! pid_alive "$tpid"'; then
    ok "with everything killed the supervising tend ends"
else
    notok "with everything killed the supervising tend ends"
fi
tend down >/dev/null 2>&1
finish
