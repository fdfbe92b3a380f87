#!/bin/sh
# The cleanup of a test that could not clean up itself. lib.sh starts one
# per test, in a session of its own, with the test's temp folder in
# TEND_JANITOR_DIR (not on the command line, so that it does not carry the
# marker it kills by). It waits for the test's shell (PID) to end, however
# it ends: meson kills a test that runs past its timeout with SIGTERM and,
# half a second later, SIGKILL to the test's whole process group, which
# can cut the test's own cleanup short. Then it kills what carries the
# marker, removes the test's engine projects and the temp folder. After a
# test that cleaned up, nothing is left to do.
#   janitor.sh PID
set -u
T=${TEND_JANITOR_DIR:?}
PID=${1:?usage: janitor.sh PID}
. "$(dirname "$0")/cleanup.sh"

tail --pid="$PID" -s 0.2 -f /dev/null 2>/dev/null || while kill -0 "$PID" 2>/dev/null; do sleep 0.2; done
kill_leftovers
docker_cleanup
unmount_leftovers
[ "${TEND_KEEP_TMP:-}" = 1 ] || rm -rf "$T"
