#!/bin/sh
# Every malformed file of tests/data/bad is refused by tend with exit
# status 2, and by docker compose v5 too (`config -q` exits non-zero), but
# for the files tests/data/bad/STRICTER lists with the reason tend is
# stricter there. A file compose accepts and the list does not name fails,
# and so does a listed file compose refuses after all: the list stays true.
# Skips when docker compose v5 cannot be had (Go missing: scripts/compose-v5).
# TAP output. Usage: test-bad-compose.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BAD=${TEND_TEST_DATA:?}/bad
COMPOSE=$("$ROOT/scripts/compose-v5" 2>"$T/compose-v5.err") ||
    skip_all "no docker compose v5 to compare with: $(tail -1 "$T/compose-v5.err")"

# Both read the file from an empty folder with a bare environment, so that
# no .env, COMPOSE_* variable or user setting takes part.
mkdir -p "$T/cwd"
for f in "$BAD"/*.yaml; do
    name=$(basename "$f" .yaml)
    num=${name%%-*}
    (cd "$T/cwd" && env -i PATH=/usr/bin:/bin HOME="$T" "$TEND" -f "$f" config -q >/dev/null 2>&1)
    trc=$?
    if [ "$trc" = 2 ]; then
        ok "tend refuses $name with exit status 2"
    else
        notok "tend refuses $name with exit status 2" "exit status $trc"
    fi
    (cd "$T/cwd" && env -i PATH=/usr/bin:/bin HOME="$T" timeout -k 5 60 "$COMPOSE" -f "$f" config -q \
        >"$T/out" 2>&1)
    crc=$?
    listed=$(grep -E "^$num " "$BAD/STRICTER" | cut -d' ' -f2-)
    if [ "$crc" -ne 0 ] && [ -z "$listed" ]; then
        ok "docker compose refuses $name too"
    elif [ "$crc" -ne 0 ]; then
        notok "$name is listed in STRICTER, but docker compose refuses it too" "$(head -3 "$T/out")"
    elif [ -n "$listed" ]; then
        ok "docker compose accepts $name; tend is stricter: $listed"
    else
        notok "docker compose refuses $name too" \
            "docker compose accepts it; refuse less, or list it in tests/data/bad/STRICTER with a reason"
    fi
done
finish
