#!/bin/sh
# tend watch with containers (local images from scripts/make-images): an
# edit in a bind-mounted project folder restarts the container once and it
# is ready again (what Compose's watch refuses to do); `sync` copies new,
# changed and nested files into a container that has no bind mount and
# removes deleted ones, without a restart; `sync+exec` copies, then runs
# the rule's command in the container. TAP output.
# Usage: test-watch-docker.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

need_docker_images

P=tendwatch$RUN$$
docker_project "$P"
cleanup_docker() {
    docker ps -aq --filter "label=com.docker.compose.project=$P" | xargs -r docker rm -f >/dev/null 2>&1
    docker network ls -q --filter "label=com.docker.compose.project=$P" | xargs -r docker network rm >/dev/null 2>&1
}
trap 'cleanup_docker; cleanup' EXIT
cleanup_docker

# The service column is padded once every name is known: match "NAME +| TEXT".
count_out() { cat "$T/$P.out" "$T/$P.err" 2>/dev/null | grep -c -- "$1"; }
said() { cat "$T/$P.out" "$T/$P.err" 2>/dev/null | grep -q -- "^$1 *| $2"; }
http_has() { "$PY" -c "import urllib.request,sys; sys.exit(0 if sys.argv[2] in urllib.request.urlopen(sys.argv[1], timeout=2).read().decode() else 1)" "$1" "$2" 2>/dev/null; }
# in_ctr SERVICE CMD...: runs CMD in the service's container.
in_ctr() {
    _s=$1
    shift
    docker exec "$P-$_s-1" "$@" 2>/dev/null
}
file_in() { [ "$(in_ctr "$1" cat "$2")" = "$3" ]; }

WEBPORT=$(free_port)
mkdir -p "$T/www" "$T/app" "$T/hook"
echo first >"$T/www/index.html"
cat >"$T/$P.yaml" <<EOF
services:
  web:
    image: tend/busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: ["127.0.0.1:$WEBPORT:8080"]
    volumes: ["./www:/www:ro"]
    stop_grace_period: 1s
    x-tend:
      probe:
        http: http://127.0.0.1:$WEBPORT/index.html
  app:
    image: tend/busybox
    command: ["sleep", "1000"]
    stop_grace_period: 1s
    develop:
      watch:
        - path: ./app
          action: sync
          target: /srv/app
        - path: ./hook
          action: sync+exec
          target: /srv/hook
          exec:
            command: ["sh", "-c", "cat /srv/hook/* > /tmp/hooked; echo hook-ran"]
EOF
start_tend "$P" watch --no-color
if wait_for 60 out_has "$P" "all services ready"; then ok "the stack is ready"; else notok "the stack is ready"; diag_run "$P"; finish; fi
# tend says what it watches once the walks of the trees (on a thread of
# their own) ended, which need not be before the stack is ready.
check "the bind-mounted project folder is watched by default" wait_for 10 said web "watching www (restart)"
check "the sync rules are watched" wait_for 10 said app "watching app (sync), hook (sync+exec)"

# ---- bind mount: restart ----
echo second >"$T/www/index.html"
if wait_for 30 said web "reloaded (www/index.html changed) in"; then
    ok "an edit in the bind-mounted folder reloads the container"
else
    notok "an edit in the bind-mounted folder reloads the container"; diag_run "$P"
fi
sleep 1
check "... restarting it exactly once" [ "$(count_out '^web *| started')" -eq 2 ]
check "... and it is ready again, serving the new file" http_has "http://127.0.0.1:$WEBPORT/index.html" second
grep -o 'web *| reloaded (www/index.html changed) in [0-9.]* m\?s' "$T/$P.out" | sed 's/^/# /'

# ---- sync ----
echo hello >"$T/app/hello.txt"
if wait_for 20 file_in app /srv/app/hello.txt hello; then
    ok "sync copies a new file into a container that has no bind mount"
else
    notok "sync copies a new file into a container that has no bind mount" "$(in_ctr app ls -laR /srv 2>&1 | head -n 10)"; diag_run "$P"
fi
# The line comes once the copy's answer is in, which can be after the file
# shows in the container.
check "... said in one line" wait_for 10 said app "synced (app/hello.txt created) in"
echo again >"$T/app/hello.txt"
mkdir -p "$T/app/sub/deeper"
sleep 0.3
echo deep >"$T/app/sub/deeper/deep.txt"
if wait_for 20 file_in app /srv/app/sub/deeper/deep.txt deep; then ok "sync copies a file in a folder made after the start"; else notok "sync copies a file in a folder made after the start"; diag_run "$P"; fi
# Waited for as the other copies, not taken as done because a later
# change's copy is in.
check "sync copies an edit" wait_for 10 file_in app /srv/app/hello.txt again
rm "$T/app/hello.txt"
if wait_for 20 eval '! in_ctr app test -e /srv/app/hello.txt'; then ok "sync removes a deleted file"; else notok "sync removes a deleted file"; diag_run "$P"; fi
mv "$T/app/sub/deeper/deep.txt" "$T/app/sub/moved.txt"
if wait_for 20 file_in app /srv/app/sub/moved.txt deep && wait_for 10 eval '! in_ctr app test -e /srv/app/sub/deeper/deep.txt'; then
    ok "sync follows a rename"
else
    notok "sync follows a rename" "$(in_ctr app ls -laR /srv/app 2>&1 | head -n 12)"
fi
sleep 0.5
check "sync does not restart the container" [ "$(count_out '^app *| started')" -eq 1 ]

# ---- sync+exec ----
echo hooked-content >"$T/hook/h.txt"
if wait_for 20 file_in app /tmp/hooked hooked-content; then ok "sync+exec copies, then runs the command in the container"; else notok "sync+exec copies, then runs the command in the container"; diag_run "$P"; fi
check "... its output is shown" wait_for 10 said app "exec: hook-ran"
check "... and one line says so" wait_for 10 said app "synced and ran the command (hook/h.txt created) in"

kill -INT "$TEND_PID"
if wait_tend 30; then ok "tend watch stops on Ctrl-C"; else notok "tend watch stops on Ctrl-C"; fi
[ "$fail" = 0 ] || diag_run "$P" 40
finish
