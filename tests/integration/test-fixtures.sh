#!/bin/sh
# Compose files in the shapes found in public projects must load unchanged
# and print the expected normalized model (tests/data/compose/NAME/expected.yaml,
# with @DIR@ for the fixture's folder). TAP output.
# Usage: test-fixtures.sh TEND_BINARY      (TEND_TEST_DATA names tests/data)
# Set TEND_FIXTURES_UPDATE=1 to rewrite the expected files after a reviewed change.
set -u
TEND=$1
DATA=${TEND_TEST_DATA:?}
n=0
fail=0
for dir in "$DATA"/compose/*/; do
    dir=${dir%/}
    name=$(basename "$dir")
    got=$(cd "$dir" && env -i PATH=/usr/bin:/bin "$TEND" config --show-secrets 2>"${TMPDIR:-/tmp}"/tend-fixture-err.$$)
    rc=$?
    got=$(printf '%s\n' "$got" | sed "s|$dir|@DIR@|g")
    n=$((n + 1))
    if [ $rc -ne 0 ]; then
        fail=1
        echo "not ok $n - $name loads"
        sed 's/^/#   /' "${TMPDIR:-/tmp}"/tend-fixture-err.$$
        continue
    fi
    if [ "${TEND_FIXTURES_UPDATE:-}" = 1 ]; then
        printf '%s\n' "$got" >"$dir/expected.yaml"
    fi
    if printf '%s\n' "$got" | diff -u "$dir/expected.yaml" - >"${TMPDIR:-/tmp}"/tend-fixture-diff.$$; then
        echo "ok $n - $name gives the expected normalized model"
    else
        fail=1
        echo "not ok $n - $name gives the expected normalized model"
        sed 's/^/#   /' "${TMPDIR:-/tmp}"/tend-fixture-diff.$$
    fi
    n=$((n + 1))
    if (cd "$dir" && env -i PATH=/usr/bin:/bin "$TEND" config --format json) |
        /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; then
        echo "ok $n - $name as JSON parses"
    else
        fail=1
        echo "not ok $n - $name as JSON parses"
    fi
done
rm -f "${TMPDIR:-/tmp}"/tend-fixture-err.$$ "${TMPDIR:-/tmp}"/tend-fixture-diff.$$
echo "1..$n"
exit $fail
