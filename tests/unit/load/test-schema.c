/* Tests of the schema check: the exact messages a user sees for each kind of
 * mistake, where they point, the list of ignored keys, suggestions, and a
 * file using every key that must pass. The malformed files under
 * tests/data/bad are replayed through the YAML reader and the schema to keep
 * their .expected lines honest. */
#include "load/schema.h"
#include "test.h"

#include <dirent.h>
#include <stdio.h>

typedef struct Result {
    size_t errors;
    Diag d;
    StrVec ignored;
} Result;

/* Loads `yaml` as file "t.yaml" and checks it. errors is (size_t)-1 when
 * the YAML itself does not load. */
static Result run(const char *yaml)
{
    Result r = {0};
    Arena *a = arena_new();
    Node *root = yaml_load(a, "t.yaml", yaml, strlen(yaml), &r.d, 0);
    r.errors = root ? schema_check(root, &r.d, &r.ignored) : (size_t)-1;
    arena_free(a);
    return r;
}

static void result_free(Result *r)
{
    diag_free(&r->d);
    strvec_free(&r->ignored);
}

/* Checks that `yaml` gives exactly one error, `msg`. */
#define CHECK_ONE(yaml, msg)                                                    \
    do {                                                                        \
        Result r_ = run(yaml);                                                  \
        CHECK_INT(r_.errors, 1);                                                \
        CHECK_INT(r_.d.msgs.n, 1);                                              \
        CHECK_STR(r_.d.msgs.n ? r_.d.msgs.v[0] : NULL, msg);                    \
        result_free(&r_);                                                       \
    } while (0)

#define CHECK_OK(yaml)                                                          \
    do {                                                                        \
        Result r_ = run(yaml);                                                  \
        CHECK_INT(r_.errors, 0);                                                \
        for (size_t i_ = 0; i_ < r_.d.msgs.n; i_++)                             \
            printf("#     unexpected: %s\n", r_.d.msgs.v[i_]);                 \
        result_free(&r_);                                                       \
    } while (0)

/* ---- suggestions ---- */

TEST(suggest_finds_close_words)
{
    static const char *const c[] = {"image", "build", "services", "restart", NULL};
    CHECK_STR(schema_suggest("imgae", c), "image");
    CHECK_STR(schema_suggest("servces", c), "services");
    CHECK_STR(schema_suggest("IMAGE", c), "image");
    CHECK_STR(schema_suggest("Restrat", c), "restart");
    CHECK_STR(schema_suggest("buidl", c), "build");
}

TEST(suggest_returns_null_when_nothing_is_close)
{
    static const char *const c[] = {"image", "build", "services", NULL};
    CHECK(schema_suggest("zzzzzz", c) == NULL);
    CHECK(schema_suggest("foo", c) == NULL);
    CHECK(schema_suggest("x", c) == NULL);
    static const char *const none[] = {NULL};
    CHECK(schema_suggest("image", none) == NULL);
}

TEST(suggest_tie_goes_to_first_candidate)
{
    static const char *const c[] = {"tcp", "udp", NULL};
    /* "tdp" is one edit from both */
    CHECK_STR(schema_suggest("tdp", c), "tcp");
    static const char *const c2[] = {"udp", "tcp", NULL};
    CHECK_STR(schema_suggest("tdp", c2), "udp");
}

/* ---- unknown keys ---- */

TEST(unknown_service_key_with_suggestion_points_at_key)
{
    CHECK_ONE("services:\n  web:\n    imgae: nginx\n",
              "t.yaml:3:5: error: services.web: unknown key \"imgae\"; did you mean \"image\"?");
}

TEST(unknown_service_key_without_suggestion)
{
    CHECK_ONE("services:\n  web:\n    image: nginx\n    foo: 1\n",
              "t.yaml:4:5: error: services.web: unknown key \"foo\"");
}

TEST(unknown_top_level_key)
{
    CHECK_ONE("servces:\n  web:\n    image: nginx\n",
              "t.yaml:1:1: error: unknown top-level key \"servces\"; did you mean \"services\"?");
}

TEST(unknown_nested_keys)
{
    CHECK_ONE("services:\n  web:\n    healthcheck:\n      intervl: 5s\n",
              "t.yaml:4:7: error: services.web.healthcheck: unknown key \"intervl\"; did you mean "
              "\"interval\"?");
    CHECK_ONE("services:\n  web:\n    build:\n      contxt: .\n",
              "t.yaml:4:7: error: services.web.build: unknown key \"contxt\"; did you mean "
              "\"context\"?");
    CHECK_ONE("services:\n  web:\n    ports:\n      - target: 80\n        publised: 8080\n",
              "t.yaml:5:9: error: services.web.ports[0]: unknown key \"publised\"; did you mean "
              "\"published\"?");
    CHECK_ONE("services:\n  db:\n    x-tend:\n      probe:\n        postgress: true\n",
              "t.yaml:5:9: error: services.db.x-tend.probe: unknown key \"postgress\"; did you "
              "mean \"postgres\"?");
}

TEST(extension_keys_pass_unchecked)
{
    CHECK_OK("x-common: &c {a: [1, 2]}\n"
             "services:\n"
             "  web:\n"
             "    image: nginx\n"
             "    x-anything: {whatever: [1]}\n"
             "    healthcheck:\n"
             "      test: [CMD, \"true\"]\n"
             "      x-note: hi\n"
             "volumes:\n"
             "  data:\n"
             "    x-backup: true\n"
             "networks:\n"
             "  front:\n"
             "    x-foo: 1\n");
}

/* ---- types ---- */

TEST(wrong_types)
{
    CHECK_ONE("services:\n  web:\n    restart: {a: 1}\n",
              "t.yaml:3:14: error: services.web.restart: must be a string, not a mapping");
    CHECK_ONE("services:\n  - web\n",
              "t.yaml:2:3: error: services: must be a mapping, not a list");
    CHECK_ONE("services:\n  web: nginx\n",
              "t.yaml:2:8: error: services.web: must be a mapping, not a string");
    CHECK_ONE("services:\n  web:\n    environment: FOO=1\n",
              "t.yaml:3:18: error: services.web.environment: must be a mapping or a list, "
              "not a string");
    CHECK_ONE("services:\n  web:\n    ports: {a: 1}\n",
              "t.yaml:3:12: error: services.web.ports: must be a list, not a mapping");
    CHECK_ONE("services:\n  web:\n    command: {a: 1}\n",
              "t.yaml:3:14: error: services.web.command: must be a string or a list, not a "
              "mapping");
    CHECK_ONE("services:\n  web:\n    healthcheck:\n      retries: true\n",
              "t.yaml:4:16: error: services.web.healthcheck.retries: must be an integer, not a "
              "boolean");
    CHECK_ONE("services:\n  web:\n    init: maybe\n",
              "t.yaml:3:11: error: services.web.init: must be a boolean, not a string");
    CHECK_ONE("services:\n  web:\n    image:\n",
              "t.yaml:3:11: error: services.web.image: must be a string, not null");
    CHECK_ONE("services:\n  web:\n    environment:\n      A: [1]\n",
              "t.yaml:4:10: error: services.web.environment.A: must be a string, a number, a "
              "boolean or null, not a list");
    CHECK_ONE("- a\n", "t.yaml:1:1: error: the top level must be a mapping, not a list");
}

/* As compose reads YAML (1.2): `no` is text, `1000` and `true` are not;
 * quoted text is cast where a number or a boolean is wanted. */
TEST(scalars_read_as_compose_reads_them)
{
    CHECK_OK("services:\n  web:\n    image: nginx\n    user: \"1000\"\n    restart: no\n"
             "    hostname: \"123\"\n    init: \"true\"\n    healthcheck:\n      retries: \"3\"\n");
    CHECK_ONE("services:\n  web:\n    user: 1000\n",
              "t.yaml:3:11: error: services.web.user: must be a string, not a number (quote it: "
              "\"1000\")");
    CHECK_ONE("services:\n  web:\n    hostname: true\n",
              "t.yaml:3:15: error: services.web.hostname: must be a string, not a boolean (quote "
              "it: \"true\")");
    CHECK_ONE("services:\n  web:\n    command: [echo, 1]\n",
              "t.yaml:3:21: error: services.web.command[1]: must be a string, not a number (quote "
              "it: \"1\")");
    CHECK_ONE("services:\n  web:\n    healthcheck:\n      test: 42\n",
              "t.yaml:4:13: error: services.web.healthcheck.test: must be a string or a list, not a "
              "number (quote it: \"42\")");
}

/* ---- values ---- */

TEST(durations_and_sizes)
{
    CHECK_ONE("services:\n  web:\n    healthcheck:\n      interval: 5x\n",
              "t.yaml:4:17: error: services.web.healthcheck.interval: invalid duration \"5x\"");
    CHECK_ONE("services:\n  web:\n    stop_grace_period: 10\n",
              "t.yaml:3:24: error: services.web.stop_grace_period: must be a string, not a number "
              "(quote it: \"10\")");
    CHECK_ONE("services:\n  web:\n    stop_grace_period: \"10\"\n",
              "t.yaml:3:24: error: services.web.stop_grace_period: invalid duration \"10\"");
    CHECK_ONE("services:\n  web:\n    mem_limit: 12q\n",
              "t.yaml:3:16: error: services.web.mem_limit: invalid size \"12q\"");
    CHECK_OK("services:\n  web:\n    mem_limit: 512m\n    shm_size: 1073741824\n"
             "    stop_grace_period: 1m30s\n");
}

TEST(ports_and_volumes_short_syntax)
{
    CHECK_ONE("services:\n  web:\n    ports:\n      - \"80:x\"\n",
              "t.yaml:4:9: error: services.web.ports[0]: invalid port \"80:x\": \"x\" is not a "
              "port number");
    CHECK_ONE("services:\n  web:\n    volumes:\n      - ./a:/b\n      - ./c:d\n",
              "t.yaml:5:9: error: services.web.volumes[1]: invalid volume \"./c:d\": target must "
              "be an absolute path");
    CHECK_OK("services:\n  web:\n    ports: [80, \"8080:80\", \"127.0.0.1:53:53/udp\"]\n"
             "    volumes: [\"./src:/src:ro\", \"data:/data\", /anon]\n");
}

TEST(long_ports_and_volumes)
{
    CHECK_ONE("services:\n  web:\n    ports:\n      - published: 8080\n",
              "t.yaml:4:9: error: services.web.ports[0]: missing required key \"target\"");
    CHECK_ONE("services:\n  web:\n    ports:\n      - target: 70000\n",
              "t.yaml:4:17: error: services.web.ports[0].target: invalid port \"70000\"");
    CHECK_ONE("services:\n  web:\n    ports:\n      - {target: 80, published: \"9000-x\"}\n",
              "t.yaml:4:33: error: services.web.ports[0].published: invalid port \"9000-x\"");
    CHECK_ONE("services:\n  web:\n    ports:\n      - {target: 80, mode: bridge}\n",
              "t.yaml:4:28: error: services.web.ports[0].mode: invalid mode \"bridge\" (expected "
              "host or ingress)");
    CHECK_ONE("services:\n  web:\n    volumes:\n      - {type: bind, source: .}\n",
              "t.yaml:4:9: error: services.web.volumes[0]: missing required key \"target\"");
    CHECK_ONE("services:\n  web:\n    volumes:\n      - {type: nfs, target: /a}\n",
              "t.yaml:4:16: error: services.web.volumes[0].type: invalid volume type \"nfs\" "
              "(expected bind, volume, tmpfs, npipe, cluster or image)");
    CHECK_ONE("services:\n  web:\n    volumes:\n      - type: tmpfs\n        target: /t\n"
              "        tmpfs: {size: lots}\n",
              "t.yaml:6:23: error: services.web.volumes[0].tmpfs.size: invalid size \"lots\"");
}

TEST(restart_condition_and_enums)
{
    CHECK_ONE("services:\n  web:\n    restart: sometimes\n",
              "t.yaml:3:14: error: services.web.restart: invalid restart policy \"sometimes\" "
              "(expected no, always, on-failure[:N] or unless-stopped)");
    CHECK_OK("services:\n  web:\n    restart: on-failure:3\n");
    CHECK_ONE("services:\n  web:\n    restart: on-failure:x\n",
              "t.yaml:3:14: error: services.web.restart: invalid restart policy \"on-failure:x\" "
              "(expected no, always, on-failure[:N] or unless-stopped)");
    CHECK_ONE("services:\n  web:\n    depends_on:\n      db:\n        condition: service_ready\n",
              "t.yaml:5:20: error: services.web.depends_on.db.condition: invalid condition "
              "\"service_ready\" (expected service_started, service_healthy or "
              "service_completed_successfully)");
    CHECK_ONE("services:\n  web:\n    pull_policy: sometimes\n",
              "t.yaml:3:18: error: services.web.pull_policy: invalid pull policy \"sometimes\" "
              "(expected always, never, missing, build, if_not_present, daily, weekly or "
              "every_<duration>)");
    CHECK_OK("services:\n  web:\n    pull_policy: every_12h30m\n");
    CHECK_ONE("services:\n  web:\n    healthcheck:\n      test: [RUN, \"true\"]\n",
              "t.yaml:4:14: error: services.web.healthcheck.test[0]: invalid test type \"RUN\" "
              "(expected NONE, CMD or CMD-SHELL)");
    CHECK_ONE("services:\n  web:\n    healthcheck:\n      retries: -1\n",
              "t.yaml:4:16: error: services.web.healthcheck.retries: must be 0 or more, not -1");
}

TEST(names)
{
    CHECK_ONE("services:\n  \"bad name\":\n    image: nginx\n",
              "t.yaml:2:3: error: services: invalid service name \"bad name\"");
    CHECK_ONE("services:\n  web:\n    profiles: [dev, \"-x\"]\n",
              "t.yaml:3:21: error: services.web.profiles[1]: invalid profile name \"-x\"");
    CHECK_ONE("volumes:\n  \"a b\":\n",
              "t.yaml:2:3: error: volumes: invalid volume name \"a b\"");
}

TEST(signals)
{
    CHECK_OK("services:\n  a:\n    stop_signal: SIGTERM\n  b:\n    stop_signal: TERM\n"
             "  c:\n    stop_signal: \"15\"\n  d:\n    stop_signal: SIGRTMIN+3\n"
             "  e:\n    stop_signal: sigint\n");
    CHECK_ONE("services:\n  web:\n    stop_signal: SIGFOO\n",
              "t.yaml:3:18: error: services.web.stop_signal: invalid signal \"SIGFOO\"");
    CHECK_ONE("services:\n  web:\n    stop_signal: \"65\"\n",
              "t.yaml:3:18: error: services.web.stop_signal: invalid signal \"65\"");
}

TEST(reset_tag_skips_the_check)
{
    CHECK_OK("services:\n  web:\n    ports: !reset []\n    environment: !reset null\n");
}

/* ---- x-tend ---- */

TEST(xtend_probe_needs_exactly_one_kind)
{
    CHECK_ONE("services:\n  db:\n    x-tend:\n      probe:\n        postgres: true\n"
              "        tcp: 5432\n",
              "t.yaml:6:9: error: services.db.x-tend.probe: exactly one of postgres, redis, http, "
              "tcp, log, exec is required");
    CHECK_ONE("services:\n  db:\n    x-tend:\n      probe:\n        interval: 1s\n",
              "t.yaml:5:9: error: services.db.x-tend.probe: exactly one of postgres, redis, http, "
              "tcp, log, exec is required");
}

TEST(xtend_probe_values)
{
    CHECK_ONE("services:\n  db:\n    x-tend:\n      probe:\n        log: \"ready (\"\n",
              "t.yaml:5:14: error: services.db.x-tend.probe.log: invalid regular expression "
              "\"ready (\": Unmatched ( or \\(");
    CHECK_ONE("services:\n  db:\n    x-tend:\n      probe:\n        postgres: {port: 0}\n",
              "t.yaml:5:26: error: services.db.x-tend.probe.postgres.port: invalid port 0 "
              "(expected 1-65535)");
    CHECK_ONE("services:\n  db:\n    x-tend:\n      probe:\n        http: {url: /, status: 700}\n",
              "t.yaml:5:32: error: services.db.x-tend.probe.http.status: invalid HTTP status 700 "
              "(expected 100-599)");
    CHECK_ONE("services:\n  db:\n    x-tend:\n      probe:\n        tcp: \"db:x\"\n",
              "t.yaml:5:14: error: services.db.x-tend.probe.tcp: invalid address \"db:x\" "
              "(expected PORT or HOST:PORT)");
    CHECK_ONE("services:\n  db:\n    x-tend:\n      probe:\n        redis: false\n",
              "t.yaml:5:16: error: services.db.x-tend.probe.redis: must be true or a mapping, not "
              "false");
    CHECK_ONE("services:\n  db:\n    x-tend:\n      probe:\n        exec: true\n"
              "        retries: 0\n",
              "t.yaml:6:18: error: services.db.x-tend.probe.retries: must be 1 or more, not 0");
    CHECK_ONE("services:\n  db:\n    x-tend:\n      runtime: podman\n",
              "t.yaml:4:16: error: services.db.x-tend.runtime: invalid runtime \"podman\" "
              "(expected docker or host)");
}

TEST(xtend_seed_steps)
{
    CHECK_ONE("services:\n  db:\n    x-tend:\n      seed:\n        - sql: a.sql\n"
              "          exec: ls\n",
              "t.yaml:6:11: error: services.db.x-tend.seed[0]: exactly one of sql, redis, exec is "
              "required");
    CHECK_ONE("services:\n  db:\n    x-tend:\n      seed:\n        - redis: a.redis\n"
              "          database: app\n",
              "t.yaml:6:11: error: services.db.x-tend.seed[0].database: only valid in a sql step");
    CHECK_ONE("services:\n  db:\n    x-tend:\n      seed:\n        - sqll: a.sql\n",
              "t.yaml:5:11: error: services.db.x-tend.seed[0]: unknown key \"sqll\"; did you mean "
              "\"sql\"?");
}

TEST(xtend_watch_and_top_level)
{
    CHECK_ONE("services:\n  web:\n    x-tend:\n      watch:\n        action: reload\n",
              "t.yaml:5:17: error: services.web.x-tend.watch.action: invalid action \"reload\" "
              "(expected restart or signal)");
    CHECK_ONE("services:\n  web:\n    x-tend:\n      watch:\n        rules:\n"
              "          - action: signal\n",
              "t.yaml:6:13: error: services.web.x-tend.watch.rules[0]: missing required key "
              "\"path\"");
    CHECK_ONE("x-tend:\n  default_host_ip: localhost\n",
              "t.yaml:2:20: error: x-tend.default_host_ip: invalid IP address \"localhost\"");
    CHECK_ONE("x-tend:\n  watch:\n    debounce: soon\n",
              "t.yaml:3:15: error: x-tend.watch.debounce: invalid duration \"soon\"");
    CHECK_OK("x-tend:\n  default_host_ip: \"::1\"\n  watch: {debounce: 200ms}\n");
}

/* ---- ignored keys ---- */

TEST(ignored_keys_are_listed_in_file_order)
{
    Result r = run("version: \"3.9\"\n"
                   "services:\n"
                   "  web:\n"
                   "    image: nginx\n"
                   "    deploy: {replicas: 2}\n"
                   "    cap_add: [NET_ADMIN]\n"
                   "    logging: {driver: json-file}\n"
                   "  \"my.api\":\n"
                   "    image: api\n"
                   "    privileged: true\n"
                   "secrets:\n"
                   "  token: {file: ./t}\n"
                   "configs: {}\n");
    CHECK_INT(r.errors, 0);
    /* cap_add, logging, privileged, secrets and configs reach the engine
     * (engine/hostcfg.c): not listed. */
    REQUIRE(r.ignored.n == 2);
    CHECK_STR(r.ignored.v[0], "version");
    CHECK_STR(r.ignored.v[1], "services.web.deploy");
    result_free(&r);
}

TEST(ignored_may_be_null)
{
    Arena *a = arena_new();
    Diag d = {0};
    const char *y = "services:\n  web:\n    deploy: {}\n";
    Node *root = yaml_load(a, "t.yaml", y, strlen(y), &d, 0);
    REQUIRE(root);
    CHECK_INT(schema_check(root, &d, NULL), 0);
    diag_free(&d);
    arena_free(a);
}

TEST(errors_are_all_reported_in_file_order)
{
    Result r = run("services:\n  web:\n    imagee: x\n    restart: never\n    tty: 3\n");
    CHECK_INT(r.errors, 3);
    REQUIRE(r.d.msgs.n == 3);
    CHECK_STR(r.d.msgs.v[0], "t.yaml:3:5: error: services.web: unknown key \"imagee\"; did you "
                             "mean \"image\"?");
    CHECK_STR(r.d.msgs.v[1], "t.yaml:4:14: error: services.web.restart: invalid restart policy "
                             "\"never\" (expected no, always, on-failure[:N] or unless-stopped)");
    CHECK_STR(r.d.msgs.v[2], "t.yaml:5:10: error: services.web.tty: must be a boolean, not a "
                             "number");
    result_free(&r);
}

/* ---- a file using every key ---- */

static const char every_key[] =
    "version: \"3.9\"\n"
    "name: shop\n"
    "include:\n"
    "  - other/compose.yaml\n"
    "  - path: [a.yaml, b.yaml]\n"
    "    project_directory: ..\n"
    "    env_file: .env.other\n"
    "x-tend:\n"
    "  default_host_ip: 127.0.0.1\n"
    "  watch:\n"
    "    debounce: 300ms\n"
    "x-defaults: &defaults\n"
    "  restart: unless-stopped\n"
    "services:\n"
    "  web:\n"
    "    <<: *defaults\n"
    "    image: nginx:1.27\n"
    "    build:\n"
    "      context: ./web\n"
    "      dockerfile: Dockerfile.dev\n"
    "      dockerfile_inline: \"FROM scratch\"\n"
    "      args: {VERSION: 1, DEBUG: true, EMPTY: null}\n"
    "      labels: [\"a=b\"]\n"
    "      target: dev\n"
    "      ssh: [default]\n"
    "      cache_from: [img:cache]\n"
    "      cache_to: [type=inline]\n"
    "      no_cache: false\n"
    "      pull: true\n"
    "      network: host\n"
    "      shm_size: 2g\n"
    "      extra_hosts: [\"h:1.2.3.4\"]\n"
    "      tags: [a:b]\n"
    "      platforms: [linux/amd64]\n"
    "      additional_contexts: {base: ../base}\n"
    "      secrets: [token]\n"
    "      ulimits: {nofile: 1024}\n"
    "      privileged: false\n"
    "      isolation: default\n"
    "      provenance: true\n"
    "      sbom: false\n"
    "      entitlements: [network.host]\n"
    "      x-note: hi\n"
    "    command: [\"npm\", \"start\"]\n"
    "    entrypoint: /bin/sh -c\n"
    "    environment:\n"
    "      NODE_ENV: development\n"
    "      PORT: 3000\n"
    "      DEBUG: false\n"
    "      UNSET:\n"
    "    env_file:\n"
    "      - .env\n"
    "      - path: .env.local\n"
    "        required: false\n"
    "        format: raw\n"
    "    volumes:\n"
    "      - ./src:/app/src:ro\n"
    "      - data:/data\n"
    "      - type: bind\n"
    "        source: ./conf\n"
    "        target: /etc/conf\n"
    "        read_only: true\n"
    "        consistency: cached\n"
    "        bind: {propagation: rprivate, create_host_path: true, selinux: z, recursive: enabled}\n"
    "      - type: volume\n"
    "        source: cache\n"
    "        target: /cache\n"
    "        volume: {nocopy: true, subpath: sub, labels: {a: b}}\n"
    "      - type: tmpfs\n"
    "        target: /tmp\n"
    "        tmpfs: {size: 64m, mode: 1777}\n"
    "      - type: image\n"
    "        source: alpine\n"
    "        target: /img\n"
    "        image: {subpath: etc}\n"
    "    ports:\n"
    "      - 3000\n"
    "      - \"8080:80\"\n"
    "      - \"127.0.0.1:9000-9001:9000-9001/udp\"\n"
    "      - target: 443\n"
    "        published: \"8443\"\n"
    "        host_ip: 0.0.0.0\n"
    "        protocol: tcp\n"
    "        mode: host\n"
    "        name: https\n"
    "        app_protocol: https\n"
    "      - {target: \"53\", published: 5300-5310, protocol: udp}\n"
    "    expose: [3000, \"4000-4010\", \"53/udp\"]\n"
    "    depends_on:\n"
    "      db:\n"
    "        condition: service_healthy\n"
    "        required: true\n"
    "        restart: true\n"
    "      cache: {condition: service_started}\n"
    "      seed: {condition: service_completed_successfully}\n"
    "    healthcheck:\n"
    "      test: [\"CMD-SHELL\", \"curl -f http://localhost/\"]\n"
    "      interval: 30s\n"
    "      timeout: 5s\n"
    "      start_period: 1m\n"
    "      start_interval: 500ms\n"
    "      retries: 3\n"
    "      disable: false\n"
    "    profiles: [dev, debug.1]\n"
    "    user: \"1000:1000\"\n"
    "    working_dir: /app\n"
    "    labels: {com.example.tier: web}\n"
    "    networks:\n"
    "      front:\n"
    "        aliases: [www]\n"
    "        ipv4_address: 172.16.0.10\n"
    "        ipv6_address: \"fd00::10\"\n"
    "        priority: 100\n"
    "        interface_name: eth1\n"
    "        link_local_ips: [169.254.0.1]\n"
    "        mac_address: 02:42:ac:11:00:02\n"
    "        driver_opts: {a: 1}\n"
    "        gw_priority: 1\n"
    "      back:\n"
    "    hostname: web\n"
    "    container_name: shop-web\n"
    "    stop_signal: SIGINT\n"
    "    stop_grace_period: 20s\n"
    "    init: true\n"
    "    tty: false\n"
    "    stdin_open: false\n"
    "    read_only: false\n"
    "    tmpfs: [/run, /tmp]\n"
    "    extra_hosts:\n"
    "      - \"host.docker.internal:host-gateway\"\n"
    "      - \"other=10.0.0.1\"\n"
    "    mem_limit: 1g\n"
    "    shm_size: 67108864\n"
    "    cpus: 1.5\n"
    "    ulimits:\n"
    "      nproc: 65535\n"
    "      nofile: {soft: 20000, hard: 40000}\n"
    "    develop:\n"
    "      watch:\n"
    "        - path: ./src\n"
    "          action: sync\n"
    "          target: /app/src\n"
    "          ignore: [node_modules/]\n"
    "          include: \"*.js\"\n"
    "        - path: package.json\n"
    "          action: rebuild\n"
    "        - path: ./conf\n"
    "          action: sync+exec\n"
    "          target: /etc/conf\n"
    "          exec:\n"
    "            command: [\"nginx\", \"-s\", \"reload\"]\n"
    "            user: root\n"
    "            privileged: false\n"
    "            working_dir: /\n"
    "            environment: [A=1]\n"
    "          initial_sync: true\n"
    "    pull_policy: missing\n"
    "    platform: linux/amd64\n"
    "    x-tend:\n"
    "      runtime: host\n"
    "      probe:\n"
    "        http: {url: \"http://localhost:3000/health\", status: 200}\n"
    "        interval: 1s\n"
    "        timeout: 2s\n"
    "        start_period: 5s\n"
    "        start_interval: 100ms\n"
    "        retries: 30\n"
    "      watch:\n"
    "        enabled: true\n"
    "        bind_mounts: true\n"
    "        action: signal\n"
    "        signal: SIGHUP\n"
    "        debounce: 250ms\n"
    "        ignore: [\"*.log\", tmp/]\n"
    "        rules:\n"
    "          - path: ./conf\n"
    "            action: signal\n"
    "            signal: HUP\n"
    "          - path: ./src\n"
    "            action: sync+exec\n"
    "            target: /app/src\n"
    "            ignore: \"*.tmp\"\n"
    "            include: [\"*.js\"]\n"
    "            exec: [\"make\", \"assets\"]\n"
    "    deploy: {resources: {limits: {memory: 1g}}}\n"
    "    secrets: [token]\n"
    "    configs: [cfg]\n"
    "    logging: {driver: json-file}\n"
    "    cap_add: [NET_ADMIN]\n"
    "    cap_drop: [ALL]\n"
    "    devices: [\"/dev/fuse\"]\n"
    "    security_opt: [no-new-privileges]\n"
    "    privileged: false\n"
    "    pid: host\n"
    "    ipc: shareable\n"
    "    sysctls: {net.core.somaxconn: 1024}\n"
    "    scale: 1\n"
    "    runtime: runc\n"
    "    isolation: default\n"
    "    dns: 8.8.8.8\n"
    "    x-custom: {anything: [1, 2]}\n"
    "  db:\n"
    "    image: postgres:16\n"
    "    command: null\n"
    "    depends_on: [cache]\n"
    "    networks: [back]\n"
    "    environment: [\"POSTGRES_PASSWORD=secret\", \"EMPTY\"]\n"
    "    labels: [\"a=b\"]\n"
    "    extra_hosts: {gw: 10.0.0.1, multi: [\"10.0.0.2\", \"10.0.0.3\"]}\n"
    "    healthcheck: {test: pg_isready}\n"
    "    env_file: .env.db\n"
    "    build: ./db\n"
    "    tmpfs: /run\n"
    "    restart: on-failure:5\n"
    "    pull_policy: every_1d\n"
    "    stop_signal: \"2\"\n"
    "    cpus: \"0.5\"\n"
    "    extends: {service: base, file: common.yaml}\n"
    "    x-tend:\n"
    "      runtime: docker\n"
    "      probe:\n"
    "        postgres: {host: localhost, port: 5432, user: app, password: pw, dbname: app}\n"
    "      seed:\n"
    "        - sql: [schema.sql, data.sql]\n"
    "          database: app\n"
    "        - sql: more.sql\n"
    "        - redis: init.redis\n"
    "        - exec: \"./seed.sh --fast\"\n"
    "        - exec: [\"./seed\", \"-v\"]\n"
    "  cache:\n"
    "    image: redis:7\n"
    "    extends: base\n"
    "    develop:\n"
    "    x-tend:\n"
    "      probe:\n"
    "        redis: true\n"
    "  a:\n"
    "    image: a\n"
    "    x-tend: {probe: {redis: {host: h, port: 6379}}}\n"
    "  b:\n"
    "    image: b\n"
    "    x-tend: {probe: {tcp: 8080}}\n"
    "  c:\n"
    "    image: c\n"
    "    x-tend: {probe: {tcp: \"db:5432\"}}\n"
    "  d:\n"
    "    image: d\n"
    "    x-tend: {probe: {tcp: {host: db, port: 5432}}}\n"
    "  e:\n"
    "    image: e\n"
    "    x-tend: {probe: {log: \"ready to accept( connections)?\"}}\n"
    "  f:\n"
    "    image: f\n"
    "    x-tend: {probe: {exec: [pg_isready, -q]}}\n"
    "  g:\n"
    "    image: g\n"
    "    x-tend: {probe: {http: \"http://localhost/\"}}\n"
    "  h:\n"
    "    image: h\n"
    "    x-tend: {probe: {postgres: true}}\n"
    "  base: {}\n"
    "volumes:\n"
    "  data:\n"
    "  cache:\n"
    "    name: shop-cache\n"
    "    driver: local\n"
    "    driver_opts: {type: none, o: bind, device: /srv/cache}\n"
    "    labels: [\"a=b\"]\n"
    "  ext:\n"
    "    external: true\n"
    "  ext2:\n"
    "    external: {name: other}\n"
    "networks:\n"
    "  front:\n"
    "    driver: bridge\n"
    "    driver_opts: {com.docker.network.bridge.name: br0, mtu: 1500}\n"
    "    ipam: {driver: default, config: [{subnet: 172.16.0.0/24}]}\n"
    "    internal: false\n"
    "    attachable: true\n"
    "    enable_ipv6: true\n"
    "    enable_ipv4: true\n"
    "    labels: {a: b}\n"
    "    name: shop-front\n"
    "  back:\n"
    "    external: true\n"
    "secrets:\n"
    "  token: {file: ./token}\n"
    "configs:\n"
    "  cfg: {file: ./cfg}\n"
    "models:\n"
    "  m: {model: ai/smollm2}\n";

TEST(every_key_passes)
{
    Result r = run(every_key);
    CHECK_INT(r.errors, 0);
    for (size_t i = 0; i < r.d.msgs.n; i++)
        printf("#     unexpected: %s\n", r.d.msgs.v[i]);
    CHECK(strvec_contains(&r.ignored, "services.web.deploy"));
    CHECK(!strvec_contains(&r.ignored, "services.web.sysctls"));
    CHECK(strvec_contains(&r.ignored, "services.web.scale"));
    CHECK(strvec_contains(&r.ignored, "models"));
    CHECK(!strvec_contains(&r.ignored, "services.web.platform"));
    CHECK(!strvec_contains(&r.ignored, "services.web.x-tend"));
    result_free(&r);
}

/* ---- the malformed files ---- */

/* Replays tests/data/bad/NNN-*.yaml (except 090-099, which hold errors of
 * other load stages) through the YAML reader and the schema and compares
 * the first messages with the lines of NNN-*.expected, FILE standing for
 * the path (a YAML syntax error has two lines: where the construct
 * started, then where the problem was found). */
TEST(bad_files_give_their_expected_first_error)
{
    const char *data = getenv("TEND_TEST_DATA");
    REQUIRE(data);
    _cleanup_free_ char *dir = path_join(data, "bad");
    DIR *dp = opendir(dir);
    REQUIRE(dp);
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        const char *name = de->d_name;
        if (!str_endswith(name, ".yaml"))
            continue;
        int num = atoi(name);
        if (num >= 90 && num <= 99)
            continue;
        _cleanup_free_ char *path = path_join(dir, name);
        _cleanup_free_ char *base = xstrndup(path, strlen(path) - 5);
        _cleanup_free_ char *exp_path = xasprintf("%s.expected", base);
        _cleanup_free_ char *exp = NULL;
        size_t exp_len = 0;
        if (read_file(exp_path, 1 << 16, &exp, &exp_len) < 0) {
            printf("#   %s: no .expected file\n", name);
            test_failed_ = true;
            continue;
        }
        while (exp_len && (exp[exp_len - 1] == '\n' || exp[exp_len - 1] == '\r'))
            exp[--exp_len] = '\0';

        Arena *a = arena_new();
        Diag d = {0};
        Node *root = yaml_load_file(a, path, &d);
        if (root)
            schema_check(root, &d, NULL);
        size_t line_no = 0;
        for (char *line = exp, *next; line; line = next, line_no++) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            if (!str_startswith(line, "FILE")) {
                printf("#   %s: expected line %zu does not start with FILE\n", name, line_no + 1);
                test_failed_ = true;
                break;
            }
            _cleanup_free_ char *want = xasprintf("%s%s", path, line + 4);
            const char *got = line_no < d.msgs.n ? d.msgs.v[line_no] : NULL;
            if (!got || !streq(got, want)) {
                printf("#   %s (line %zu)\n#     got:      %s\n#     expected: %s\n", name,
                       line_no + 1, got ? got : "(no error)", want);
                test_failed_ = true;
                break;
            }
        }
        diag_free(&d);
        arena_free(a);
        count++;
    }
    closedir(dp);
    CHECK(count >= 45);
}
