#!/bin/sh
# The disk of the log files fills up: $XDG_STATE_HOME is a small tmpfs,
# most of it taken by a filler file, and a service writes lines fast. Proves
# that:
#   1. the services go on running (and their output still reaches the
#      terminal) while the log files cannot be written;
#   2. tend says so once, not once per line or per service;
#   3. the log file keeps only whole lines (a line cut by the full disk is
#      taken back out);
#   4. once there is room again, writing resumes on its own and tend says
#      how many lines were left out.
# Needs root (mount). Ends with a summary line. TAP output.
# Usage: test-logdisk.sh TEND_BINARY
. "$(dirname "$0")/../integration/lib.sh" "$@"

[ "$(id -u)" = 0 ] || skip_all "mounting a tmpfs needs root"
mkdir -p "$XDG_STATE_HOME"
if ! mount -t tmpfs -o size=512k,mode=0700 tend-faults-logdisk "$XDG_STATE_HOME" 2>"$T/mount.err"; then
    skip_all "cannot mount a tmpfs here: $(cat "$T/mount.err")"
fi
echo "$XDG_STATE_HOME" >>"$T/mounts"
dd if=/dev/zero of="$XDG_STATE_HOME/filler" bs=1k count=420 2>/dev/null

P=ld
LOG=$XDG_STATE_HOME/tend/$P/logs/chatty.log
cat >"$T/$P.yaml" <<EOF
services:
  chatty:
    command: ["sh", "-c", "i=0; while :; do i=\$\$((i+1)); echo \"line \$\$i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"; sleep 0.002; done", "$T-chatty"]
  steady:
    command: ["sh", "-c", "i=0; while :; do i=\$\$((i+1)); echo \$\$i >'$T/steady'; sleep 0.1; done", "$T-steady"]
EOF
warnings() { grep -c 'log files: No space left on device' "$T/$P.out"; }
lines_out() { grep -c '^chatty *| line ' "$T/$P.out"; }
HANGS=0

start_tend "$P" up --no-color
if wait_for 20 eval '[ "$(warnings)" -ge 1 ]'; then
    ok "a full disk for the log files is reported"
else
    HANGS=$((HANGS + 1))
    notok "a full disk for the log files is reported" "$(df -h "$XDG_STATE_HOME" | tail -n 1)"
    diag_run "$P"
fi
s1=$(cat "$T/steady" 2>/dev/null)
o1=$(lines_out)
# 2 s for a warning said again to show; the services' progress is waited
# for besides (it is there long before on a machine that is not loaded).
sleep 2
# (steady's file is empty for a moment at each of its writes: read again.)
wait_for 10 eval 's2=$(cat "$T/steady" 2>/dev/null); o2=$(lines_out); [ "${s2:-0}" -gt "${s1:-0}" ] && [ "$o2" -gt "$o1" ]'
check "tend keeps running" tend_alive
check "the services go on running while the disk is full ($s1 -> $s2)" [ "${s2:-0}" -gt "${s1:-0}" ]
check "their output still reaches the terminal ($o1 -> $o2 lines)" [ "$o2" -gt "$o1" ]
check "it is said once, not per line ($(warnings) warnings)" [ "$(warnings)" = 1 ]
if ! grep -Evq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (stdout line [0-9]+ x+|tend .*)$' "$LOG"; then
    ok "the log file holds only whole lines"
else
    notok "the log file holds only whole lines" "$(grep -vn ' tend \|x$' "$LOG" | head -n 3 | cat -A | cut -c1-200)"
fi
size1=$(stat -c %s "$LOG")

rm -f "$XDG_STATE_HOME/filler"
if wait_for 10 out_has "$P" "log files: writing again"; then
    ok "once there is room, tend says it writes again"
else
    HANGS=$((HANGS + 1))
    notok "once there is room, tend says it writes again"
    diag_run "$P"
fi
if grep -qE 'log files: writing again \([0-9]+ lines were left out' "$T/$P.out"; then
    ok "and how many lines were left out"
else
    notok "and how many lines were left out" "$(grep 'log files' "$T/$P.out")"
fi
check "the log file grows again" wait_for 10 eval '[ "$(stat -c %s "$LOG")" -gt "$size1" ]'

kill -INT "$TEND_PID"
if wait_tend 20; then ok "tend stops cleanly afterwards"; else HANGS=$((HANGS + 1)); notok "tend stops cleanly afterwards"; fi
left=$(leftovers | wc -l)
check "no process of the stack is left" [ "$left" = 0 ]
echo "# fault summary: test=logdisk injected=1 rounds=1 orphans=$left data_lost=0 hangs=$HANGS"
finish
