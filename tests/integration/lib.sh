# Shared helpers for the `tend up` integration tests (sourced, not run).
#   . "$(dirname "$0")/lib.sh" "$@"
# Gives: TEND (the binary, $1), T (a private temp folder, also the marker
# found in the command line of every process a test starts), PY, TAP helpers
# (ok, notok, check, skip, skip_all, finish), free_port, wait_for, now_ms,
# start_tend/wait_tend/tend_alive/out_has/diag_run for one tend in the
# background, pid_alive, alive_of, group_pids, leftovers, port_listening,
# py_check, diag_file, need_docker_images, docker_remove, docker_project.
# On exit, for any reason, every process carrying the marker is killed, the
# engine projects the test named are removed and T too (TEND_KEEP_TMP=1
# keeps T to look at); a janitor in a session of its own does it when the
# test is killed (meson's timeout).
# RUN is scripts/test's run id (TEND_TEST_RUN, empty outside it): engine
# project names carry it (P=tendxx$RUN$$) so that the run can tell its own
# leftovers from another's.
set -u
TEND=${1:?usage: $0 TEND_BINARY}
RUN=${TEND_TEST_RUN:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/tend-up-XXXXXX") || exit 1
# This folder (tests/integration), for tests here and in tests/faults.
LIBDIR=$(cd "$(dirname "$0")" && pwd)
[ -f "$LIBDIR/cleanup.sh" ] || LIBDIR=$(cd "$LIBDIR/../integration" && pwd)
. "$LIBDIR/cleanup.sh"
# The janitor gets T through its environment: on its command line it would
# carry the marker kill_leftovers kills by.
TEND_JANITOR_DIR=$T setsid sh "$LIBDIR/janitor.sh" $$ </dev/null >/dev/null 2>&1 &
# Servers started as another user (postgres) must reach their folders.
chmod 755 "$T"
# Service log files and control sockets land in the temp folder, not in
# the user's home or runtime folder: a tend killed with -9 leaves its socket.
export XDG_STATE_HOME="$T/state"
export XDG_RUNTIME_DIR="$T/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"
# So do the stamps `tend ps` keeps when XDG_RUNTIME_DIR is not set; the
# cache of scripts/compose-v5 stays where it is.
export TEND_CACHE="${TEND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tend}"
export XDG_CACHE_HOME="$T/cache"
export NO_COLOR=1
unset TEND_DEBUG COMPOSE_FILE COMPOSE_PROFILES TEND_PROFILES COMPOSE_PROJECT_NAME

# Debian's interpreter: the python3 first on PATH may be a pyenv shim
# without a version selected.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

TAB=$(printf '\t')
n=0
fail=0
TEND_PID=
TEND_RC=
TEND_NAME=

# ---- TAP ----

ok() { n=$((n + 1)); echo "ok $n - $1"; }
# notok DESC [DIAG_LINE...]
notok() {
    n=$((n + 1))
    fail=1
    echo "not ok $n - $1"
    shift
    for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
# check DESC CMD...: ok when CMD succeeds.
check() {
    _d=$1
    shift
    if "$@"; then ok "$_d"; else notok "$_d" "failed: $*"; fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# The whole script cannot run here (a program is missing): one skipped test.
skip_all() {
    echo "ok 1 # SKIP $1"
    echo "1..1"
    exit 0
}
# Prints the plan and exits with the verdict.
finish() {
    echo "1..$n"
    exit $fail
}
# diag_file FILE [LINES]: the end of a file as TAP comments.
diag_file() {
    [ -f "$1" ] || return 0
    echo "#   --- $(basename "$1") (last ${2:-25} lines)"
    tail -n "${2:-25}" "$1" | cut -c1-300 | sed 's/^/#   | /'
}

# ---- time and polling ----

now_ms() { date +%s%3N; }

# wait_for SECONDS CMD...: polls CMD every 50 ms; 1 if it never succeeded.
wait_for() {
    _deadline=$(($(now_ms) + $1 * 1000))
    shift
    while ! "$@"; do
        [ "$(now_ms)" -ge "$_deadline" ] && return 1
        sleep 0.05
    done
    return 0
}

# A port nobody listens on right now (the kernel's choice for port 0).
free_port() {
    "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

port_listening() {
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# pid_alive PID: exists and is not a zombie.
pid_alive() {
    [ -r "/proc/$1/stat" ] || return 1
    _st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$_st" ] && [ "$_st" != Z ]
}

# Live processes carrying the marker, other than this script; "pid cmdline"
# per line.
leftovers() {
    for _p in $(pgrep -f "$T"); do
        [ "$_p" = $$ ] && continue
        pid_alive "$_p" || continue
        printf '%s %s\n' "$_p" "$(tr '\0' ' ' <"/proc/$_p/cmdline" 2>/dev/null | cut -c1-200)"
    done
}

# Every process in the process groups of the marked processes (the services'
# groups under tend's shim), one pid per line; servers that rename their
# processes (postgres workers, redis) are found through their group. The
# groups are remembered for the cleanup.
group_pids() {
    _mypg=$(ps -o pgid= -p $$ | tr -d ' ')
    for _p in $(pgrep -f "$T"); do
        _pg=$(ps -o pgid= -p "$_p" 2>/dev/null | tr -d ' ')
        if [ -n "$_pg" ] && [ "$_pg" != "$_mypg" ]; then
            echo "$_pg" >>"$T/pgids"
            pgrep -g "$_pg"
        fi
    done | sort -u
}

# alive_of PID...: those still alive, with their command lines.
alive_of() {
    for _p in "$@"; do
        pid_alive "$_p" && printf '%s %s\n' "$_p" "$(tr '\0' ' ' <"/proc/$_p/cmdline" 2>/dev/null | cut -c1-200)"
    done
}

# ---- tend in the background ----

# start_tend NAME ARGS...: runs `tend -p NAME -f $T/NAME.yaml ARGS...` in the
# background; stdout to $T/NAME.out, stderr to $T/NAME.err. SIGINT is reset
# to its default: a shell without job control starts background commands
# with it ignored, a terminal user's tend has it.
start_tend() {
    TEND_NAME=$1
    shift
    TEND_RC=
    # Emptied here, not only by the background command's redirection, which
    # may come later: a wait for a line must not find the last run's.
    : >"$T/$TEND_NAME.out"
    : >"$T/$TEND_NAME.err"
    env --default-signal=INT,QUIT "$TEND" -p "$TEND_NAME" -f "$T/$TEND_NAME.yaml" "$@" \
        >"$T/$TEND_NAME.out" 2>"$T/$TEND_NAME.err" </dev/null &
    TEND_PID=$!
}

tend_alive() { [ -n "$TEND_PID" ] && pid_alive "$TEND_PID"; }

# wait_tend SECONDS: waits for tend to exit; sets TEND_RC and TEND_END_MS.
# When it does not exit in time it is killed (TEND_RC 137) and 1 returned.
wait_tend() {
    _r=0
    if ! wait_for "$1" eval '! tend_alive'; then
        kill -KILL "$TEND_PID" 2>/dev/null
        _r=1
    fi
    TEND_END_MS=$(now_ms)
    wait "$TEND_PID"
    TEND_RC=$?
    TEND_PID=
    return $_r
}

# out_has NAME TEXT: tend's output (stdout and stderr) holds TEXT.
out_has() {
    cat "$T/$1.out" "$T/$1.err" 2>/dev/null | grep -qF -- "$2"
}

# The inotify watches the running tend ($TEND_PID) holds (lines "inotify wd:" of its inotify fd).
tend_watches() {
    for _fd in /proc/"$TEND_PID"/fd/*; do
        if [ "$(readlink "$_fd" 2>/dev/null)" = "anon_inode:inotify" ]; then
            grep -c '^inotify' "/proc/$TEND_PID/fdinfo/${_fd##*/}"
            return
        fi
    done
    echo 0
}

# Shows a failed run's output.
diag_run() {
    diag_file "$T/$1.out" "${2:-25}"
    diag_file "$T/$1.err" "${2:-25}"
}

# ---- checks in Python ----

# py_check ARGS... <<'EOF' ... EOF: runs the script after a prelude that
# gives check(cond, desc, detail) and events(path); each check becomes a
# TAP line here.
PY_PRELUDE='import json, re, sys
def check(cond, desc, detail=""):
    d = str(detail).replace("\n", " | ").replace("\t", " ")[:600]
    print(("ok" if cond else "not ok") + "\t" + desc + "\t" + d)
    return cond
def events(path):
    """The JSON objects of a tend --json output, in order."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                v = json.loads(line)
            except ValueError:
                continue
            if isinstance(v, dict):
                out.append(v)
    return out
def index_of(evs, **kw):
    """Index of the first event whose fields equal kw, or None."""
    for i, e in enumerate(evs):
        if all(e.get(k) == v for k, v in kw.items()):
            return i
    return None
'
py_check() {
    { printf '%s\n' "$PY_PRELUDE"; cat; } | "$PY" - "$@" >"$T/py.out" 2>"$T/py.err"
    _prc=$?
    while IFS="$TAB" read -r _st _desc _detail; do
        if [ "$_st" = ok ]; then ok "$_desc"; else notok "$_desc" "$_detail"; fi
    done <"$T/py.out"
    if [ $_prc -ne 0 ]; then notok "the Python check ran to its end" "$(tail -n 8 "$T/py.err")"; fi
}

# ---- the Docker engine ----

# Tests of containers: the whole script is skipped without an engine; the
# test images are made (scripts/make-images), or the script ends failed.
# Sets ROOT (the source tree).
need_docker_images() {
    if [ ! -S /var/run/docker.sock ] && [ -z "${DOCKER_HOST:-}" ]; then
        skip_all "no Docker engine on this machine (/var/run/docker.sock is absent)"
    fi
    ROOT=$(cd "$(dirname "$0")/../.." && pwd)
    if ! "$ROOT/scripts/make-images" >"$T/images.log" 2>&1; then
        notok "the test images can be made" "$(tail -n 5 "$T/images.log")"
        finish
    fi
}

# docker_remove PROJECT: removes one project's containers, networks and
# volumes now, found by their labels (the end of the test removes every
# project named with docker_project, images too).
docker_remove() {
    docker ps -aq --filter "label=com.docker.compose.project=$1" | xargs -r docker rm -f >/dev/null 2>&1
    docker network ls -q --filter "label=com.docker.compose.project=$1" | xargs -r docker network rm >/dev/null 2>&1
    docker volume ls -q --filter "label=com.docker.compose.project=$1" | xargs -r docker volume rm >/dev/null 2>&1
}

# ---- cleanup ----

# docker_project NAME...: the test makes these engine projects; they are
# removed at its end, by label (containers, networks, volumes, images).
docker_project() {
    for _p in "$@"; do echo "$_p" >>"$T/projects"; done
}

cleanup() {
    if [ -n "$TEND_PID" ]; then
        kill -KILL "$TEND_PID" 2>/dev/null
        wait "$TEND_PID" 2>/dev/null
        TEND_PID=
    fi
    kill_leftovers
    docker_cleanup
    unmount_leftovers
    if [ "${TEND_KEEP_TMP:-}" = 1 ]; then
        echo "# kept $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
