/* The whole loader: discovery, merging across files, env precedence,
 * profiles, extends, include, the model's cross-service checks, and the
 * malformed files under tests/data/bad, each of which must produce its
 * exact first error. */
#include "test.h"

#include "load/config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp_root(void)
{
    TEST_TMP(tmpl, "tend-test-config");
    char *d = mkdtemp(tmpl);
    return d ? xstrdup(d) : NULL;
}

static void mkdir_p(const char *path)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
    free(p);
}

static void write_file(const char *dir, const char *rel, const char *content)
{
    char *path = path_join(dir, rel);
    char *parent = path_dirname(path);
    mkdir_p(parent);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
    free(parent);
    free(path);
}

static void rm_rf(const char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", dir);
    free(cmd);
}

static char *no_env[] = {NULL};

/* Loads with the given cwd and environment; returns the result code. */
static int load(ConfigOptions *o, const char *cwd, char **envp, Project **p, Diag *d)
{
    o->cwd = cwd;
    o->environ_ = envp ? envp : no_env;
    *p = NULL;
    int r = config_load(o, p, d);
    if (r < 0)
        for (size_t i = 0; i < d->msgs.n; i++)
            printf("#   diag: %s\n", d->msgs.v[i]);
    return r;
}

static const char *first_error(const Diag *d)
{
    for (size_t i = 0; i < d->msgs.n; i++)
        if (strstr(d->msgs.v[i], "error: "))
            return d->msgs.v[i];
    return NULL;
}

TEST(discovery_services_yaml_and_dropins_from_a_subfolder)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "services.yaml", "services:\n  web:\n    image: one\n    environment: {A: base}\n");
    write_file(root, "services.d/20-b.yaml", "services:\n  web:\n    image: three\n");
    write_file(root, "services.d/10-a.yaml",
               "services:\n  web:\n    image: two\n    environment: {B: dropin}\n");
    write_file(root, "services.d/notes.txt", "not yaml\n");
    write_file(root, "compose.yaml", "services:\n  other:\n    image: x\n");
    char *cwd = path_join(root, "sub/deeper");
    mkdir_p(cwd);
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, cwd, NULL, &p, &d) == 0);
    CHECK_STR(p->workdir, root);
    REQUIRE(p->config_files.n == 3);
    CHECK(str_endswith(p->config_files.v[0], "/services.yaml"));
    CHECK(str_endswith(p->config_files.v[1], "/10-a.yaml"));
    CHECK(str_endswith(p->config_files.v[2], "/20-b.yaml"));
    REQUIRE(p->n_services == 1);
    CHECK_STR(p->services[0]->image, "three");
    CHECK_STR(env_get(&p->services[0]->environment, "A"), "base");
    CHECK_STR(env_get(&p->services[0]->environment, "B"), "dropin");
    project_free(p);
    diag_free(&d);
    rm_rf(root);
    free(root);
    free(cwd);
}

TEST(discovery_compose_file_with_override_companion)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "docker-compose.yml", "services:\n  web:\n    image: base\n    ports: ['8080:80']\n");
    write_file(root, "docker-compose.override.yml",
               "services:\n  web:\n    image: over\n    ports: ['9090:90']\n");
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    REQUIRE(p->n_services == 1);
    CHECK_STR(p->services[0]->image, "over");
    CHECK_INT(p->services[0]->n_ports, 2);
    project_free(p);
    diag_free(&d);

    /* compose.yaml is preferred over docker-compose.yml in the same folder. */
    write_file(root, "compose.yaml", "services:\n  api:\n    image: new\n");
    char *ov = path_join(root, "docker-compose.override.yml");
    unlink(ov);
    free(ov);
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    REQUIRE(p->n_services == 1);
    CHECK_STR(p->services[0]->name, "api");
    project_free(p);
    diag_free(&d);
    rm_rf(root);
    free(root);
}

TEST(discovery_nothing_found_is_enoent_with_a_message)
{
    char *root = tmp_root();
    REQUIRE(root);
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    CHECK_INT(load(&o, root, NULL, &p, &d), -ENOENT);
    REQUIRE(d.msgs.n == 1);
    CHECK(strstr(d.msgs.v[0], "no services file found in ") != NULL);
    diag_free(&d);
    rm_rf(root);
    free(root);
}

TEST(later_files_override_earlier_ones)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "a.yaml",
               "services:\n  web:\n    image: a\n    command: [run, a]\n    labels: [x=1]\n"
               "    volumes: ['./src:/app', 'cache:/cache']\n"
               "volumes:\n  cache: {}\n");
    write_file(root, "b.yaml",
               "services:\n  web:\n    command: run b\n    labels: {y: '2'}\n"
               "    volumes: [{type: bind, source: ./other, target: /app}]\n");
    ConfigOptions o = {0};
    strvec_push(&o.files, "a.yaml");
    strvec_push(&o.files, "b.yaml");
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    Service *s = p->services[0];
    CHECK_STR(s->image, "a");
    REQUIRE(s->command.n == 2);
    CHECK_STR(s->command.v[1], "b");
    CHECK(s->shell);
    CHECK_STR(env_get(&s->labels, "x"), "1");
    CHECK_STR(env_get(&s->labels, "y"), "2");
    REQUIRE(s->n_mounts == 2);
    char *other = path_join(root, "other");
    CHECK_STR(s->mounts[0].source, other);
    CHECK_STR(s->mounts[0].target, "/app");
    CHECK_STR(s->mounts[1].source, "cache");
    free(other);
    project_free(p);
    diag_free(&d);
    config_options_free(&o);
    rm_rf(root);
    free(root);
}

TEST(project_name_precedence_and_normalization)
{
    char *root = tmp_root();
    REQUIRE(root);
    char *dir = path_join(root, "My Project.X");
    write_file(dir, "compose.yaml", "services:\n  a:\n    image: x\n");
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, dir, NULL, &p, &d) == 0);
    CHECK_STR(p->name, "myprojectx");
    CHECK_STR(p->networks[0].name, "myprojectx_default");
    project_free(p);

    write_file(dir, "compose.yaml", "name: named\nservices:\n  a:\n    image: x\n");
    REQUIRE(load(&o, dir, NULL, &p, &d) == 0);
    CHECK_STR(p->name, "named");
    project_free(p);

    char *env1[] = {"COMPOSE_PROJECT_NAME=fromenv", NULL};
    REQUIRE(load(&o, dir, env1, &p, &d) == 0);
    CHECK_STR(p->name, "fromenv");
    project_free(p);

    o.project_name = "flag";
    REQUIRE(load(&o, dir, env1, &p, &d) == 0);
    CHECK_STR(p->name, "flag");
    project_free(p);

    o.project_name = "Bad Name";
    CHECK_INT(load(&o, dir, NULL, &p, &d), -EINVAL);
    CHECK(first_error(&d) && strstr(first_error(&d), "-p: invalid project name \"Bad Name\""));
    diag_free(&d);
    rm_rf(root);
    free(root);
    free(dir);
}

TEST(interpolation_env_precedence_shell_then_env_file_then_dotenv)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "compose.yaml",
               "services:\n  a:\n    image: \"img:${TAG}\"\n    environment:\n"
               "      ONE: ${ONE}\n      TWO: ${TWO}\n      THREE: ${THREE:-dflt}\n");
    write_file(root, ".env", "TAG=dotenv\nONE=dotenv\nTWO=dotenv\n");
    write_file(root, "extra.env", "ONE=envfile\nTWO=envfile\n");
    char *envp[] = {"TWO=shell", NULL};
    ConfigOptions o = {0};
    strvec_push(&o.env_files, "extra.env");
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, root, envp, &p, &d) == 0);
    Service *s = p->services[0];
    CHECK_STR(s->image, "img:dotenv");
    CHECK_STR(env_get(&s->environment, "ONE"), "envfile");
    CHECK_STR(env_get(&s->environment, "TWO"), "shell");
    CHECK_STR(env_get(&s->environment, "THREE"), "dflt");
    project_free(p);

    /* --no-interpolate leaves the text alone. */
    o.no_interpolate = true;
    REQUIRE(load(&o, root, envp, &p, &d) == 0);
    CHECK_STR(p->services[0]->image, "img:${TAG}");
    project_free(p);

    /* A missing --env-file is an error. */
    o.no_interpolate = false;
    strvec_push(&o.env_files, "missing.env");
    CHECK_INT(load(&o, root, envp, &p, &d), -EINVAL);
    CHECK(first_error(&d) && strstr(first_error(&d), "--env-file ") && strstr(first_error(&d), "missing.env: no such file"));
    diag_free(&d);
    config_options_free(&o);
    rm_rf(root);
    free(root);
}

TEST(environment_overlays_env_file_and_null_values_come_from_the_shell)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "compose.yaml",
               "services:\n  a:\n    image: x\n    env_file: [app.env, {path: opt.env, required: false}]\n"
               "    environment:\n      - FROM_FILE=overridden\n      - FROM_SHELL\n      - NOT_SET\n");
    write_file(root, "app.env", "FROM_FILE=file\nONLY_FILE=kept\n");
    char *envp[] = {"FROM_SHELL=sh", NULL};
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, root, envp, &p, &d) == 0);
    Service *s = p->services[0];
    CHECK_STR(env_get(&s->environment, "FROM_FILE"), "overridden");
    CHECK_STR(env_get(&s->environment, "ONLY_FILE"), "kept");
    CHECK_STR(env_get(&s->environment, "FROM_SHELL"), "sh");
    CHECK(!env_has(&s->environment, "NOT_SET"));
    CHECK_INT(s->env_files.n, 2);
    project_free(p);

    write_file(root, "compose.yaml", "services:\n  a:\n    image: x\n    env_file: gone.env\n");
    CHECK_INT(load(&o, root, envp, &p, &d), -EINVAL);
    const char *e = first_error(&d);
    CHECK(e && strstr(e, "compose.yaml:4:15: error: services.a.env_file: ") && strstr(e, "gone.env: no such file"));
    diag_free(&d);
    rm_rf(root);
    free(root);
}

static const char profiles_yaml[] =
    "services:\n"
    "  web:\n    image: w\n    depends_on: [db]\n"
    "  db:\n    image: d\n"
    "  debug:\n    image: g\n    profiles: [debug]\n    depends_on: [tools]\n"
    "  tools:\n    image: t\n    profiles: [tools]\n"
    "  mock:\n    image: m\n    profiles: [dev, test]\n";

static char *names_of(const Project *p)
{
    StrBuf b;
    strbuf_init(&b, 0);
    for (size_t i = 0; i < p->n_services; i++)
        strbuf_printf(&b, "%s%s", i ? "," : "", p->services[i]->name);
    return strbuf_steal(&b);
}

/* Compose's defaults that an override must not restate come after the
 * merge: the base's build context stays when the override names only a
 * dockerfile, the base's condition when the override says required: false;
 * links make dependencies (restart: true), and a port written twice in one
 * file is one port. */
static Project *load_two(const char *root, const char *a, const char *b)
{
    write_file(root, "a.yaml", a);
    write_file(root, "b.yaml", b);
    ConfigOptions o = {0};
    strvec_push(&o.files, "a.yaml");
    strvec_push(&o.files, "b.yaml");
    Project *p = NULL;
    Diag d = {0};
    if (load(&o, root, NULL, &p, &d) < 0)
        p = NULL;
    diag_free(&d);
    config_options_free(&o);
    return p;
}

static const Dependency *dep_of(const Service *s, const char *name)
{
    for (size_t i = 0; i < s->n_deps; i++)
        if (streq(s->deps[i].service, name))
            return &s->deps[i];
    return NULL;
}

TEST(container_keys_of_a_host_service_are_listed_as_not_acted_on)
{
    char *root = tmp_root();
    REQUIRE(root);
    Project *p = load_two(root,
                          "services:\n  h:\n    command: [sleep, '1']\n    cap_add: [NET_ADMIN]\n"
                          "  c:\n    image: busybox\n    cap_add: [NET_ADMIN]\n",
                          "services:\n  h:\n    sysctls: {net.core.somaxconn: 1024}\n");
    REQUIRE(p);
    CHECK(strvec_contains(&p->ignored, "services.h.cap_add"));
    CHECK(strvec_contains(&p->ignored, "services.h.sysctls"));
    CHECK(!strvec_contains(&p->ignored, "services.c.cap_add"));
    project_free(p);
    rm_rf(root);
    free(root);
}

TEST(compose_defaults_and_implied_dependencies_come_after_the_merge)
{
    char *root = tmp_root();
    REQUIRE(root);
    Project *p = load_two(root,
                          "services:\n  web:\n    build: ./app\n"
                          "    ports: ['8080:80', '8080:80/tcp']\n"
                          "    depends_on:\n      db: {condition: service_healthy}\n"
                          "  db: {image: postgres}\n  cache: {image: redis}\n",
                          "services:\n  web:\n    build: {dockerfile: Dockerfile.dev}\n"
                          "    depends_on:\n      db: {required: false}\n    links: [cache]\n");
    REQUIRE(p);
    const Service *web = NULL;
    for (size_t i = 0; i < p->n_services; i++)
        if (streq(p->services[i]->name, "web"))
            web = p->services[i];
    REQUIRE(web && web->build);
    char *ctx = path_join(root, "app");
    CHECK_STR(web->build->context, ctx);
    free(ctx);
    CHECK_STR(web->build->dockerfile, "Dockerfile.dev");
    CHECK_INT(web->n_ports, 1);
    const Dependency *db = dep_of(web, "db");
    REQUIRE(db);
    CHECK(db->condition == DEP_HEALTHY);
    CHECK(!db->required);
    const Dependency *cache = dep_of(web, "cache");
    REQUIRE(cache);
    CHECK(cache->condition == DEP_STARTED);
    CHECK(cache->restart && cache->required);
    project_free(p);
    rm_rf(root);
    free(root);
}

TEST(profiles_select_services)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "compose.yaml", profiles_yaml);
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    char *n;

    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    CHECK_STR(n = names_of(p), "db,web");
    free(n);
    CHECK_INT(p->profiles_all.n, 4);
    CHECK_INT(p->disabled.n, 3);
    project_free(p);

    strvec_push(&o.profiles, "test");
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    CHECK_STR(n = names_of(p), "db,mock,web");
    free(n);
    project_free(p);
    config_options_free(&o);

    char *env1[] = {"COMPOSE_PROFILES=dev", NULL};
    REQUIRE(load(&o, root, env1, &p, &d) == 0);
    CHECK_STR(n = names_of(p), "db,mock,web");
    free(n);
    project_free(p);

    char *env2[] = {"TEND_PROFILES=debug,tools", NULL};
    REQUIRE(load(&o, root, env2, &p, &d) == 0);
    CHECK_STR(n = names_of(p), "db,debug,tools,web");
    free(n);
    project_free(p);

    strvec_push(&o.profiles, "*");
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    CHECK_INT(p->n_services, 5);
    project_free(p);
    config_options_free(&o);

    /* A service named on the command line is enabled with what it needs,
     * whatever their profiles, and nothing else is. */
    strvec_push(&o.services, "debug");
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    CHECK_STR(n = names_of(p), "debug,tools");
    free(n);
    project_free(p);
    config_options_free(&o);

    /* With only debug's profile, its required dependency is disabled: an error. */
    strvec_push(&o.profiles, "debug");
    CHECK_INT(load(&o, root, NULL, &p, &d), -EINVAL);
    CHECK(first_error(&d) &&
          strstr(first_error(&d),
                 "compose.yaml:10:18: error: services.debug.depends_on: service \"tools\" is not enabled"));
    diag_free(&d);
    config_options_free(&o);

    strvec_push(&o.services, "nosuch");
    CHECK_INT(load(&o, root, NULL, &p, &d), -EINVAL);
    CHECK_STR(first_error(&d), "error: no such service: \"nosuch\"");
    diag_free(&d);
    config_options_free(&o);
    rm_rf(root);
    free(root);
}

TEST(optional_dependency_on_a_disabled_service_is_a_warning)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "compose.yaml",
               "services:\n  web:\n    image: w\n    depends_on:\n      mock:\n        condition: service_started\n"
               "        required: false\n  mock:\n    image: m\n    profiles: [dev]\n");
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    CHECK_INT(d.errors, 0);
    CHECK_INT(d.warnings, 1);
    CHECK_INT(p->n_services, 1);
    CHECK_INT(p->services[0]->n_deps, 0);
    project_free(p);
    diag_free(&d);
    rm_rf(root);
    free(root);
}

TEST(extends_same_file_and_other_file_with_its_own_paths)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "compose.yaml",
               "services:\n"
               "  base:\n    image: b\n    environment: {A: '1', B: '1'}\n    expose: ['8000']\n"
               "  child:\n    extends: base\n    environment: {B: '2'}\n    expose: ['8001']\n"
               "  grandchild:\n    extends: {service: child}\n    image: g\n    expose: ['8002']\n"
               "  remote:\n    extends: {file: common/base.yaml, service: app}\n");
    write_file(root, "common/base.yaml",
               "services:\n  app:\n    image: app\n    volumes: ['./code:/code']\n    env_file: app.env\n");
    write_file(root, "common/app.env", "FROM_COMMON=yes\n");
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    Service *c = project_service(p, "child");
    REQUIRE(c);
    CHECK_STR(c->image, "b");
    CHECK_STR(env_get(&c->environment, "A"), "1");
    CHECK_STR(env_get(&c->environment, "B"), "2");
    CHECK_INT(c->expose.n, 2);
    Service *g = project_service(p, "grandchild");
    REQUIRE(g);
    CHECK_STR(g->image, "g");
    CHECK_INT(g->expose.n, 3);
    Service *r = project_service(p, "remote");
    REQUIRE(r && r->n_mounts == 1);
    char *code = path_join(root, "common/code");
    CHECK_STR(r->mounts[0].source, code);
    free(code);
    CHECK_STR(env_get(&r->environment, "FROM_COMMON"), "yes");
    CHECK(node_get(r->node, "extends") == NULL);
    project_free(p);
    diag_free(&d);

    write_file(root, "compose.yaml",
               "services:\n  a:\n    image: x\n    extends: b\n  b:\n    image: y\n    extends: a\n");
    CHECK_INT(load(&o, root, NULL, &p, &d), -EINVAL);
    CHECK(first_error(&d) && strstr(first_error(&d), "circular extends: "));
    diag_free(&d);

    write_file(root, "compose.yaml", "services:\n  a:\n    image: x\n    extends: nope\n");
    CHECK_INT(load(&o, root, NULL, &p, &d), -EINVAL);
    CHECK(first_error(&d) && strstr(first_error(&d), ":4:14: error: services.a.extends: no service \"nope\" in "));
    diag_free(&d);
    rm_rf(root);
    free(root);
}

TEST(include_adds_services_with_their_own_folder_and_refuses_conflicts)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "compose.yaml",
               "include:\n  - sub/compose.yaml\nservices:\n  web:\n    image: w\n    depends_on: [db]\n");
    write_file(root, "sub/compose.yaml",
               "services:\n  db:\n    image: pg\n    volumes: ['./data:/data']\n");
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    Service *db = project_service(p, "db");
    REQUIRE(db && db->n_mounts == 1);
    char *data = path_join(root, "sub/data");
    CHECK_STR(db->mounts[0].source, data);
    free(data);
    CHECK(node_get(p->tree, "include") == NULL);
    project_free(p);
    diag_free(&d);

    write_file(root, "compose.yaml", "include:\n  - sub/compose.yaml\nservices:\n  db:\n    image: mine\n");
    CHECK_INT(load(&o, root, NULL, &p, &d), -EINVAL);
    CHECK(first_error(&d) && strstr(first_error(&d), "services.db: already defined by included file "));
    diag_free(&d);
    rm_rf(root);
    free(root);
}

TEST(runtime_host_or_docker)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "compose.yaml",
               "services:\n"
               "  api:\n    command: python3 -m http.server 8000\n    working_dir: ./api\n"
               "  db:\n    image: postgres\n"
               "  forced:\n    image: redis\n    command: [redis-server]\n    x-tend: {runtime: host}\n");
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    Service *api = project_service(p, "api");
    REQUIRE(api);
    CHECK_INT(api->runtime, RUNTIME_HOST);
    CHECK(api->shell);
    CHECK_STR(api->command_string, "python3 -m http.server 8000");
    CHECK_INT(project_service(p, "db")->runtime, RUNTIME_DOCKER);
    CHECK_INT(project_service(p, "forced")->runtime, RUNTIME_HOST);
    CHECK(!project_service(p, "forced")->shell);
    project_free(p);
    diag_free(&d);

    write_file(root, "compose.yaml", "services:\n  idle:\n    restart: always\n");
    CHECK_INT(load(&o, root, NULL, &p, &d), -EINVAL);
    CHECK(first_error(&d) &&
          strstr(first_error(&d), "compose.yaml:3:5: error: services.idle: nothing to run: set image or build"));
    diag_free(&d);
    rm_rf(root);
    free(root);
}

TEST(model_reads_every_field)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "compose.yaml",
               "x-tend:\n  default_host_ip: 0.0.0.0\n"
               "services:\n"
               "  db:\n    image: postgres:16\n    restart: on-failure:3\n    stop_signal: SIGINT\n"
               "    stop_grace_period: 1m30s\n    init: true\n    tty: true\n    mem_limit: 512m\n    cpus: 1.5\n"
               "    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 64}\n"
               "    healthcheck:\n      test: [CMD, pg_isready]\n      interval: 2s\n      retries: 7\n"
               "    extra_hosts: ['gw:10.0.0.1']\n    tmpfs: /run\n    expose: ['5432']\n"
               "    networks:\n      back:\n        aliases: [database]\n"
               "    ports: ['127.0.0.1:5432:5432', '6000-6001:6000-6001']\n"
               "    x-tend:\n      probe: {postgres: {user: app, dbname: app}, interval: 500ms}\n"
               "      seed:\n        - sql: [seed/a.sql, seed/b.sql]\n          database: app\n"
               "        - exec: ./manage.py migrate\n"
               "  web:\n    build: ./web\n    depends_on:\n      db: {condition: service_healthy, restart: true}\n"
               "    develop:\n      watch:\n        - {path: ./web/src, action: sync, target: /app/src, ignore: ['*.pyc']}\n"
               "    x-tend:\n      probe: {http: {url: 'http://127.0.0.1:8000/health', status: 204}}\n"
               "      watch: {enabled: true, action: signal, signal: SIGHUP, debounce: 250ms}\n"
               "networks:\n  back: {}\n");
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    Service *db = project_service(p, "db");
    REQUIRE(db);
    CHECK_INT(db->restart, RESTART_ON_FAILURE);
    CHECK_INT(db->restart_max, 3);
    CHECK_INT(db->stop_signal, SIGINT);
    CHECK_INT(db->stop_grace_period, 90LL * 1000000000);
    CHECK_INT(db->init, 1);
    CHECK(db->tty);
    CHECK_INT(db->mem_limit, 512LL << 20);
    CHECK(db->cpus > 1.49 && db->cpus < 1.51);
    REQUIRE(db->n_ulimits == 2);
    CHECK_STR(db->ulimits[0].name, "nofile");
    CHECK_INT(db->ulimits[0].hard, 2048);
    CHECK_INT(db->ulimits[1].soft, 64);
    CHECK(db->healthcheck.present);
    CHECK_INT(db->healthcheck.interval, 2000000000LL);
    CHECK_INT(db->healthcheck.retries, 7);
    CHECK_STR(db->extra_hosts.v[0], "gw:10.0.0.1");
    CHECK_STR(db->tmpfs.v[0], "/run");
    REQUIRE(db->n_networks == 1);
    CHECK_STR(db->networks[0].aliases.v[0], "database");
    REQUIRE(db->n_ports == 3);
    CHECK_STR(db->ports[0].host_ip, "127.0.0.1");
    CHECK_STR(db->ports[1].host_ip, "0.0.0.0"); /* the file's x-tend default */
    CHECK_INT(db->ports[2].published_lo, 6001);
    CHECK_INT(db->probe.kind, PROBE_POSTGRES);
    CHECK_INT(db->probe.port, 5432);
    CHECK_STR(db->probe.user, "app");
    CHECK_INT(db->probe.interval, 500000000);
    REQUIRE(db->n_seeds == 2);
    CHECK_INT(db->seeds[0].kind, SEED_SQL);
    CHECK_INT(db->seeds[0].files.n, 2);
    CHECK(path_is_absolute(db->seeds[0].files.v[0]));
    CHECK_STR(db->seeds[0].database, "app");
    CHECK_INT(db->seeds[1].kind, SEED_EXEC);
    CHECK(db->seeds[1].shell);

    Service *web = project_service(p, "web");
    REQUIRE(web && web->build);
    char *ctx = path_join(root, "web");
    CHECK_STR(web->build->context, ctx);
    free(ctx);
    CHECK_STR(web->build->dockerfile, "Dockerfile");
    REQUIRE(web->n_deps == 1);
    CHECK_INT(web->deps[0].index, db->index);
    CHECK_INT(web->deps[0].condition, DEP_HEALTHY);
    CHECK(web->deps[0].restart);
    REQUIRE(web->n_watch == 1);
    CHECK_INT(web->watch[0].action, WATCH_SYNC);
    CHECK(str_endswith(web->watch[0].path, "/web/src"));
    CHECK_STR(web->watch[0].ignore.v[0], "*.pyc");
    CHECK_INT(web->probe.kind, PROBE_HTTP);
    CHECK_INT(web->probe.status, 204);
    CHECK(web->watch_opts.enabled);
    CHECK_INT(web->watch_opts.action, WATCH_SIGNAL);
    CHECK_INT(web->watch_opts.debounce, 250000000);
    CHECK_INT(web->n_networks, 1);
    CHECK_STR(web->networks[0].name, "default");
    CHECK_INT(p->n_networks, 2);
    project_free(p);
    diag_free(&d);
    rm_rf(root);
    free(root);
}

/* A value that came through ${...} is text to compose, whatever it reads
 * as: `user: ${UID}` with UID=1000 is fine, `user: 1000` is not. */
TEST(interpolated_values_are_text)
{
    char *root = tmp_root();
    REQUIRE(root);
    write_file(root, "compose.yaml",
               "services:\n  a:\n    image: nginx\n    user: ${UID}\n    hostname: ${EMPTY}\n");
    char *envp[] = {"UID=1000", "EMPTY=", NULL};
    ConfigOptions o = {0};
    Project *p;
    Diag d = {0};
    CHECK(load(&o, root, envp, &p, &d) == 0);
    project_free(p);
    diag_free(&d);
    config_options_free(&o);

    write_file(root, "compose.yaml", "services:\n  a:\n    image: nginx\n    user: 1000\n");
    ConfigOptions o2 = {0};
    Diag d2 = {0};
    CHECK(load(&o2, root, envp, &p, &d2) == -EINVAL);
    CHECK(first_error(&d2) && strstr(first_error(&d2), "services.a.user: must be a string, not a number"));
    project_free(p);
    diag_free(&d2);
    config_options_free(&o2);
    rm_rf(root);
    free(root);
}

/* ---- malformed files ---- */

static char *replace_file(const char *expected, const char *path)
{
    StrBuf b;
    strbuf_init(&b, 0);
    for (const char *s = expected; *s;) {
        if (str_startswith(s, "FILE")) {
            strbuf_puts(&b, path);
            s += 4;
        } else {
            strbuf_putc(&b, *s++);
        }
    }
    return strbuf_steal(&b);
}

TEST(malformed_files_give_their_exact_first_error)
{
    const char *data = getenv("TEND_TEST_DATA");
    REQUIRE(data);
    char *rel = path_join(data, "bad");
    char *dir = realpath(rel, NULL);
    free(rel);
    REQUIRE(dir);
    DIR *dp = opendir(dir);
    REQUIRE(dp);
    StrVec names = {0};
    struct dirent *e;
    while ((e = readdir(dp)))
        if (str_endswith(e->d_name, ".yaml"))
            strvec_push(&names, e->d_name);
    closedir(dp);
    strvec_sort(&names);
    size_t checked = 0;
    for (size_t i = 0; i < names.n; i++) {
        char *yaml = path_join(dir, names.v[i]);
        char *exp_path = xasprintf("%.*s.expected", (int)(strlen(yaml) - 5), yaml);
        char *exp = NULL;
        size_t len;
        if (read_file(exp_path, 1 << 16, &exp, &len) < 0) {
            printf("#   %s: no .expected file\n", names.v[i]);
            test_failed_ = true;
            free(yaml);
            free(exp_path);
            continue;
        }
        while (len > 0 && (exp[len - 1] == '\n' || exp[len - 1] == '\r'))
            exp[--len] = 0;
        char *want = replace_file(exp, yaml);
        ConfigOptions o = {0};
        strvec_push(&o.files, yaml);
        o.cwd = dir;
        o.environ_ = no_env;
        Project *p = NULL;
        Diag d = {0};
        int r = config_load(&o, &p, &d);
        /* The first error and, when .expected has more lines, the lines
         * that follow it (the note of a YAML syntax error). */
        const char *first = first_error(&d);
        _cleanup_free_ char *got = NULL;
        if (first) {
            size_t at = 0, lines = 1;
            while (d.msgs.v[at] != first)
                at++;
            for (const char *c = want; *c; c++)
                lines += *c == '\n';
            StrBuf g;
            strbuf_init(&g, 0);
            for (size_t k = at; k < d.msgs.n && k < at + lines; k++)
                strbuf_printf(&g, "%s%s", k > at ? "\n" : "", d.msgs.v[k]);
            got = strbuf_steal(&g);
        }
        if (r != -EINVAL || !got || !streq(got, want)) {
            printf("#   %s: r=%d\n#     got:      %s\n#     expected: %s\n", names.v[i], r,
                   got ? got : "(no error)", want);
            test_failed_ = true;
        }
        checked++;
        project_free(p);
        diag_free(&d);
        config_options_free(&o);
        free(want);
        free(exp);
        free(exp_path);
        free(yaml);
    }
    printf("#   %zu malformed files checked\n", checked);
    CHECK(checked >= 40);
    strvec_free(&names);
    free(dir);
}
