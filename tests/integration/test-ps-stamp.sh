#!/bin/sh
# `tend ps` without loading the services files: a stamp of the last load
# (load/stamp.h) names the project while the files it read are unchanged.
# Proves that ps answers from the running tend through it, and that every
# change that could alter the project is seen: an edited services file, a
# new drop-in in services.d, a .env that renames the project, another
# environment, and a missing stamp folder. TAP output.
# Usage: test-ps-stamp.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

export XDG_RUNTIME_DIR="$T/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"
P=tendstamp$$
D=$T/proj
mkdir -p "$D/services.d"
cat >"$D/services.yaml" <<EOF
name: $P
services:
  a:
    command: ["sh", "-c", "exec sleep 300", "$T-a"]
EOF
cat >"$D/services.d/b.yaml" <<EOF
services:
  b:
    command: ["sh", "-c", "exec sleep 300", "$T-b"]
EOF
tps() { (cd "$D" && "$TEND" "$@"); }
names() { tps ps --format json "$@" 2>"$T/ps.err" | "$PY" -c 'import json,sys; print(",".join(sorted(s["service"] for s in json.load(sys.stdin))))'; }
stop() { tps down >/dev/null 2>&1; }
trap 'stop; cleanup' EXIT

if ! tps up -d --wait >"$T/up.out" 2>&1; then
    notok "up -d --wait of a and b" "$(cat "$T/up.out")"
    finish
fi
got=$(names)
check "ps lists a and b ($got)" test "$got" = "a,b"
n=$(ls "$XDG_RUNTIME_DIR/tend/stamps" 2>/dev/null | wc -l)
check "ps left a stamp of its load ($n)" test "$n" -eq 1
got=$(names)
check "ps again, from the stamp: a and b ($got)" test "$got" = "a,b"
got=$(names a)
check "ps a, from the stamp: a ($got)" test "$got" = "a"

# The project renamed in the file: the stamp's name is stale.
sed -i "s/^name: .*/name: ${P}x/" "$D/services.yaml"
got=$(names)
check "an edited services file is loaded again (the renamed project runs nothing: \"$got\")" test -z "$got"
sed -i "s/^name: .*/name: $P/" "$D/services.yaml"
got=$(names)
check "and back: a and b again ($got)" test "$got" = "a,b"

# A new drop-in, renaming the project too: services.d's time changed.
printf 'name: %s\n' "${P}d" >"$D/services.d/d.yaml"
got=$(names)
check "a new drop-in is read (the renamed project runs nothing: \"$got\")" test -z "$got"
rm "$D/services.d/d.yaml"
got=$(names)
check "without it, a and b again ($got)" test "$got" = "a,b"
tps ps zzz >/dev/null 2>"$T/ps.err"
rc=$?
check "an unknown name is still an error (status $rc)" test "$rc" -eq 2 -a -n "$(grep 'no service "zzz"' "$T/ps.err")"

# The environment is part of the key: another project name from it.
got=$(cd "$D" && COMPOSE_PROJECT_NAME=${P}other "$TEND" ps --format json 2>&1)
check "another environment is another project (nothing running: $got)" test "$got" = "[]"
got=$(names)
check "and back: a and b again ($got)" test "$got" = "a,b"

# A .env made in the project folder renames the project.
echo "COMPOSE_PROJECT_NAME=${P}env" >"$D/.env"
got=$(names)
check "a new .env is read (its project runs nothing: \"$got\")" test -z "$got"
rm -f "$D/.env"
got=$(names)
check "without it, a and b again ($got)" test "$got" = "a,b"

# Stamps are only a shortcut: without their folder ps still answers.
rm -rf "$XDG_RUNTIME_DIR/tend/stamps"
: >"$XDG_RUNTIME_DIR/tend/stamps" # a file where the folder would go
got=$(names)
check "no stamp can be written: ps still lists a and b ($got)" test "$got" = "a,b"

stop
finish
