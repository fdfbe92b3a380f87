#!/bin/sh
# Faults of the Docker engine, injected for real through engine-proxy, a
# socket in front of the engine's (the machine's engine itself is never
# restarted): tend's DOCKER_HOST is the proxy. Proves that:
#   1. the engine's socket going away mid-run is reported, tend reconnects
#      on its own once it is back, follows the running containers again
#      (their new output arrives) and restarts none of them;
#   2. a container that exits while the engine is away is seen as exited
#      once it is back (state read again from the engine);
#   3. a slow engine (300 ms per answer) only makes things slower: a
#      restart through it completes;
#   4. an engine that answers malformed or truncated HTTP gives clear
#      errors; tend neither crashes nor hangs, answers on its control
#      socket, and works again once the engine does;
#   5. Ctrl-C while the engine is away stops tend within the grace period
#      with a clear message instead of waiting for the engine forever;
#   6. the named volume keeps every line written into it across all this.
# Ends with a summary line (faults injected, orphans, data lost, hangs).
# TAP output. Usage: test-engine.sh TEND_BINARY ENGINE_PROXY
. "$(dirname "$0")/../integration/lib.sh" "$@"
PROXY=${2:?usage: $0 TEND ENGINE_PROXY}

REAL=${DOCKER_HOST:-unix:///var/run/docker.sock}
case $REAL in
    unix://*) REAL_SOCK=${REAL#unix://} ;;
    *) skip_all "the engine is not on a unix socket ($REAL)" ;;
esac
[ -S "$REAL_SOCK" ] || skip_all "no Docker engine on this machine ($REAL_SOCK is absent)"
command -v docker >/dev/null || skip_all "the docker CLI is not installed"
need_docker_images

P=tendfe$RUN$$
docker_project "$P"
PSOCK=$T/engine.sock
MODE=$T/engine.mode
INJECTED=0
HANGS=0
LOST=0

# The proxy reads its mode file every 50 ms: a request of the test's own
# through it tells when a mode is in force (the engine's answer to _ping is
# OK; garble answers a cut JSON body; truncate 40 leaves not even the
# headers; delay makes the answer wait).
ping_proxy() { curl -s -m 5 --unix-socket "$PSOCK" http://engine/_ping 2>/dev/null; }
in_force() { # MODE... (as one word or several)
    # shellcheck disable=SC2048,SC2086
    set -- $*
    case $1 in
        down) [ ! -S "$PSOCK" ] ;;
        pass) [ "$(ping_proxy)" = OK ] ;;
        garble) ping_proxy | grep -q '"Id": "abc"' ;;
        truncate) [ -S "$PSOCK" ] && [ "$(ping_proxy)" != OK ] ;;
        delay)
            _t=$(now_ms)
            ping_proxy >/dev/null
            [ $(($(now_ms) - _t)) -ge "$2" ]
            ;;
    esac
}
mode() { # MODE...: what the proxy does from now on, once it does it
    echo "$*" >"$MODE.new" && mv "$MODE.new" "$MODE"
    [ "$*" = pass ] || INJECTED=$((INJECTED + 1))
    wait_for 10 in_force "$@" || echo "# the proxy did not take mode \"$*\" within 10 s"
}
echo pass >"$MODE"
"$PROXY" "$PSOCK" "$REAL_SOCK" "$MODE" >"$T/proxy.out" 2>&1 &
PROXY_PID=$!
if ! wait_for 10 test -S "$PSOCK"; then
    notok "the engine proxy listens" "$(cat "$T/proxy.out")"
    finish
fi

cat >"$T/$P.yaml" <<EOF
services:
  store:
    image: tend/busybox
    command: ["sh", "-c", "echo started >> /data/starts; i=0; while :; do i=\$\$((i+1)); echo tick \$\$i; sleep 0.2; done"]
    volumes: ["data:/data"]
    stop_grace_period: 1s
  worker:
    image: tend/busybox
    command: ["sh", "-c", "echo worker-up; exec sleep 1000"]
    stop_grace_period: 1s
    restart: "no"
volumes:
  data: {}
EOF

# tend through the proxy; the test's own docker commands go to the engine.
tendp() { DOCKER_HOST=unix://$PSOCK "$TEND" -p "$P" -f "$T/$P.yaml" "$@"; }
TEND_NAME=$P
env --default-signal=INT,QUIT DOCKER_HOST="unix://$PSOCK" "$TEND" -p "$P" -f "$T/$P.yaml" up --no-color \
    >"$T/$P.out" 2>"$T/$P.err" </dev/null &
TEND_PID=$!

# waited SECONDS DESC CMD...: a wait that must not time out (a hang).
waited() {
    _s=$1
    _d=$2
    shift 2
    if wait_for "$_s" "$@"; then ok "$_d"; else HANGS=$((HANGS + 1)); notok "$_d" "waited $_s s"; diag_run "$P" 15; fi
}
started_at() { docker inspect -f '{{.State.StartedAt}}' "$P-$1-1" 2>/dev/null; }
# Lines of tend's output after the last line holding TEXT.
after_last() { awk -v t="$1" 'index($0, t) { n = NR } { l[NR] = $0 } END { for (i = n + 1; i <= NR; i++) print l[i] }' "$T/$P.out"; }
ticks_after() { [ "$(after_last "$1" | grep -c '^store .*| tick ')" -ge "$2" ]; }
state_of() { # SERVICE: its state and exit status in tend ps
    tendp ps --format json 2>/dev/null | "$PY" -c 'import json,sys
for s in json.load(sys.stdin):
    if s.get("service") == sys.argv[1]: print(s.get("state"), s.get("exit_status"))' "$1"
}
count() { grep -c "$1" "$T/$P.out"; }

waited 90 "tend up through the proxy brings both containers up" grep -q 'all services ready' "$T/$P.out"
before=$(started_at store)

# ---- 1. the socket goes away, then comes back ----
mode down
waited 15 "the engine going away is reported" out_has "$P" "lost the Docker engine at $PSOCK"
sleep 1
check "tend keeps running while the engine is away" tend_alive
mode pass
waited 20 "tend reconnects on its own once the engine is back" out_has "$P" "reconnected to the Docker engine"
waited 20 "the running container is followed again (its new output arrives)" ticks_after "reconnected to the Docker engine" 3
check "the container was not restarted (same start time)" [ "$(started_at store)" = "$before" ]

# ---- 2. a container exits while the engine is away ----
mode down
waited 15 "the second loss is reported too" eval '[ "$(count "lost the Docker engine")" -ge 2 ]'
docker kill "$P-worker-1" >/dev/null 2>&1
mode pass
waited 20 "tend reconnects again" eval '[ "$(count "reconnected to the Docker engine")" -ge 2 ]'
# Seen from the events read again since the loss, it is another client's
# kill (exited, told); seen first from reading the container again, a
# failure: both carry the status.
waited 15 "the exit that happened meanwhile is seen (worker exited or failed, status 137)" \
    eval 'case "$(state_of worker)" in "failed 137" | "exited 137") true ;; *) false ;; esac'

# ---- 3. a slow engine ----
mode delay 300
t0=$(now_ms)
tendp restart store >"$T/restart-slow.out" 2>&1
waited 60 "a restart through a slow engine completes" eval 'tendp wait --timeout 1 store >/dev/null 2>&1'
echo "# restart through a 300 ms engine took $(($(now_ms) - t0)) ms"
check "the slow restart really restarted the container" [ "$(started_at store)" != "$before" ]
mode pass

# ---- 4. malformed and truncated answers ----
failures() { grep -cE "^worker .*(cannot|failed).*engine" "$T/$P.out"; }
for bad in garble "truncate 40"; do
    tendp stop worker >/dev/null 2>&1
    tendp wait --stopped --timeout 20 worker >/dev/null 2>&1
    seen=$(failures)
    mode "$bad"
    tendp start worker >"$T/bad.out" 2>&1
    waited 20 "$bad: starting a service through it fails with a clear error" eval '[ "$(failures)" -gt "$seen" ]'
    check "$bad: tend is still running" tend_alive
    if tendp ps >/dev/null 2>&1; then ok "$bad: tend still answers on its control socket"; else notok "$bad: tend still answers on its control socket"; fi
    mode pass
    tendp start worker >/dev/null 2>&1
    waited 30 "$bad: once the engine answers properly the service starts" eval 'tendp wait --started --timeout 1 worker >/dev/null 2>&1'
done

# ---- 5. Ctrl-C while the engine is away ----
mode down
waited 15 "the engine's last loss is reported" eval '[ "$(count "lost the Docker engine")" -ge 3 ]'
kill -INT "$TEND_PID"
if wait_tend 20; then ok "Ctrl-C with the engine away stops tend (no hang)"; else HANGS=$((HANGS + 1)); notok "Ctrl-C with the engine away stops tend (no hang)"; diag_run "$P"; fi
if out_has "$P" "the Docker engine is unreachable"; then ok "it says the containers are left as they are"; else notok "it says the containers are left as they are"; diag_run "$P"; fi
mode pass

# ---- the data, and what is left ----
"$TEND" -p "$P" -f "$T/$P.yaml" down >"$T/down.out" 2>&1
starts=$(docker run --rm -v "${P}_data:/data" tend/busybox cat /data/starts 2>/dev/null | grep -c started)
if [ "$starts" -ge 2 ]; then ok "the named volume kept every line ($starts starts)"; else LOST=1; notok "the named volume kept every line" "starts=$starts"; fi
left=$(docker ps -aq --filter "label=com.docker.compose.project=$P" | wc -l)
check "tend down removes every container afterwards (orphans: $left)" [ "$left" = 0 ]
kill "$PROXY_PID" 2>/dev/null
echo "# fault summary: test=engine injected=$INJECTED rounds=1 orphans=$left data_lost=$LOST hangs=$HANGS"
finish
