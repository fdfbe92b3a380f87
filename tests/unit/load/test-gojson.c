/* gojson: a service written as compose-go's JSON, byte for byte. The
 * expected JSON was printed by compose-go v2.16.1 itself (json.Marshal of
 * the loaded ServiceConfig, trimmed and key-pinned as docker compose v5's
 * ServiceHash does) for the same file; @DIR@ is the project folder. The
 * integration test compose-interop compares the hashes with docker compose
 * itself. */
#include "test.h"

#include "lib/sha256.h"
#include "load/config.h"
#include "load/gojson.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char compose_yaml[] =
    "services:\n"
    "  a:\n"
    "    image: x\n"
    "    command: echo \"a b\" 'c'\n"
    "    environment: [X=a<b>&c, \"U=\\u2028\", EMPTY=, UNSET_HERE]\n"
    "    volumes: [\"data:/d1/\", \"/anon\", \"./src:/s:ro\", {type: volume, source: data, target: /d2/}, {type: bind, source: ./src, target: /s2}]\n"
    "    ports: [\"127.0.0.1:8080:80/udp\", \"9000\", {target: 22, published: 2222}]\n"
    "    healthcheck: {test: curl x, interval: 1500ms, start_period: 90s, timeout: 100us, retries: 0}\n"
    "    stop_grace_period: 1h\n"
    "    ulimits: {nofile: 1024, nproc: {soft: 10, hard: 20}}\n"
    "    extra_hosts: [\"b.host:1.2.3.4\", \"a.host=::1\"]\n"
    "    labels: {z: \"1\", a: \"2\"}\n"
    "    cpus: 0.1\n"
    "    deploy: {replicas: 2, resources: {limits: {cpus: \"0.1\", memory: 1.5g}}}\n"
    "    networks: {front: {aliases: [x]}, back: null}\n"
    "    secrets: [s]\n"
    "    tmpfs: /run\n"
    "    init: false\n"
    "    entrypoint: []\n"
    "networks: {front: {}, back: {}}\n"
    "volumes: {data: {}}\n"
    "secrets: {s: {file: ./k}}\n";

static const char expected_json[] =
    "{\"cpus\":0.1,\"command\":[\"echo\",\"a b\",\"c\"],\"deploy\":{\"resources\":{\"limits\":{\"cpus\":0.1,"
    "\"memory\":\"1610612736\"}},\"placement\":{}},\"entrypoint\":[],\"environment\":{\"EMPTY\":\"\","
    "\"U\":\"\\u2028\",\"UNSET_HERE\":null,\"X\":\"a\\u003cb\\u003e\\u0026c\"},\"extra_hosts\":[\"a.host=::1\","
    "\"b.host=1.2.3.4\"],\"healthcheck\":{\"test\":[\"CMD-SHELL\",\"curl x\"],\"timeout\":\"100µs\","
    "\"interval\":\"1.5s\",\"retries\":0,\"start_period\":\"1m30s\"},\"image\":\"x\",\"init\":false,\"labels\":{\"a\":\"2\","
    "\"z\":\"1\"},\"networks\":{\"back\":null,\"front\":{\"aliases\":[\"x\"]}},\"ports\":[{\"mode\":\"ingress\","
    "\"host_ip\":\"127.0.0.1\",\"target\":80,\"published\":\"8080\",\"protocol\":\"udp\"},{\"mode\":\"ingress\","
    "\"target\":9000,\"protocol\":\"tcp\"},{\"mode\":\"ingress\",\"target\":22,\"published\":\"2222\","
    "\"protocol\":\"tcp\"}],\"secrets\":[{\"source\":\"s\",\"target\":\"/run/secrets/s\"}],\"stop_grace_period\":\"1h0m0s\","
    "\"tmpfs\":[\"/run\"],\"ulimits\":{\"nofile\":1024,\"nproc\":{\"soft\":10,\"hard\":20}},\"volumes\":[{\"type\":\"volume\","
    "\"source\":\"data\",\"target\":\"/d1\",\"volume\":{}},{\"type\":\"volume\",\"target\":\"/anon\",\"volume\":{}},"
    "{\"type\":\"bind\",\"source\":\"@DIR@/src\",\"target\":\"/s\",\"read_only\":true,\"bind\":{}},{\"type\":\"volume\","
    "\"source\":\"data\",\"target\":\"/d2\"},{\"type\":\"bind\",\"source\":\"@DIR@/src\",\"target\":\"/s2\"}]}";

static char *replace_dir(const char *s, const char *dir)
{
    StrBuf b;
    strbuf_init(&b, 0);
    for (const char *p = s; *p;) {
        const char *at = strstr(p, "@DIR@");
        if (!at) {
            strbuf_puts(&b, p);
            break;
        }
        strbuf_append(&b, p, (size_t)(at - p));
        strbuf_puts(&b, dir);
        p = at + 5;
    }
    return strbuf_steal(&b);
}

static void write_file(const char *dir, const char *rel, const char *content)
{
    char *path = path_join(dir, rel);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
    free(path);
}

/* Loads root's compose.yaml as project "p", with no environment; prints
 * the diagnostics when it fails. */
static int load_in(const char *root, Project **ret)
{
    char *no_env[] = {NULL};
    ConfigOptions o = {0};
    o.cwd = root;
    o.environ_ = no_env;
    o.project_name = "p";
    Diag d = {0};
    int r = config_load(&o, ret, &d);
    for (size_t i = 0; r < 0 && i < d.msgs.n; i++)
        printf("#   diag: %s\n", d.msgs.v[i]);
    diag_free(&d);
    return r;
}

TEST(service_json_is_compose_gos_byte_for_byte)
{
    TEST_TMP(tmpl, "tend-test-gojson");
    char *root = mkdtemp(tmpl);
    REQUIRE(root);
    write_file(root, "compose.yaml", compose_yaml);
    write_file(root, "k", "secret\n");
    char *src = path_join(root, "src");
    mkdir(src, 0755);
    Project *p = NULL;
    REQUIRE(load_in(root, &p) == 0 && p && p->n_services == 1);
    StrBuf b;
    strbuf_init(&b, 0);
    gojson_service(p->services[0], NULL, NULL, &b);
    char *want = replace_dir(expected_json, root);
    CHECK_STR(b.data, want);
    /* The hash is the SHA-256 of exactly these bytes. */
    char hex[65];
    sha256_hex_of(want, strlen(want), hex);
    char *h = gojson_service_hash(p->services[0], NULL, NULL);
    CHECK_STR(h, hex);
    free(h);
    free(want);
    strbuf_free(&b);
    project_free(p);
    char *cmd = xasprintf("rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    free(cmd);
    free(src);
}

TEST(sha256_known_answers)
{
    char hex[65];
    sha256_hex_of("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex_of("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* Two blocks: the padding spills over. */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex_of(m, strlen(m), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static const char *fake_ids(void *ud, const char *service)
{
    (void)ud;
    return streq(service, "db") ? "0123abcd" : NULL;
}

/* network_mode: service:db adds the dependency compose adds, and the hash
 * names db's container by its ID, as compose resolves it before hashing. */
TEST(service_references_add_a_dependency_and_hash_the_container_id)
{
    TEST_TMP(tmpl, "tend-test-gojson");
    char *root = mkdtemp(tmpl);
    REQUIRE(root);
    write_file(root, "compose.yaml",
               "services:\n  db:\n    image: x\n  side:\n    image: x\n    network_mode: service:db\n"
               "    volumes_from: [db, 'container:other:ro']\n    links: [db]\n");
    Project *p = NULL;
    REQUIRE(load_in(root, &p) == 0 && p->n_services == 2);
    const Service *side = project_service(p, "side");
    REQUIRE(side && side->n_deps == 1);
    CHECK_STR(side->deps[0].service, "db");
    CHECK(side->deps[0].restart); /* a namespace or a link: restarted with db */
    CHECK(gojson_has_refs(side));
    CHECK(!gojson_has_refs(project_service(p, "db")));
    StrBuf raw, resolved;
    strbuf_init(&raw, 0);
    strbuf_init(&resolved, 0);
    gojson_service(side, NULL, NULL, &raw);
    gojson_service(side, fake_ids, NULL, &resolved);
    CHECK_STR(raw.data, "{\"command\":null,\"entrypoint\":null,\"image\":\"x\",\"links\":[\"db\"],"
                        "\"network_mode\":\"service:db\",\"volumes_from\":[\"db\",\"container:other:ro\"]}");
    CHECK_STR(resolved.data, "{\"command\":null,\"entrypoint\":null,\"image\":\"x\",\"links\":[\"db\"],"
                             "\"network_mode\":\"container:0123abcd\",\"volumes_from\":[\"0123abcd\",\"other\"]}");
    strbuf_free(&raw);
    strbuf_free(&resolved);
    project_free(p);
    char *cmd = xasprintf("rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    free(cmd);
}
