#!/bin/bash
# Watch setup benchmark: a generated tree of 100 000 folders (100 x 1000,
# kept between runs in $BENCH_WATCH_TREE) watched by watch-tree, which
# times watching it as tend does, in one walk on the watcher's thread
# (goal: at most 1 s), with the loop's own share, the watches made and the
# RSS they cost, and the earlier three walks on the loop beside it. fs.inotify.max_user_watches is raised for the run
# when too low (root only; put back at the end).
# There is no peer figure: docker compose v5 watches only beside its
# containers and does not say when its watches are in place; v1 has no
# `watch`.
# Not a pass/fail test: it fails only when watch-tree fails.
#   bench-watch-setup.sh WATCH_TREE_BIN
#   BENCH_WATCH_TREE   where the tree lives (default /tmp/tend-bench-watch-tree)
#   BENCH_WATCH_TOP, BENCH_WATCH_SUB   its shape (default 100 x 1000)

WATCH_TREE=${1:?usage: bench-watch-setup.sh WATCH_TREE_BIN}
TREE=${BENCH_WATCH_TREE:-/tmp/tend-bench-watch-tree}
TOP=${BENCH_WATCH_TOP:-100}
SUB=${BENCH_WATCH_SUB:-1000}
KNOB=/proc/sys/fs/inotify/max_user_watches
SAVED_LIMIT=

# make_tree: TOP folders of SUB folders each (and a file in each top
# folder), made once; a marker says it is complete.
make_tree() {
    local marker=$TREE/.complete-${TOP}x${SUB}
    [ -f "$marker" ] && return 0
    rm -rf "$TREE"
    echo "# generating $TREE: $TOP x $SUB folders (once; kept for later runs)"
    python3 - "$TREE" "$TOP" "$SUB" <<'PY' || return 1
import os, sys
root, top, sub = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(root, exist_ok=True)
for i in range(top):
    d = os.path.join(root, "d%03d" % i)
    os.mkdir(d)
    with open(os.path.join(d, "file.txt"), "w") as f:
        f.write("x\n")
    for j in range(sub):
        os.mkdir(os.path.join(d, "s%04d" % j))
PY
    touch "$marker"
}

restore_limit() {
    if [ -n "$SAVED_LIMIT" ]; then
        echo "$SAVED_LIMIT" >"$KNOB" && echo "# $KNOB put back to $SAVED_LIMIT"
        SAVED_LIMIT=
    fi
}

# raise_limit NEEDED: makes room for NEEDED more watches beside those in use.
raise_limit() {
    local limit used
    limit=$(cat "$KNOB")
    used=$(cat /proc/[0-9]*/fdinfo/* 2>/dev/null | grep -c '^inotify wd:')
    if ((limit >= $1 + used + 10000)); then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "# $KNOB is $limit, $used in use, and $1 watches are needed: run as root, or" \
            "sysctl fs.inotify.max_user_watches=524288"
        exit 77
    fi
    SAVED_LIMIT=$limit # the caller's EXIT trap calls restore_limit
    echo $(($1 + used + 100000)) >"$KNOB"
    echo "# $KNOB raised from $limit to $(cat "$KNOB") for the run"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    trap restore_limit EXIT
    make_tree || exit 1
    raise_limit $((TOP * SUB + TOP + 1))
    echo "# watch setup: $TREE, $((TOP * SUB + TOP + 1)) folders, built-in ignore rules"
    "$WATCH_TREE" setup "$TREE" || exit 1
    echo "# peer: none shown; docker compose v5 watches only beside its containers" \
        "(\`compose watch\`) and does not say when its watches are in place; v1 has no \`watch\`"
fi
