#!/bin/sh
# tend env: the environment, command and folder tend gives a service, for
# IDEs. Proves that the shell format, run by sh, starts a host service
# exactly as `tend up` does (same variables, folder and argv, tricky values
# included); that the dotenv format reads back unchanged through tend's own
# env_file loader; that the JSON format carries the values, command and
# working_dir; and that `tend up --except` runs the rest without the
# excepted service, whose dependents do not wait for it. TAP output.
# Usage: test-env.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

P=$T/proj
mkdir -p "$P/srv"
# A value for each quoting hazard: quotes of both kinds, backslashes,
# dollars (literal, since single-quoted), blanks, a comment mark, a tab,
# UTF-8, an empty value; and a multi-line value in double quotes.
cat >"$P/app.env" <<'EOF'
PLAIN=abc123
SPACES='  two  spaces  '
SQ="it's"
DQ='say "hi"'
BACKSLASH='C:\temp\new'
DOLLAR='$HOME and ${NOPE} and $$'
HASH='a #not a comment'
TAB="a	b"
UTF8='héllo wörld ✓'
EMPTY=
MULTI="line one\nline two\n"
MIXED="it's \"both\" \\ \$x"
FROM_DOTENV=${BASE_URL}/api
EOF
echo 'BASE_URL=http://127.0.0.1:9' >"$P/.env"

# The dump: argv, folder and every variable, as JSON, to the file $DUMP
# names (DUMP itself is the one variable set differently for each run).
cat >"$P/dump.py" <<'EOF'
import json, os, sys
with open(os.environ["DUMP"], "w", encoding="utf-8") as f:
    json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}, f)
EOF

cat >"$P/services.yaml" <<EOF
services:
  web:
    command: $PY ../dump.py "a b" 'c'\''d'
    working_dir: srv
    env_file: app.env
    environment:
      PLAIN: overridden
      ONLY_HERE: "x=1;y='2'"
  worker:
    command: ["$PY", "$P/dump.py", "--flag", "two words", "\$\$NOT_EXPANDED"]
    env_file: [app.env]
  box:
    image: tend/busybox
    environment:
      IN_BOX: "1"
    working_dir: /data
EOF

# The TAP lines of a Python block (its output in $T/checks), in this shell
# so that the count and the verdict stay.
py_results() {
    while IFS="$TAB" read -r st desc detail; do
        if [ "$st" = ok ]; then ok "$desc"; else notok "$desc" "$detail"; fi
    done <"$T/checks"
}

cd "$T" || exit 1
tend() { "$TEND" -p envtest -f "$P/services.yaml" "$@"; }

# ---- shell: sh runs the service as tend up does ----
for svc in web worker; do
    DUMP=$T/up-$svc.json timeout 30 "$TEND" -p envtest -f "$P/services.yaml" up "$svc" \
        >"$T/up-$svc.out" 2>&1 </dev/null
    rc=$?
    if [ $rc -eq 0 ] && [ -s "$T/up-$svc.json" ]; then
        ok "tend up runs $svc (it dumps its environment)"
    else
        notok "tend up runs $svc (it dumps its environment)" "exit $rc" "$(tail -n 5 "$T/up-$svc.out")"
    fi
    if tend env "$svc" --format shell >"$T/$svc.sh" 2>"$T/$svc.sh.err"; then
        ok "tend env $svc --format shell"
    else
        notok "tend env $svc --format shell" "$(cat "$T/$svc.sh.err")"
    fi
    DUMP=$T/sh-$svc.json sh -c "$(cat "$T/$svc.sh")" </dev/null >"$T/sh-$svc.out" 2>&1
    check "sh -c \"\$(tend env $svc --format shell)\" runs $svc" test -s "$T/sh-$svc.json"
done

"$PY" - "$T" "$P" >"$T/checks" <<'EOF'

import json, sys
t, p = sys.argv[1], sys.argv[2]
def check(cond, desc, detail=""):
    print(("ok" if cond else "not ok") + "\t" + desc + "\t" + str(detail).replace("\n", " | ")[:600])
def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except Exception as e:
        return {"argv": None, "cwd": None, "env": {}, "error": str(e)}
# Variables a shell manages itself: sh sets PWD after cd (tend passes its
# own PWD on, see the report), and DUMP differs on purpose.
SHELL_VARS = {"DUMP", "PWD", "OLDPWD", "SHLVL", "_"}
for svc in ("web", "worker"):
    up, sh = load(f"{t}/up-{svc}.json"), load(f"{t}/sh-{svc}.json")
    check(up["argv"] == sh["argv"], f"{svc}: the same argv from tend up and from the shell script", (up["argv"], sh["argv"]))
    check(up["cwd"] == sh["cwd"], f"{svc}: the same folder", (up["cwd"], sh["cwd"]))
    eu = {k: v for k, v in up["env"].items() if k not in SHELL_VARS}
    es = {k: v for k, v in sh["env"].items() if k not in SHELL_VARS}
    diff = sorted(k for k in set(eu) | set(es) if eu.get(k) != es.get(k))
    check(not diff and eu, f"{svc}: the same environment", [(k, eu.get(k), es.get(k)) for k in diff])
    want = {
        "SPACES": "  two  spaces  ", "SQ": "it's", "DQ": 'say "hi"', "BACKSLASH": "C:\\temp\\new",
        "DOLLAR": "$HOME and ${NOPE} and $$", "HASH": "a #not a comment", "TAB": "a\tb",
        "UTF8": "héllo wörld ✓", "EMPTY": "", "MULTI": "line one\nline two\n",
        "MIXED": "it's \"both\" \\ $x", "FROM_DOTENV": "http://127.0.0.1:9/api",
    }
    bad = [(k, v, eu.get(k)) for k, v in want.items() if eu.get(k) != v]
    check(not bad, f"{svc}: env_file values arrive as written", bad)
web = load(f"{t}/up-web.json")
check(web["argv"] == ["a b", "c'd"], "web: a command string runs through sh -c", web["argv"])
check(web["cwd"] == f"{p}/srv", "web: working_dir is taken from the project folder", web["cwd"])
check(web["env"].get("PLAIN") == "overridden" and web["env"].get("ONLY_HERE") == "x=1;y='2'",
      "web: environment overrides env_file", (web["env"].get("PLAIN"), web["env"].get("ONLY_HERE")))
wk = load(f"{t}/up-worker.json")
check(wk["argv"] == ["--flag", "two words", "$NOT_EXPANDED"] and wk["cwd"] == p,
      "worker: an argv list runs as is, in the project folder", (wk["argv"], wk["cwd"]))
EOF
py_results

# ---- dotenv: read back through tend's own env_file loader ----
tend env web >"$T/web.env"
check "tend env web (dotenv) exits 0" test $? -eq 0
tend env web --format json >"$T/web.json"
check "tend env web --format json exits 0" test $? -eq 0
mkdir -p "$T/rt"
cat >"$T/rt/services.yaml" <<EOF
services:
  rt:
    command: "true"
    env_file: $T/web.env
EOF
# Nothing of the shell may leak into the read-back: run it with a clean
# environment so that no variable in the file is interpolated from outside.
env -i PATH=/usr/bin:/bin "$TEND" -p rt -f "$T/rt/services.yaml" config --format json >"$T/rt.json" 2>"$T/rt.err"
check "the dotenv output loads as an env_file" test $? -eq 0

"$PY" - "$T" "$P" >"$T/checks" <<'EOF'

import json, re, sys
t, p = sys.argv[1], sys.argv[2]
def check(cond, desc, detail=""):
    print(("ok" if cond else "not ok") + "\t" + desc + "\t" + str(detail).replace("\n", " | ")[:600])
j = json.load(open(f"{t}/web.json", encoding="utf-8"))
up = json.load(open(f"{t}/up-web.json", encoding="utf-8"))
env = j["environment"]
check(all(up["env"].get(k) == v for k, v in env.items()) and len(env) > 10,
      "json: every variable is what the service got under tend up",
      [(k, v, up["env"].get(k)) for k, v in env.items() if up["env"].get(k) != v])
check("HOME" not in env and "PATH" not in env, "json: only the service's variables without --all", sorted(env)[:5])
check(j["command"] == ["/bin/sh", "-c", j["command"][2]] and j["command"][2].endswith("'c'\\''d'"),
      "json: command is the argv tend executes", j["command"])
check(j["working_dir"] == f"{p}/srv" and j["runtime"] == "host" and j["service"] == "web",
      "json: working_dir, runtime and service", (j["working_dir"], j["runtime"]))
rt = json.load(open(f"{t}/rt.json", encoding="utf-8"))["services"]["rt"]["environment"]
diff = sorted(k for k in set(env) | set(rt) if env.get(k) != rt.get(k))
check(not diff, "dotenv: read back by env_file, every value is unchanged", [(k, env.get(k), rt.get(k)) for k in diff])
lines = open(f"{t}/web.env", encoding="utf-8").read()
check(re.search(r"^PLAIN=overridden$", lines, re.M) and re.search(r"^SQ=\"it's\"$", lines, re.M)
      and re.search(r"^DOLLAR='\$HOME", lines, re.M),
      "dotenv: plain when safe, single quotes, double quotes for a value with a quote", lines[:300])
EOF
py_results

# --all: tend's whole environment under the service's.
FROM_TEND=yes tend env web --all --format json >"$T/all.json"
"$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["environment"]; sys.exit(not (e.get("FROM_TEND")=="yes" and e.get("PLAIN")=="overridden" and "PATH" in e))' "$T/all.json"
check "--all: tend's environment overlaid by the service's" test $? -eq 0

# A container: only its own variables, its folder inside the container.
tend env box --format json >"$T/box.json"
"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not (j["runtime"]=="docker" and j["environment"]=={"IN_BOX":"1"} and j["working_dir"]=="/data" and j["command"] is None and j["image"]=="tend/busybox"))' "$T/box.json"
check "a container: its environment, working_dir and image; command null (the image's)" test $? -eq 0
tend env box --format shell --all | grep -q '^export IN_BOX=.1.$'
check "a container's shell format exports its variables" test $? -eq 0
tend env box --format shell | grep -q '^exec'
check "a container's shell format has no exec line" test $? -ne 0

# --no-command: only the exports.
tend env web --format shell --no-command >"$T/nc.sh"
if grep -q '^export PLAIN=' "$T/nc.sh" && ! grep -q '^exec\|^cd' "$T/nc.sh"; then
    ok "--no-command prints only the exports"
else
    notok "--no-command prints only the exports" "$(head -n 3 "$T/nc.sh")"
fi

# Usage errors: exit 2 with a message.
tend env nosuch >/dev/null 2>"$T/e1"
rc=$?
if [ $rc -eq 2 ] && grep -q 'no such service' "$T/e1"; then ok "an unknown service: exit 2"; else notok "an unknown service: exit 2" "exit $rc" "$(cat "$T/e1")"; fi
tend env web --format xml >/dev/null 2>&1
check "an unknown format: exit 2" test $? -eq 2
tend env >/dev/null 2>&1
check "no service: exit 2" test $? -eq 2

# ---- tend up --except: an IDE runs one service, tend the rest ----
cat >"$T/ex.yaml" <<EOF
services:
  db:
    command: sh -c 'touch $T/db-ran; exec sleep 30'
  web:
    command: sh -c 'touch $T/web-ran; exec sleep 30'
    depends_on: [db]
  app:
    command: sh -c 'touch $T/app-ran'
    depends_on:
      web: {condition: service_healthy}
EOF
start_tend ex up --except web
if wait_for 10 test -e "$T/app-ran"; then
    ok "up --except web: app starts without waiting for web"
else
    notok "up --except web: app starts without waiting for web" "$(cat "$T/ex.out" "$T/ex.err" | tail -n 8)"
fi
check "up --except web: db runs" wait_for 10 test -e "$T/db-ran"
check "up --except web: web does not run" test ! -e "$T/web-ran"
kill -INT "$TEND_PID" 2>/dev/null
wait_tend 20
check "up --except web stops cleanly on Ctrl-C" test "$TEND_RC" -eq 0
rm -f "$T/db-ran" "$T/app-ran"
start_tend ex up --except web web
wait_for 10 test -e "$T/db-ran"
check "up --except web web: what web needs runs" test -e "$T/db-ran"
sleep 0.3
check "up --except web web: nothing else" test ! -e "$T/app-ran" -a ! -e "$T/web-ran"
kill -INT "$TEND_PID" 2>/dev/null
wait_tend 20
"$TEND" -p ex -f "$T/ex.yaml" up --except nosuch >/dev/null 2>&1
check "up --except an unknown service: exit 2" test $? -eq 2

# ---- an exec probe runs with the service's own environment ----
# A variable listed without a value takes tend's (the shell's) value, or
# stays unset where the shell has none, in the service and in its probe
# alike; one with a value is the service's.
cat >"$T/pe.yaml" <<EOF
services:
  svc:
    command: sh -c 'echo "svc FROM_SHELL=[\$\$FROM_SHELL] NOT_IN_SHELL=[\$\${NOT_IN_SHELL-unset}] SET=[\$\$SET]"; exec sleep 30'
    environment:
      FROM_SHELL:
      NOT_IN_SHELL:
      SET: in-file
    healthcheck:
      test: ["CMD-SHELL", "echo \"FROM_SHELL=[\$\$FROM_SHELL] NOT_IN_SHELL=[\$\${NOT_IN_SHELL-unset}] SET=[\$\$SET]\" >$T/probe-env; true"]
      interval: 200ms
EOF
export FROM_SHELL=from-the-shell
unset NOT_IN_SHELL
start_tend pe up
unset FROM_SHELL
if wait_for 10 out_has pe "all services ready"; then ok "a service with an exec probe gets ready"; else notok "a service with an exec probe gets ready"; diag_run pe; fi
want="FROM_SHELL=[from-the-shell] NOT_IN_SHELL=[unset] SET=[in-file]"
check "the service has the shell's value of a valueless variable, or none" out_has pe "svc $want"
check "... and so has its exec probe" grep -qxF "$want" "$T/probe-env"
kill -INT "$TEND_PID" 2>/dev/null
wait_tend 20

finish
