#!/bin/sh
# The README's docker compose command for the example stack, run as
# written (with `config` in place of `up`, which would pull public images)
# by docker compose v5 from the repository root: it loads, and every path
# it resolves (bind mount sources, build contexts) exists, as tend
# resolves them. The same for the example's own files under compose, the
# way `docker compose up -d` beside a running tend reads them. TAP output.
# Usage: test-readme-compose.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
COMPOSE=$("$ROOT/scripts/compose-v5" 2>"$T/compose-v5.err") || skip_all "no docker compose v5: $(cat "$T/compose-v5.err")"

# The README's block after "With docker compose", lines joined, with
# `docker compose` as the binary and `up` as `config --format json`.
"$PY" - "$ROOT/README.md" >"$T/cmd" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
at = text.index("With docker compose (")
block = re.search(r"```sh\n(.*?)```", text[at:], re.S).group(1)
cmd = " ".join(l.rstrip("\\").strip() for l in block.strip().splitlines())
if not cmd.startswith("docker compose ") or not cmd.endswith(" up"):
    sys.exit("unexpected command: " + cmd)
print(cmd[len("docker compose "):-len(" up")])
PY
if [ $? -ne 0 ] || [ ! -s "$T/cmd" ]; then
    notok "the README has the docker compose command for the example stack" "$(cat "$T/cmd")"
    finish
fi
ok "the README has the docker compose command for the example stack"

# paths_exist JSON: every bind source and build context of the resolved
# project exists; prints the missing ones.
paths_exist() {
    "$PY" - "$1" <<'PY'
import json, os, sys
p = json.load(open(sys.argv[1]))
missing = []
for name, s in p["services"].items():
    for v in s.get("volumes", []):
        if v.get("type") == "bind" and not os.path.exists(v["source"]):
            missing.append(name + ": " + v["source"])
    ctx = (s.get("build") or {}).get("context")
    if ctx and not os.path.isdir(ctx):
        missing.append(name + ": build context " + ctx)
print("\n".join(missing))
sys.exit(1 if missing else 0)
PY
}

# shellcheck disable=SC2046
(cd "$ROOT" && "$COMPOSE" $(cat "$T/cmd") config --format json) >"$T/readme.json" 2>"$T/readme.err"
check "docker compose loads the README's command from the repository root" test $? -eq 0 -a -s "$T/readme.json"
if paths_exist "$T/readme.json" >"$T/missing"; then
    ok "every path it resolves exists (the sources and build contexts of examples/)"
else
    notok "every path it resolves exists (the sources and build contexts of examples/)" "$(cat "$T/missing" "$T/readme.err")"
fi
if grep -q '"source": "'"$ROOT"'/services.d/' "$T/readme.json"; then
    notok "no path is taken from services.d/" "$(grep -o '"source": "[^"]*services.d[^"]*"' "$T/readme.json" | head -3)"
else
    ok "no path is taken from services.d/"
fi

# The example's own files, under compose beside tend.
(cd "$ROOT" && "$COMPOSE" --project-directory . -f services.d/postgres.yaml -f services.d/redis.yaml \
    -f services.d/web.yaml -f services.d/worker.yaml -f services.d/status.yaml -f services.d/proxy.yaml \
    config --format json) >"$T/local.json" 2>"$T/local.err"
check "docker compose loads services.d/ with --project-directory ." test $? -eq 0 -a -s "$T/local.json"
if paths_exist "$T/local.json" >"$T/missing"; then
    ok "and every path it resolves exists"
else
    notok "and every path it resolves exists" "$(cat "$T/missing" "$T/local.err")"
fi
finish
