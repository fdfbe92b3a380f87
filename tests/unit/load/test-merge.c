/* Tests for merge: each case writes two canonical (long-syntax) files,
 * merges them and compares the emitted YAML with what Compose would give. */
#include "load/merge.h"
#include "test.h"

/* Loads one document; aborts the case on a YAML error. */
static Node *load(Arena *a, const char *file, const char *yaml)
{
    Diag d = {0};
    Node *n = yaml_load(a, file, yaml, strlen(yaml), &d, 0);
    if (!n)
        printf("#   %s: %s\n", file, d.msgs.n ? d.msgs.v[0] : "load failed");
    diag_free(&d);
    return n;
}

static char *emit(const Node *n)
{
    StrBuf b;
    strbuf_init(&b, 0);
    yaml_emit(n, &b);
    return strbuf_steal(&b);
}

/* merge_service(base, over), tags stripped, as block YAML. */
static char *merge_svc(const char *base, const char *over)
{
    Arena *a = arena_new();
    Node *b = load(a, "base.yaml", base);
    Node *o = load(a, "over.yaml", over);
    char *out = NULL;
    if (b && o) {
        Node *r = merge_service(a, b, o);
        merge_strip_tags(r);
        out = emit(r);
    }
    arena_free(a);
    return out;
}

/* merge_project over any number of files, tags stripped. */
static char *merge_files(const char *const *files, size_t n)
{
    Arena *a = arena_new();
    Node *r = NULL;
    char *out = NULL;
    for (size_t i = 0; i < n; i++) {
        Node *f = load(a, arena_printf(a, "f%zu.yaml", i + 1), files[i]);
        if (!f)
            goto done;
        r = r ? merge_project(a, r, f) : f;
    }
    merge_strip_tags(r);
    out = emit(r);
done:
    arena_free(a);
    return out;
}

static char *merge_proj(const char *base, const char *over)
{
    const char *files[] = {base, over};
    return merge_files(files, 2);
}

/* ---- the default rules ---- */

TEST(scalar_replaced_and_new_keys_appended_after_base_keys)
{
    _cleanup_free_ char *r = merge_svc("image: a\nrestart: always\nuser: root\n",
                                       "user: app\nimage: b\nworking_dir: /srv\n");
    CHECK_STR(r, "image: b\nrestart: always\nuser: app\nworking_dir: /srv\n");
}

TEST(mappings_merge_per_key_over_value_wins)
{
    _cleanup_free_ char *r = merge_svc("environment:\n  A: one\n  B: two\nlabels:\n  x: \"1\"\n",
                                       "environment:\n  B: deux\n  C: trois\nlabels:\n"
                                       "  z: \"2\"\n");
    CHECK_STR(r, "environment:\n  A: one\n  B: deux\n  C: trois\nlabels:\n  x: \"1\"\n"
                 "  z: \"2\"\n");
}

TEST(nested_mappings_merge_deep)
{
    _cleanup_free_ char *r =
        merge_svc("deploy:\n  resources:\n    limits:\n      cpus: \"1\"\n      memory: \"100\"\n",
                  "deploy:\n  resources:\n    limits:\n      memory: \"200\"\n  replicas: 2\n");
    CHECK_STR(r, "deploy:\n  resources:\n    limits:\n      cpus: \"1\"\n      memory: \"200\"\n"
                 "  replicas: 2\n");
}

/* Compose drops an appended item equal to one already there (the same
 * text, the same entries): [1, 2, {a: 1}] + [2, 3, {a: 1}] is [1, 2, {a:
 * 1}, 3], as docker compose v5 prints it. */
TEST(sequences_append_without_exact_repeats_by_default)
{
    _cleanup_free_ char *r = merge_svc(
        "develop:\n  watch:\n  - path: /a\n    action: sync\nx-other:\n  list:\n  - one\n"
        "  - {a: 1}\n",
        "develop:\n  watch:\n  - path: /a\n    action: rebuild\nx-other:\n  list:\n  - one\n"
        "  - two\n  - {a: 1}\n  - {a: 2}\n");
    CHECK_STR(r, "develop:\n  watch:\n  - path: /a\n    action: sync\n  - path: /a\n"
                 "    action: rebuild\n"
                 "x-other:\n  list:\n  - one\n  - a: 1\n  - two\n  - a: 2\n");
}

TEST(different_kinds_over_wins)
{
    _cleanup_free_ char *r = merge_svc("command: run this\nx-a:\n  k: v\nx-b: [1]\n",
                                       "command: [run, that]\nx-a: scalar\nx-b:\n  k: v\n");
    CHECK_STR(r, "command:\n- run\n- that\nx-a: scalar\nx-b:\n  k: v\n");
}

/* A key written without a value in the override changes nothing (only
 * !reset removes a value), as in compose-go's merge. */
TEST(null_over_value_keeps_the_base)
{
    _cleanup_free_ char *r = merge_svc("image: a\nuser: root\n", "image:\nworking_dir:\n");
    CHECK_STR(r, "image: a\nuser: root\nworking_dir: null\n");
}

/* ---- shell commands ---- */

TEST(command_entrypoint_and_healthcheck_test_replaced)
{
    _cleanup_free_ char *r = merge_svc(
        "command: [echo, foo]\nentrypoint: [/bin/sh, -c]\n"
        "healthcheck:\n  test: [CMD, curl, -f, http://x]\n  interval: 10s\n",
        "command: [echo, bar]\nentrypoint: [/init]\nhealthcheck:\n  test: [CMD-SHELL, true]\n"
        "  retries: 3\n");
    CHECK_STR(r, "command:\n- echo\n- bar\nentrypoint:\n- /init\n"
                 "healthcheck:\n  test:\n  - CMD-SHELL\n  - true\n  interval: 10s\n  retries: 3\n");
}

TEST(command_string_replaced_by_string)
{
    _cleanup_free_ char *r = merge_svc("command: echo foo\n", "command: echo bar\n");
    CHECK_STR(r, "command: echo bar\n");
}

/* ---- keyed lists ---- */

TEST(ports_merge_by_host_ip_published_target_protocol)
{
    _cleanup_free_ char *r = merge_svc(
        "ports:\n"
        "- {mode: ingress, target: 80, published: \"8080\", protocol: tcp}\n"
        "- {mode: ingress, target: 443, published: \"8443\", protocol: tcp}\n"
        "- {mode: ingress, host_ip: 127.0.0.1, target: 53, published: \"53\", protocol: udp}\n",
        "ports:\n"
        "- {mode: host, target: 80, published: \"8080\", protocol: tcp}\n"
        "- {mode: ingress, target: 80, published: \"8080\", protocol: udp}\n"
        "- {mode: ingress, target: 80, published: \"9090\", protocol: tcp}\n"
        "- {mode: ingress, host_ip: 127.0.0.1, target: 53, published: \"53\", protocol: udp,\n"
        "   name: dns}\n");
    CHECK_STR(r, "ports:\n"
                 "- mode: host\n  target: 80\n  published: \"8080\"\n  protocol: tcp\n"
                 "- mode: ingress\n  target: 443\n  published: \"8443\"\n  protocol: tcp\n"
                 "- mode: ingress\n  host_ip: 127.0.0.1\n  target: 53\n  published: \"53\"\n"
                 "  protocol: udp\n  name: dns\n"
                 "- mode: ingress\n  target: 80\n  published: \"8080\"\n  protocol: udp\n"
                 "- mode: ingress\n  target: 80\n  published: \"9090\"\n  protocol: tcp\n");
}

TEST(ports_unset_host_ip_equals_any_address)
{
    _cleanup_free_ char *r = merge_svc(
        "ports:\n- {target: 80, published: \"8080\", protocol: tcp}\n",
        "ports:\n"
        "- {host_ip: 0.0.0.0, target: 80, published: \"8080\", protocol: tcp, app_protocol: http}\n"
        "- {host_ip: 127.0.0.1, target: 80, published: \"8080\", protocol: tcp}\n");
    CHECK_STR(r, "ports:\n"
                 "- host_ip: 0.0.0.0\n  target: 80\n  published: \"8080\"\n  protocol: tcp\n"
                 "  app_protocol: http\n"
                 "- host_ip: 127.0.0.1\n  target: 80\n  published: \"8080\"\n  protocol: tcp\n");
}

TEST(volumes_merge_by_target)
{
    _cleanup_free_ char *r = merge_svc(
        "volumes:\n"
        "- {type: bind, source: /src/a, target: /data, bind: {create_host_path: true}}\n"
        "- {type: volume, source: cache, target: /cache}\n",
        "volumes:\n"
        "- {type: volume, source: data, target: /data, read_only: true}\n"
        "- {type: tmpfs, target: /tmp}\n");
    CHECK_STR(r, "volumes:\n"
                 "- type: volume\n  source: data\n  target: /data\n  read_only: true\n"
                 "- type: volume\n  source: cache\n  target: /cache\n"
                 "- type: tmpfs\n  target: /tmp\n");
}

TEST(env_file_merges_by_path)
{
    _cleanup_free_ char *r = merge_svc(
        "env_file:\n- {path: /p/a.env, required: true}\n- {path: /p/b.env, required: true}\n",
        "env_file:\n- {path: /p/b.env, required: false}\n- {path: /p/c.env, required: true}\n");
    CHECK_STR(r, "env_file:\n- path: /p/a.env\n  required: true\n- path: /p/b.env\n"
                 "  required: false\n"
                 "- path: /p/c.env\n  required: true\n");
}

TEST(secrets_and_configs_merge_by_mount_point)
{
    _cleanup_free_ char *r = merge_svc(
        "secrets:\n- db_pass\n- {source: api_key, mode: 256}\n"
        "configs:\n- {source: app, target: /etc/app.conf}\n- nginx\n",
        "secrets:\n- {source: db_pass, mode: 256}\n- {source: api_key, target: /keys/api}\n"
        "configs:\n- {source: app2, target: /etc/app.conf}\n- {source: nginx, uid: \"1\"}\n");
    CHECK_STR(r, "secrets:\n- source: db_pass\n  mode: 256\n- source: api_key\n  mode: 256\n"
                 "- source: api_key\n  target: /keys/api\n"
                 "configs:\n- source: app2\n  target: /etc/app.conf\n- source: nginx\n"
                 "  uid: \"1\"\n");
}

TEST(devices_merge_by_container_path)
{
    _cleanup_free_ char *r = merge_svc("devices:\n- /dev/ttyUSB0:/dev/ttyUSB0\n- /dev/kvm\n",
                                       "devices:\n- /dev/ttyUSB1:/dev/ttyUSB0:rwm\n- /dev/kvm\n"
                                       "- /dev/fuse\n");
    CHECK_STR(r, "devices:\n- /dev/ttyUSB1:/dev/ttyUSB0:rwm\n- /dev/kvm\n- /dev/fuse\n");
}

TEST(set_like_lists_drop_repeats_keep_first)
{
    _cleanup_free_ char *r = merge_svc(
        "expose: [\"80\", \"443\"]\ndns: [1.1.1.1]\ncap_add: [NET_ADMIN, SYS_TIME]\n"
        "cap_drop: [ALL]\nprofiles: [dev]\ntmpfs: [/run]\nsecurity_opt: [no-new-privileges]\n"
        "dns_search: [a.example]\ndns_opt: [ndots:2]\n",
        "expose: [\"443\", \"8080\"]\ndns: [8.8.8.8, 1.1.1.1]\ncap_add: [SYS_TIME]\n"
        "cap_drop: [ALL]\nprofiles: [dev, debug]\ntmpfs: [/run, /tmp]\n"
        "security_opt: [no-new-privileges]\ndns_search: [b.example, a.example]\n"
        "dns_opt: [ndots:2]\n");
    CHECK_STR(r, "expose:\n- \"80\"\n- \"443\"\n- \"8080\"\ndns:\n- 1.1.1.1\n- 8.8.8.8\n"
                 "cap_add:\n- NET_ADMIN\n- SYS_TIME\ncap_drop:\n- ALL\nprofiles:\n- dev\n- debug\n"
                 "tmpfs:\n- /run\n- /tmp\nsecurity_opt:\n- no-new-privileges\n"
                 "dns_search:\n- a.example\n- b.example\ndns_opt:\n- ndots:2\n");
}

TEST(set_like_keeps_first_location)
{
    Arena *a = arena_new();
    Node *b = load(a, "base.yaml", "cap_add: [NET_ADMIN]\n");
    Node *o = load(a, "over.yaml", "\n\ncap_add: [SYS_TIME, NET_ADMIN]\n");
    REQUIRE(b && o);
    Node *r = merge_service(a, b, o);
    Node *caps = node_get(r, "cap_add");
    REQUIRE(caps && caps->len == 2);
    CHECK_STR(caps->vals[0]->str, "NET_ADMIN");
    CHECK_STR(caps->vals[0]->loc.file, "base.yaml");
    CHECK_INT(caps->vals[0]->loc.line, 1);
    CHECK_STR(caps->vals[1]->loc.file, "over.yaml");
    CHECK_INT(caps->vals[1]->loc.line, 3);
    arena_free(a);
}

/* ---- per-entry mappings ---- */

TEST(depends_on_merges_per_dependency)
{
    _cleanup_free_ char *r = merge_svc(
        "depends_on:\n"
        "  db: {condition: service_started, required: true, restart: false}\n"
        "  cache: {condition: service_started, required: true, restart: false}\n",
        "depends_on:\n"
        "  db: {condition: service_healthy, required: true, restart: true}\n"
        "  queue: {condition: service_started, required: false, restart: false}\n");
    CHECK_STR(r, "depends_on:\n"
                 "  db:\n    condition: service_healthy\n    required: true\n    restart: true\n"
                 "  cache:\n    condition: service_started\n    required: true\n"
                 "    restart: false\n"
                 "  queue:\n    condition: service_started\n    required: false\n"
                 "    restart: false\n");
}

TEST(networks_merge_per_network_and_null_keeps_base)
{
    _cleanup_free_ char *r = merge_svc(
        "networks:\n  front:\n    aliases: [web, www]\n  back:\n",
        "networks:\n  front:\n  back:\n    aliases: [api]\n    ipv4_address: 10.0.0.2\n  admin:\n");
    CHECK_STR(r, "networks:\n  front:\n    aliases:\n    - web\n    - www\n"
                 "  back:\n    aliases:\n    - api\n    ipv4_address: 10.0.0.2\n  admin: null\n");
}

TEST(network_aliases_drop_repeats)
{
    _cleanup_free_ char *r = merge_svc("networks:\n  front:\n    aliases: [web]\n",
                                       "networks:\n  front:\n    aliases: [web, www]\n");
    CHECK_STR(r, "networks:\n  front:\n    aliases:\n    - web\n    - www\n");
}

/* Two {soft, hard} mappings merge per key; a single number replaces. */
TEST(ulimits_merged_per_name)
{
    _cleanup_free_ char *r = merge_svc(
        "ulimits:\n  nofile: {soft: 1024, hard: 2048}\n  nproc: {soft: 10, hard: 10}\n",
        "ulimits:\n  nofile: {soft: 4096}\n  nproc: 20\n  memlock: {soft: -1, hard: -1}\n");
    CHECK_STR(r, "ulimits:\n  nofile:\n    soft: 4096\n    hard: 2048\n  nproc: 20\n"
                 "  memlock:\n    soft: -1\n    hard: -1\n");
}

TEST(build_merges_with_args_per_key)
{
    _cleanup_free_ char *r = merge_svc(
        "build:\n  context: /app\n  dockerfile: Dockerfile\n  args:\n    A: \"1\"\n    B: \"2\"\n",
        "build:\n  context: /app\n  dockerfile: Dockerfile.dev\n  args:\n    B: \"3\"\n"
        "  target: dev\n");
    CHECK_STR(r, "build:\n  context: /app\n  dockerfile: Dockerfile.dev\n  args:\n    A: \"1\"\n"
                 "    B: \"3\"\n  target: dev\n");
}

TEST(logging_options_merge_only_for_same_driver)
{
    _cleanup_free_ char *same = merge_svc(
        "logging:\n  driver: json-file\n  options:\n    max-size: 10m\n",
        "logging:\n  driver: json-file\n  options:\n    max-file: \"3\"\n");
    CHECK_STR(same, "logging:\n  driver: json-file\n  options:\n    max-size: 10m\n"
                    "    max-file: \"3\"\n");
    _cleanup_free_ char *other = merge_svc(
        "logging:\n  driver: json-file\n  options:\n    max-size: 10m\n",
        "logging:\n  driver: syslog\n  options:\n    tag: web\n");
    CHECK_STR(other, "logging:\n  driver: syslog\n  options:\n    tag: web\n");
}

TEST(key_value_list_against_mapping)
{
    _cleanup_free_ char *r = merge_svc("deploy:\n  labels: [a=1, b=2]\nannotations: [x=1, y]\n",
                                       "deploy:\n  labels:\n    b: \"3\"\n"
                                       "annotations: [y=2, x=1]\n");
    CHECK_STR(r, "deploy:\n  labels:\n    a: \"1\"\n    b: \"3\"\nannotations:\n- x=1\n- y=2\n");
}

TEST(x_tend_seed_replaced_rest_merged)
{
    _cleanup_free_ char *r = merge_svc(
        "x-tend:\n  seed:\n  - sql: [/s/a.sql]\n  watch:\n    rules:\n    - path: /a\n  probe:\n"
        "    tcp: 5432\n",
        "x-tend:\n  seed:\n  - sql: [/s/b.sql]\n  watch:\n    rules:\n    - path: /b\n  probe:\n"
        "    timeout: 1s\n");
    CHECK_STR(r, "x-tend:\n  seed:\n  - sql:\n    - /s/b.sql\n  watch:\n    rules:\n"
                 "    - path: /a\n"
                 "    - path: /b\n  probe:\n    tcp: 5432\n    timeout: 1s\n");
}

/* ---- tags ---- */

TEST(reset_removes_scalar_list_map_and_null)
{
    _cleanup_free_ char *r = merge_svc(
        "image: a\nuser: root\nports:\n- {target: 80, published: \"80\", protocol: tcp}\n"
        "environment:\n  A: \"1\"\nhealthcheck:\n  test: [CMD, x]\n  interval: 5s\n",
        "user: !reset root\nports: !reset []\nenvironment: !reset {}\nhealthcheck:\n"
        "  interval: !reset\n"
        "working_dir: !reset /srv\n");
    CHECK_STR(r, "image: a\nhealthcheck:\n  test:\n  - CMD\n  - x\n");
}

TEST(reset_then_later_file_sets_again)
{
    const char *files[] = {
        "services:\n  web:\n    ports:\n    - {target: 80, published: \"80\", protocol: tcp}\n",
        "services:\n  web:\n    ports: !reset []\n",
        "services:\n  web:\n    ports:\n    - {target: 81, published: \"81\", protocol: tcp}\n",
    };
    _cleanup_free_ char *r = merge_files(files, 3);
    CHECK_STR(r, "services:\n  web:\n    ports:\n    - target: 81\n      published: \"81\"\n"
                 "      protocol: tcp\n");
}

TEST(override_replaces_map_and_list_without_merging)
{
    _cleanup_free_ char *r = merge_svc(
        "environment:\n  A: \"1\"\n  B: \"2\"\nports:\n"
        "- {target: 80, published: \"80\", protocol: tcp}\n"
        "command: [a]\n",
        "environment: !override\n  C: \"3\"\nports: !override\n"
        "- {target: 81, published: \"81\", protocol: tcp}\n");
    CHECK_STR(r, "environment:\n  C: \"3\"\nports:\n- target: 81\n  published: \"81\"\n"
                 "  protocol: tcp\n"
                 "command:\n- a\n");
}

TEST(override_at_depth_and_later_file_merges_again)
{
    const char *files[] = {
        "services:\n  web:\n    deploy:\n      resources:\n"
        "        limits: {cpus: \"1\", memory: \"1\"}\n",
        "services:\n  web:\n    deploy:\n      resources:\n"
        "        limits: !override {cpus: \"2\"}\n",
        "services:\n  web:\n    deploy:\n      resources:\n        limits: {pids: 10}\n",
    };
    _cleanup_free_ char *r = merge_files(files, 3);
    CHECK_STR(r, "services:\n  web:\n    deploy:\n      resources:\n        limits:\n"
                 "          cpus: \"2\"\n          pids: 10\n");
}

TEST(strip_tags_removes_reset_of_first_file_and_clears_override)
{
    Arena *a = arena_new();
    Node *root = load(a, "f.yaml",
                      "services:\n  web:\n    image: x\n    user: !reset root\n"
                      "    cap_add: [A, !reset B, C]\n    labels: !override {a: b}\n");
    REQUIRE(root);
    merge_strip_tags(root);
    _cleanup_free_ char *r = emit(root);
    CHECK_STR(r, "services:\n  web:\n    image: x\n    cap_add:\n    - A\n    - C\n    labels:\n"
                 "      a: b\n");
    Node *labels = node_get(node_get(node_get(root, "services"), "web"), "labels");
    REQUIRE(labels);
    CHECK(labels->tag == NULL);
    arena_free(a);
}

/* ---- locations and inputs ---- */

TEST(merged_values_keep_their_file_and_line)
{
    Arena *a = arena_new();
    Node *b = load(a, "base.yaml", "image: a\nenvironment:\n  A: \"1\"\n  B: \"2\"\n");
    Node *o = load(a, "over.yaml", "\n\n\nenvironment:\n  B: \"3\"\nuser: app\n");
    REQUIRE(b && o);
    Node *r = merge_service(a, b, o);
    Node *env = node_get(r, "environment");
    REQUIRE(env);
    CHECK_STR(env->loc.file, "base.yaml");
    CHECK_INT(env->loc.line, 3);
    CHECK_STR(node_get(env, "A")->loc.file, "base.yaml");
    CHECK_INT(node_get(env, "A")->loc.line, 3);
    CHECK_STR(node_get(env, "B")->loc.file, "over.yaml");
    CHECK_INT(node_get(env, "B")->loc.line, 5);
    CHECK_INT(node_get(env, "B")->loc.col, 6);
    CHECK_STR(node_get(r, "user")->loc.file, "over.yaml");
    CHECK_INT(node_get(r, "user")->loc.line, 6);
    CHECK_STR(node_get(r, "image")->loc.file, "base.yaml");
    CHECK_INT(node_get(r, "image")->loc.line, 1);
    arena_free(a);
}

TEST(inputs_are_not_modified)
{
    Arena *a = arena_new();
    Node *b = load(a, "base.yaml", "ports:\n- {target: 80}\nenvironment:\n  A: \"1\"\ndns: [a]\n");
    Node *o = load(a, "over.yaml",
                   "ports:\n- {target: 81}\nenvironment:\n  B: \"2\"\ndns: [b]\nimage: x\n");
    REQUIRE(b && o);
    _cleanup_free_ char *before = emit(b);
    _cleanup_free_ char *over_before = emit(o);
    merge_service(a, b, o);
    _cleanup_free_ char *after = emit(b);
    _cleanup_free_ char *over_after = emit(o);
    CHECK_STR(after, before);
    CHECK_STR(over_after, over_before);
    arena_free(a);
}

/* ---- whole projects ---- */

TEST(project_merges_services_by_name_and_top_level_maps)
{
    _cleanup_free_ char *r = merge_proj(
        "name: one\nservices:\n  web:\n    image: a\n  db:\n    image: pg\n"
        "volumes:\n  data:\n    driver: local\nx-common:\n  list: [1]\n",
        "name: two\nservices:\n  web:\n    image: b\n    command: [run]\n  cache:\n"
        "    image: redis\n"
        "volumes:\n  data:\n    labels:\n      a: b\n  logs: {}\nnetworks:\n  front: {}\n"
        "x-common:\n  list: [2]\n");
    CHECK_STR(r, "name: two\nservices:\n  web:\n    image: b\n    command:\n    - run\n"
                 "  db:\n    image: pg\n  cache:\n    image: redis\n"
                 "volumes:\n  data:\n    driver: local\n    labels:\n      a: b\n  logs: {}\n"
                 "x-common:\n  list:\n  - 1\n  - 2\nnetworks:\n  front: {}\n");
}

TEST(project_service_rules_apply_under_services)
{
    /* the same rule as merge_service, reached through the project */
    _cleanup_free_ char *r = merge_proj("services:\n  web:\n    command: [a, b]\n    dns: [x]\n",
                                        "services:\n  web:\n    command: [c]\n    dns: [x, y]\n");
    CHECK_STR(r, "services:\n  web:\n    command:\n    - c\n    dns:\n    - x\n    - y\n");
}

TEST(project_reset_removes_a_service)
{
    _cleanup_free_ char *r = merge_proj("services:\n  web:\n    image: a\n  db:\n    image: b\n",
                                        "services:\n  db: !reset\n");
    CHECK_STR(r, "services:\n  web:\n    image: a\n");
}

TEST(network_ipam_config_merges_by_subnet)
{
    _cleanup_free_ char *r = merge_proj(
        "networks:\n  lan:\n    ipam:\n      config:\n"
        "      - {subnet: 10.0.0.0/24, gateway: 10.0.0.1}\n",
        "networks:\n  lan:\n    ipam:\n      config:\n"
        "      - {subnet: 10.0.0.0/24, ip_range: 10.0.0.0/25}\n"
        "      - {subnet: 10.1.0.0/24}\n");
    CHECK_STR(r, "networks:\n  lan:\n    ipam:\n      config:\n      - subnet: 10.0.0.0/24\n"
                 "        gateway: 10.0.0.1\n        ip_range: 10.0.0.0/25\n"
                 "      - subnet: 10.1.0.0/24\n");
}
