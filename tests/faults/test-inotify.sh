#!/bin/sh
# inotify pushed past its limits, with `tend watch` on a tree:
#   1. the watch limit is reached (a user namespace whose
#      user.max_inotify_watches is 20, for a tree of 60 folders; the
#      machine's own limit is not touched): tend says so, looks for
#      changes every second instead, and still sees every change: a file
#      deep in the tree, a new folder and its file, a deletion;
#   2. a storm of 100,000 file events (34,000 files created and written
#      in 50 watched folders while tend is stopped, so that the kernel's
#      queue of 16,384 overflows): tend says so, rescans, reloads once with
#      all of it seen, and keeps watching afterwards.
# Ends with a summary line. TAP output. Usage: test-inotify.sh TEND_BINARY
. "$(dirname "$0")/../integration/lib.sh" "$@"

HANGS=0
seen_has() { grep -q "$1" "$T/seen" 2>/dev/null; }
starts() { [ -f "$T/seen" ] && wc -l <"$T/seen" | tr -d ' ' || echo 0; }
project() { # NAME: a service that says, at each start, what it finds in src
    cat >"$T/$1.yaml" <<EOF
services:
  web:
    command: ["sh", "-c", "echo \"files=\$\$(find src -type f | wc -l) last=\$\$(cat src/last 2>/dev/null)\" >>'$T/seen'; exec sleep 1000", "$T-web"]
    stop_grace_period: 1s
    develop:
      watch:
        - path: ./src
          action: restart
EOF
}
waited() { # SECONDS DESC CMD...
    _s=$1
    _d=$2
    shift 2
    if wait_for "$_s" "$@"; then ok "$_d"; else HANGS=$((HANGS + 1)); notok "$_d" "waited $_s s"; diag_run "$TEND_NAME" 15; fi
}

# ---- 1. the watch limit ----
if ! unshare -U -r sh -c 'echo 20 >/proc/sys/user/max_inotify_watches' 2>"$T/unshare.err"; then
    skip "the watch limit" "no user namespace with its own inotify limit here: $(cat "$T/unshare.err")"
else
    mkdir -p "$T/src"
    i=0
    while [ $i -lt 60 ]; do
        mkdir -p "$T/src/d$i/e"
        echo "$i" >"$T/src/d$i/e/f"
        i=$((i + 1))
    done
    project lim
    # tend in a user namespace of its own, limited to 20 watches.
    cat >"$T/tend-limited" <<EOF
#!/bin/sh
exec unshare -U -r sh -c 'echo 20 >/proc/sys/user/max_inotify_watches && exec "\$0" "\$@"' "$TEND" "\$@"
EOF
    chmod +x "$T/tend-limited"
    REAL=$TEND
    TEND=$T/tend-limited
    start_tend lim watch --no-color
    TEND=$REAL
    waited 20 "the service starts" eval '[ "$(starts)" -ge 1 ]'
    waited 10 "the watch limit is reported, and polling takes over" out_has lim "looking for changes every second instead"
    if out_has lim "watching src (restart, looked at every second)"; then ok "tend says the tree is looked at every second"; else notok "tend says the tree is looked at every second"; diag_run lim; fi
    c0=$(starts)
    echo deep >"$T/src/d45/e/deep"
    waited 10 "a change deep in the tree is seen" out_has lim "reloaded (src/d45/e/deep created)"
    waited 10 "and the service restarted for it" eval '[ "$(starts)" -gt "$c0" ]'
    c0=$(starts)
    mkdir -p "$T/src/new/sub"
    echo made >"$T/src/new/sub/x"
    waited 10 "a new folder and its file are seen" eval '[ "$(starts)" -gt "$c0" ]'
    c0=$(starts)
    rm -rf "$T/src/d7"
    waited 10 "a deletion is seen" eval '[ "$(starts)" -gt "$c0" ]'
    kill -INT "$TEND_PID"
    if wait_tend 20; then ok "tend stops"; else HANGS=$((HANGS + 1)); notok "tend stops"; fi
    rm -rf "$T/src" "$T/seen"
fi

# ---- 2. a storm of 100,000 events ----
mkdir -p "$T/src"
echo start >"$T/src/last"
project storm
start_tend storm watch --no-color
waited 20 "tend watches the tree" out_has storm "watching src (restart)"
waited 20 "the service starts" eval '[ "$(starts)" -ge 1 ]'
# 50 folders, watched before the storm (events in a folder not watched yet
# are not queued: its scan finds the files instead).
i=0
while [ $i -lt 50 ]; do
    mkdir "$T/src/storm$(printf %02d $i)"
    i=$((i + 1))
done
# src and the 50 folders: tend adds a watch for each new folder as it hears
# of it.
waited 20 "the new folders are watched" eval '[ "$(tend_watches)" -ge 51 ]'
kill -STOP "$TEND_PID"
# 680 files in each, created, written and closed: 3 events each
# (IN_CREATE, IN_MODIFY, IN_CLOSE_WRITE), 102,000 in all.
"$PY" - "$T/src" <<'EOF'
import os, sys
root = sys.argv[1]
for d in range(50):
    p = os.path.join(root, "storm%02d" % d)
    for f in range(680):
        with open(os.path.join(p, "f%03d" % f), "w") as fh:
            fh.write("x")
with open(os.path.join(root, "last"), "w") as fh:
    fh.write("after-storm")
EOF
c0=$(starts)
kill -CONT "$TEND_PID"
waited 30 "the queue overflow is reported and the tree rescanned" out_has storm "file events overflowed; rescanned web's tree src"
waited 30 "the service is reloaded after the storm" eval '[ "$(starts)" -gt "$c0" ]'
waited 20 "the reload saw every file of the storm and the last change" seen_has "files=34001 last=after-storm"
reloads=$(($(starts) - c0))
check "one storm, few reloads ($reloads)" [ "$reloads" -le 2 ]
sleep 1.5
c0=$(starts)
echo again >"$T/src/storm42/f100"
waited 10 "after the storm a change is still seen" eval '[ "$(starts)" -gt "$c0" ]'
kill -INT "$TEND_PID"
if wait_tend 20; then ok "tend stops"; else HANGS=$((HANGS + 1)); notok "tend stops"; fi
left=$(leftovers | wc -l)
check "no process is left" [ "$left" = 0 ]
echo "# fault summary: test=inotify injected=2 rounds=1 events=100000 orphans=$left data_lost=0 hangs=$HANGS"
finish
