#!/bin/sh
# tend pull and tend build against a registry on 127.0.0.1
# (scripts/local-registry): pull_policy as Compose reads it (none and
# always pull, missing skips an image that is there, never skips), a
# failed pull is exit 1 unless --ignore-pull-failures or the service can be
# built; build with --build-arg and --no-cache. TAP output.
# Usage: test-pull-build.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

[ -x /usr/bin/docker-registry ] || skip_all "docker-registry is not installed (scripts/setup installs it)"
need_docker_images

P=tendpull$RUN$$
docker_project "$P"
RPORT=$(free_port)
REG=127.0.0.1:$RPORT/$P
export TMPDIR="$T" # the registry's storage goes with the test's folder
cleanup_all() {
    docker rmi -f "$REG/box:1" "$REG/box:2" "$P-built" >/dev/null 2>&1
    "$ROOT/scripts/local-registry" stop "$RPORT" >/dev/null 2>&1
    cleanup
}
trap cleanup_all EXIT
if ! "$ROOT/scripts/local-registry" start "$RPORT" >"$T/reg.log" 2>&1; then
    notok "a registry runs on 127.0.0.1:$RPORT" "$(tail -n 3 "$T/reg.log")"
    finish
fi
for tag in 1 2; do
    docker tag tend/busybox "$REG/box:$tag" && docker push -q "$REG/box:$tag" >/dev/null 2>&1 &&
        docker rmi "$REG/box:$tag" >/dev/null 2>&1
done
mkdir -p "$T/ctx"
printf 'FROM tend/busybox\nARG GREETING=default\nRUN echo "greeting=$GREETING" > /greeting\n' >"$T/ctx/Dockerfile"
cat >"$T/$P.yaml" <<EOF
services:
  plain:
    image: $REG/box:1
  missing:
    image: $REG/box:2
    pull_policy: missing
  never:
    image: $REG/nosuch:1
    pull_policy: never
  absent:
    image: $REG/nosuch:1
    profiles: [broken]
  buildable:
    image: $REG/notpushed:1
    build: $T/ctx
    profiles: [broken]
  built:
    image: $P-built
    build:
      context: $T/ctx
    profiles: [build]
  host:
    command: "true"
EOF
tend() { "$TEND" -p "$P" -f "$T/$P.yaml" "$@"; }
has_image() { docker image inspect "$1" >/dev/null 2>&1; }

tend pull >"$T/pull1.out" 2>&1
rc=$?
if [ $rc = 0 ] && has_image "$REG/box:1" && has_image "$REG/box:2" && ! has_image "$REG/nosuch:1" &&
    grep -q "Image $REG/box:1  Pulled" "$T/pull1.out" && grep -q "Image $REG/nosuch:1  Skipped - pull_policy is never" "$T/pull1.out"; then
    ok "pull fetches the services' images; pull_policy never is skipped"
else
    notok "pull fetches the services' images; pull_policy never is skipped" "rc=$rc"
    diag_file "$T/pull1.out"
fi
tend pull missing >"$T/pull2.out" 2>&1
if grep -q "Image $REG/box:2  Skipped - Image is already present locally" "$T/pull2.out"; then
    ok "pull_policy missing: an image that is there is not pulled again"
else
    notok "pull_policy missing: an image that is there is not pulled again"
    diag_file "$T/pull2.out"
fi
tend pull --policy always missing >"$T/pull3.out" 2>&1
if grep -q "Image $REG/box:2  Pulled" "$T/pull3.out"; then ok "--policy always pulls it anyway"; else notok "--policy always pulls it anyway"; diag_file "$T/pull3.out"; fi
tend pull absent >"$T/pull4.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "Image $REG/nosuch:1  Error" "$T/pull4.out"; then
    ok "a pull that fails: exit 1 with the registry's error"
else
    notok "a pull that fails: exit 1 with the registry's error" "rc=$rc"
    diag_file "$T/pull4.out"
fi
tend pull --ignore-pull-failures absent >/dev/null 2>&1
check "--ignore-pull-failures: exit 0" test $? = 0
tend pull buildable >"$T/pull5.out" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q 'must be built from source' "$T/pull5.out"; then
    ok "a service that can be built: its failed pull is a warning"
else
    notok "a service that can be built: its failed pull is a warning" "rc=$rc"
    diag_file "$T/pull5.out"
fi

tend build --build-arg GREETING=hello built >"$T/build1.out" 2>&1
rc=$?
if [ $rc = 0 ] && [ "$(docker run --rm "$P-built" cat /greeting 2>&1)" = greeting=hello ] &&
    grep -q "Image $P-built  Built" "$T/build1.out"; then
    ok "build builds the image with --build-arg"
else
    notok "build builds the image with --build-arg" "rc=$rc"
    diag_file "$T/build1.out"
fi
tend build built >"$T/build2.out" 2>&1
tend build --no-cache built >"$T/build3.out" 2>&1
if grep -q 'Using cache' "$T/build2.out" && ! grep -q 'Using cache' "$T/build3.out" &&
    [ "$(docker run --rm "$P-built" cat /greeting 2>&1)" = greeting=default ]; then
    ok "build uses the cache; --no-cache does not"
else
    notok "build uses the cache; --no-cache does not"
    diag_file "$T/build2.out" 8
    diag_file "$T/build3.out" 8
fi
finish
