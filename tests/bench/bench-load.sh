#!/bin/bash
# Load benchmark: generates a services file of 500 realistic services and
# times `tend -f FILE config -q` against `docker compose -f FILE config -q`
# (v5, scripts/compose-v5) and `docker-compose -f FILE config -q` (v1)
# (the column is left out when docker-compose is not installed). Prints the
# median of N runs of each and the ratio, in the same run. Not a pass/fail
# test on time: it fails only when a program crashed or could not read the
# file.
#
# Two shapes of the same 500 services, one line each: "chain", where each
# service depends on one to three services just before it, and "fan",
# where each depends on one of the first three. Compose v5 walks every path
# of the dependency graph (its time doubles about every three services of a
# chain: 20 services 0.35 s, 40 services 76 s), so on the chain it is cut at
# its time limit; the fan is the file it can read, for a measured ratio.
#   bench-load.sh [TEND]   TEND defaults to ${BUILD_DIR:-build}/supervisor/tend
#   BENCH_RUNS      runs per program (default 20)
#   BENCH_SERVICES  services in the file (default 500)
#   BENCH_SHAPES    which files (default "fan chain")
set -u

tend=${1:-${BUILD_DIR:-build}/supervisor/tend}
runs=${BENCH_RUNS:-20}
nsvc=${BENCH_SERVICES:-500}
goal_ms=50

if [ ! -x "$tend" ]; then
    echo "bench-load: $tend: not an executable" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tend-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
shapes=${BENCH_SHAPES:-fan chain}

# Each service: an image, short and long ports (unique host ports), a map
# environment, a named volume and a bind mount, depends_on on up to three
# earlier services (short and long forms), a healthcheck and labels.
gen() {
    local shape=$1
    echo "x-logging: &logging"
    echo "  driver: json-file"
    echo "  options: {max-size: 10m, max-file: \"3\"}"
    echo "services:"
    local i block
    # Blocks are read into a variable rather than through cat: a fork per
    # service would make generating the file slower than loading it.
    for ((i = 0; i < nsvc; i++)); do
        IFS= read -r -d "" block <<SVC
  svc$i:
    image: registry.example.com/team/svc$i:1.$((i % 7)).$((i % 13))
    command: ["/app/bin/server", "--port", "8000", "--name", "svc$i"]
    restart: unless-stopped
    logging: *logging
    ports:
      - "$((20000 + i)):8000"
      - target: 9090
        published: "$((30000 + i))"
        protocol: tcp
        mode: host
    environment:
      SERVICE_NAME: svc$i
      LOG_LEVEL: \${LOG_LEVEL:-info}
      DATABASE_URL: postgres://app:secret@db:5432/svc$i
      CACHE_URL: redis://cache:6379/$((i % 16))
      WORKERS: "$((i % 8 + 1))"
    volumes:
      - data$i:/var/lib/svc$i
      - ./config/svc$i.yaml:/etc/svc$i/config.yaml:ro
      - type: tmpfs
        target: /tmp
SVC
        printf '%s' "$block"
        if ((i >= 3)) && [ "$shape" = fan ]; then
            echo "    depends_on:"
            if ((i % 2)); then
                echo "      svc$((i % 3)):"
                echo "        condition: service_started"
            else
                echo "      - svc$((i % 3))"
            fi
        elif ((i >= 3)); then
            echo "    depends_on:"
            if ((i % 2)); then
                echo "      svc$((i - 1)):"
                echo "        condition: service_healthy"
                echo "      svc$((i - 3)):"
                echo "        condition: service_started"
            else
                echo "      - svc$((i / 4))"
                echo "      - svc$((i - 2))"
                echo "      - svc$((i - 1))"
            fi
        fi
        IFS= read -r -d "" block <<SVC
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:8000/health"]
      interval: 10s
      timeout: 2s
      retries: 5
      start_period: 30s
    labels:
      com.example.team: team$((i % 10))
      com.example.tier: "$((i % 3))"
      com.example.description: "service number $i of the benchmark"
SVC
        printf '%s' "$block"
    done
    echo "volumes:"
    for ((i = 0; i < nsvc; i++)); do
        echo "  data$i: {}"
    done
}

# time_runs NAME CMD...: prints the median wall time of CMD in ms (to 0.1),
# or returns 1 after reporting why CMD failed. $EPOCHREALTIME avoids a fork
# per clock read, which would blur times of a few milliseconds.
time_runs() {
    local name=$1
    shift
    local out rc
    out=$("$@" 2>&1 >/dev/null)
    rc=$?
    if ((rc != 0)); then
        echo "bench-load: $name exited with status $rc on $file" >&2
        [ -n "$out" ] && printf '%s\n' "$out" | head -5 >&2
        return $rc
    fi
    local t0 t1 k times=""
    for ((k = 0; k < runs; k++)); do
        t0=$EPOCHREALTIME
        "$@" >/dev/null 2>&1
        t1=$EPOCHREALTIME
        times+="$t0 $t1"$'\n'
    done
    # Sort the durations and take the middle one (mean of the two middle ones
    # for an even count).
    printf '%s' "$times" | LC_ALL=C awk '{ printf "%.6f\n", ($2 - $1) * 1000 }' |
        sort -n | LC_ALL=C awk '{ v[NR] = $1 }
            END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                  printf "%.1f\n", m }'
}

v5=$("$(dirname "$0")/../../scripts/compose-v5" 2>/dev/null) || v5=
crashed=0
for shape in $shapes; do
file=$tmp/compose-$shape.yaml
gen "$shape" >"$file"
# A status above 128 is a signal (a crash); the bench fails only then, or
# when the program is missing.
tend_ms=$(time_runs tend "$tend" -f "$file" config -q)
rc=$?
if ((rc != 0)); then
    tend_ms=""
    ((rc > 128 || rc == 126 || rc == 127)) && crashed=1
fi

# The peers: docker compose v5 (scripts/compose-v5) and docker-compose v1.
# `config` needs no daemon; the user's Compose settings stay out of it.
# A peer is timed once first, with a time limit (BENCH_PEER_TIMEOUT
# seconds, default 120): one that takes longer is shown as "> LIMIT"; one
# that takes over 5 s is not run again (its one run is the figure);
# otherwise it gets up to 5 runs.
peer_ms() {
    (
        unset DOCKER_HOST COMPOSE_FILE COMPOSE_PROFILES COMPOSE_PROJECT_NAME
        limit=${BENCH_PEER_TIMEOUT:-120}
        t0=$EPOCHREALTIME
        # SIGKILL 5 s after the SIGTERM: docker compose v5 ignores it there.
        timeout -k 5 "$limit" "$1" -f "$file" config -q >/dev/null 2>&1
        rc=$?
        t1=$EPOCHREALTIME
        if ((rc == 124 || rc == 137)); then
            echo ">$((limit * 1000))"
            exit 0
        fi
        ((rc == 0)) || exit 0
        one=$(LC_ALL=C awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
        if LC_ALL=C awk -v o="$one" 'BEGIN { exit !(o > 5000) }'; then
            echo "$one"
        else
            runs=$((runs < 5 ? runs : 5))
            time_runs "$1" "$1" -f "$file" config -q
        fi
    ) || true
}
v5_ms=$([ -n "$v5" ] && peer_ms "$v5")
dc_ms=$(command -v docker-compose >/dev/null 2>&1 && peer_ms docker-compose)

line="load $nsvc services ($shape): tend ${tend_ms:-failed} ms"
[ -n "$v5_ms" ] && line+=", docker compose v5 $v5_ms ms"
[ -n "$dc_ms" ] && line+=", docker-compose v1 $dc_ms ms"
if [ -n "$tend_ms" ] && [ -n "$v5_ms" ]; then
    line+=$(LC_ALL=C awk -v a="$tend_ms" -v b="${v5_ms#>}" 'BEGIN {
        if (a > 0) printf " (%.1fx faster than v5)", b / a }')
fi
echo "$line; goal < $goal_ms ms"
printf 'BENCH-RESULT\t%s\t%s\t%s\t%s\t%s\n' "load a $nsvc-service file, $shape (config -q)" "${tend_ms:--}" \
    "${v5_ms:--}" "${dc_ms:--}" "< $goal_ms ms"
done
exit $crashed
