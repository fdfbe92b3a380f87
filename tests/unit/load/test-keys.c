/* Tests for the key table (keys.c) as canon and merge apply it: every key
 * with a normal form or a merge rule of its own, written in each of its
 * forms in one file, and merged base + override in every pairing of forms
 * (list over list, mapping over mapping, list over mapping and the reverse).
 * The cases of a form family are made from the table itself, so a key added
 * to the table is tested with its family; the keys of a form of their own
 * have cases written out below, and a last test checks that no entry of the
 * table is left without a case. Expected values are what docker compose v5
 * prints for the same files (as JSON, without spaces). */
#include "load/canon.h"
#include "load/keys.h"
#include "load/merge.h"
#include "test.h"

/* YAML for `value` (flow style, one line) at `path`, "*" as the name x. */
static char *nest(const char *path, const char *value)
{
    StrBuf b;
    strbuf_init(&b, 0);
    int depth = 0;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ".");
        strbuf_printf(&b, "%*s%.*s:", depth * 2, "", (int)n, (n == 1 && *p == '*') ? "x" : p);
        p += n;
        if (*p == '.') {
            p++;
            strbuf_printf(&b, "\n");
        }
        depth++;
    }
    strbuf_printf(&b, " %s\n", value);
    return strbuf_steal(&b);
}

/* The value at `path` ("*" as x) as JSON without whitespace, or NULL. */
static char *json_at(const Node *root, const char *path)
{
    const Node *n = root;
    for (const char *p = path; *p && n;) {
        size_t len = strcspn(p, ".");
        char comp[64];
        snprintf(comp, sizeof(comp), "%.*s", (int)len, (len == 1 && *p == '*') ? "x" : p);
        n = node_get(n, comp);
        p += len;
        if (*p == '.')
            p++;
    }
    if (!n)
        return xstrdup("(absent)");
    StrBuf b;
    strbuf_init(&b, 0);
    json_emit(n, &b);
    char *s = strbuf_steal(&b), *w = s;
    for (char *r = s; *r; r++)
        if (*r != ' ' && *r != '\n')
            *w++ = *r;
    *w = '\0';
    return s;
}

/* Loads `base` (folder /b) and, unless NULL, `over` (folder /o), each
 * brought to its normal form, merges them, finishes the tree as tend
 * config prints it, and returns the value at `at` as JSON. */
static bool with_unique; /* run merge_unique on the merged tree */

static char *run(const char *at, const char *base, const char *over)
{
    Arena *a = arena_new();
    Diag d = {0};
    char *out = NULL;
    Node *r = NULL;
    const char *vals[] = {base, over};
    const char *dirs[] = {"/b", "/o"};
    for (size_t i = 0; i < 2 && vals[i]; i++) {
        _cleanup_free_ char *doc = nest(at, vals[i]);
        Node *f = yaml_load(a, i ? "over.yaml" : "base.yaml", doc, strlen(doc), &d, 0);
        if (!f || canon_file(a, f, dirs[i], &d) > 0) {
            printf("#   %s\n", d.msgs.n ? d.msgs.v[0] : "load failed");
            goto done;
        }
        r = r ? merge_project(a, r, f) : f;
    }
    merge_strip_tags(r);
    if (with_unique)
        merge_unique(a, r);
    canon_finish(a, r);
    out = json_at(r, at);
done:
    diag_free(&d);
    arena_free(a);
    return out;
}

/* One case: `covers` is the table entry it tests, `at` where the values
 * are written (the entry's own path unless it lies inside a list). */
typedef struct Case {
    const char *covers;
    const char *at;
    const char *base;
    const char *over; /* NULL: one file */
    const char *want;
} Case;

static StrVec covered;

static void check_case(const Case *c)
{
    _cleanup_free_ char *got = run(c->at ? c->at : c->covers, c->base, c->over);
    if (!got || !streq(got, c->want)) {
        test_failed_ = true;
        printf("#   %s: %s%s%s\n#     want %s\n#     got  %s\n", c->covers, c->base,
               c->over ? "  +  " : "", c->over ? c->over : "", c->want, got ? got : "(error)");
    }
    if (!strvec_contains(&covered, c->covers))
        strvec_push(&covered, c->covers);
}

/* The cases of a form family: each base form over each override form. */
typedef struct Family {
    KeyForm form;
    KeyMerge merge;
    const char *bases[2];
    const char *overs[2];
    const char *want;       /* merged */
    const char *want_alone; /* bases[0] alone */
} Family;

static const Family families[] = {
    {FORM_KV_MAP, MERGE_KV, {"[A=1, B=2]", "{A: 1, B: \"2\"}"}, {"[B=3, C]", "{B: 3, C: null}"},
     "{\"A\":\"1\",\"B\":\"3\",\"C\":null}", "{\"A\":\"1\",\"B\":\"2\"}"},
    {FORM_KV_PATHS, MERGE_KV, {"[a=./ctx, b=docker-image://alpine]", "{a: ./ctx, b: \"docker-image://alpine\"}"},
     {"[a=./ctx2]", "{a: ./ctx2}"}, "{\"a\":\"/o/ctx2\",\"b\":\"docker-image://alpine\"}",
     "{\"a\":\"/b/ctx\",\"b\":\"docker-image://alpine\"}"},
    {FORM_HOSTS, MERGE_SET, {"[h2=2.2.2.2, \"h1:1.1.1.1\"]", "{h1: 1.1.1.1, h2: 2.2.2.2}"},
     {"[h1=9.9.9.9, h3=3.3.3.3, \"h2=2.2.2.2\"]", "{h1: [9.9.9.9], h3: 3.3.3.3, h2: 2.2.2.2}"},
     "[\"h1=1.1.1.1\",\"h1=9.9.9.9\",\"h2=2.2.2.2\",\"h3=3.3.3.3\"]", "[\"h1=1.1.1.1\",\"h2=2.2.2.2\"]"},
    {FORM_LIST, MERGE_SET, {"a", "[a]"}, {"b", "[a, b]"}, "[\"a\",\"b\"]", "[\"a\"]"},
    {FORM_NAME_MAP, MERGE_DEEP, {"[n1, n2]", "{n1: null, n2: null}"}, {"[n1, n3]", "{n1: null, n3: null}"},
     "{\"n1\":null,\"n2\":null,\"n3\":null}", "{\"n1\":null,\"n2\":null}"},
    {FORM_AS_IS, MERGE_SET, {"[a, b]", "[a, b]"}, {"[b, c]", "[b, c]"}, "[\"a\",\"b\",\"c\"]", "[\"a\",\"b\"]"},
    {FORM_DURATION, MERGE_DEEP, {"90s", "1m30s"}, {"5s", "0m5s"}, "\"5s\"", "\"1m30s\""},
    {FORM_BYTES, MERGE_DEEP, {"1g", "1024m"}, {"512m", "0.5g"}, "\"536870912\"", "\"1073741824\""},
    {FORM_STRING, MERGE_DEEP, {"true", "\"true\""}, {"1", "\"1\""}, "\"1\"", "\"true\""},
    {FORM_EXTERNAL, MERGE_DEEP, {"{external: {name: real}}", "{external: true, name: real}"},
     {"{labels: [a=b]}", "{labels: {a: b}}"}, "{\"external\":true,\"name\":\"real\",\"labels\":{\"a\":\"b\"}}",
     "{\"external\":true,\"name\":\"real\"}"},
    {FORM_PATH, MERGE_DEEP, {"./f", "/b/f"}, {"./g", "/o/g"}, "\"/o/g\"", "\"/b/f\""},
};

TEST(every_form_family_in_both_forms_and_merged_in_every_pairing)
{
    size_t nk;
    const KeySpec *keys = keys_table(&nk);
    for (size_t f = 0; f < ARRAY_SIZE(families); f++) {
        const Family *fam = &families[f];
        for (size_t k = 0; k < nk; k++) {
            if (keys[k].form != fam->form || keys[k].merge != fam->merge)
                continue;
            /* a path through a list item has cases of its own */
            if (strstr(keys[k].path, ".*.") != strchr(keys[k].path, '.') && strstr(keys[k].path, "*.*"))
                continue;
            if (str_startswith(keys[k].path, "services.*.develop.watch.*"))
                continue;
            for (size_t b = 0; b < 2; b++) {
                Case alone = {keys[k].path, NULL, fam->bases[b], NULL, fam->want_alone};
                check_case(&alone);
                for (size_t o = 0; o < 2; o++) {
                    Case c = {keys[k].path, NULL, fam->bases[b], fam->overs[o], fam->want};
                    check_case(&c);
                }
            }
        }
    }
}

/* A flag Compose leaves out when false: printed when true, gone when an
 * override sets it false, back when a later file sets it true. */
TEST(every_flag_printed_only_when_true)
{
    size_t nk;
    const KeySpec *keys = keys_table(&nk);
    for (size_t k = 0; k < nk; k++) {
        if (keys[k].form != FORM_FALSE_OUT)
            continue;
        Case cs[] = {
            {keys[k].path, NULL, "true", NULL, "true"},
            {keys[k].path, NULL, "false", NULL, "(absent)"},
            {keys[k].path, NULL, "true", "false", "(absent)"},
            {keys[k].path, NULL, "false", "true", "true"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cs); i++)
            check_case(&cs[i]);
    }
}

/* The keys of a form or rule of their own. */
static const Case cases[] = {
    {"services.*.ports", NULL, "[\"8080:80\", \"127.0.0.1:53:53/udp\"]",
     "[{target: 80, published: \"8080\", mode: host}, \"9090:80\"]",
     "[{\"target\":80,\"published\":\"8080\",\"mode\":\"host\",\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"host_ip\":\"127.0.0.1\",\"target\":53,\"published\":\"53\",\"protocol\":\"udp\"},"
     "{\"mode\":\"ingress\",\"target\":80,\"published\":\"9090\",\"protocol\":\"tcp\"}]"},
    {"services.*.volumes", NULL, "[\"./src:/app/\", \"data:/data\"]",
     "[{type: bind, source: ./other, target: /app}, \"/tmp:/tmp:ro\"]",
     "[{\"type\":\"bind\",\"source\":\"/o/other\",\"target\":\"/app\"},"
     "{\"type\":\"volume\",\"source\":\"data\",\"target\":\"/data\",\"volume\":{}},"
     "{\"type\":\"bind\",\"source\":\"/tmp\",\"target\":\"/tmp\",\"read_only\":true,\"bind\":{}}]"},
    {"services.*.env_file", NULL, "a.env", "[{path: ./a.env, required: false}, b.env]",
     "(absent)"}, /* read into environment; the model test covers the merge */
    {"services.*.depends_on", NULL, "[db, cache]", "{db: {condition: service_healthy}}",
     "{\"db\":{\"condition\":\"service_healthy\",\"required\":true},"
     "\"cache\":{\"condition\":\"service_started\",\"required\":true}}"},
    /* the defaults (context ., dockerfile Dockerfile) come after the merge
     * (canon_merged, the config test): the override's dockerfile keeps the
     * base's context */
    /* defaults for a mapping's entries come after the merge (canon_merged) */
    {"services.*.depends_on", NULL, "{db: {condition: service_healthy, restart: true}}",
     "{db: {required: false}}", "{\"db\":{\"condition\":\"service_healthy\",\"restart\":true,\"required\":false}}"},
    {"services.*.build", NULL, "./app", "{dockerfile: Dockerfile.dev}",
     "{\"context\":\"/b/app\",\"dockerfile\":\"Dockerfile.dev\"}"},
    {"services.*.healthcheck.test", NULL, "curl -f x", "[CMD, x]", "[\"CMD\",\"x\"]"},
    {"services.*.healthcheck.test", NULL, "curl -f x", NULL, "[\"CMD-SHELL\",\"curl-fx\"]"},
    {"services.*.command", NULL, "[a, b]", "c d", "[\"c\",\"d\"]"},
    {"services.*.entrypoint", NULL, "a b", "[c]", "[\"c\"]"},
    {"services.*.post_start.*.command", "services.*.post_start", "[{command: echo hi}]",
     "[{command: echo hi}, {command: echo bye}]",
     "[{\"command\":[\"echo\",\"hi\"]},{\"command\":[\"echo\",\"bye\"]}]"},
    {"services.*.pre_stop.*.command", "services.*.pre_stop", "[{command: \"kill -TERM 1\"}]", NULL,
     "[{\"command\":[\"kill\",\"-TERM\",\"1\"]}]"},
    {"services.*.secrets", NULL, "[s1, {source: s2, target: t}]", "[{source: s1, uid: \"1\"}]",
     "[{\"source\":\"s1\",\"uid\":\"1\",\"target\":\"/run/secrets/s1\"},{\"source\":\"s2\",\"target\":\"t\"}]"},
    {"services.*.secrets.*.mode", "services.*.secrets", "[{source: a, mode: 0440}, {source: b, mode: \"440\"}]",
     "[{source: c, mode: 288}, {source: d, mode: 0o644}]",
     "[{\"source\":\"a\",\"mode\":\"0440\",\"target\":\"/run/secrets/a\"},"
     "{\"source\":\"b\",\"mode\":\"0440\",\"target\":\"/run/secrets/b\"},"
     "{\"source\":\"c\",\"mode\":\"0440\",\"target\":\"/run/secrets/c\"},"
     "{\"source\":\"d\",\"mode\":\"0644\",\"target\":\"/run/secrets/d\"}]"},
    {"services.*.configs.*.mode", "services.*.configs", "[{source: a, mode: 0444}]", NULL,
     "[{\"source\":\"a\",\"mode\":\"0444\"}]"},
    {"services.*.build.secrets.*.mode", "services.*.build.secrets", "[{source: a, mode: 256}]", NULL,
     "[{\"source\":\"a\",\"mode\":\"0400\"}]"},
    {"services.*.configs", NULL, "[c1, {source: c2, target: /t}]", "[c1, c3]",
     "[{\"source\":\"c1\"},{\"source\":\"c2\",\"target\":\"/t\"},{\"source\":\"c3\"}]"},
    {"services.*.build.secrets", NULL, "[s1]", "[{source: s1, target: /run/secrets/s1}]",
     "[{\"source\":\"s1\",\"target\":\"/run/secrets/s1\"}]"},
    {"services.*.devices", NULL, "[\"/dev/a:/dev/b:r\", /dev/c]", "[{source: /dev/x, target: /dev/b}]",
     "[{\"source\":\"/dev/x\",\"target\":\"/dev/b\"},"
     "{\"source\":\"/dev/c\",\"target\":\"/dev/c\",\"permissions\":\"rwm\"}]"},
    {"services.*.extra_hosts", NULL, "[\"v6=[::1]\", \"v6b:::2\"]", NULL, "[\"v6=::1\",\"v6b=::2\"]"},
    {"services.*.gpus", NULL, "all", NULL, "[{\"count\":-1}]"},
    {"services.*.gpus", NULL, "[{driver: nvidia, count: all}]", "[{device_ids: [\"0\"]}]",
     "[{\"driver\":\"nvidia\",\"count\":-1},{\"device_ids\":[\"0\"]}]"},
    {"services.*.deploy.resources.reservations.devices", NULL, "[{capabilities: [gpu]}]",
     "[{capabilities: [gpu]}, {capabilities: [tpu], count: 2}]",
     "[{\"capabilities\":[\"gpu\"],\"count\":-1},{\"capabilities\":[\"tpu\"],\"count\":2}]"},
    {"services.*.extends", NULL, "base", NULL, "{\"service\":\"base\"}"},
    {"services.*.extends", NULL, "{service: base, file: ./common.yaml}", NULL,
     "{\"service\":\"base\",\"file\":\"/b/common.yaml\"}"},
    {"services.*.x-tend.seed", NULL, "[{sql: a.sql}]", "[{sql: b.sql}]", "[{\"sql\":[\"/o/b.sql\"]}]"},
    {"services.*.logging", NULL, "{driver: json-file, options: {max-size: 1m}}",
     "{options: {max-file: \"3\"}}",
     "{\"driver\":\"json-file\",\"options\":{\"max-size\":\"1m\",\"max-file\":\"3\"}}"},
    {"services.*.logging", NULL, "{driver: json-file, options: {max-size: 1m}}",
     "{driver: syslog, options: {tag: x}}", "{\"driver\":\"syslog\",\"options\":{\"tag\":\"x\"}}"},
    /* a null override keeps the base (here, the aliases of a network) */
    {"services.*.networks", NULL, "{front: {aliases: [a]}}", "[front]", "{\"front\":{\"aliases\":[\"a\"]}}"},
    {"services.*.networks.*.aliases", "services.*.networks", "{front: {aliases: [a, b]}}",
     "{front: {aliases: [b, c]}}", "{\"front\":{\"aliases\":[\"a\",\"b\",\"c\"]}}"},
    {"services.*.networks.*.link_local_ips", "services.*.networks",
     "{front: {link_local_ips: [169.254.0.1]}}", "{front: {link_local_ips: [169.254.0.1]}}",
     "{\"front\":{\"link_local_ips\":[\"169.254.0.1\"]}}"},
    {"services.*.models", NULL, "[llm]", "{llm: {endpoint_var: URL}, emb: null}",
     "{\"llm\":{\"endpoint_var\":\"URL\"},\"emb\":null}"},
    {"services.*.develop.watch.*.path", "services.*.develop.watch", "[{path: ./src, action: sync}]",
     "[{path: ./src, action: sync}]",
     "[{\"path\":\"/b/src\",\"action\":\"sync\"},{\"path\":\"/o/src\",\"action\":\"sync\"}]"},
    {"services.*.develop.watch.*.ignore", "services.*.develop.watch",
     "[{path: /s, action: sync, ignore: node_modules}]", NULL,
     "[{\"path\":\"/s\",\"action\":\"sync\",\"ignore\":[\"node_modules\"]}]"},
    {"services.*.develop.watch.*.include", "services.*.develop.watch",
     "[{path: /s, action: sync, include: \"*.py\"}]", NULL,
     "[{\"path\":\"/s\",\"action\":\"sync\",\"include\":[\"*.py\"]}]"},
    {"networks.*.ipam.config", NULL, "[{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]",
     "[{subnet: 10.0.0.0/24, ip_range: 10.0.0.0/25}, {subnet: 10.1.0.0/24}]",
     "[{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\",\"ip_range\":\"10.0.0.0/25\"},"
     "{\"subnet\":\"10.1.0.0/24\"}]"},
    {"include", NULL, "[a.yaml]", "[a.yaml]", "[\"a.yaml\",\"a.yaml\"]"},
    {"services.*.ulimits", NULL, "{nofile: {soft: 1, hard: 2}, nproc: 5}", "{nofile: {soft: 3}}",
     "{\"nofile\":{\"soft\":3,\"hard\":2},\"nproc\":5}"},
};

TEST(every_key_of_its_own_form_or_rule)
{
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        check_case(&cases[i]);
}

/* Lists that keep one item per key within one file too (Compose's
 * EnforceUnicity): the last item of a key wins, at the place of the first. */
static const Case unique_cases[] = {
    {"services.*.ports", NULL, "[\"8080:80\", \"9090:90\", \"8080:80/tcp\"]", NULL,
     "[{\"mode\":\"ingress\",\"target\":80,\"published\":\"8080\",\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"target\":90,\"published\":\"9090\",\"protocol\":\"tcp\"}]"},
    {"services.*.volumes", NULL, "[\"./a:/data\", \"./b:/data/\"]", NULL,
     "[{\"type\":\"bind\",\"source\":\"/b/b\",\"target\":\"/data\",\"bind\":{}}]"},
    {"services.*.env_file", NULL, "[a.env, a.env]", NULL, "(absent)"},
    {"services.*.secrets", NULL, "[s, {source: s, target: /run/secrets/s, uid: \"1\"}]", NULL,
     "[{\"source\":\"s\",\"target\":\"/run/secrets/s\",\"uid\":\"1\"}]"},
    {"services.*.configs", NULL, "[{source: a, target: /c}, {source: b, target: /c}]", NULL,
     "[{\"source\":\"b\",\"target\":\"/c\"}]"},
    {"services.*.devices", NULL, "[\"/dev/a:/dev/x\", \"/dev/b:/dev/x\"]", NULL,
     "[{\"source\":\"/dev/b\",\"target\":\"/dev/x\",\"permissions\":\"rwm\"}]"},
    {"services.*.networks.*.aliases", "services.*.networks", "{n: {aliases: [a, b, a]}}", NULL,
     "{\"n\":{\"aliases\":[\"a\",\"b\"]}}"},
    {"services.*.networks.*.link_local_ips", "services.*.networks", "{n: {link_local_ips: [a, a]}}", NULL,
     "{\"n\":{\"link_local_ips\":[\"a\"]}}"},
};

/* The K=V keys are mappings by then (a repeated K keeps its last value at
 * the first place); the other unique lists hold strings: one of each. */
TEST(every_unique_list_keeps_one_item_per_key_within_a_file)
{
    with_unique = true;
    for (size_t i = 0; i < ARRAY_SIZE(unique_cases); i++)
        check_case(&unique_cases[i]);
    size_t nk;
    const KeySpec *keys = keys_table(&nk);
    for (size_t k = 0; k < nk; k++) {
        if (!keys[k].unique)
            continue;
        bool done = false;
        for (size_t i = 0; i < ARRAY_SIZE(unique_cases); i++)
            done = done || streq(unique_cases[i].covers, keys[k].path);
        if (done)
            continue;
        Case c = {keys[k].path, NULL, NULL, NULL, NULL};
        if (keys[k].form == FORM_KV_MAP || keys[k].form == FORM_KV_PATHS) {
            c.base = "[A=/1, B=/2, A=/3]";
            c.want = "{\"A\":\"/3\",\"B\":\"/2\"}";
        } else {
            c.base = "[a, b, a]";
            c.want = "[\"a\",\"b\"]";
        }
        check_case(&c);
    }
    with_unique = false;
}

/* Runs last (tests run in file order): every entry of the table with a
 * form or a rule other than the defaults has a case above. */
TEST(no_key_of_the_table_is_left_untested)
{
    size_t nk;
    const KeySpec *keys = keys_table(&nk);
    for (size_t k = 0; k < nk; k++) {
        if (keys[k].form == FORM_AS_IS && keys[k].merge == MERGE_DEEP)
            continue;
        if (!strvec_contains(&covered, keys[k].path)) {
            test_failed_ = true;
            printf("#   no case for %s (%s, %s)\n", keys[k].path, key_form_to_string(keys[k].form),
                   key_merge_to_string(keys[k].merge));
        }
    }
    strvec_free(&covered);
}
