#!/bin/sh
# tend and docker compose v5 on the same stack, against the real engine:
# the config-hash tend computes is the one compose computes (tend config
# --hash beside compose config --hash, on the fixtures of tests/data/compose
# and on files that use most service keys; the label on the containers each
# tool makes), so that `docker compose up -d` then `tend up -d` adopts
# compose's containers, and `tend up -d` then `docker compose up -d` leaves
# tend's running ("Running"): the same container IDs either way. Two stacks:
# a plain image+command service, and one with ports, named and bind volumes,
# environment and env_file, a healthcheck, depends_on, labels and networks,
# a service in another's network namespace (its hash names that container's
# ID, as compose's does), and more keys. TAP output.
# Usage: test-compose-interop.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${TEND_TEST_DATA:-$ROOT/tests/data}
COMPOSE=$("$ROOT/scripts/compose-v5" 2>"$T/compose-v5.err")
if [ $? -ne 0 ] || [ -z "$COMPOSE" ]; then
    skip_all "no docker compose v5 (Go missing or its build failed): $(tail -n 1 "$T/compose-v5.err")"
fi
unset XDG_RUNTIME_DIR

# ---- config --hash: tend's beside compose's ----

# same_hashes DESC DIR ARGS...: in DIR, `tend config --hash '*'` prints what
# compose prints (when compose accepts the files; else a skip).
same_hashes() {
    _d=$1
    _dir=$2
    shift 2
    (cd "$_dir" && "$COMPOSE" -p hashp "$@" config --hash '*') >"$T/h-compose" 2>"$T/h-compose.err"
    _crc=$?
    (cd "$_dir" && "$TEND" -p hashp "$@" config --hash '*') >"$T/h-tend" 2>"$T/h-tend.err"
    _trc=$?
    if [ $_crc -ne 0 ]; then
        skip "$_d" "docker compose rejects it: $(tail -n 1 "$T/h-compose.err")"
    elif [ $_trc -eq 0 ] && [ -s "$T/h-tend" ] && cmp -s "$T/h-compose" "$T/h-tend"; then
        ok "$_d ($(wc -l <"$T/h-tend") services)"
    else
        notok "$_d" "tend (rc $_trc):" "$(cat "$T/h-tend" "$T/h-tend.err")" "compose:" "$(cat "$T/h-compose")"
        (cd "$_dir" && TEND_HASH_JSON=1 "$TEND" -p hashp "$@" config --hash '*' 2>&1) | sed 's/^/#   json: /'
    fi
}

for d in "$DATA"/compose/*/; do
    same_hashes "config --hash equals compose's on tests/data/compose/$(basename "$d")" "$d"
done

# Files that use most service keys, in their short and long forms.
H="$T/keys"
mkdir -p "$H/src" "$H/app"
printf 'FROMFILE=1\nOVER=file\nNULLED=x\n# a comment\nQ="a b"\n' >"$H/app.env"
printf 'TAG=7\n' >"$H/.env"
echo secret >"$H/k.txt"
cat >"$H/compose.yaml" <<'EOF'
x-common: &common
  restart: always
services:
  a:
    <<: *common
    build: ./app
    image: myimg:${TAG}
    command: sh -c 'echo "hi there" && sleep 1'
    entrypoint: /bin/tini --
    env_file: [app.env]
    environment:
      - OVER=env
      - NULLED
      - HOME
      - EMPTY=
      - HTML=a<b>&c
    ports:
      - "8000-8001:8000-8001"
      - "[::1]:9090:90"
      - 9000
      - target: 80
        host_ip: 127.0.0.1
        published: "8080"
        protocol: udp
    expose: ["3000", 4000]
    extra_hosts: ["somehost:162.242.195.82", "v6host=::1"]
    labels:
      com.example.n: 1
      com.example.b: "true"
    networks:
      front:
        ipv4_address: 172.30.0.5
        aliases: [w1, w2]
      default:
    stop_grace_period: 90s
    stop_signal: SIGQUIT
    init: false
    user: app:app
    working_dir: /srv
    hostname: h
    tmpfs: [/run, "/tmp:size=64m"]
    cap_add: [SYS_PTRACE]
    cap_drop: [ALL]
    tty: true
    stdin_open: true
    ulimits:
      nofile: 1024
      nproc: {soft: 10, hard: 20}
    healthcheck:
      test: curl -f http://localhost/
      interval: 1500ms
      start_period: 1m30s
      retries: 3
    x-tend:
      probe: {http: "http://localhost:8000/"}
  b:
    image: postgres
    depends_on:
      a: {condition: service_healthy}
    healthcheck:
      test: ["NONE"]
    volumes:
      - data:/d1/
      - /anon
      - ./src:/s:ro,z
      - type: volume
        source: data
        target: /d2/
        volume: {nocopy: true, subpath: sub}
      - type: bind
        source: ./src
        target: /s2
      - type: bind
        source: ./src
        target: /s3
        bind: {create_host_path: false}
      - type: tmpfs
        target: /t
        tmpfs: {size: 1m}
    deploy:
      replicas: 2
      resources:
        limits: {cpus: "0.5", memory: 512M}
        reservations:
          cpus: 0.25
          devices: [{driver: nvidia, capabilities: [gpu]}]
      restart_policy: {condition: on-failure, max_attempts: 3}
    secrets: [s1, {source: s1, target: t1}]
    configs: [c1, {source: c1, target: /etc/c}]
    logging: {driver: json-file, options: {max-size: 10m}}
    devices: ["/dev/null:/dev/xnull:rwm"]
    sysctls: {net.core.somaxconn: 1024}
    shm_size: 64m
    read_only: true
    privileged: true
    dns: 8.8.8.8
    security_opt: [no-new-privileges:true]
    post_start:
      - command: echo hi
        user: root
    entrypoint: []
    command: ""
    profiles: [extra]
volumes:
  data:
networks:
  front:
    ipam:
      config: [{subnet: 172.30.0.0/24}]
secrets:
  s1: {file: ./k.txt}
configs:
  c1: {file: ./k.txt}
EOF
same_hashes "config --hash equals compose's on a file using most service keys" "$H" --profile extra

# ---- the stacks on the engine ----

need_docker_images

PA=tendia$RUN$$   # plain: an image and a command
PB=tendib$RUN$$   # with ports, volumes, environment, healthcheck, ...
docker_project "$PA" "$PB"
LOOP='["sh", "-c", "trap '"'"'exit 0'"'"' TERM; while :; do sleep 1 & wait $$!; done"]'
mkdir -p "$T/src"
echo hello >"$T/src/hello.txt"
printf 'FROM_FILE=yes\nSHARED=file\n' >"$T/app.env"
PORT=$(free_port)
cat >"$T/$PA.yaml" <<EOF
services:
  worker:
    image: tend/busybox
    command: $LOOP
    stop_grace_period: 2s
EOF
cat >"$T/$PB.yaml" <<EOF
services:
  db:
    image: tend/busybox
    command: $LOOP
    volumes:
      - data:/data
      - type: bind
        source: ./src
        target: /src
        read_only: true
    healthcheck:
      test: ["CMD", "test", "-d", "/data"]
      interval: 1s
      timeout: 2s
      retries: 10
    networks: [back]
    stop_grace_period: 2s
  web:
    image: tend/busybox
    command: $LOOP
    ports:
      - "127.0.0.1:$PORT:8080"
    environment:
      MODE: test
      SHARED: env
    env_file: [app.env]
    labels:
      com.example.role: web
    depends_on:
      db: {condition: service_healthy}
    networks: [default, back]
    working_dir: /tmp
    user: "0:0"
    tmpfs: [/run]
    extra_hosts: ["somehost:10.1.2.3"]
    cap_add: [NET_ADMIN]
    expose: ["9000"]
    hostname: webhost
    init: true
    restart: unless-stopped
    stop_signal: SIGTERM
    stop_grace_period: 3s
    deploy:
      resources:
        limits: {memory: 64m}
  side:
    image: tend/busybox
    command: $LOOP
    network_mode: "service:web"
    stop_grace_period: 2s
volumes:
  data:
networks:
  back:
EOF

dc() { _p=$1; shift; (cd "$T" && "$COMPOSE" -p "$_p" -f "$_p.yaml" "$@"); }
tnd() { _p=$1; shift; "$TEND" -p "$_p" -f "$T/$_p.yaml" "$@"; }
# ids P: "name id" of the project's containers, sorted.
ids() { docker ps -a --filter "label=com.docker.compose.project=$1" --format '{{.Names}} {{.ID}}' | sort; }
log_of() { cat "$XDG_STATE_HOME/tend/$1/tend.log" 2>/dev/null; }

# labels_match P: each container's config-hash label is compose's
# `config --hash` of its service; its image label is the image's ID. A
# service in another's namespace is hashed with that container's ID on
# the engine, its name in config --hash: only its image label is compared.
labels_match() {
    _bad=
    dc "$1" config --hash '*' >"$T/$1.hash" 2>/dev/null
    while read -r _svc _hash; do
        _l=$(docker inspect -f '{{index .Config.Labels "com.docker.compose.config-hash"}} {{index .Config.Labels "com.docker.compose.image"}} {{.Image}}' "$1-$_svc-1" 2>/dev/null)
        set -- "$1" $_l
        [ "$_svc" = side ] && _hash=$2
        [ "$2" = "$_hash" ] && [ "$3" = "$4" ] || _bad="$_bad $_svc(label ${2:-none}, compose $_hash; image ${3:-none} vs $4)"
    done <"$T/$1.hash"
    [ -s "$T/$1.hash" ] && [ -z "$_bad" ] || { echo "$_bad"; return 1; }
}

for P in "$PA" "$PB"; do
    docker_remove "$P"
    nsvc=$(tnd "$P" config --services | wc -l)
    same_hashes "$P: tend config --hash is compose's" "$T" -f "$P.yaml"

    # (a) docker compose up -d, then tend up -d: adopted, not recreated.
    dc "$P" up -d --wait >"$T/$P.dc-up.out" 2>&1
    before=$(ids "$P")
    if [ "$(echo "$before" | grep -c .)" -eq "$nsvc" ]; then
        ok "$P: docker compose up -d made $nsvc containers"
    else
        notok "$P: docker compose up -d made $nsvc containers" "$(tail -n 5 "$T/$P.dc-up.out")"
    fi
    if r=$(labels_match "$P"); then
        ok "$P: compose's config-hash labels are what tend config --hash prints"
    else
        notok "$P: compose's config-hash labels are what tend config --hash prints" "$r"
    fi
    tnd "$P" up -d --wait >"$T/$P.up.out" 2>&1
    after=$(ids "$P")
    if [ "$before" = "$after" ]; then
        ok "$P: tend up -d after docker compose up -d keeps compose's containers (same IDs)"
    else
        notok "$P: tend up -d after docker compose up -d keeps compose's containers (same IDs)" \
            "before: $before" "after: $after" "$(tail -n 5 "$T/$P.up.out")"
        log_of "$P" | tail -n 10 | sed 's/^/#   log: /'
    fi
    nadopt=$(log_of "$P" | grep -c "adopted running container")
    if [ "$nadopt" -eq "$nsvc" ] && ! log_of "$P" | grep -q "recreating"; then
        ok "$P: tend says it adopted each of them ($nadopt)"
    else
        notok "$P: tend says it adopted each of them ($nadopt of $nsvc)"
        log_of "$P" | tail -n 10 | sed 's/^/#   log: /'
    fi
    tnd "$P" down >"$T/$P.down.out" 2>&1
    check "$P: tend down removes them" test -z "$(ids "$P")"

    # (b) tend up -d, then docker compose up -d: compose finds them running.
    tnd "$P" up -d --wait >"$T/$P.up2.out" 2>&1
    before=$(ids "$P")
    if [ "$(echo "$before" | grep -c .)" -eq "$nsvc" ]; then
        ok "$P: tend up -d made $nsvc containers"
    else
        notok "$P: tend up -d made $nsvc containers" "$(tail -n 5 "$T/$P.up2.out")"
    fi
    if r=$(labels_match "$P"); then
        ok "$P: tend's config-hash and image labels are compose's"
    else
        notok "$P: tend's config-hash and image labels are compose's" "$r"
    fi
    dc "$P" up -d >"$T/$P.dc-up2.out" 2>&1
    after=$(ids "$P")
    nrunning=$(grep -c "Running" "$T/$P.dc-up2.out")
    if [ "$before" = "$after" ] && [ "$nrunning" -eq "$nsvc" ]; then
        ok "$P: docker compose up -d after tend up -d says Running and keeps tend's containers"
    else
        notok "$P: docker compose up -d after tend up -d says Running and keeps tend's containers" \
            "before: $before" "after: $after" "$(cat "$T/$P.dc-up2.out")"
    fi
    tnd "$P" down >"$T/$P.down2.out" 2>&1
    dc "$P" down -v >"$T/$P.dc-down.out" 2>&1
    docker_remove "$P"
done

finish
