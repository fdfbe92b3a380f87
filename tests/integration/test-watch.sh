#!/bin/sh
# tend watch with host services, as a user sees it: an edit restarts the
# service once and it is ready again (one line saying what changed and how
# long it took); a burst of 5000 writes is one restart; ignored folders
# (defaults, .gitignore, the rule's ignore) cause nothing and hold no
# inotify watch; a folder made after the start is watched; renames and
# deletes are seen; x-tend watch turns watching on by itself and can send
# a signal instead of restarting; a change during a reload is queued and
# acted on once, after the service is ready. TAP output.
# Usage: test-watch.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

lines_of() { [ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }
# starts_are N: the service started exactly N times so far.
starts_are() { [ "$(lines_of "$T/starts")" -eq "$1" ]; }
starts_at_least() { [ "$(lines_of "$T/starts")" -ge "$1" ]; }
count_out() { cat "$T/$1.out" "$T/$1.err" 2>/dev/null | grep -cF -- "$2"; }
http_ok() { "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$1/', timeout=2)" 2>/dev/null; }

# ---- restart on edits ----
PORT=$(free_port)
mkdir -p "$T/src/lib/x" "$T/src/node_modules/a/b" "$T/src/.git" "$T/src/tmp" "$T/src/__pycache__" "$T/src/gen"
echo "print('v1')" >"$T/src/app.py"
echo old >"$T/src/lib/x/old.txt"
echo "gen/" >"$T/src/.gitignore"
cat >"$T/w.yaml" <<EOF
services:
  web:
    command: "date +%s%3N >>$T/starts; exec $PY -m http.server $PORT --bind 127.0.0.1 --directory $T/src"
    stop_grace_period: 2s
    develop:
      watch:
        - path: ./src
          action: restart
          ignore: [tmp/]
    x-tend:
      probe:
        http: http://127.0.0.1:$PORT/
      # The quiet period (100 ms by default), longer here: on a loaded
      # machine a writer paused for 100 ms would split the burst below.
      watch:
        debounce: 300ms
EOF
start_tend w watch
if wait_for 20 out_has w "watching src (restart)"; then ok "tend watch says what it watches"; else notok "tend watch says what it watches"; diag_run w; fi
wait_for 20 out_has w "all services ready" || { notok "the service is ready at first"; diag_run w; finish; }
# src, src/lib, src/lib/x: the ignored folders (node_modules, .git, tmp/,
# __pycache__, gen/ from .gitignore) hold no watch.
nw=$(tend_watches)
if [ "$nw" -eq 3 ]; then ok "3 watches: ignored folders hold none"; else notok "3 watches: ignored folders hold none" "tend holds $nw inotify watches"; fi

echo "print('v2')" >"$T/src/app.py"
if wait_for 10 out_has w "reloaded (src/app.py changed) in"; then
    ok "an edit is reported as one reload line naming the file"
else
    notok "an edit is reported as one reload line naming the file"; diag_run w
fi
sleep 0.5
check "the edit restarted the service exactly once" starts_are 2
check "the service answers again after the reload" http_ok "$PORT"
grep -o 'reloaded (src/app.py changed) in [0-9]* ms' "$T/w.out" | sed 's/^/# /'

# ignored paths: defaults, .gitignore, the rule's ignore
echo x >"$T/src/node_modules/a/b/f.js"
echo x >"$T/src/tmp/scratch"
echo x >"$T/src/.git/index"
echo x >"$T/src/__pycache__/app.pyc"
echo x >"$T/src/gen/out.txt"
echo x >"$T/src/.app.py.swp"
echo x >"$T/src/app.py~"
sleep 1
check "changes in ignored folders and editor files cause no restart" starts_are 2
check "... and no reload line" [ "$(count_out w 'reloaded (')" -eq 1 ]

# a burst of 5000 writes: one restart
"$PY" - "$T/src/burst" <<'EOF'
import os, sys
d = sys.argv[1]
os.mkdir(d)
for i in range(5000):
    with open(os.path.join(d, "f%04d.txt" % i), "w") as f:
        f.write("x")
EOF
if wait_for 20 out_has w "reloaded (5000 files changed) in"; then
    ok "a burst of 5000 writes is one reload of 5000 files"
else
    notok "a burst of 5000 writes is one reload of 5000 files" "$(grep 'reloaded' "$T/w.out" | tail -n 3)"
fi
sleep 1.5
check "the burst restarted the service exactly once" starts_are 3

# a nested folder made after the start is watched
mkdir -p "$T/src/n1/n2"
sleep 0.5
check "an empty new folder is no reason to restart" starts_are 3
echo deep >"$T/src/n1/n2/deep.txt"
if wait_for 10 out_has w "reloaded (src/n1/n2/deep.txt created)"; then ok "a file in a folder made after the start reloads"; else notok "a file in a folder made after the start reloads"; diag_run w; fi
wait_for 5 starts_are 4
check "... with one restart" starts_are 4

# renames and deletes
mv "$T/src/n1/n2/deep.txt" "$T/src/n1/n2/deeper.txt"
if wait_for 10 out_has w "reloaded (src/n1/n2/deep.txt renamed to src/n1/n2/deeper.txt)"; then ok "a rename is seen"; else notok "a rename is seen"; diag_run w; fi
wait_for 5 starts_are 5
rm "$T/src/lib/x/old.txt"
if wait_for 10 out_has w "reloaded (src/lib/x/old.txt deleted)"; then ok "a delete is seen"; else notok "a delete is seen"; diag_run w; fi
wait_for 5 starts_are 6
sleep 0.5
check "renames and deletes restarted it once each" starts_are 6
kill -INT "$TEND_PID"
wait_tend 15
check "tend watch stops on Ctrl-C" [ "$TEND_RC" = 0 ]

# ---- x-tend: watching without --watch, a signal instead of a restart ----
rm -f "$T/starts"
mkdir -p "$T/sig"
echo a=1 >"$T/sig/app.conf"
cat >"$T/s.yaml" <<EOF
services:
  conf:
    working_dir: ./sig
    command: "date +%s%3N >>$T/starts; trap 'echo got-hup' HUP; while :; do sleep 0.1; done"
    stop_grace_period: 1s
    x-tend:
      watch:
        enabled: true
        action: signal
        signal: SIGHUP
EOF
start_tend s up
wait_for 10 out_has s "watching sig (signal)" || { notok "x-tend watch.enabled watches the working folder without --watch"; diag_run s; }
[ "$fail" = 0 ] && ok "x-tend watch.enabled watches the working folder without --watch"
echo a=2 >"$T/sig/app.conf"
if wait_for 10 out_has s "got-hup"; then ok "the signal action sends SIGHUP"; else notok "the signal action sends SIGHUP"; diag_run s; fi
check "... said in one line" out_has s "sent SIGHUP (sig/app.conf changed)"
sleep 0.5
check "... and does not restart" starts_are 1
kill -INT "$TEND_PID"
wait_tend 15

# ---- a change during a reload is queued, not stacked ----
rm -f "$T/starts"
PORT2=$(free_port)
mkdir -p "$T/slow"
echo 1 >"$T/slow/v"
# The service comes back only once the gate (outside the watched folder) is
# open: the edits below are made while it is not ready, however slow the
# machine.
touch "$T/gate"
cat >"$T/q.yaml" <<EOF
services:
  slow:
    command: "date +%s%3N >>$T/starts; while [ ! -e $T/gate ]; do sleep 0.05; done; exec $PY -m http.server $PORT2 --bind 127.0.0.1 --directory $T/slow"
    stop_grace_period: 2s
    develop:
      watch:
        - path: ./slow
          action: restart
    x-tend:
      probe:
        http: http://127.0.0.1:$PORT2/
EOF
start_tend q watch
wait_for 20 out_has q "all services ready" || { notok "the slow service is ready at first"; diag_run q; }
rm "$T/gate"
echo 2 >"$T/slow/v"
wait_for 10 starts_are 2
# three more edits while it is coming back, then the gate opens
for i in 3 4 5; do
    sleep 0.25
    echo "$i" >"$T/slow/v"
done
sleep 0.25
touch "$T/gate"
wait_for 15 eval '[ "$(count_out q "reloaded (")" -ge 2 ]'
sleep 2
check "edits during a reload make one more restart, not three" starts_are 3
check "two reload lines" [ "$(count_out q 'reloaded (')" -eq 2 ]
check "the service is ready after the queued reload" http_ok "$PORT2"
kill -INT "$TEND_PID"
wait_tend 15
[ "$fail" = 0 ] || { diag_run w 40; diag_run q 30; }
finish
