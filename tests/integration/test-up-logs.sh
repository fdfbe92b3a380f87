#!/bin/sh
# Service output through tend: 10000 numbered lines on stdout and 10000 on
# stderr, written at the same time, all arrive whole and in order per
# stream; a 200 KB line without a newline arrives cut at the line cap, the
# pieces adding up to the input; with --json every output line is a JSON
# object. TAP output.
# Usage: test-up-logs.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

# 25600 distinct 8-byte groups, no newline.
"$PY" -c 'import sys; sys.stdout.write("".join("%07d," % i for i in range(25600)))' >"$T/long.txt"

cat >"$T/logs.yaml" <<EOF
services:
  spew:
    command: ": $T; seq 1 10000 | sed 's/^/out /' & seq 1 10000 | sed 's/^/err /' >&2 & wait"
  long:
    command: ["cat", "$T/long.txt"]
EOF

for mode in text json; do
    name=logs
    args=up
    if [ $mode = json ]; then
        cp "$T/logs.yaml" "$T/logsj.yaml"
        name=logsj
        args="up --json"
    fi
    # shellcheck disable=SC2086
    start_tend $name $args
    if wait_tend 30; then ok "$mode: tend returns once both services are done"; else notok "$mode: tend returns once both services are done" "still running after 30 s"; fi
    if [ "$TEND_RC" = 0 ]; then ok "$mode: tend exits 0"; else notok "$mode: tend exits 0" "exit status $TEND_RC"; fi
    [ -s "$T/$name.err" ] && notok "$mode: nothing on stderr" "$(head -c 500 "$T/$name.err")"

    py_check "$T/$name.out" "$T/long.txt" "$mode" <<'EOF'
path, longpath, mode = sys.argv[1:4]
want_long = open(longpath).read()
raw = open(path, "rb").read()
check(raw.endswith(b"\n"), mode + ": the output ends with a newline")
lines = raw.decode("utf-8", errors="replace").split("\n")[:-1]
system = re.compile(r"^(started|ready in .*|exited \(.*\)|stopped)$")
out, err, long_pieces, odd = [], [], [], []
if mode == "text":
    for l in lines:
        m = re.match(r"^([a-z]+) +\| (.*)$", l, re.S)
        if not m:
            odd.append(l)
            continue
        svc, text = m.groups()
        if svc == "spew":
            n = re.match(r"^(out|err) (\d+)$", text)
            if n:
                (out if n.group(1) == "out" else err).append(int(n.group(2)))
            elif not system.match(text):
                odd.append(l)
        elif svc == "long":
            if not system.match(text):
                long_pieces.append(text)
        elif svc != "tend":
            odd.append(l)
else:
    bad = []
    for l in lines:
        try:
            e = json.loads(l)
        except ValueError:
            bad.append(l)
            continue
        if "line" not in e:
            continue
        if e.get("service") == "spew" and e.get("stream") in ("stdout", "stderr"):
            n = re.match(r"^(out|err) (\d+)$", e["line"])
            if n and (n.group(1) == "out") == (e["stream"] == "stdout"):
                (out if n.group(1) == "out" else err).append(int(n.group(2)))
            else:
                odd.append(l)
        elif e.get("service") == "long" and e.get("stream") == "stdout":
            long_pieces.append(e["line"])
    check(not bad, "json: every output line parses as JSON", "%d bad, first: %r" % (len(bad), bad[:1]))
    logl = [json.loads(l) for l in lines if l.startswith("{") and '"line"' in l][:1]
    if logl:
        check(set(logl[0]) >= {"time", "service", "stream", "line"},
              "json: a log line has time, service, stream and line", logl[0])
want = list(range(1, 10001))
check(out == want, mode + ": all 10000 stdout lines arrive whole and in order",
      "%d lines, first difference at %s" % (len(out), next((i for i, (a, b) in enumerate(zip(out, want)) if a != b), "end")))
check(err == want, mode + ": all 10000 stderr lines arrive whole and in order",
      "%d lines, first difference at %s" % (len(err), next((i for i, (a, b) in enumerate(zip(err, want)) if a != b), "end")))
check(not odd, mode + ": no line is mixed or unexpected", "%d odd, first: %r" % (len(odd), odd[:2]))
sizes = [len(p) for p in long_pieces]
check("".join(long_pieces) == want_long, mode + ": the 200 KB line arrives whole, its pieces concatenated",
      "%d pieces of %s bytes" % (len(sizes), sizes[:8]))
check(len(sizes) >= 2 and max(sizes) <= 65536 and len(set(sizes[:-1])) == 1 and sizes[-1] <= sizes[0],
      mode + ": it is cut into pieces of the line cap (at most 64 KiB)", sizes[:8])
EOF
done

left=$(leftovers)
if [ -z "$left" ]; then ok "no process is left"; else notok "no process is left" "$left"; fi
finish
