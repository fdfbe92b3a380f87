#!/bin/sh
# Security checks, as a user's machine would meet them:
#   1. the control socket is private (0600 in a 0700 folder), refuses
#      another user, and survives malformed requests, a line over the
#      1 MiB limit, 64 MB without a newline and 300 idle connections;
#   2. secret values (secret-like variables: *_PASSWORD, *_TOKEN...; the
#      contents of a Compose `secrets:` file) appear nowhere: not in tend's
#      output, the log files, tend logs, tend ps, the events, the reasons
#      of a failure, the machine's process list, nor in tend config unless
#      --show-secrets;
#   3. published ports bind 127.0.0.1 unless the file names another
#      address (containers);
#   4. a missing bind mount source outside the project is made with a
#      warning; one inside is made quietly (containers).
# TAP output. Usage: test-security.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

PW=s3cr3t-pw-1234
TOK=tok-abcdef-5678
FILESECRET=file-secret-9876
mkdir -p "$T/proj"
cat >"$T/proj/.env" <<EOF
DB_PASSWORD=$PW
EOF
echo "$FILESECRET" >"$T/proj/key.txt"
cat >"$T/proj/compose.yaml" <<EOF
services:
  app:
    command: ["sh", "-c", "echo app-up \$\$DB_PASSWORD \$\$API_TOKEN; cat key.txt; exec sleep 1000", "$T-app"]
    environment:
      DB_PASSWORD: \${DB_PASSWORD}
      API_TOKEN: $TOK
      DATABASE_URL: postgres://app:\${DB_PASSWORD}@db/app
    secrets: [api_key]
  leaky:
    profiles: [leak]
    command: ["sh", "-c", "exec sleep 1000", "$T-leaky"]
    x-tend:
      seed:
        - exec: ["sh", "-c", "exit 3", "\${DB_PASSWORD}"]
secrets:
  api_key:
    file: ./key.txt
EOF
F="$T/proj/compose.yaml"
leaks() { # FILE...: the secret values found in them
    cat "$@" 2>/dev/null | grep -oE "$PW|$TOK|$FILESECRET" | sort -u | tr '\n' ' '
}
no_leak() { # DESC FILE...
    _d=$1
    shift
    _l=$(leaks "$@")
    if [ -z "$_l" ]; then ok "$_d"; else notok "$_d" "found: $_l"; fi
}

# ---- tend config ----
"$TEND" -f "$F" config >"$T/config.out" 2>&1
no_leak "tend config shows no secret value" "$T/config.out"
if grep -q 'DB_PASSWORD: "\?\*\*\*\*\*\*\*\*' "$T/config.out" && grep -q 'postgres://app:\*\*\*\*\*\*\*\*@db/app' "$T/config.out"; then
    ok "tend config masks them as ******** (inside other values too)"
else
    notok "tend config masks them as ******** (inside other values too)" "$(grep -E 'PASSWORD|TOKEN|URL' "$T/config.out")"
fi
"$TEND" -f "$F" config --show-secrets >"$T/config-shown.out" 2>&1
if grep -q "$PW" "$T/config-shown.out" && grep -q "$TOK" "$T/config-shown.out"; then
    ok "tend config --show-secrets shows them"
else
    notok "tend config --show-secrets shows them" "$(grep -E 'PASSWORD|TOKEN' "$T/config-shown.out")"
fi

# ---- a running stack ----
TEND_NAME=sec
(cd "$T/proj" && exec env --default-signal=INT,QUIT "$TEND" -p sec up --no-color) >"$T/sec.out" 2>"$T/sec.err" </dev/null &
TEND_PID=$!
tendc() { (cd "$T/proj" && "$TEND" -p sec "$@"); }
if wait_for 20 out_has sec "all services ready"; then ok "the stack comes up"; else notok "the stack comes up"; diag_run sec; fi
wait_for 10 out_has sec "app-up"
"$PY" - "$XDG_RUNTIME_DIR/tend/sec.sock" >"$T/events.out" 2>&1 <<'EOF' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"cmd":"events"}\n')
s.settimeout(8)
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        sys.stdout.write(d.decode("utf-8", "replace"))
        sys.stdout.flush()
except socket.timeout:
    pass
EOF
EV=$!
tendc restart app >/dev/null 2>&1
tendc wait --timeout 20 app >/dev/null 2>&1
tendc ps --format json >"$T/ps.out" 2>&1
tendc logs >"$T/logs.out" 2>&1
ps -eo args >"$T/proc.out"
wait "$EV"
no_leak "tend's output shows no secret value (the service printed them)" "$T/sec.out" "$T/sec.err"
if grep -q "app-up \*\*\*\*\*\*\*\* \*\*\*\*\*\*\*\*" "$T/sec.out"; then ok "they are shown as ********"; else notok "they are shown as ********" "$(grep app-up "$T/sec.out")"; fi
no_leak "the log files hold no secret value" "$XDG_STATE_HOME"/tend/sec/logs/*
no_leak "tend logs shows no secret value" "$T/logs.out"
no_leak "tend ps shows no secret value" "$T/ps.out"
no_leak "the events carry no secret value" "$T/events.out"
no_leak "no process's command line carries a secret value" "$T/proc.out"

# ---- the control socket ----
SOCK=$XDG_RUNTIME_DIR/tend/sec.sock
check "the socket is 0600" [ "$(stat -c %a "$SOCK")" = 600 ]
check "its folder is 0700" [ "$(stat -c %a "$(dirname "$SOCK")")" = 700 ]
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    if setpriv --reuid=nobody --regid=nogroup --clear-groups "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(0)
hello = s.recv(4096)
sys.exit(0 if b"permission denied" in hello else 1)' "$SOCK" 2>/dev/null; then
        ok "another user is refused"
    else
        notok "another user is refused"
    fi
else
    skip "another user is refused" "needs root and a nobody user"
fi
"$PY" - "$SOCK" >"$T/abuse.out" 2>&1 <<'EOF'
import json, os, socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(10)
    f = s.makefile("rb")
    json.loads(f.readline())  # hello
    return s, f
def say(ok, desc):
    print(("ok" if ok else "not ok") + "\t" + desc)
def rss():
    pid = int(open(sys.argv[1] + ".pid").read()) if os.path.exists(sys.argv[1] + ".pid") else None
    return pid
s, f = conn()
bad = [b"not json", b"[1,2]", b'{"cmd":5}', b'{"cmd":"nope"}', b'{"cmd":"logs","services":"x"}',
       b'{"cmd":"logs","services":[7]}', b'{"cmd":"wait","condition":"never"}',
       b'{"cmd":"logs","tail":-5,"since":"2026-01-02T00:00:00+0:3"}', b'{"cmd":"start","services":["nope"]}',
       b"\x00\xff\xfe garbage \x01", b"[" * 100000 + b"]" * 100000, b'{"id":' + b"9" * 5000 + b',"cmd":"ps"}']
answers = 0
for b in bad:
    s.sendall(b + b"\n")
    line = f.readline()
    try:
        v = json.loads(line)
        answers += isinstance(v, dict) and (v.get("ok") is False or "error" in v or v.get("ok") is True)
    except ValueError:
        pass
say(answers == len(bad), "each malformed request gets an error reply (%d/%d)" % (answers, len(bad)))
s.sendall(b'{"id":1,"cmd":"ps"}\n')
v = json.loads(f.readline())
say(v.get("ok") is True, "the connection still works after them")
s.close()
# A line over the 1 MiB limit: an error, then the connection closes.
s, f = conn()
try:
    s.sendall(b'{"cmd":"ps","pad":"' + b"x" * (2 << 20) + b'"}\n')
except OSError:
    pass  # closed on us half-way: what is asked
try:
    line = f.readline()
    rest = f.readline()
except OSError:
    line, rest = b"longer than (reset)", b""
say(b"longer than" in line and rest == b"", "a request over 1 MiB is refused and its connection closed")
s.close()
# 64 MB without a newline: cut off, not buffered.
s, f = conn()
sent = 0
t0 = time.time()
try:
    chunk = b"y" * (1 << 20)
    while sent < 64 << 20:
        s.sendall(chunk)
        sent += len(chunk)
except OSError:
    pass
say(sent < 64 << 20 or time.time() - t0 < 30, "64 MB without a newline is cut off (%d MB taken)" % (sent >> 20))
s.close()
# 300 idle connections, then a request on a new one.
many = [conn() for _ in range(300)]
s, f = conn()
s.sendall(b'{"cmd":"ps"}\n')
say(json.loads(f.readline()).get("ok") is True, "with 300 idle connections open tend still answers")
for c, _ in many:
    c.close()
EOF
if grep -q Traceback "$T/abuse.out"; then notok "the requests ran to their end" "$(tail -n 4 "$T/abuse.out")"; fi
grep "$TAB" "$T/abuse.out" | while IFS="$TAB" read -r st desc; do
    if [ "$st" = ok ]; then echo "ok - $desc"; else echo "not ok - $desc"; fi
done >"$T/abuse.tap"
while read -r st rest; do
    case $st in ok) ok "${rest#- }" ;; *) notok "${rest#ok - }" ;; esac
done <"$T/abuse.tap"
check "tend survived all of it" tend_alive
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$TEND_PID/status")
check "and its memory stayed small (${rss} kB)" [ "${rss:-999999}" -lt 65536 ]
if tendc ps >/dev/null 2>&1; then ok "tend ps still answers"; else notok "tend ps still answers"; fi
kill -INT "$TEND_PID"
wait_tend 20

# ---- a failure whose reason would carry a secret ----
(cd "$T/proj" && "$TEND" -p sec2 --profile leak up leaky --json) >"$T/leak.out" 2>&1
if grep -qF 'seed leaky: exec sh -c exit 3 ********: exit status 3' "$T/leak.out"; then
    ok "the failing seed step is named with the secret masked"
else
    notok "the failing seed step is named with the secret masked" "$(tail -n 5 "$T/leak.out")"
fi
no_leak "its failure reason carries no secret value" "$T/leak.out"

# ---- containers: ports and bind mounts ----
if [ ! -S /var/run/docker.sock ] && [ -z "${DOCKER_HOST:-}" ]; then
    skip "published ports and bind mounts" "no Docker engine on this machine"
    finish
fi
need_docker_images
P=tendsec$RUN$$
docker_project "$P"
P1=$(free_port)
P2=$(free_port)
cat >"$T/proj/ports.yaml" <<EOF
services:
  web:
    image: tend/busybox
    command: ["sh", "-c", "exec sleep 1000"]
    stop_grace_period: 1s
    ports: ["$P1:80", "0.0.0.0:$P2:81"]
    volumes: ["$T/outside/made:/outside", "./inside/made:/inside"]
EOF
"$TEND" -p "$P" -f "$T/proj/ports.yaml" up -d --wait >"$T/ports.out" 2>&1
bind=$(docker inspect -f '{{range $k, $v := .HostConfig.PortBindings}}{{$k}}={{(index $v 0).HostIp}} {{end}}' "$P-web-1" 2>/dev/null)
case $bind in
    *"80/tcp=127.0.0.1 "*"81/tcp=0.0.0.0 "*) ok "a port without an address binds 127.0.0.1; one that names 0.0.0.0 binds it ($bind)" ;;
    *) notok "a port without an address binds 127.0.0.1; one that names 0.0.0.0 binds it" "$bind" ;;
esac
check "the missing source outside the project was made" test -d "$T/outside/made"
if grep -qF "warning: made the bind mount source $T/outside/made, which is outside the project folder" "$T/ports.out" "$XDG_STATE_HOME/tend/$P/tend.log"; then
    ok "with a warning naming it"
else
    notok "with a warning naming it" "$(cat "$T/ports.out")"
fi
check "the one inside the project was made too" test -d "$T/proj/inside/made"
check "quietly" eval '! grep -q "inside/made, which is outside" "$T/ports.out" "$XDG_STATE_HOME/tend/$P/tend.log"'
"$TEND" -p "$P" -f "$T/proj/ports.yaml" down >/dev/null 2>&1
finish
