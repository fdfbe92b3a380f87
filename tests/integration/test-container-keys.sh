#!/bin/sh
# The container keys of the Compose format beyond image, command, ports and
# volumes: capabilities, devices, security options, sysctls, DNS, groups,
# logging, memory and CPU limits (deploy.resources too), secrets and
# configs (from a file: a read-only bind; from a variable or inline: copied
# in before the start, with their mode and owner). Each is checked in the
# container tend made, then beside the one docker compose v5 makes from the
# same file. Bad secrets stop `tend up` with a message naming them.
# TAP output. Usage: test-container-keys.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

need_docker_images
DC=$("$ROOT/scripts/compose-v5" 2>"$T/dc.err")
dc_rc=$?

P=tendkeys$RUN$$
C=tendkeysc$RUN$$ # the project docker compose makes
docker_project "$P" "$C"
mkdir -p "$T/proj"
printf 's3cret-from-file' >"$T/proj/pw.txt"
cat >"$T/proj/compose.yaml" <<'EOF'
services:
  app:
    image: tend/busybox
    command: ["sleep", "1000"]
    stop_grace_period: 1s
    cap_add: [NET_ADMIN, CAP_SYS_TIME]
    cap_drop: [mknod]
    devices: ["/dev/null:/dev/mynull:rw", {source: /dev/zero, target: /dev/myzero}]
    security_opt: ["no-new-privileges:true"]
    sysctls: {net.core.somaxconn: 1024}
    dns: 127.0.0.53
    dns_search: [example.test]
    dns_opt: ["ndots:2"]
    group_add: ["100"]
    oom_score_adj: 100
    cpu_shares: 512
    logging: {driver: json-file, options: {max-size: 1m, max-file: "2"}}
    deploy:
      resources:
        limits: {memory: 64M, cpus: "0.5", pids: 50}
        reservations: {memory: 16M}
    domainname: example.test
    secrets:
      - pw
      - {source: tok, target: /etc/tok, uid: "1000", gid: "1001", mode: 0440}
    configs:
      - cfg
      - {source: cfg, target: /etc/app.conf}
  side:
    image: tend/busybox
    command: ["sleep", "1000"]
    stop_grace_period: 1s
    volumes_from: ["app:ro"]
    links: ["app:appalias"]
secrets:
  pw: {file: ./pw.txt}
  tok: {environment: KEYS_TOKEN}
configs:
  cfg: {content: "hello config"}
EOF
export KEYS_TOKEN=tok-from-variable
trap 'docker_remove "$P"; docker_remove "$C"; cleanup' EXIT
tend() { "$TEND" -p "$1" -f "$T/proj/compose.yaml" up -d --wait --wait-timeout 60 >"$T/$1.up" 2>&1; }
hc() { docker inspect -f "{{json .HostConfig.$2}}" "$1-app-1" 2>/dev/null; }
in_ctr() { _c=$1; shift; docker exec "$_c-app-1" sh -c "$*" 2>&1; }

if tend "$P"; then ok "tend up starts the service with every key"; else
    notok "tend up starts the service with every key"
    diag_file "$T/$P.up"
fi
expect() { # DESC FIELD JSON
    _v=$(hc "$P" "$2")
    if [ "$_v" = "$3" ]; then ok "$1"; else notok "$1" "HostConfig.$2 = $_v, expected $3"; fi
}
expect "cap_add, as the engine names capabilities" CapAdd '["CAP_NET_ADMIN","CAP_SYS_TIME"]'
expect "cap_drop" CapDrop '["CAP_MKNOD"]'
expect "devices, short and long forms" Devices \
    '[{"PathOnHost":"/dev/null","PathInContainer":"/dev/mynull","CgroupPermissions":"rw"},{"PathOnHost":"/dev/zero","PathInContainer":"/dev/myzero","CgroupPermissions":"rwm"}]'
expect "security_opt" SecurityOpt '["no-new-privileges:true"]'
expect "sysctls" Sysctls '{"net.core.somaxconn":"1024"}'
expect "dns (a string) dns_search and dns_opt" Dns '["127.0.0.53"]'
expect "dns_search" DnsSearch '["example.test"]'
expect "dns_opt" DnsOptions '["ndots:2"]'
expect "group_add" GroupAdd '["100"]'
expect "oom_score_adj" OomScoreAdj '100'
expect "cpu_shares" CpuShares '512'
expect "deploy.resources.limits.memory" Memory '67108864'
expect "deploy.resources.limits.cpus" NanoCpus '500000000'
expect "deploy.resources.limits.pids" PidsLimit '50'
expect "deploy.resources.reservations.memory" MemoryReservation '16777216'
expect "logging" LogConfig '{"Type":"json-file","Config":{"max-file":"2","max-size":"1m"}}'
check "domainname" [ "$(docker inspect -f '{{.Config.Domainname}}' "$P-app-1" 2>/dev/null)" = example.test ]

side() { docker inspect -f "{{json .HostConfig.$2}}" "$1-side-1" 2>/dev/null | sed "s/$1/P/g"; }
check "volumes_from names the other service's container" [ "$(side "$P" VolumesFrom)" = '["P-app-1:ro"]' ]
check "links too, with the alias (the engine keeps them in the endpoint)" [ "$(docker inspect -f '{{range .NetworkSettings.Networks}}{{json .Links}}{{end}}' "$P-side-1" 2>/dev/null | sed "s/$P/P/g")" = '["P-app-1:appalias","P-app-1:app-1","P-app-1:P-app-1"]' ]
check "the link's alias answers from side" eval 'docker exec "$P-side-1" ping -c 1 -W 5 appalias >/dev/null 2>&1'
check "the volumes of app are in side" [ "$(docker exec "$P-side-1" cat /run/secrets/pw 2>&1)" = s3cret-from-file ]
check "the sysctl holds in the container" [ "$(in_ctr "$P" cat /proc/sys/net/core/somaxconn)" = 1024 ]
check "the device is there" [ -n "$(in_ctr "$P" 'test -c /dev/mynull && echo yes')" ]
check "the resolver searches example.test" [ -n "$(in_ctr "$P" 'grep "^search example.test" /etc/resolv.conf')" ]
check "a file secret is at /run/secrets/NAME" [ "$(in_ctr "$P" cat /run/secrets/pw)" = s3cret-from-file ]
check "a file secret is read-only in the container" eval \
    '[ -n "$(in_ctr "$P" "echo x >/run/secrets/pw || echo refused")" ] && [ "$(cat "$T/proj/pw.txt")" = s3cret-from-file ]'
check "a secret from a variable is copied to its target" [ "$(in_ctr "$P" cat /etc/tok)" = tok-from-variable ]
files_of() { in_ctr "$1" 'stat -c "%n %a %u:%g" /etc/tok /cfg /etc/app.conf'; }
check "with its mode, uid and gid" [ "$(in_ctr "$P" 'stat -c "%a %u:%g" /etc/tok')" = "440 1000:1001" ]
check "an inline config is at /NAME, mode 444" [ "$(in_ctr "$P" 'cat /cfg; stat -c " %a" /cfg')" = "hello config 444" ]
check "the same config at a second target" [ "$(in_ctr "$P" cat /etc/app.conf)" = "hello config" ]

# ---- beside docker compose v5 ----
if [ $dc_rc = 77 ]; then
    skip "docker compose v5 beside tend" "Go is not installed (scripts/compose-v5)"
elif [ $dc_rc != 0 ]; then
    notok "docker compose v5 can be built" "$(tail -n 3 "$T/dc.err")"
else
    # compose's copy names the long-form device's permissions (see below).
    sed 's|target: /dev/myzero}|target: /dev/myzero, permissions: rwm}|' "$T/proj/compose.yaml" >"$T/proj/compose-dc.yaml"
    "$DC" -p "$C" -f "$T/proj/compose-dc.yaml" up -d >"$T/dc-up.out" 2>&1
    diff=""
    # For a long-form device without permissions compose sends an empty
    # one, which runc refuses at the start (tend sends rwm, as the docker
    # CLI does): compose's file names them.
    for f in CapAdd CapDrop Devices SecurityOpt Sysctls Dns DnsSearch DnsOptions GroupAdd OomScoreAdj CpuShares \
        Memory NanoCpus PidsLimit MemoryReservation LogConfig Privileged ReadonlyRootfs ShmSize; do
        [ "$(hc "$P" "$f")" = "$(hc "$C" "$f")" ] || diff="$diff $f: tend $(hc "$P" "$f"), compose $(hc "$C" "$f");"
    done
    # (volumes_from is compared by what it gives: compose names the
    # container by its ID, tend by its name.)
    eplinks() { docker inspect -f '{{range .NetworkSettings.Networks}}{{json .Links}}{{end}}' "$1-side-1" 2>/dev/null | sed "s/$1/P/g"; }
    [ "$(eplinks "$P")" = "$(eplinks "$C")" ] || diff="$diff side links: tend $(eplinks "$P"), compose $(eplinks "$C");"
    if [ -z "$diff" ]; then ok "the engine has the same settings for tend's container and compose's"; else
        notok "the engine has the same settings for tend's container and compose's" "$diff"
        diag_file "$T/dc-up.out"
    fi
    if [ "$(files_of "$P")" = "$(files_of "$C")" ] && [ -n "$(files_of "$C")" ]; then
        ok "secrets and configs copied in have compose's modes and owners"
    else
        notok "secrets and configs copied in have compose's modes and owners" "tend: $(files_of "$P") compose: $(files_of "$C")"
    fi
    _t=$(hc "$P" Mounts | tr ',' '\n' | grep -c '/run/secrets/pw')
    _c=$(hc "$C" Mounts | tr ',' '\n' | grep -c '/run/secrets/pw')
    check "a file secret is a bind mount under both" eval '[ "$_t" = 1 ] && [ "$_c" = 1 ]'
    docker_remove "$C"
fi
"$TEND" -p "$P" -f "$T/proj/compose.yaml" down >/dev/null 2>&1
docker_remove "$P"

# ---- secrets that cannot be given ----
refused() { # DESC MESSAGE: tend up fails and says MESSAGE; then down
    tend "$P"
    _rc=$?
    if [ $_rc != 0 ] && grep -qF "$2" "$T/$P.up"; then ok "$1"; else
        notok "$1" "rc=$_rc"
        diag_file "$T/$P.up"
    fi
    "$TEND" -p "$P" -f "$T/proj/compose.yaml" down >/dev/null 2>&1
    docker_remove "$P"
}
mv "$T/proj/pw.txt" "$T/proj/pw.gone"
refused "a missing secret file stops up, naming the secret and the file" \
    "the secret pw: cannot use its file $T/proj/pw.txt"
mv "$T/proj/pw.gone" "$T/proj/pw.txt"
unset KEYS_TOKEN
refused "a secret from an unset variable stops up, naming both" \
    "the variable KEYS_TOKEN, which the secret tok takes its value from, is not set"
"$TEND" -p "$P" -f "$T/proj/compose.yaml" down -v >/dev/null 2>&1
check "down leaves no container" [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$P")" ]
finish
