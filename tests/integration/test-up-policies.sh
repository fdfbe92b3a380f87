#!/bin/sh
# The options and keys around the run: --exit-code-from and
# --abort-on-container-exit end the run as in Compose; a host healthcheck
# (CMD-SHELL) gates a dependent; `restart: true` restarts a dependent when
# its dependency comes back; an unhealthy service is restarted by its policy.
# TAP output.
# Usage: test-up-policies.sh TEND_BINARY
. "$(dirname "$0")/lib.sh" "$@"

# ---- --exit-code-from ----
cat >"$T/ecf.yaml" <<EOF
services:
  job:
    command: "sleep 0.3; exit 7"
  server:
    command: "exec sleep 100 # $T"
EOF
start_tend ecf up --exit-code-from job
if wait_tend 10; then ok "--exit-code-from: tend returns when the service exits"; else notok "--exit-code-from: tend returns when the service exits"; fi
if [ "$TEND_RC" = 7 ]; then ok "--exit-code-from: tend exits with the service's status"; else notok "--exit-code-from: tend exits with the service's status" "exit status $TEND_RC"; fi
if grep -qE '^server +\| stopped$' "$T/ecf.out"; then ok "--exit-code-from: the other service is stopped"; else notok "--exit-code-from: the other service is stopped"; diag_run ecf; fi

# ---- --abort-on-container-exit ----
cat >"$T/abort.yaml" <<EOF
services:
  once:
    command: "sleep 0.3"
  server:
    command: "exec sleep 100 # $T"
EOF
start_tend abort up --abort-on-container-exit
if wait_tend 10; then ok "--abort-on-container-exit: tend returns when a service exits"; else notok "--abort-on-container-exit: tend returns when a service exits"; fi
if [ "$TEND_RC" = 0 ]; then ok "--abort-on-container-exit: a clean exit gives status 0"; else notok "--abort-on-container-exit: a clean exit gives status 0" "exit status $TEND_RC"; fi
if [ -z "$(leftovers)" ]; then ok "--abort-on-container-exit: nothing is left running"; else notok "--abort-on-container-exit: nothing is left running" "$(leftovers)"; fi

# ---- a host healthcheck gates a dependent ----
cat >"$T/hc.yaml" <<EOF
services:
  base:
    command: "sleep 0.6; touch $T/base-ready; exec sleep 100"
    healthcheck:
      test: test -f $T/base-ready
      interval: 1s
  app:
    command: "test -f $T/base-ready && echo saw-ready; exec sleep 100"
    depends_on:
      base: {condition: service_healthy}
EOF
start_tend hc up --json
wait_for 10 grep -q '"event":"ready"' "$T/hc.out" || notok "the healthcheck stack becomes ready" "no ready event in 10 s"
# app has no probe: it is ready as soon as it runs, maybe before its echo.
wait_for 10 grep -q 'saw-ready' "$T/hc.out"
kill -INT "$TEND_PID" 2>/dev/null
wait_tend 10
if grep -q 'saw-ready' "$T/hc.out"; then ok "a CMD-SHELL healthcheck holds the dependent until it passes"; else notok "a CMD-SHELL healthcheck holds the dependent until it passes"; diag_run hc; fi

# ---- restart: true ----
cat >"$T/casc.yaml" <<EOF
services:
  db:
    command: "echo db-up; sleep 0.8; exit 1"
    restart: always
  web:
    command: "echo web-up; exec sleep 100 # $T"
    depends_on:
      db: {condition: service_started, restart: true}
EOF
start_tend casc up
wait_for 10 sh -c "[ \$(grep -c 'web-up' '$T/casc.out') -ge 2 ]"
kill -INT "$TEND_PID" 2>/dev/null
wait_tend 10
c=$(grep -c 'web-up' "$T/casc.out")
if [ "$c" -ge 2 ]; then ok "restart: true restarts the dependent when its dependency comes back ($c starts)"; else notok "restart: true restarts the dependent when its dependency comes back" "web started $c times"; diag_run casc; fi

# ---- unhealthy, restarted by the policy ----
cat >"$T/unh.yaml" <<EOF
services:
  api:
    command: "echo api-up; touch $T/healthy; exec sleep 100 # $T"
    restart: unless-stopped
    x-tend:
      probe:
        exec: test -f $T/healthy
        interval: 200ms
        retries: 2
EOF
start_tend unh up
wait_for 10 grep -q 'ready in' "$T/unh.out" || notok "api becomes ready"
rm -f "$T/healthy"
wait_for 10 sh -c "[ \$(grep -c 'api-up' '$T/unh.out') -ge 2 ]"
kill -INT "$TEND_PID" 2>/dev/null
wait_tend 10
if grep -qE '^api +\| unhealthy \(.*\); restarting$' "$T/unh.out"; then ok "an unhealthy service is reported"; else notok "an unhealthy service is reported"; diag_run unh; fi
if [ "$(grep -c 'api-up' "$T/unh.out")" -ge 2 ]; then ok "and restarted by its policy"; else notok "and restarted by its policy"; fi

finish
