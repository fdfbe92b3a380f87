#!/bin/sh
# The CLI frame as a user meets it: version and help, exit statuses, config
# output formats, discovery from a subfolder, and services-file errors that
# name file:line:col and exit 2. TAP output.
# Usage: test-cli.sh TEND_BINARY
set -u
TEND=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/tend-cli-XXXXXX")
trap 'rm -rf "$T"' EXIT
# Log files and sockets of the `tend up` runs stay in the temp folder.
export XDG_STATE_HOME="$T/state" XDG_RUNTIME_DIR="$T/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# run CMD...: sets out, err, rc
run() {
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}
expect_rc() { # name want
    if [ "$rc" -eq "$2" ]; then ok "$1"; else notok "$1" "exit $rc, wanted $2" "stderr: $err"; fi
}
expect_in() { # name haystack needle
    case "$2" in *"$3"*) ok "$1" ;; *) notok "$1" "missing: $3" "got: $2" ;; esac
}

run "$TEND" --version
expect_rc "--version exits 0" 0
expect_in "--version prints the version" "$out" "tend "

run "$TEND" --help
expect_rc "--help exits 0" 0
expect_in "--help lists config" "$out" "config"

run "$TEND" help config
expect_rc "help config exits 0" 0
expect_in "help config shows the options" "$out" "--no-interpolate"

run "$TEND" help nosuch
expect_rc "help of an unknown command exits 2" 2

run "$TEND" confgi
expect_rc "an unknown command exits 2" 2
expect_in "an unknown command gets a suggestion" "$err" 'did you mean "config"?'

run "$TEND" --bogus
expect_rc "an unknown option exits 2" 2

run "$TEND"
expect_rc "no command exits 2" 2

mkdir -p "$T/proj/sub/deeper" "$T/proj/services.d"
cat >"$T/proj/services.yaml" <<'YAML'
name: cli
services:
  web:
    image: "nginx:${TAG:-1.25}"
    ports: ["8080:80"]
    depends_on: [db]
    volumes: ["./site:/usr/share/nginx/html:ro"]
  db:
    image: postgres:16
    profiles: [data]
YAML
cat >"$T/proj/services.d/10-db.yaml" <<'YAML'
services:
  db:
    profiles: !reset []
    healthcheck:
      test: pg_isready
      interval: 90s
YAML

cd "$T/proj/sub/deeper" || exit 1
run "$TEND" config
expect_rc "config from a subfolder exits 0" 0
expect_in "config resolves a bind source against the project folder" "$out" "source: $T/proj/site"
expect_in "config interpolates defaults" "$out" "image: nginx:1.25"
expect_in "config normalizes durations" "$out" "interval: 1m30s"
expect_in "config writes long port syntax" "$out" 'published: "8080"'

TAG=2 run "$TEND" config --format json
expect_rc "config --format json exits 0" 0
expect_in "json output is JSON" "$out" '"image": "nginx:2"'
if printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; then
    ok "json output parses"
else
    notok "json output parses" "$out"
fi

run "$TEND" config --services
expect_in "config --services lists services" "$out" "db
web"

run "$TEND" config --no-interpolate
expect_in "config --no-interpolate keeps variables" "$out" 'nginx:${TAG:-1.25}'

run "$TEND" config -q
expect_rc "config -q exits 0" 0
if [ -z "$out" ]; then ok "config -q prints nothing"; else notok "config -q prints nothing" "$out"; fi

run "$TEND" -p other config
expect_in "-p sets the project name" "$out" "name: other"

run "$TEND" config --format xml
expect_rc "a bad --format exits 2" 2

cat >"$T/proj/services.d/20-bad.yaml" <<'YAML'
services:
  web:
    healthcheck:
      interval: 5x
YAML
run "$TEND" config
expect_rc "a bad services file exits 2" 2
expect_in "the error names file:line:col" "$err" "$T/proj/services.d/20-bad.yaml:4:17: error: "
rm "$T/proj/services.d/20-bad.yaml"

run "$TEND" -f "$T/nope.yaml" config
expect_rc "a missing -f file exits 2" 2
expect_in "a missing -f file is named" "$err" "$T/nope.yaml: no such file"

# Options may follow service names, as with docker compose.
mkdir -p "$T/order" && printf 'services:\n  a:\n    command: sleep 100\n  b:\n    command: echo from-b\n    depends_on: [a]\n' >"$T/order/compose.yaml"
run "$TEND" -f "$T/order/compose.yaml" up b --no-deps --no-color
expect_rc "up SERVICE --no-deps: options after service names are read" 0
expect_in "up SERVICE --no-deps runs only SERVICE" "$out" "from-b"
case $out in *"a | started"*) notok "up SERVICE --no-deps does not start the dependency" "$out" ;; *) ok "up SERVICE --no-deps does not start the dependency" ;; esac

cd "$T" || exit 1
mkdir empty && cd empty || exit 1
run "$TEND" config
expect_rc "no services file exits 2" 2
expect_in "no services file says where it looked" "$err" "no services file found in"

echo "1..$n"
exit $fail
