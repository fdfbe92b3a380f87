#!/bin/sh
# tend run: a one-off container (label oneoff=True, a new name each time)
# started only once its dependency is healthy, its stdout bare on stdout and
# tend's messages on stderr, its exit code passed through, --rm, -e, and
# --no-deps; a host service's one-off run on the host. TAP output.
# Usage: test-run.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

need_docker_images

P=tendrun$RUN$$
docker_project "$P"
cat >"$T/$P.yaml" <<EOF
services:
  web:
    image: tend/busybox
    command: ["sh", "-c", "mkdir -p /www && echo from-web > /www/index.html && exec httpd -f -p 8080 -h /www"]
    stop_signal: KILL
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/index.html"]
      interval: 1s
  client:
    image: tend/busybox
    command: ["echo", "default-command"]
    depends_on:
      web: {condition: service_healthy}
  hostjob:
    command: sh -c 'echo "host FOO=\$\$FOO in \$\$(pwd)"; exit 4'
    working_dir: $T
    depends_on: [web]
EOF
cleanup_docker() {
    docker ps -aq --filter "label=com.docker.compose.project=$P" | xargs -r docker rm -f >/dev/null 2>&1
    docker network ls -q --filter "label=com.docker.compose.project=$P" | xargs -r docker network rm >/dev/null 2>&1
}
trap 'cleanup_docker; cleanup' EXIT
cleanup_docker
run() { # OUT ARGS: tend run, stdout to T/OUT.out, stderr to T/OUT.err; rc in RC
    _o=$1
    shift
    env --default-signal=INT "$TEND" -p "$P" -f "$T/$P.yaml" run "$@" >"$T/$_o.out" 2>"$T/$_o.err"
    RC=$?
}
oneoffs() { docker ps -aq --filter "label=com.docker.compose.project=$P" --filter "label=com.docker.compose.oneoff=True"; }

# The command reaches web by name: only possible once web was started and
# healthy, which is what run waits for.
run a --rm client sh -c 'wget -qO- http://web:8080/index.html; echo to-stderr >&2; exit 3'
if [ "$RC" = 3 ]; then ok "run passes the exit code through"; else notok "run passes the exit code through" "rc=$RC"; diag_file "$T/a.err"; fi
if [ "$(cat "$T/a.out")" = from-web ]; then ok "stdout holds only the command's output, bare"; else notok "stdout holds only the command's output, bare"; diag_file "$T/a.out"; fi
if grep -qx 'to-stderr' "$T/a.err" && grep -q '^web | ready' "$T/a.err"; then
    ok "the command's stderr and tend's messages go to stderr"
else
    notok "the command's stderr and tend's messages go to stderr"
    diag_file "$T/a.err"
fi
if awk '/^web \| ready/ { r = NR } /^client \| started/ { s = NR } END { exit !(r && s && r < s) }' "$T/a.err"; then
    ok "the one-off starts only after its dependency is healthy"
else
    notok "the one-off starts only after its dependency is healthy"
    diag_file "$T/a.err"
fi
if [ -z "$(oneoffs)" ]; then ok "--rm leaves no one-off container"; else notok "--rm leaves no one-off container" "$(oneoffs)"; fi
if [ "$(docker inspect -f '{{.State.Status}}' "$P-web-1" 2>/dev/null)" = exited ]; then
    ok "what run started for it is stopped afterwards"
else
    notok "what run started for it is stopped afterwards" "$(docker inspect -f '{{.State.Status}}' "$P-web-1" 2>&1)"
fi

run b -e GREETING=hi client sh -c 'echo "$GREETING"'
id=$(oneoffs)
if [ "$RC" = 0 ] && [ "$(cat "$T/b.out")" = hi ]; then ok "-e sets a variable in the one-off"; else notok "-e sets a variable in the one-off" "rc=$RC"; diag_file "$T/b.err"; fi
name=$(docker inspect -f '{{.Name}}' "$id" 2>/dev/null)
case $name in
/"$P"-client-run-*) ok "without --rm the one-off is kept, named PROJECT-SERVICE-run-ID and labelled oneoff=True" ;;
*) notok "without --rm the one-off is kept, named PROJECT-SERVICE-run-ID and labelled oneoff=True" "id=$id name=$name" ;;
esac
if [ "$(docker inspect -f '{{index .Config.Labels "com.docker.compose.oneoff"}}' "$P-web-1")" = False ]; then
    ok "the service's own container is not a one-off"
else
    notok "the service's own container is not a one-off"
fi

run c client
if [ "$RC" = 0 ] && [ "$(cat "$T/c.out")" = default-command ]; then ok "without COMMAND the service's command runs"; else notok "without COMMAND the service's command runs" "rc=$RC"; diag_file "$T/c.err"; fi

cleanup_docker
run d --rm --no-deps client echo alone
if [ "$RC" = 0 ] && [ "$(cat "$T/d.out")" = alone ] && ! docker inspect "$P-web-1" >/dev/null 2>&1; then
    ok "--no-deps runs the one-off without starting its dependencies"
else
    notok "--no-deps runs the one-off without starting its dependencies" "rc=$RC"
    diag_file "$T/d.err"
fi

FOO=from-env run e -e FOO hostjob
if [ "$RC" = 4 ] && [ "$(cat "$T/e.out")" = "host FOO=from-env in $T" ]; then
    ok "a host service's one-off runs on the host with its working folder, -e K from tend's environment, and its exit code"
else
    notok "a host service's one-off runs on the host with its working folder, -e K from tend's environment, and its exit code" "rc=$RC"
    diag_file "$T/e.out"
    diag_file "$T/e.err"
fi

run f nosuch
if [ "$RC" = 2 ] && grep -q 'no such service: "nosuch"' "$T/f.err"; then ok "an unknown service is a usage error (exit 2)"; else notok "an unknown service is a usage error (exit 2)" "rc=$RC"; diag_file "$T/f.err"; fi

finish
