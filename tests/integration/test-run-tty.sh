#!/bin/sh
# tend run and tend exec as interactive sessions, driven through a real
# pseudo-terminal: typed input reaches the command and is echoed by the
# container's terminal, the terminal's size and its changes reach the
# container, the exit status is passed through, --rm removes the one-off
# after its output was read; piped stdin without a terminal (-T), stdin left
# alone with --interactive=false; a host service's one-off gets the
# terminal's foreground. TAP output.
# Usage: test-run-tty.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

need_docker_images

P=tendtty$RUN$$
docker_project "$P"
cat >"$T/$P.yaml" <<EOF
services:
  box:
    image: tend/busybox
    command: ["sleep", "1000"]
    stop_grace_period: 1s
  hostjob:
    command: ["true"]
EOF
cleanup_docker() {
    docker ps -aq --filter "label=com.docker.compose.project=$P" | xargs -r docker rm -f >/dev/null 2>&1
    docker network ls -q --filter "label=com.docker.compose.project=$P" | xargs -r docker network rm >/dev/null 2>&1
}
trap 'cleanup_docker; cleanup' EXIT
cleanup_docker
oneoffs() { docker ps -aq --filter "label=com.docker.compose.project=$P" --filter "label=com.docker.compose.oneoff=True"; }

# A pty driver: runs ARGV on a terminal of 30x100, answers each expected
# text with the next input (a "resize RxC" step changes the terminal's
# size instead), and prints the exit status and everything shown.
cat >"$T/drive_pty.py" <<'PYEOF'
import fcntl, os, pty, select, signal, struct, sys, termios, time
steps, argv = sys.argv[1].split("|"), sys.argv[2:]
def setsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
pid, fd = pty.fork()
if pid == 0:
    setsize(0, 30, 100)
    os.execvp(argv[0], argv)
out, deadline = b"", time.time() + 90
def read_until(text):
    global out
    while text.encode() not in out:
        if time.time() > deadline:
            return False
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return text.encode() in out
            if not d:
                return False
            out += d
    return True
ok = True
for st in steps:
    want, _, send = st.partition("=>")
    if want and not read_until(want):
        ok = False
        break
    if send.startswith("resize "):
        r, c = send[7:].split("x")
        setsize(fd, int(r), int(c))
    elif send:
        os.write(fd, send.replace("\\r", "\r").encode())
while True:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        out += d
    elif time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
        break
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.stdout.write(f"exit={code} steps={'ok' if ok else 'stuck'}\n")
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
PYEOF
drive() { # NAME STEPS ARGV...: the driver's report in T/NAME.pty
    _n=$1 _s=$2
    shift 2
    "$PY" "$T/drive_pty.py" "$_s" "$@" >"$T/$_n.pty" 2>&1
}

# ---- run: a one-off with a terminal ----
# The resize goes from this terminal through tend to the engine: the
# command looks for the new size for up to 10 s (a loaded machine took
# more than the 0.3 s it once waited), then prints what it has.
drive run "ready=>hello\\r|got:hello=>resize 40x120|size:40 120=>\\r" \
    "$TEND" -p "$P" -f "$T/$P.yaml" run --rm box \
    sh -c 'stty size | sed "s/^/size:/"; echo ready; read x; echo "got:$x"; tty; i=0; while [ $i -lt 100 ] && [ "$(stty size)" != "40 120" ]; do sleep 0.1; i=$((i+1)); done; stty size | sed "s/^/size:/"; read y; exit 7'
if head -n 1 "$T/run.pty" | grep -qx 'exit=7 steps=ok'; then
    ok "run with a terminal: input reaches the command, its exit status passes through"
else
    notok "run with a terminal: input reaches the command, its exit status passes through"
    diag_file "$T/run.pty"
fi
# From the first moment only where the engine takes a size at create
# (ConsoleSize, API 1.42); before, it comes with a resize after the start.
api=$(docker version --format '{{.Server.APIVersion}}' 2>/dev/null)
if [ "${api%%.*}" = 1 ] && [ "${api#*.}" -lt 42 ] 2>/dev/null; then
    skip "the container's terminal has this terminal's size from its start" "the engine's API $api has no ConsoleSize"
elif grep -qx 'size:30 100' "$T/run.pty"; then
    ok "the container's terminal has this terminal's size from its start"
else
    notok "the container's terminal has this terminal's size from its start"
    diag_file "$T/run.pty"
fi
if grep -qx 'size:40 120' "$T/run.pty"; then ok "a resize of this terminal reaches the container's"; else notok "a resize of this terminal reaches the container's"; diag_file "$T/run.pty"; fi
if grep -qx 'hello' "$T/run.pty" && grep -qx '/dev/pts/[0-9]*' "$T/run.pty"; then
    ok "typed input is echoed by the container's terminal (raw mode here)"
else
    notok "typed input is echoed by the container's terminal (raw mode here)"
    diag_file "$T/run.pty"
fi
check "--rm removes the one-off once its output was read" test -z "$(oneoffs)"

# ---- run without a terminal ----
out=$(printf 'b\na\n' | "$TEND" -p "$P" -f "$T/$P.yaml" run --rm -T --no-deps box sort 2>"$T/pipe.err")
rc=$?
if [ $rc = 0 ] && [ "$out" = "$(printf 'a\nb')" ]; then ok "piped stdin reaches the one-off (-T: no terminal)"; else notok "piped stdin reaches the one-off (-T: no terminal)" "rc=$rc out=$out"; diag_file "$T/pipe.err"; fi
out=$(echo unread | "$TEND" -p "$P" -f "$T/$P.yaml" run --rm --interactive=false box sh -c 'cat; echo done; exit 3' 2>"$T/noi.err")
rc=$?
if [ $rc = 3 ] && [ "$out" = done ]; then ok "--interactive=false leaves stdin alone"; else notok "--interactive=false leaves stdin alone" "rc=$rc out=$out"; diag_file "$T/noi.err"; fi

# ---- exec with a terminal ----
"$TEND" -p "$P" -f "$T/$P.yaml" up -d --wait box >"$T/up.out" 2>&1
drive exec "ready=>hi\\r" "$TEND" -p "$P" -f "$T/$P.yaml" exec box sh -c 'echo ready; read x; echo "exec:$x"; exit 4'
if head -n 1 "$T/exec.pty" | grep -qx 'exit=4 steps=ok' && grep -qx 'exec:hi' "$T/exec.pty"; then
    ok "exec with a terminal: input and exit status"
else
    notok "exec with a terminal: input and exit status"
    diag_file "$T/exec.pty"
fi
"$TEND" -p "$P" -f "$T/$P.yaml" down >/dev/null 2>&1

# ---- a host one-off with the terminal ----
drive host "ready=>yes\\r" "$TEND" -p "$P" -f "$T/$P.yaml" run hostjob \
    sh -c 'echo ready; read x; echo "host:$x"; ps -o stat= -p $$; exit 5'
if head -n 1 "$T/host.pty" | grep -qx 'exit=5 steps=ok' && grep -qx 'host:yes' "$T/host.pty" &&
    grep -q '^S*s*+' "$T/host.pty"; then
    ok "a host one-off runs in the terminal's foreground: it reads it, exit status passed through"
else
    notok "a host one-off runs in the terminal's foreground: it reads it, exit status passed through"
    diag_file "$T/host.pty"
fi
finish
