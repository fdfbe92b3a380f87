/* Environments (load/envs.c and their place in the load) and the Kubernetes
 * export (kube/) without a cluster or Go: which files an environment adds,
 * the precedence of .env.NAME, the errors at file:line, and a tree whose
 * overlays are patches with the secrets kept out of every YAML file. */
#include "test.h"

#include "kube/kube.h"
#include "load/config.h"
#include "load/envs.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp_root(void)
{
    TEST_TMP(tmpl, "tend-test-kube");
    char *d = mkdtemp(tmpl);
    return d ? xstrdup(d) : NULL;
}

static void write_file(const char *dir, const char *rel, const char *content)
{
    char *path = path_join(dir, rel);
    char *cmd = xasprintf("mkdir -p \"$(dirname '%s')\"", path);
    if (system(cmd) != 0)
        printf("# cannot make the folder of %s\n", path);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
    free(cmd);
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

static int load(ConfigOptions *o, const char *cwd, char **envp, Project **p, Diag *d)
{
    o->cwd = cwd;
    o->environ_ = envp ? envp : no_env;
    *p = NULL;
    return config_load(o, p, d);
}

static bool diag_has(const Diag *d, const char *s)
{
    for (size_t i = 0; i < d->msgs.n; i++)
        if (strstr(d->msgs.v[i], s))
            return true;
    for (size_t i = 0; i < d->msgs.n; i++)
        printf("#   diag: %s\n", d->msgs.v[i]);
    return false;
}

TEST(environment_names_are_dns_labels)
{
    CHECK(env_name_valid("dev"));
    CHECK(env_name_valid("staging-2"));
    CHECK(!env_name_valid(""));
    CHECK(!env_name_valid("Dev"));
    CHECK(!env_name_valid("-dev"));
    CHECK(!env_name_valid("dev-"));
    CHECK(!env_name_valid("dev_1"));
    CHECK(!env_name_valid("override"));
    CHECK(!env_name_valid("a.b"));
}

static char *compose_project(void)
{
    char *root = tmp_root();
    write_file(root, "compose.yaml", "services:\n  web:\n    image: web:${TAG}\n    environment: {WHERE: base}\n");
    write_file(root, "compose.override.yaml", "services:\n  web:\n    environment: {WHERE: override}\n");
    write_file(root, "compose.staging.yaml", "services:\n  web:\n    environment: {WHERE: staging}\n");
    write_file(root, "docker-compose.ci.yml", "services:\n  web:\n    environment: {WHERE: ci}\n");
    write_file(root, "env/dev/20-b.yaml", "services:\n  web:\n    environment: {B: two}\n");
    write_file(root, "env/dev/10-a.yaml", "services:\n  web:\n    environment: {WHERE: dev, B: one}\n");
    write_file(root, "env/Bad/x.yaml", "services: {}\n");
    write_file(root, "env/empty/notes.txt", "no yaml here\n");
    write_file(root, ".env", "TAG=base\nOTHER=dotenv\n");
    write_file(root, ".env.staging", "TAG=staging\n");
    return root;
}

TEST(environments_are_found_in_env_folders_and_compose_name_files)
{
    char *root = compose_project();
    StrVec names = {0};
    envs_list(root, &names);
    REQUIRE(names.n == 3);
    CHECK_STR(names.v[0], "ci");
    CHECK_STR(names.v[1], "dev");
    CHECK_STR(names.v[2], "staging");
    StrVec files = {0};
    CHECK(envs_overlay_files(root, "dev", &files) == 0);
    REQUIRE(files.n == 2);
    CHECK(str_endswith(files.v[0], "/env/dev/10-a.yaml"));
    CHECK(str_endswith(files.v[1], "/env/dev/20-b.yaml"));
    CHECK(envs_overlay_files(root, "empty", &files) < 0);
    CHECK(envs_overlay_files(root, "Bad", &files) < 0);
    strvec_free(&files);
    strvec_free(&names);
    rm_rf(root);
    free(root);
}

TEST(an_environment_merges_over_the_base_without_the_override_file)
{
    char *root = compose_project();
    ConfigOptions o = {.env_name = "staging"};
    Project *p;
    Diag d = {0};
    REQUIRE(load(&o, root, NULL, &p, &d) == 0);
    REQUIRE(p->config_files.n == 2);
    CHECK(str_endswith(p->config_files.v[1], "/compose.staging.yaml"));
    CHECK_STR(env_get(&p->services[0]->environment, "WHERE"), "staging");
    /* .env.staging wins over .env; what it does not set comes from .env */
    CHECK_STR(p->services[0]->image, "web:staging");
    CHECK_STR(env_get(&p->env, "OTHER"), "dotenv");
    project_free(p);
    diag_free(&d);

    /* without an environment the override file is merged as before */
    ConfigOptions b = {0};
    REQUIRE(load(&b, root, NULL, &p, &d) == 0);
    CHECK_STR(env_get(&p->services[0]->environment, "WHERE"), "override");
    CHECK_STR(p->services[0]->image, "web:base");
    project_free(p);
    diag_free(&d);

    /* TEND_ENV from the shell, and the shell still wins over .env.NAME */
    char *envp[] = {"TEND_ENV=dev", "TAG=shell", NULL};
    ConfigOptions s = {0};
    REQUIRE(load(&s, root, envp, &p, &d) == 0);
    CHECK_STR(env_get(&p->services[0]->environment, "WHERE"), "dev");
    CHECK_STR(env_get(&p->services[0]->environment, "B"), "two");
    CHECK_STR(p->services[0]->image, "web:shell");
    project_free(p);
    diag_free(&d);

    /* base_only ignores both */
    ConfigOptions bo = {.env_name = "staging", .base_only = true};
    REQUIRE(load(&bo, root, envp, &p, &d) == 0);
    CHECK_STR(env_get(&p->services[0]->environment, "WHERE"), "override");
    project_free(p);
    diag_free(&d);
    rm_rf(root);
    free(root);
}

TEST(a_bad_or_missing_environment_is_an_error_where_it_is_named)
{
    char *root = compose_project();
    ConfigOptions o = {.env_name = "prod"};
    Project *p;
    Diag d = {0};
    CHECK(load(&o, root, NULL, &p, &d) == -EINVAL);
    CHECK(diag_has(&d, "error: no environment \"prod\""));
    CHECK(diag_has(&d, "environments: ci, dev, staging"));
    diag_free(&d);
    ConfigOptions bad = {.env_name = "Prod"};
    CHECK(load(&bad, root, NULL, &p, &d) == -EINVAL);
    CHECK(diag_has(&d, "error: invalid environment name \"Prod\""));
    diag_free(&d);
    write_file(root, ".env", "# which one\nTAG=base\n  TEND_ENV=nope\n");
    ConfigOptions f = {0};
    CHECK(load(&f, root, NULL, &p, &d) == -EINVAL);
    char *at = xasprintf("%s/.env:3:3: error: no environment \"nope\"", root);
    CHECK(diag_has(&d, at));
    free(at);
    diag_free(&d);
    rm_rf(root);
    free(root);
}

/* ---- the export ---- */

static const KubeFile *tree_file(const KubeTree *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++)
        if (streq(t->files[i].path, path))
            return &t->files[i];
    return NULL;
}

static char *kube_project(void)
{
    char *root = tmp_root();
    write_file(root, "compose.yaml",
               "name: shop\n"
               "services:\n"
               "  db:\n"
               "    image: postgres:16\n"
               "    environment: {POSTGRES_PASSWORD: '${DB_PASSWORD}', POSTGRES_DB: shop}\n"
               "    volumes: [data:/var/lib/postgresql/data]\n"
               "    x-tend: {probe: {postgres: {user: postgres}, retries: 5, interval: 2s}}\n"
               "  migrate:\n"
               "    build: .\n"
               "    command: [migrate]\n"
               "    depends_on: {db: {condition: service_healthy}}\n"
               "  web:\n"
               "    build: .\n"
               "    ports: ['8080:80']\n"
               "    env_file: app.env\n"
               "    volumes: ['./src:/app', './conf/app.ini:/etc/app.ini:ro']\n"
               "    depends_on:\n"
               "      db: {condition: service_healthy}\n"
               "      migrate: {condition: service_completed_successfully}\n"
               "    privileged: true\n"
               "  tool:\n"
               "    command: ./tool.sh\n"
               "volumes:\n"
               "  data: {}\n");
    write_file(root, "compose.prod.yaml",
               "x-tend: {kube: {expose: ingress, host: shop.test, registry: reg.test/shop}}\n"
               "services:\n"
               "  web:\n"
               "    deploy: {replicas: 3}\n");
    write_file(root, "app.env", "API_TOKEN=tok-dev\nMODE=dev\n");
    write_file(root, "conf/app.ini", "[app]\nname = shop\n");
    write_file(root, "src/main.py", "print('hi')\n");
    write_file(root, ".env", "DB_PASSWORD=pw-dev\n");
    write_file(root, ".env.prod", "DB_PASSWORD=pw-prod\n");
    return root;
}

TEST(export_base_and_overlay_patches_with_secrets_out_of_yaml)
{
    char *root = kube_project();
    ConfigOptions o = {.cwd = root, .environ_ = no_env};
    KubeOptions ko = {0};
    KubeTree t = {0};
    Diag d = {0};
    REQUIRE(kube_export(&o, &ko, &t, &d) == 0);
    REQUIRE(t.envs.n == 1);
    CHECK_STR(t.envs.v[0], "prod");
    CHECK(tree_file(&t, "base/kustomization.yaml"));
    CHECK(tree_file(&t, "overlays/prod/kustomization.yaml"));
    /* the overlay patches web (replicas, image) and adds the Ingress */
    const KubeFile *p = tree_file(&t, "overlays/prod/patches/deployment-web.yaml");
    REQUIRE(p);
    CHECK(strstr(p->data, "replicas: 3"));
    CHECK(strstr(p->data, "image: reg.test/shop/shop-web"));
    CHECK(!strstr(p->data, "initContainers")); /* unchanged: not copied */
    const KubeFile *ing = tree_file(&t, "overlays/prod/web.yaml");
    REQUIRE(ing);
    CHECK(strstr(ing->data, "kind: Ingress"));
    CHECK(strstr(ing->data, "host: shop.test"));
    CHECK(tree_file(&t, "overlays/prod/patches/service-web-public.yaml"));
    /* secrets: in files of their own, the environment's from .env.prod */
    const KubeFile *s = tree_file(&t, "base/secrets/db-env/POSTGRES_PASSWORD");
    REQUIRE(s);
    CHECK_STR(s->data, "pw-dev");
    CHECK(s->secret);
    s = tree_file(&t, "overlays/prod/secrets/db-env/POSTGRES_PASSWORD");
    REQUIRE(s);
    CHECK_STR(s->data, "pw-prod");
    CHECK(tree_file(&t, "base/secrets/web-env/API_TOKEN"));
    CHECK(tree_file(&t, "base/secrets/web-env/MODE")); /* env_file entries are secret */
    for (size_t i = 0; i < t.n; i++)
        if (str_endswith(t.files[i].path, ".yaml")) {
            CHECK(!strstr(t.files[i].data, "pw-dev"));
            CHECK(!strstr(t.files[i].data, "pw-prod"));
            CHECK(!strstr(t.files[i].data, "tok-dev"));
        }
    /* a config file bind becomes a ConfigMap file; the source folder does not */
    const KubeFile *ini = tree_file(&t, "base/files/web-files/app.ini");
    REQUIRE(ini);
    CHECK_STR(ini->data, "[app]\nname = shop\n");
    /* the database: StatefulSet with a claim, internal Service, probe timings */
    const KubeFile *db = tree_file(&t, "base/db.yaml");
    REQUIRE(db);
    CHECK(strstr(db->data, "kind: StatefulSet"));
    CHECK(strstr(db->data, "volumeClaimTemplates:"));
    CHECK(strstr(db->data, "type: ClusterIP"));
    CHECK(!strstr(db->data, "LoadBalancer"));
    CHECK(strstr(db->data, "periodSeconds: 2\n          timeoutSeconds: 5\n          failureThreshold: 5"));
    /* startup: start_period 0 + 5 retries x 2 s = 10 probes of 1 s */
    CHECK(strstr(db->data, "periodSeconds: 1\n          timeoutSeconds: 5\n          failureThreshold: 10"));
    /* migrate is a Job web waits for, after the database */
    const KubeFile *web = tree_file(&t, "base/web.yaml");
    REQUIRE(web);
    const char *w1 = strstr(web->data, "name: wait-db"), *w2 = strstr(web->data, "name: wait-migrate");
    CHECK(w1 && w2 && w1 < w2);
    CHECK(strstr(web->data, "job/migrate"));
    const KubeFile *mig = tree_file(&t, "base/migrate.yaml");
    REQUIRE(mig);
    CHECK(strstr(mig->data, "kind: Job"));
    /* each dropped item once, at its line */
    _cleanup_free_ char *priv = xasprintf("%s/compose.yaml:20:5: warning: services.web: privileged mode", root);
    _cleanup_free_ char *src = xasprintf("%s/compose.yaml:16:15: warning: services.web.volumes: the bind mount "
                                         "of the source folder src",
                                         root);
    _cleanup_free_ char *host = xasprintf("%s/compose.yaml:21:3: warning: services.tool: a host process", root);
    CHECK(diag_has(&d, priv));
    CHECK(diag_has(&d, src));
    CHECK(diag_has(&d, host));
    size_t n = 0;
    for (size_t i = 0; i < d.msgs.n; i++)
        n += strstr(d.msgs.v[i], "privileged") != NULL;
    CHECK_INT(n, 1);
    CHECK_INT(d.errors, 0);

    /* the same files, the same bytes */
    KubeTree t2 = {0};
    Diag d2 = {0};
    REQUIRE(kube_export(&o, &ko, &t2, &d2) == 0);
    REQUIRE(t2.n == t.n);
    for (size_t i = 0; i < t.n; i++) {
        CHECK_STR(t2.files[i].path, t.files[i].path);
        CHECK(t2.files[i].len == t.files[i].len && memcmp(t2.files[i].data, t.files[i].data, t.files[i].len) == 0);
    }
    kube_tree_free(&t2);
    diag_free(&d2);

    /* writing: the folder, secrets private, and a foreign folder refused */
    _cleanup_free_ char *out = path_join(root, "k8s");
    char *err = NULL;
    REQUIRE(kube_tree_write(&t, out, &err) == 0);
    _cleanup_free_ char *sp = path_join(out, "base/secrets/db-env/POSTGRES_PASSWORD");
    struct stat st;
    CHECK(stat(sp, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(kube_tree_write(&t, out, &err) == 0); /* again, over its own */
    _cleanup_free_ char *mine = path_join(root, "src");
    CHECK(kube_tree_write(&t, mine, &err) == -EEXIST);
    CHECK(err && strstr(err, "not written by tend kube"));
    free(err);
    kube_tree_free(&t);
    diag_free(&d);
    rm_rf(root);
    free(root);
}

TEST(a_bad_kube_setting_is_an_error_at_its_line)
{
    char *root = kube_project();
    write_file(root, "compose.prod.yaml", "x-tend:\n  kube:\n    expose: nodeport\n    hots: x\n");
    ConfigOptions o = {.cwd = root, .environ_ = no_env};
    KubeOptions ko = {0};
    KubeTree t = {0};
    Diag d = {0};
    CHECK(kube_export(&o, &ko, &t, &d) == -EINVAL);
    CHECK(diag_has(&d, "compose.prod.yaml:3:13: error: x-tend.kube.expose: \"nodeport\" is not one of"));
    CHECK(diag_has(&d, "compose.prod.yaml:4:5: error: x-tend.kube: unknown key \"hots\""));
    diag_free(&d);
    rm_rf(root);
    free(root);
}
