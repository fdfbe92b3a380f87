#!/bin/sh
# The docker compose commands against the real engine, without a running
# tend: create (containers made, not started), port, top, images, ls,
# pause/unpause, cp both ways, kill, rm (stopped containers only, -v for
# anonymous volumes, -s), version; their output beside docker compose v5's
# where scripts read it (port, top, images, ls --format json); and the same
# commands on containers docker compose made. TAP output.
# Usage: test-compose-cmds.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

need_docker_images
DC=$("$ROOT/scripts/compose-v5" 2>"$T/dc.err")
dc_rc=$?

P=tendcmd$RUN$$
C=tendcmdc$RUN$$ # the project docker compose makes
docker_project "$P" "$C"
cat >"$T/compose.yaml" <<EOF
services:
  web:
    image: tend/busybox
    command: ["httpd", "-f", "-p", "8080"]
    ports: ["127.0.0.1::8080"]
    stop_grace_period: 1s
  db:
    image: tend/busybox
    command: ["sleep", "1000"]
    volumes: ["/data"]
    stop_grace_period: 1s
EOF
cleanup_docker() {
    for _p in "$P" "$C"; do
        _vols=$(docker ps -aq --filter "label=com.docker.compose.project=$_p" |
            xargs -r docker inspect -f '{{range .Mounts}}{{.Name}} {{end}}' 2>/dev/null)
        docker ps -aq --filter "label=com.docker.compose.project=$_p" | xargs -r docker rm -f >/dev/null 2>&1
        [ -n "$_vols" ] && docker volume rm $_vols >/dev/null 2>&1
        # anonymous volumes of containers removed without -v, noted before
        [ -s "$T/anon-vols" ] && xargs -r docker volume rm <"$T/anon-vols" >/dev/null 2>&1
        docker network ls -q --filter "label=com.docker.compose.project=$_p" | xargs -r docker network rm >/dev/null 2>&1
    done
}
trap 'cleanup_docker; cleanup' EXIT
cleanup_docker
tend() { "$TEND" -p "$P" -f "$T/compose.yaml" "$@"; }
state() { docker inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }

# ---- create, start ----
tend create >"$T/create.out" 2>&1
rc=$?
if [ $rc = 0 ] && [ "$(state "$P-web-1")" = created ] && [ "$(state "$P-db-1")" = created ]; then
    ok "create makes the containers without starting them"
else
    notok "create makes the containers without starting them" "rc=$rc web=$(state "$P-web-1")"
    diag_file "$T/create.out"
fi
id1=$(docker inspect -f '{{.Id}}' "$P-web-1" 2>/dev/null)
tend create >"$T/create2.out" 2>&1
if [ "$(docker inspect -f '{{.Id}}' "$P-web-1" 2>/dev/null)" = "$id1" ]; then
    ok "a second create leaves an unchanged container as it is"
else
    notok "a second create leaves an unchanged container as it is"
fi
tend start >"$T/start.out" 2>&1
check "start starts what create made" test "$(state "$P-web-1")" = running

# ---- port ----
out=$(tend port web 8080 2>"$T/port.err")
rc=$?
want=$(docker port "$P-web-1" 8080/tcp | head -n 1)
if [ $rc = 0 ] && echo "$out" | grep -qx '127\.0\.0\.1:[0-9]*' && [ "$out" = "$want" ]; then
    ok "port prints 127.0.0.1:NNNN, where the engine published it"
else
    notok "port prints 127.0.0.1:NNNN, where the engine published it" "rc=$rc out=$out docker=$want"
fi
tend port web 9 >"$T/port9.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "no port 9/tcp for container $P-web-1: 8080/tcp" "$T/port9.out"; then
    ok "port of a port not published: exit 1 and the ports there are"
else
    notok "port of a port not published: exit 1 and the ports there are" "rc=$rc"
    diag_file "$T/port9.out"
fi

# ---- top, images ----
tend top >"$T/top.out" 2>&1
if head -n 1 "$T/top.out" | grep -q '^SERVICE  #   UID  *PID  *PPID  *C  *STIME  *TTY  *TIME  *CMD$' &&
    grep -q '^web  *1  .*httpd -f -p 8080$' "$T/top.out" && grep -q '^db  *1  .*sleep 1000$' "$T/top.out"; then
    ok "top lists each container's processes under SERVICE and #"
else
    notok "top lists each container's processes under SERVICE and #"
    diag_file "$T/top.out"
fi
tend images >"$T/images.out" 2>&1
imgid=$(docker inspect -f '{{.Id}}' tend/busybox | cut -c8-19)
if head -n 1 "$T/images.out" | grep -q '^CONTAINER  *REPOSITORY  *TAG  *PLATFORM  *IMAGE ID  *SIZE  *CREATED$' &&
    grep -q "^$P-web-1  *tend/busybox  *latest  *linux/[a-z0-9]*  *$imgid  *[0-9.]*[kMG]*B  " "$T/images.out"; then
    ok "images lists each container's image: repository, tag, platform, ID, size"
else
    notok "images lists each container's image: repository, tag, platform, ID, size"
    diag_file "$T/images.out"
fi

# ---- ls ----
tend ls --format json >"$T/ls.json" 2>"$T/ls.err"
if "$PY" -c 'import json, sys
v = [p for p in json.load(open(sys.argv[1])) if p["Name"] == sys.argv[2]]
sys.exit(not (v and v[0]["Status"] == "running(2)" and v[0]["ConfigFiles"] == sys.argv[3]))' "$T/ls.json" "$P" "$T/compose.yaml"; then
    ok "ls --format json lists the project: running(2) and its file"
else
    notok "ls --format json lists the project: running(2) and its file"
    diag_file "$T/ls.json"
fi

# ---- pause, unpause ----
tend pause web 2>"$T/pause.err"
if [ "$(state "$P-web-1")" = paused ] && grep -q "Container $P-web-1  Paused" "$T/pause.err"; then
    ok "pause freezes the container"
else
    notok "pause freezes the container" "state=$(state "$P-web-1")"
    diag_file "$T/pause.err"
fi
tend unpause web 2>/dev/null
check "unpause thaws it" test "$(state "$P-web-1")" = running

# ---- cp ----
mkdir -p "$T/tree/sub" "$T/back"
printf 'one\n' >"$T/tree/a.txt"
head -c 100000 /dev/urandom >"$T/tree/sub/blob"
ln -s a.txt "$T/tree/link"
tend cp "$T/tree/a.txt" web:/tmp/copied.txt 2>"$T/cp1.err" &&
    tend cp web:/tmp/copied.txt "$T/back/copied.txt" 2>>"$T/cp1.err"
if cmp -s "$T/tree/a.txt" "$T/back/copied.txt" && [ "$(docker exec "$P-web-1" cat /tmp/copied.txt)" = one ]; then
    ok "cp round-trips a file: to SERVICE:PATH and back"
else
    notok "cp round-trips a file: to SERVICE:PATH and back"
    diag_file "$T/cp1.err"
fi
tend cp "$T/tree" web:/tmp/ 2>"$T/cp2.err" && tend cp web:/tmp/tree "$T/back/tree2" 2>>"$T/cp2.err"
if cmp -s "$T/tree/sub/blob" "$T/back/tree2/sub/blob" && [ "$(readlink "$T/back/tree2/link")" = a.txt ] &&
    docker exec "$P-web-1" test -f /tmp/tree/sub/blob; then
    ok "cp copies a folder into an existing folder, and back under a new name (links kept)"
else
    notok "cp copies a folder into an existing folder, and back under a new name (links kept)"
    diag_file "$T/cp2.err"
fi
tend cp web:/tmp/tree/. "$T/back/" 2>"$T/cp3.err"
check "cp SERVICE:DIR/. copies what is in the folder" test -f "$T/back/sub/blob"
if tend cp web:/tmp/copied.txt - 2>/dev/null | tar tf - | grep -qx copied.txt; then
    ok "cp SERVICE:PATH - writes a tar stream"
else
    notok "cp SERVICE:PATH - writes a tar stream"
fi
tend cp web:/nonexistent "$T/back/" >"$T/cp4.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q 'Could not find the file /nonexistent' "$T/cp4.out"; then
    ok "cp of a missing file: exit 1 with the engine's words"
else
    notok "cp of a missing file: exit 1 with the engine's words" "rc=$rc"
    diag_file "$T/cp4.out"
fi

# ---- kill, rm ----
vol=$(docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$P-db-1")
tend kill db 2>"$T/kill.err"
if [ "$(state "$P-db-1")" = exited ] && [ "$(docker inspect -f '{{.State.ExitCode}}' "$P-db-1")" = 137 ] &&
    ! docker ps -q --filter "name=^$P-db-1\$" | grep -q .; then
    ok "kill: the container is gone from docker ps, exit code 137"
else
    notok "kill: the container is gone from docker ps, exit code 137" "state=$(state "$P-db-1")"
    diag_file "$T/kill.err"
fi
tend kill db >"$T/kill2.out" 2>&1
if grep -q 'No container to kill' "$T/kill2.out"; then ok "kill with nothing running says so"; else notok "kill with nothing running says so"; diag_file "$T/kill2.out"; fi
echo n | tend rm >"$T/rm1.out" 2>&1
if grep -q "Going to remove $P-db-1" "$T/rm1.out" && [ "$(state "$P-db-1")" = exited ]; then
    ok "rm asks first, and an answer other than y keeps the container"
else
    notok "rm asks first, and an answer other than y keeps the container"
    diag_file "$T/rm1.out"
fi
tend rm -f -v >"$T/rm2.out" 2>&1
if [ -z "$(state "$P-db-1")" ] && [ "$(state "$P-web-1")" = running ] && ! docker volume inspect "$vol" >/dev/null 2>&1; then
    ok "rm -f -v removes the stopped container and its anonymous volume, not the running one"
else
    notok "rm -f -v removes the stopped container and its anonymous volume, not the running one" "web=$(state "$P-web-1") vol=$vol"
    diag_file "$T/rm2.out"
fi
tend rm -f -s web >"$T/rm3.out" 2>&1
check "rm -s stops the container first, then removes it" test -z "$(state "$P-web-1")"

# ---- version ----
if "$TEND" version --short | grep -qx '[0-9][0-9.]*' && "$TEND" version --format json |
    "$PY" -c 'import json, sys; sys.exit(not json.load(sys.stdin)["version"])'; then
    ok "version --short and --format json"
else
    notok "version --short and --format json"
fi

# ---- beside docker compose v5, on containers it made ----
if [ $dc_rc = 77 ]; then
    skip "docker compose v5 beside tend" "Go is not installed (scripts/compose-v5)"
elif [ $dc_rc != 0 ]; then
    notok "docker compose v5 can be built" "$(tail -n 3 "$T/dc.err")"
else
    dc() { "$DC" -p "$C" -f "$T/compose.yaml" "$@"; }
    tc() { "$TEND" -p "$C" -f "$T/compose.yaml" "$@"; }
    dc up -d >"$T/dc-up.out" 2>&1
    a=$(tc port web 8080 2>&1)
    b=$(dc port web 8080 2>&1)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "port prints what docker compose port prints"; else notok "port prints what docker compose port prints" "tend: $a" "compose: $b"; fi
    a=$(tc port web 2>&1)
    b=$(dc port web 2>&1)
    if [ "$a" = "$b" ]; then ok "port without PRIVATE_PORT lists as compose does"; else notok "port without PRIVATE_PORT lists as compose does" "tend: $a" "compose: $b"; fi
    tc images --format json >"$T/ti.json" 2>&1
    dc images --format json >"$T/di.json" 2>&1
    tc images >"$T/ti.txt" 2>&1
    dc images >"$T/di.txt" 2>&1
    tc top >"$T/tt.txt" 2>&1
    dc top >"$T/dt.txt" 2>&1
    tc ls --format json >"$T/tl.json" 2>&1
    dc ls --format json >"$T/dl.json" 2>&1
    py_check "$T" "$C" <<'PYEOF'
import json, re, sys
T, C = sys.argv[1], sys.argv[2]
def load(n):
    with open(f"{T}/{n}") as f:
        return json.load(f)
ti, di = load("ti.json"), load("di.json")
key = lambda v: v["ContainerName"]
check(sorted(ti, key=key) == sorted(di, key=key), "images --format json equals docker compose's", f"{ti} | {di}")
def cols(n, skip_created=False):
    rows = [re.split(r"\s{2,}", l.rstrip()) for l in open(f"{T}/{n}") if l.strip()]
    return sorted(r[:-1] if skip_created else r for r in rows)
check(cols("ti.txt", True) == cols("di.txt", True), "images prints docker compose's table",
      f"{cols('ti.txt')} | {cols('di.txt')}")
tl = [p for p in load("tl.json") if p["Name"] == C]
dl = [p for p in load("dl.json") if p["Name"] == C]
check(tl == dl and len(tl) == 1, "ls --format json shows docker compose's project as compose does", f"{tl} | {dl}")
def top(n):
    lines = [l.rstrip("\n") for l in open(f"{T}/{n}")]
    return lines[0], sorted((l.split()[0], l.split()[-1]) for l in lines[1:])
check(top("tt.txt") == top("dt.txt"), "top prints docker compose's header and rows", f"{top('tt.txt')} | {top('dt.txt')}")
PYEOF
    tc pause web 2>/dev/null
    dc ps -a --format '{{.Service}} {{.State}}' >"$T/dps.txt" 2>&1
    tc unpause web 2>/dev/null
    if grep -qx 'web paused' "$T/dps.txt"; then ok "pause acts on a container docker compose made"; else notok "pause acts on a container docker compose made"; diag_file "$T/dps.txt"; fi
    tc kill 2>"$T/tkill.err"
    # rm -f without -v leaves their anonymous volumes, as docker compose's
    # does: noted here for the cleanup.
    dc ps -aq 2>/dev/null | xargs -r docker inspect -f '{{range .Mounts}}{{.Name}} {{end}}' 2>/dev/null |
        tr ' ' '\n' | grep . >>"$T/anon-vols"
    tc rm -f >"$T/trm.out" 2>&1
    if [ -z "$(dc ps -aq 2>/dev/null)" ]; then
        ok "kill and rm -f remove docker compose's containers"
    else
        notok "kill and rm -f remove docker compose's containers" "$(dc ps -a 2>&1)"
    fi
    dc down -v >/dev/null 2>&1
fi
finish
